/**
 * `npm run sandbox`: starts the local parts on loopback, prints one `name: URL` line per part, and runs until
 * Ctrl-C or SIGTERM, then stops every part it started. Each part is a `SandboxPart` with its own start function,
 * so the Stripe emulator, the token endpoint, the alert receiver and the service join by adding an entry to
 * `parts`.
 *
 * Flags (the sandbox contract): --service-port, --stripe-port, --dataverse-port (0 = a free port),
 * --no-scenario, --store sqlite|postgres, --dataverse-auth entra|none.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { AuthOptions, DataverseEmulator, StripeEmulator } from '@stc/emulators';
import { alertsPart, type AlertReceiver } from './parts/alerts';
import { dataversePart } from './parts/dataverse';
import { harnessPart } from './parts/harness';
import { createRun, freePort, type SandboxRun } from './parts/run';
import { servicePart } from './parts/service';
import { stripePart } from './parts/stripe';
import { tokenPart, type EntraPartInfo } from './parts/token';
import { runScenario } from './scenario';

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
  /** Printed after the URL in brackets (where the log is, the process id…). */
  note?: string;
  /** Set by the local Entra token endpoint part: what the Dataverse emulator checks tokens against. */
  dataverseAuth?: AuthOptions;
  /** Set by the token endpoint part: the service's authority and the scripts' credentials. */
  entra?: EntraPartInfo;
  dataverse?: DataverseEmulator;
  stripe?: StripeEmulator;
  /** Set by the alerts part: the local receiver of the service's alerts. */
  alerts?: AlertReceiver;
  /** A part that is a child process. */
  pid?: number;
  /** Printed on lines of their own after the part's line. */
  lines?: string[];
}

/**
 * A part of the sandbox; `start` sees the options, the parts started before it (their URLs) and the run
 * (its folder under `data/`, users, secrets).
 */
export interface SandboxPart {
  name: string;
  start(
    options: SandboxOptions,
    started: ReadonlyMap<string, RunningPart>,
    run: SandboxRun,
  ): Promise<RunningPart | undefined>;
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

/** Started in this order, stopped in reverse. */
export const parts: SandboxPart[] = [
  tokenPart,
  dataversePart,
  stripePart,
  alertsPart,
  servicePart,
  harnessPart,
];

/** Where runs keep their files (service store and log, credentials for scripts): `<repo>/data/`. */
const DATA_DIR = path.resolve(__dirname, '../../data');

export async function runSandbox(argv: string[]): Promise<void> {
  const options = parseSandboxArgs(argv);
  // Tokens name the emulator's origin as their audience, so with entra its port is chosen before it starts.
  if (options.dataverseAuth === 'entra' && options.dataversePort === 0)
    options.dataversePort = await freePort();
  // So does the console's Entra ID sign-in: its redirect URI names the service's port.
  if (options.dataverseAuth === 'entra' && options.servicePort === 0) options.servicePort = await freePort();
  const run = createRun(DATA_DIR);
  const started = new Map<string, RunningPart>();
  let stopRequested = false;
  // One stop may bring the signal several times (Ctrl-C reaches the terminal's whole group, tsx and npm relay
  // it): repeats within two seconds are that one stop; a later one cuts the stop short.
  let firstSignalAt = 0;
  const stopSignal = new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      stopRequested = true;
      if (firstSignalAt === 0) firstSignalAt = Date.now();
      else if (Date.now() - firstSignalAt > 2000) {
        console.error(`sandbox: ${signal} again: exiting without waiting for the parts to stop`);
        process.exit(1);
      }
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
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
      if (stopRequested) break;
      const running = await part.start(options, started, run);
      if (!running) continue;
      started.set(part.name, running);
      console.log(`${running.name}: ${running.url}${running.note ? ` (${running.note})` : ''}`);
      for (const line of running.lines ?? []) console.log(line);
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  if (options.scenario && !stopRequested) {
    // The scenario runs while the sandbox serves; a stop in the middle ends it quietly.
    void runScenario(started, run, (line) => {
      if (!stopRequested) console.log(line);
    }).catch((error: unknown) => {
      if (!stopRequested) console.log(`scenario: stopped by an error: ${(error as Error).message}`);
    });
  }
  await stopSignal;
  await stopAll();
}

if (require.main === module) {
  // Every part is stopped by then; exiting does not wait for a scenario poll still pending.
  runSandbox(process.argv.slice(2)).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(`sandbox: ${(error as Error).message}`);
      process.exit(1);
    },
  );
}
