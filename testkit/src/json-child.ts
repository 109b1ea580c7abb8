/**
 * A TypeScript script run in a child process of its own (under tsx) with one JSON argument; its answer is the
 * last line it prints, as JSON. For code that needs a fresh process, such as one started with
 * NODE_EXTRA_CA_CERTS (Node reads extra CAs only when a process starts).
 */
import { execFile } from 'node:child_process';

const tsxCli = require.resolve('tsx/cli');

/** Runs `script` with `args` as its one argument, in `env`; fails when it prints nothing (with its stderr). */
export function runJsonChild<T>(
  script: string,
  args: unknown,
  options: { env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [tsxCli, script, JSON.stringify(args)],
      { env: options.env, timeout: options.timeoutMs },
      (err, stdout, stderr) => {
        const line = stdout.trim().split('\n').pop();
        if (!line) return reject(new Error(`child failed: ${err?.message ?? ''} ${stderr}`));
        resolve(JSON.parse(line) as T);
      },
    );
  });
}
