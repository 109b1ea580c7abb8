/**
 * The statements both engines run alike, written once with SQLite's `?` parameters; PostgreSQL runs them
 * through `numbered()`. What the engines do differently (claims and their locks, lease updates over id
 * arrays, grouped inserts, migrations) stays in each engine.
 */
import { DEAD_LETTER_SELECT, INBOX_COLUMNS } from './rows';

/**
 * The end of an INSERT INTO object_versions: an object's stamp moves only to a newer event (created, then
 * event id decide). PostgreSQL's completion and claim statements stamp with it too.
 */
export const KEEP_NEWER_STAMP = `ON CONFLICT (source, account, object_id) DO UPDATE
      SET event_created = excluded.event_created, event_id = excluded.event_id, updated_at = excluded.updated_at
      WHERE (excluded.event_created, excluded.event_id) > (object_versions.event_created, object_versions.event_id)`;

/**
 * Of an inbox row `i`: its object has no event in flight. Events of an object in flight wait for its
 * completion, so a claim's window passes over them (a probe of inbox_one_in_flight_per_object per row).
 */
export const OBJECT_NOT_IN_FLIGHT = `NOT EXISTS (SELECT 1 FROM inbox p WHERE p.status = 'processing'
      AND p.object_id <> '' AND p.source = i.source AND p.account = i.account AND p.object_id = i.object_id)`;

/**
 * A Dataverse row's change waits while an earlier change of the row is still to be worked (due, or a retry
 * waiting its time): each change sends what it set, so an earlier one retried after a later one would undo
 * it. Stripe events need no such wait: one older than the last applied is superseded by the object's stamp.
 * Earlier in the claim's order of one object's events (planClaim): created, then event id.
 */
export const NO_EARLIER_CHANGE_PENDING = `(i.source <> 'dataverse' OR i.object_id = '' OR NOT EXISTS (
      SELECT 1 FROM inbox e WHERE e.status = 'pending' AND e.source = 'dataverse' AND e.account = i.account
        AND e.object_id = i.object_id
        AND (e.event_created < i.event_created OR (e.event_created = i.event_created AND e.event_id < i.event_id))))`;

/**
 * Since when an event has been waiting to be worked: its arrival, or the time it was last made due when that is
 * later (requeued by a replay, a dead letter retried), so that an operator's replay of old events does not read
 * as a backlog of old events (the backlog_age alert and stc_oldest_waiting_age_seconds).
 */
const DUE_SINCE = 'CASE WHEN next_attempt_at > received_at THEN next_attempt_at ELSE received_at END';

