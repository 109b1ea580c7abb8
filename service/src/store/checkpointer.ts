/**
 * WAL checkpoints for the SQLite store, off the event loop. A checkpoint copies the WAL into the database
 * file and fsyncs it; done by SQLite's automatic checkpoint it would block the (synchronous) main thread for
 * the length of an fsync every ~1,000 pages, stalling every webhook meanwhile. Here a worker thread with its
 * own connection runs PASSIVE checkpoints (they never wait for or block the writer) on a timer.
 *
 * PASSIVE checkpoints alone never let the WAL start over while writes keep coming: SQLite rewinds the WAL only
 * when a write begins after a checkpoint copied every frame, and under a steady stream of webhooks a commit
 * always lands while the checkpoint runs. The WAL then grows with every commit for as long as the stream
 * lasts (measured with 4 KiB pages: 4.5 MB a second at 200 events a second, never shrinking). So once the WAL
 * is past `restartAboveBytes`, the worker catches up with a few PASSIVE passes (each copies what was written
 * during the one before) and, when little is left, runs a RESTART checkpoint: it holds writers off while it
 * copies the last frames, so the next write starts the WAL over. The main thread waits at most the worker's
 * busy timeout for it. With `journal_size_limit` set by the store, that write also truncates the file to the
 * limit.
 */
import { closeSync, openSync, realpathSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const fs = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = ' + workerData.busyTimeoutMs);
// The WAL holds one page per frame.
const pageSize = db.pragma('page_size', { simple: true });
const restartWithinFrames = Math.max(1, Math.floor(workerData.restartWithinBytes / pageSize));
const passive = () => db.pragma('wal_checkpoint(PASSIVE)')[0];
const behind = (state) => state.log - state.checkpointed;
function catchUp(state) {
  for (let pass = 0; pass < workerData.catchUpPasses && behind(state) > restartWithinFrames; pass++) {
    state = passive();
  }
  return state;
}
// After a RESTART that had to give up (a reader kept the WAL), ticks to let pass before the next, doubling.
let backoff = 0;
let waitTicks = 0;
function checkpoint() {
  let state = passive();
  if (state.log * pageSize < workerData.restartAboveBytes) return;
  if (waitTicks > 0) {
    waitTicks--;
    return;
  }
  state = catchUp(state);
  if (behind(state) > restartWithinFrames) return;
  // A checkpoint that did not reach the end of the WAL leaves the database file unsynced; the RESTART would
  // sync all of it while holding writers off. Synced here, without a lock, it only has the last frames left.
  fs.fsyncSync(workerData.syncFd);
  state = catchUp(passive());
  // Writes outran the checkpoint: holding them off now would stall the main thread for the whole copy.
  if (behind(state) > restartWithinFrames) return;
  const startedAt = performance.now();
  const restart = db.pragma('wal_checkpoint(RESTART)')[0];
  if (restart.busy === 0) {
    backoff = 0;
    parentPort.postMessage({ restarted: { frames: state.log, heldMs: performance.now() - startedAt } });
  } else {
    // It held writes off for its busy timeout: with a long reader (a report, a backup), not every tick.
    backoff = Math.min(Math.max(1, backoff * 2), workerData.maxBackoffTicks);
    waitTicks = backoff;
  }
}
const timer = setInterval(() => {
  try { checkpoint(); } catch (error) { parentPort.postMessage({ error: String(error && error.message || error) }); }
}, workerData.everyMs);
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  try { passive(); } catch {}
  db.close();
  process.exit(0);
});
`;

export interface Checkpointer {
  /**
   * Stops the worker (its connection closed), runs `closeDatabase` (the store's own connection), then lets go
   * of the file.
   */
  stop(closeDatabase: () => void): Promise<void>;
}

export interface WalRestart {
  /** Frames in the WAL when it was made to start over. */
  frames: number;
  /** How long the RESTART checkpoint held writers off. */
  heldMs: number;
}

export interface CheckpointerOptions {
  /** Between checkpoints; default 500 ms. */
  everyMs?: number;
  /** WAL size past which the worker makes the WAL start over; default 64 MiB. */
  restartAboveBytes?: number;
  onError?: (message: string) => void;
  onRestart?: (restart: WalRestart) => void;
}

/** WAL left to copy under which the RESTART, holding writers off, is short enough. */
const RESTART_WITHIN_BYTES = 1024 * 1024;
const CATCH_UP_PASSES = 4;
/** Longest the worker waits for the store's transaction or a reader to end (holding new writes off). */
const BUSY_TIMEOUT_MS = 20;
/** Most ticks let pass after RESTARTs that gave up (32 s at the default 500 ms). */
const MAX_BACKOFF_TICKS = 64;
export const DEFAULT_WAL_RESTART_BYTES = 64 * 1024 * 1024;

/**
 * One descriptor per database file in this process, for the worker's fsync (opened for writing, never written:
 * Windows refuses to flush a file opened only for reading), counted by the checkpointers that
 * use it. Closing a descriptor drops every POSIX lock this process holds on the file, SQLite's included (a
 * process whose locks are gone can have its WAL deleted under it by another process closing the database), so
 * it is closed only once no store of this process has the file open.
 */
const syncDescriptors = new Map<string, { fd: number; users: number }>();

function acquireSyncFd(path: string): { fd: number; release: () => void } {
  const key = realpathSync(path);
  const held = syncDescriptors.get(key) ?? { fd: openSync(key, 'r+'), users: 0 };
  held.users += 1;
  syncDescriptors.set(key, held);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    if (--held.users > 0) return;
    syncDescriptors.delete(key);
    closeSync(held.fd);
  };
  return { fd: held.fd, release };
}

export function startCheckpointer(path: string, options: CheckpointerOptions = {}): Checkpointer {
  const sync = acquireSyncFd(path);
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      path,
      driver: require.resolve('better-sqlite3'),
      syncFd: sync.fd,
      everyMs: options.everyMs ?? 500,
      restartAboveBytes: options.restartAboveBytes ?? DEFAULT_WAL_RESTART_BYTES,
      restartWithinBytes: RESTART_WITHIN_BYTES,
      catchUpPasses: CATCH_UP_PASSES,
      busyTimeoutMs: BUSY_TIMEOUT_MS,
      maxBackoffTicks: MAX_BACKOFF_TICKS,
    },
  });
  worker.on('message', (m: { error?: string; restarted?: WalRestart }) => {
    if (m.error) options.onError?.(m.error);
    if (m.restarted) options.onRestart?.(m.restarted);
  });
  worker.on('error', (e) => options.onError?.(e.message));
  // A worker that failed (its database would not open) has exited already: stop must not wait for it.
  let exited = false;
  worker.once('exit', () => {
    exited = true;
  });
  // After the listeners: adding a 'message' listener references the worker again.
  worker.unref();
  return {
    stop: (closeDatabase) =>
      new Promise<void>((resolve, reject) => {
        const finish = () => {
          try {
            closeDatabase();
            resolve();
          } catch (error) {
            reject(error);
          } finally {
            sync.release();
          }
        };
        if (exited) {
          finish();
          return;
        }
        worker.once('exit', finish);
        // Held while it stops: unreferenced, the process ran out of work and exited in the middle of
        // `store.close()`, before the database was closed and before anything after it (the log line
        // "stopped" on SIGTERM).
        worker.ref();
        worker.postMessage('stop');
      }),
  };
}
