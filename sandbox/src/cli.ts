/**
 * `npm run sandbox`: starts the local parts on loopback, prints one `name: URL` line per part, and runs until
 * Ctrl-C or SIGTERM, then stops every part it started. Each part is a `SandboxPart` with its own start function,
 * so the Stripe emulator, the token endpoint and the service join by adding an entry to `parts`.
 *
 * Flags (the sandbox contract): --service-port, --stripe-port, --dataverse-port (0 = a free port),
 * --no-scenario, --store sqlite|postgres, --dataverse-auth entra|none.
 */
import { parseArgs } from 'node:util';
import { type AuthOptions, startDataverseEmulator } from './dataverse';

export interface SandboxOptions {
  servicePort: number;
  stripePort: number;
  dataversePort: number;
  scenario: boolean;
  store: 'sqlite' | 'postgres';
  dataverseAuth: 'entra' | 'none';
}

export interface RunningPart {
  name: string;
  url: string;
  stop(): Promise<void>;
  /** Set by the local Entra token endpoint part: what the Dataverse emulator checks tokens against. */
  dataverseAuth?: AuthOptions;
}

/** A part of the sandbox; `start` sees the options and the parts started before it (their URLs). */
export interface SandboxPart {
  name: string;
  start(options: SandboxOptions, started: ReadonlyMap<string, RunningPart>): Promise<RunningPart | undefined>;
}

function port(value: string | undefined, flag: string): number {
  const n = Number(value ?? '0');
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new Error(`${flag} must be a port number (0 picks a free one), not '${value}'`);
  return n;
}

export function parseSandboxArgs(argv: string[]): SandboxOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      'service-port': { type: 'string' },
      'stripe-port': { type: 'string' },
      'dataverse-port': { type: 'string' },
      'no-scenario': { type: 'boolean', default: false },
      store: { type: 'string', default: 'sqlite' },
      'dataverse-auth': { type: 'string', default: 'entra' },
    },
    strict: true,
  });
  if (values.store !== 'sqlite' && values.store !== 'postgres')
    throw new Error(`--store must be sqlite or postgres, not '${values.store}'`);
  const auth = values['dataverse-auth'];
  if (auth !== 'entra' && auth !== 'none')
    throw new Error(`--dataverse-auth must be entra or none, not '${auth}'`);
  return {
    servicePort: port(values['service-port'], '--service-port'),
    stripePort: port(values['stripe-port'], '--stripe-port'),
    dataversePort: port(values['dataverse-port'], '--dataverse-port'),
    scenario: !values['no-scenario'],
    store: values.store,
    dataverseAuth: auth,
  };
}

const dataversePart: SandboxPart = {
  name: 'dataverse',
  async start(options, started) {
    const tokenAuth = [...started.values()].find((p) => p.dataverseAuth)?.dataverseAuth;
    if (options.dataverseAuth === 'entra' && !tokenAuth) {
      // No token endpoint part is running: say so rather than run without checks silently.
      console.error(
        'dataverse: no local Entra token endpoint is running; letting loopback callers in without a token',
      );
    }
    const emulator = await startDataverseEmulator({
      port: options.dataversePort,
      auth: options.dataverseAuth === 'entra' && tokenAuth ? tokenAuth : { mode: 'none' },
      limits: { enabled: true },
    });
    return { name: 'dataverse', url: emulator.url, stop: () => emulator.close() };
  },
};

/** Started in this order, stopped in reverse. */
export const parts: SandboxPart[] = [dataversePart];

export async function runSandbox(argv: string[]): Promise<void> {
  const options = parseSandboxArgs(argv);
  const started = new Map<string, RunningPart>();
  const stopAll = async () => {
    for (const part of [...started.values()].reverse()) {
      await part
        .stop()
        .catch((error: unknown) =>
          console.error(`${part.name}: failed to stop: ${(error as Error).message}`),
        );
    }
  };
  try {
    for (const part of parts) {
      const running = await part.start(options, started);
      if (!running) continue;
      started.set(part.name, running);
      console.log(`${running.name}: ${running.url}`);
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await stopAll();
}

if (require.main === module) {
  runSandbox(process.argv.slice(2)).catch((error: unknown) => {
    console.error(`sandbox: ${(error as Error).message}`);
    process.exitCode = 1;
  });
}
