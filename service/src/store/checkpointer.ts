/**
 * WAL checkpoints for the SQLite store, off the event loop. A checkpoint copies the WAL into the database
 * file and fsyncs it; done by SQLite's automatic checkpoint it would block the (synchronous) main thread for
 * the length of an fsync every ~1,000 pages, stalling every webhook meanwhile. Here a worker thread with its
 * own connection runs PASSIVE checkpoints (they never wait for or block the writer) on a timer.
 */
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 1000');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (error) { parentPort.postMessage({ error: String(error && error.message || error) }); }
}, workerData.everyMs);
parentPort.on('message', (m) => {
  if (m === 'stop') { clearInterval(timer); try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {} db.close(); process.exit(0); }
});
`;

export interface Checkpointer {
  stop(): Promise<void>;
}

export function startCheckpointer(
  path: string,
  everyMs = 500,
  onError?: (message: string) => void,
): Checkpointer {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { path, everyMs, driver: require.resolve('better-sqlite3') },
  });
  worker.unref();
  worker.on('message', (m: { error?: string }) => m.error && onError?.(m.error));
  worker.on('error', (e) => onError?.(e.message));
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        worker.once('exit', () => resolve());
        // Held while it stops: unreferenced, the process ran out of work and exited in the middle of
        // `store.close()`, before the database was closed and before anything after it (the log line
        // "stopped" on SIGTERM).
        worker.ref();
        worker.postMessage('stop');
      }),
  };
}
