/** Test support: spawn the service (`service-process.ts`) as a child process and find its URL in its log. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

export interface ServiceChild {
  process: ChildProcess;
  url: string;
  /** Every log line so far (JSON); all of them once `exited` has resolved. */
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const ENTRY = path.join(__dirname, 'service-process.ts');

/** `onSpawn` gets the child at once, so a caller can always kill it, even when it never comes up. */
export async function spawnService(
  env: Record<string, string>,
  onSpawn?: (child: ChildProcess, exited: Promise<unknown>) => void,
  timeoutMs = 90_000,
): Promise<ServiceChild> {
  const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), ENTRY], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  // 'close', not 'exit': at 'exit' the last output may still be unread, and `lines` would miss it.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  onSpawn?.(child, exited);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`service did not start within ${timeoutMs} ms:\n${stderr}\n${lines.join('\n')}`));
    }, timeoutMs);
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      try {
        const entry = JSON.parse(line);
        if (entry.msg === 'service listening') {
          clearTimeout(timer);
          resolve(entry.url);
        }
      } catch {
        // not a log line
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`service exited (${code}) before listening:\n${stderr}`));
    });
  });
  return { process: child, url, lines, exited };
}

/**
 * The environment a spawned service gets in these tests: the test database's settings, the Dataverse
 * emulator without authentication, keys named after the test, and an ephemeral port; `extra` adds to it.
 */
export function serviceEnv(options: {
  database: Record<string, string>;
  dataverseUrl: string;
  webhookSecret: string;
  /** Names the test in the keys (`sk_test_<name>`…). */
  name: string;
  extra?: Record<string, string>;
}): Record<string, string> {
  return {
    ...options.database,
    STRIPE_API_KEY: `sk_test_${options.name}`,
    STRIPE_MODE: 'test',
    STRIPE_WEBHOOK_SECRET: options.webhookSecret,
    DATAVERSE_URL: options.dataverseUrl,
    DATAVERSE_AUTH: 'none',
    DATAVERSE_WEBHOOK_KEY: `${options.name}-test-dataverse-key`,
    ADMIN_API_KEY: `${options.name}-test-admin-key-0123`,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    ...options.extra,
  };
}

/** The service processes a test starts; `stopAll()` kills those still running and waits until all have exited. */
export class ServiceProcesses {
  private readonly children: Array<{ process: ChildProcess; exited: Promise<unknown> }> = [];

  start(env: Record<string, string>): Promise<ServiceChild> {
    return spawnService(env, (process, exited) => this.children.push({ process, exited }));
  }

  async stopAll(): Promise<void> {
    for (const child of this.children.splice(0)) {
      if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
      await child.exited;
    }
  }
}
