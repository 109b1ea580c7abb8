/**
 * The SQLite store's WAL stays bounded: under a steady stream of commits (which PASSIVE checkpoints alone never
 * let start over) and after a burst. What a user would notice otherwise: a WAL file that grows by about a page
 * per event for as long as webhooks keep coming, until the disk is full.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { waitFor } from '@stc/testkit';
import { paymentEvent } from '../../__tests__/support/inbox-event';
import { createSqliteStore } from '../sqlite';
import { startCheckpointer, type WalRestart } from '../checkpointer';
import type { NewInboxEvent, Store } from '../types';

jest.setTimeout(30_000);

const LIMIT = 1024 * 1024;
const payload = JSON.stringify({ object: 'event', data: { object: { description: 'x'.repeat(3000) } } });
let dir: string;
let sequence = 0;

const event = (): NewInboxEvent => {
  const n = ++sequence;
  return paymentEvent(`evt_wal_${n}`, Date.now(), { type: 'charge.succeeded', objectId: `ch_${n}`, payload });
};
const walBytes = (file: string) => fs.statSync(`${file}-wal`).size;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function openStore(file: string, restarts: WalRestart[] = []): Store {
  return createSqliteStore({
    path: file,
    checkpoints: { everyMs: 20, restartAboveBytes: LIMIT, onRestart: (r) => restarts.push(r) },
  });
}

/**
 * Writes an event every 50 ms until a write finds the WAL file cut back to its limit (the first write after the
 * WAL was checkpointed to its end starts it over); fails after 10 s. Returns how many it wrote.
 */
async function writeUntilCutBack(store: Store, file: string): Promise<number> {
  let written = 0;
  await waitFor(
    async () => {
      await store.insertEvent(event());
      written += 1;
      return walBytes(file) <= LIMIT;
    },
    'a write to find the WAL cut back to its limit',
    10_000,
    50,
  );
  return written;
}

/** A burst of 2,000 events (about 8 MiB of WAL), then `writeUntilCutBack`. Returns how many it wrote in all. */
async function burstUntilCutBack(store: Store, file: string): Promise<number> {
  await Promise.all(Array.from({ length: 2000 }, () => store.insertEvent(event())));
  return 2000 + (await writeUntilCutBack(store, file));
}

/** Descriptors of this process open on `file` (Linux). */
function descriptorsOn(file: string): number {
  const target = fs.realpathSync(file);
  return fs.readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`) === target;
    } catch {
      return false;
    }
  }).length;
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stc-wal-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a steady stream of single-event commits does not grow the WAL past a few times its limit', async () => {
  const file = path.join(dir, 'steady.db');
  const restarts: WalRestart[] = [];
  const store = openStore(file, restarts);
  try {
    await store.migrate();
    // One commit per event, a commit every millisecond or two: a checkpoint never finds the WAL still.
    // Each commit appends several pages, so 800 of them write well over 10 MiB of WAL.
    const count = 800;
    let largest = 0;
    for (let i = 0; i < count; i++) {
      expect(await store.insertEvent(event())).toBe(true);
      largest = Math.max(largest, walBytes(file));
      await pause(1);
    }
    expect(restarts.length).toBeGreaterThan(0);
    expect(largest).toBeLessThan(6 * LIMIT);
    expect((await store.queueDepth()).pending).toBe(count);
  } finally {
    await store.close();
  }
});

test('after a burst, the WAL file is cut back to its limit once the stream pauses', async () => {
  const file = path.join(dir, 'burst.db');
  const store = openStore(file);
  try {
    await store.migrate();
    // On a slow machine the checkpoint thread may already start the WAL over during the burst.
    const written = await burstUntilCutBack(store, file);
    expect((await store.queueDepth()).pending).toBe(written);
  } finally {
    await store.close();
  }
});

test('a reader still on the old WAL holds the restart off, and keeps its snapshot, until it ends', async () => {
  const file = path.join(dir, 'reader.db');
  const restarts: WalRestart[] = [];
  const store = openStore(file, restarts);
  await store.migrate();
  await store.insertEvent(event());
  const reader = new Database(file, { readonly: true });
  try {
    const count = reader.prepare('SELECT count(*) AS n FROM inbox');
    reader.exec('BEGIN');
    expect(count.get()).toEqual({ n: 1 });
    await Promise.all(Array.from({ length: 2000 }, () => store.insertEvent(event())));
    // Many checkpoint ticks: each RESTART must give up while the reader's snapshot needs the WAL.
    await pause(400);
    expect(restarts).toHaveLength(0);
    expect(count.get()).toEqual({ n: 1 });
    reader.exec('COMMIT');
    await waitFor(() => restarts.length > 0, 'the WAL to start over once the reader ended');
    await store.insertEvent(event());
    expect(walBytes(file)).toBeLessThanOrEqual(LIMIT);
    expect(count.get()).toEqual({ n: 2002 });
  } finally {
    reader.close();
    await store.close();
  }
});

test('stores of one file share the descriptor kept for syncing, and the last to close closes it', async () => {
  const file = path.join(dir, 'shared.db');
  const first = openStore(file);
  const second = openStore(file);
  try {
    await first.migrate();
    await second.migrate();
    await first.close();
    // The second store's checkpoints still sync through the shared descriptor.
    await burstUntilCutBack(second, file);
  } finally {
    await first.close();
    await second.close();
  }
  expect(descriptorsOn(file)).toBe(0);
});

test('a new database gets 16 KiB pages; one made with 4 KiB pages keeps them and its WAL still starts over', async () => {
  const fresh = path.join(dir, 'fresh.db');
  const store = openStore(fresh);
  try {
    await store.migrate();
    expect(await store.insertEvent(event())).toBe(true);
  } finally {
    await store.close();
  }
  const pageSize = (file: string) => {
    const db = new Database(file, { readonly: true });
    try {
      return db.pragma('page_size', { simple: true });
    } finally {
      db.close();
    }
  };
  expect(pageSize(fresh)).toBe(16_384);

  // A database created by an earlier release, with SQLite's default page size.
  const older = path.join(dir, 'older.db');
  const made = new Database(older);
  made.pragma('page_size = 4096');
  made.pragma('journal_mode = WAL');
  made.close();
  const reopened = openStore(older);
  try {
    await reopened.migrate();
    const written = await burstUntilCutBack(reopened, older);
    expect((await reopened.queueDepth()).pending).toBe(written);
  } finally {
    await reopened.close();
  }
  expect(pageSize(older)).toBe(4096);
});

test('stopping a checkpointer whose worker has died closes the database at once', async () => {
  const file = path.join(dir, 'gone.db');
  fs.writeFileSync(file, '');
  const errors: string[] = [];
  const checkpointer = startCheckpointer(file, { onError: (message) => errors.push(message) });
  // Before the worker thread has run a line, its file becomes a directory: it cannot open it, and exits.
  fs.rmSync(file);
  fs.mkdirSync(file);
  await waitFor(() => errors.length > 0, 'the checkpoint worker to fail');
  await pause(200);
  let closed = false;
  const stopped = checkpointer.stop(() => {
    closed = true;
  });
  const outcome = await Promise.race([stopped.then(() => 'stopped'), pause(5_000).then(() => 'hung')]);
  expect(outcome).toBe('stopped');
  expect(closed).toBe(true);
});