export const SQL = {
  findEvent: `SELECT ${INBOX_COLUMNS} FROM inbox WHERE source = ? AND account = ? AND event_id = ?`,
  getEvent: `SELECT ${INBOX_COLUMNS} FROM inbox WHERE id = ?`,
  /** SQLite's claim window: due events, oldest first, of objects not in flight. */
  due: `SELECT ${INBOX_COLUMNS} FROM inbox i WHERE status = 'pending' AND next_attempt_at <= ?
      AND ${OBJECT_NOT_IN_FLIGHT} AND ${NO_EARLIER_CHANGE_PENDING} ORDER BY id LIMIT ?`,
  finish: `UPDATE inbox SET status = ?, lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = ?,
      last_error = ?, last_error_code = ?, updated_at = ?
    WHERE id = ? AND lease_owner = ? AND attempts = ? AND status = 'processing'`,
  /** A due event coalesced at claim into a newer one of its object (updated at, inbox id). */
  supersede: `UPDATE inbox SET status = 'superseded', attempts = attempts + 1, updated_at = ?
    WHERE id = ? AND status = 'pending'`,
  attempt: `INSERT INTO attempts (inbox_id, attempt, worker, started_at, finished_at, outcome, error, error_code,
      mapping_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  /** Keeps the newer of two stamps of an object: (event created, event id) decides. */
  stamp: `INSERT INTO object_versions (source, account, object_id, event_created, event_id, updated_at)
    VALUES (?, ?, ?, ?, ?, ?) ${KEEP_NEWER_STAMP}`,
  getStamp: `SELECT event_created, event_id FROM object_versions WHERE source = ? AND account = ? AND object_id = ?`,
  /** An object's stamp and its fresh writes begun and ended, in one read (source, account, object id). */
  getObjectState: `SELECT v.event_created, v.event_id, f.began, f.ended, f.updated_at AS fresh_at
    FROM (SELECT CAST(? AS TEXT) AS source, CAST(? AS TEXT) AS account, CAST(? AS TEXT) AS object_id) k
    LEFT JOIN object_versions v ON v.source = k.source AND v.account = k.account AND v.object_id = k.object_id
    LEFT JOIN object_fresh_writes f
      ON f.source = k.source AND f.account = k.account AND f.object_id = k.object_id`,
  /**
   * (source, account, object id, updated at, abandoned before): writes left under way since before the last
   * value (their attempts were killed) count as ended first.
   */
  beginFreshWrite: `INSERT INTO object_fresh_writes (source, account, object_id, began, ended, updated_at)
    VALUES (?, ?, ?, 1, 0, ?) ON CONFLICT (source, account, object_id)
    DO UPDATE SET began = object_fresh_writes.began + 1,
      ended = CASE WHEN object_fresh_writes.updated_at <= ? THEN object_fresh_writes.began
        ELSE object_fresh_writes.ended END,
      updated_at = excluded.updated_at`,
  /**
   * (writes ended, writes ended, updated at, source, account, object id): never past those begun, which a
   * write counted as abandoned and then ended by its attempt would otherwise do.
   */
  endFreshWrites: `UPDATE object_fresh_writes
    SET ended = CASE WHEN ended + ? > began THEN began ELSE ended + ? END, updated_at = ?
    WHERE source = ? AND account = ? AND object_id = ?`,
  deadLetter: `INSERT INTO dead_letters (inbox_id, error, error_code, attempts, created_at) VALUES (?, ?, ?, ?, ?)`,
  listOpenDeadLetters: `${DEAD_LETTER_SELECT} WHERE d.resolved_at IS NULL ORDER BY d.id LIMIT ? OFFSET ?`,
  listAllDeadLetters: `${DEAD_LETTER_SELECT} ORDER BY d.id LIMIT ? OFFSET ?`,
  getDeadLetter: `${DEAD_LETTER_SELECT} WHERE d.id = ?`,
  history: `SELECT attempt, worker, started_at, finished_at, outcome, error, error_code, mapping_version FROM attempts
    WHERE inbox_id = ? ORDER BY id`,
  resolve: `UPDATE dead_letters SET resolved_at = ?, resolution = ? WHERE id = ? AND resolved_at IS NULL RETURNING inbox_id`,
  /** (next attempt at, updated at, inbox id) */
  requeue: `UPDATE inbox SET status = 'pending', attempts = 0, next_attempt_at = ?, last_error = NULL,
      last_error_code = NULL, updated_at = ? WHERE id = ? AND status = 'dead'`,
  discard: `UPDATE inbox SET status = 'discarded', updated_at = ? WHERE id = ? AND status = 'dead'`,
  queueDepth: `SELECT (SELECT COUNT(*) FROM inbox WHERE status = 'pending') AS pending,
      (SELECT COUNT(*) FROM inbox WHERE status = 'processing') AS processing,
      (SELECT COUNT(*) FROM dead_letters WHERE resolved_at IS NULL) AS dead`,
  /** The newest event received (for the service's status row). */
  latestEvent: `SELECT ${INBOX_COLUMNS} FROM inbox ORDER BY id DESC LIMIT 1`,
  /**
   * When the oldest event still to be worked arrived. One MIN per status, so that each reads its partial
   * index (inbox_pending, inbox_lease) and only the waiting rows: `status IN (...)` matches neither index's
   * condition and read the whole inbox, which keeps every event, on each metrics scrape and alert round.
   */
  oldestWaiting: `SELECT MIN(due) AS received_at FROM (
      SELECT MIN(${DUE_SINCE}) AS due FROM inbox WHERE status = 'pending'
      UNION ALL SELECT MIN(${DUE_SINCE}) FROM inbox WHERE status = 'processing') AS waiting`,
  getCursor: `SELECT value FROM cursors WHERE name = ?`,
  setCursor: `INSERT INTO cursors (name, value, updated_at) VALUES (?, ?, ?)
    ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
} as const;

export type StatementName = keyof typeof SQL;

/** `?` parameters as PostgreSQL numbers them (`$1`, `$2`…); none of the statements has a `?` of its own. */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}
