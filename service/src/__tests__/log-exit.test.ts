/**
 * The last log lines survive the exit: the log destination writes asynchronously, and a write still in flight
 * when the process exits was lost (the final "stopped" line of a SIGTERM went missing under load). A reader
 * slower than the writer (a busy log collector, or the parent of a loaded test run) holds a write in flight at
 * exit; with a bare `flush()` before `process.exit` about two runs in three of this test lost a write (388 of
 * 401 lines).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

const CHILD = path.join(__dirname, 'support/log-exit-child.ts');

/** Runs the child with its standard output read only after 300 ms; resolves with the lines read. */
function run(): Promise<{ code: number | null; lines: string[] }> {
  const node = `${JSON.stringify(process.execPath)} --require ${JSON.stringify(require.resolve('tsx/cjs'))}`;
  const child = spawn('sh', ['-c', `${node} ${JSON.stringify(CHILD)} | (sleep 0.3; cat)`], {
    env: process.env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  // 'close', not 'exit': only then has all of standard output been read.
  return new Promise((resolve) =>
    child.once('close', (code) => resolve({ code, lines: out.split('\n').filter(Boolean) })),
  );
}

jest.setTimeout(60_000);

test('endLogger before exit: every line is written, the last one included, run after run', async () => {
  for (let attempt = 0; attempt < 3; attempt++) {
    const { code, lines } = await run();
    expect(code).toBe(0);
    expect(lines).toHaveLength(401);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ msg: 'stopped' });
  }
});
