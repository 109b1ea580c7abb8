/**
 * Closing the SQLite store finishes even when nothing else keeps the process up: its checkpoint worker was
 * unreferenced while it stopped, so the process exited in the middle of `store.close()` with code 0 (on
 * SIGTERM: the database left open and the final "stopped" line never logged). And the other way round: a
 * store left open does not keep a process up whose work is done (its checkpoint worker did, listened to after
 * it was unreferenced), and what it stored is there.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';

const CHILD = path.join(__dirname, 'support/store-close-child.ts');

jest.setTimeout(60_000);

async function runChild(env: Record<string, string>): Promise<{ code: unknown; out: string }> {
  const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), CHILD], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  // Killed after 30 s: a process kept up by the store would otherwise hang the test until its timeout.
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise((resolve) => child.once('close', (c, signal) => resolve(c ?? signal)));
  clearTimeout(timer);
  return { code, out };
}

test('a process whose last work is store.close() gets past it', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stc-store-close-'));
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      const result = await runChild({ STORE_PATH: path.join(dir, `connector-${attempt}.db`) });
      expect(result).toEqual({ code: 0, out: 'closed\n' });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a store left open does not keep a finished process up, and its event is stored', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stc-store-open-'));
  try {
    const file = path.join(dir, 'connector.db');
    expect(await runChild({ STORE_PATH: file, STORE_LEAVE_OPEN: '1' })).toEqual({
      code: 0,
      out: 'left open\n',
    });
    const db = new Database(file, { readonly: true });
    try {
      expect(db.prepare('SELECT event_id FROM inbox').all()).toEqual([{ event_id: 'evt_store_close_child' }]);
    } finally {
      db.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
