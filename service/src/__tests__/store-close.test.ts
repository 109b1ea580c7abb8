/**
 * Closing the SQLite store finishes even when nothing else keeps the process up: its checkpoint worker was
 * unreferenced while it stopped, so the process exited in the middle of `store.close()` with code 0 (on
 * SIGTERM: the database left open and the final "stopped" line never logged).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const CHILD = path.join(__dirname, 'support/store-close-child.ts');

jest.setTimeout(60_000);

test('a process whose last work is store.close() gets past it', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stc-store-close-'));
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), CHILD], {
        env: { ...process.env, STORE_PATH: path.join(dir, `connector-${attempt}.db`) },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout!.on('data', (d) => (out += String(d)));
      const code = await new Promise((resolve) => child.once('close', resolve));
      expect({ code, out }).toEqual({ code: 0, out: 'closed\n' });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
