/**
 * SQLite engine (better-sqlite3): the embedded default. Statements are prepared once; every multi-step
 * change is one `BEGIN IMMEDIATE` transaction, so claims stay exclusive even if two processes share the file.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startCheckpointer, type Checkpointer } from './checkpointer';
import { createGroupCommit } from './group-commit';
import { MIGRATIONS, SCHEMA_MIGRATIONS_DDL } from './migrations';
import {
  DEAD_LETTER_SELECT,
  INBOX_COLUMNS,
  objectKey,
  pickClaimable,
  toAttempt,
  toDeadLetter,
  toInboxEvent,
  type Row,
} from './rows';
import type {
  ClaimRequest,
  CompletedAttempt,
  DeadLetter,
  DeadLetterDetail,
  EventSource,
  InboxEvent,
  NewInboxEvent,
  ObjectStamp,
  QueueDepth,
  Store,
} from './types';

export interface SqliteStoreOptions {
  /** File path, or ':memory:'. */
  path: string;
  /**
   * `normal` (default): in WAL mode a commit is written to the WAL before it returns, so it survives the
   * process being killed at any point (the failure the 2xx-before-work design must survive); only an OS crash
   * or power loss can drop the last commits before the next checkpoint. Stripe keeps every event for 30 days
   * and the replay CLI re-reads the Events API, so such a loss is recoverable, while an fsync per webhook
   * would cap intake at the disk's flush rate. `full` fsyncs every commit for those who prefer that trade.
   */
  synchronous?: 'normal' | 'full';
  /** Run WAL checkpoints in a worker thread (default true for a file). */
  backgroundCheckpoints?: boolean;
}

export function createSqliteStore(options: SqliteStoreOptions): Store {
  if (options.path !== ':memory:') fs.mkdirSync(path.dirname(options.path), { recursive: true });
  const db = new Database(options.path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  let checkpointer: Checkpointer | undefined;
  if (options.path !== ':memory:' && options.backgroundCheckpoints !== false) {
    db.pragma('wal_autocheckpoint = 0');
    checkpointer = startCheckpointer(options.path);
  }

  let statements: ReturnType<typeof prepare> | undefined;
  const s = () => {
    if (!statements) throw new Error('SQLite store used before migrate()');
    return statements;
  };

  function prepare() {
    return {
      insert: db.prepare(
        `INSERT INTO inbox (source, account, event_id, type, object_id, event_created, payload, status, attempts,
           next_attempt_at, received_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)
         ON CONFLICT (source, account, event_id) DO NOTHING`,
      ),
      findEvent: db.prepare(
        `SELECT ${INBOX_COLUMNS} FROM inbox WHERE source = ? AND account = ? AND event_id = ?`,
      ),
      getEvent: db.prepare(`SELECT ${INBOX_COLUMNS} FROM inbox WHERE id = ?`),
      expireLeases: db.prepare(
        `UPDATE inbox SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL, updated_at = ?
         WHERE status = 'processing' AND lease_expires_at <= ?`,
      ),
      due: db.prepare(
        `SELECT ${INBOX_COLUMNS} FROM inbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?`,
      ),
      inFlight: db.prepare(
        `SELECT source, account, object_id FROM inbox WHERE status = 'processing' AND object_id <> ''`,
      ),
      claimOne: db.prepare(
        `UPDATE inbox SET status = 'processing', lease_owner = ?, lease_expires_at = ?, attempts = attempts + 1,
           updated_at = ? WHERE id = ? AND status = 'pending'`,
      ),
      extend: db.prepare(
        `UPDATE inbox SET lease_expires_at = ? WHERE id = ? AND lease_owner = ? AND status = 'processing'`,
      ),
      release: db.prepare(
        `UPDATE inbox SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL,
           attempts = MAX(attempts - 1, 0), updated_at = ?
         WHERE id = ? AND lease_owner = ? AND status = 'processing'`,
      ),
      finish: db.prepare(
        `UPDATE inbox SET status = ?, lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = ?,
           last_error = ?, last_error_code = ?, updated_at = ?
         WHERE id = ? AND lease_owner = ? AND status = 'processing'`,
      ),
      attempt: db.prepare(
        `INSERT INTO attempts (inbox_id, attempt, worker, started_at, finished_at, outcome, error, error_code)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      stamp: db.prepare(
        `INSERT INTO object_versions (source, account, object_id, event_created, event_id, updated_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (source, account, object_id) DO UPDATE
           SET event_created = excluded.event_created, event_id = excluded.event_id, updated_at = excluded.updated_at
           WHERE (excluded.event_created, excluded.event_id) > (object_versions.event_created, object_versions.event_id)`,
      ),
      getStamp: db.prepare(
        `SELECT event_created, event_id FROM object_versions WHERE source = ? AND account = ? AND object_id = ?`,
      ),
      deadLetter: db.prepare(
        `INSERT INTO dead_letters (inbox_id, error, error_code, attempts, created_at) VALUES (?, ?, ?, ?, ?)`,
      ),
      listOpen: db.prepare(
        `${DEAD_LETTER_SELECT} WHERE d.resolved_at IS NULL ORDER BY d.id LIMIT ? OFFSET ?`,
      ),
      listAll: db.prepare(`${DEAD_LETTER_SELECT} ORDER BY d.id LIMIT ? OFFSET ?`),
      getDead: db.prepare(`${DEAD_LETTER_SELECT} WHERE d.id = ?`),
      history: db.prepare(
        `SELECT attempt, worker, started_at, finished_at, outcome, error, error_code FROM attempts
         WHERE inbox_id = ? ORDER BY id`,
      ),
      resolve: db.prepare(
        `UPDATE dead_letters SET resolved_at = ?, resolution = ? WHERE id = ? AND resolved_at IS NULL RETURNING inbox_id`,
      ),
      requeue: db.prepare(
        `UPDATE inbox SET status = 'pending', attempts = 0, next_attempt_at = ?, last_error = NULL,
           last_error_code = NULL, updated_at = ? WHERE id = ? AND status = 'dead'`,
      ),
      discard: db.prepare(
        `UPDATE inbox SET status = 'discarded', updated_at = ? WHERE id = ? AND status = 'dead'`,
      ),
      countPending: db.prepare(`SELECT COUNT(*) AS n FROM inbox WHERE status = 'pending'`),
      countProcessing: db.prepare(`SELECT COUNT(*) AS n FROM inbox WHERE status = 'processing'`),
      countDead: db.prepare(`SELECT COUNT(*) AS n FROM dead_letters WHERE resolved_at IS NULL`),
      getCursor: db.prepare(`SELECT value FROM cursors WHERE name = ?`),
      setCursor: db.prepare(
        `INSERT INTO cursors (name, value, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      ),
    };
  }

  const insertBatch = db.transaction((events: NewInboxEvent[]): boolean[] => {
    const insert = s().insert;
    return events.map(
      (e) =>
        insert.run(
          e.source,
          e.account,
          e.eventId,
          e.type,
          e.objectId,
          e.eventCreatedMs,
          e.payload,
          e.status,
          e.receivedAtMs,
          e.receivedAtMs,
          e.receivedAtMs,
        ).changes === 1,
    );
  });
  // Webhooks arriving in the same event-loop turn share one commit.
  const insertGrouped = createGroupCommit((events: NewInboxEvent[]) => insertBatch.immediate(events), {
    maxBatch: 256,
    maxConcurrent: 1,
  });

  const claim = db.transaction((request: ClaimRequest, now: number): InboxEvent[] => {
    const st = s();
    st.expireLeases.run(now, now);
    const candidates = (st.due.all(now, request.limit * 4 + 16) as Row[]).map(toInboxEvent);
    if (candidates.length === 0) return [];
    const busy = new Set<string>();
    for (const r of st.inFlight.all() as Row[]) {
      busy.add(objectKey(String(r.source), String(r.account), String(r.object_id)) as string);
    }
    const picked = pickClaimable(candidates, busy, request.limit);
    const leaseExpiresAtMs = now + request.leaseMs;
    for (const event of picked) {
      st.claimOne.run(request.owner, leaseExpiresAtMs, now, event.id);
      event.status = 'processing';
      event.leaseOwner = request.owner;
      event.leaseExpiresAtMs = leaseExpiresAtMs;
      event.attempts += 1;
      event.updatedAtMs = now;
    }
    return picked;
  });

  const complete = db.transaction((a: CompletedAttempt): boolean => {
    const st = s();
    const { event, outcome, finishedAtMs: now } = a;
    const status = outcome.kind === 'retry' ? 'pending' : outcome.kind;
    const error = outcome.kind === 'retry' || outcome.kind === 'dead' ? outcome.error : null;
    const code = outcome.kind === 'retry' || outcome.kind === 'dead' ? outcome.code : null;
    const next = outcome.kind === 'retry' ? outcome.nextAttemptAtMs : event.nextAttemptAtMs;
    const changed = st.finish.run(status, next, error, code, now, event.id, a.owner).changes;
    if (changed === 0) return false;
    st.attempt.run(event.id, event.attempts, a.owner, a.startedAtMs, now, outcome.kind, error, code);
    if (outcome.kind === 'applied' && a.stampObject && event.objectId !== '') {
      st.stamp.run(event.source, event.account, event.objectId, event.eventCreatedMs, event.eventId, now);
    }
    if (outcome.kind === 'dead')
      st.deadLetter.run(event.id, outcome.error, outcome.code, event.attempts, now);
    return true;
  });

  const resolve = db.transaction((id: number, resolution: 'retried' | 'discarded', now: number): boolean => {
    const st = s();
    const row = st.resolve.get(now, resolution, id) as Row | undefined;
    if (!row) return false;
    if (resolution === 'retried') st.requeue.run(now, now, row.inbox_id);
    else st.discard.run(now, row.inbox_id);
    return true;
  });

  const store: Store = {
    engine: 'sqlite',
    async migrate() {
      db.exec(SCHEMA_MIGRATIONS_DDL);
      const applied = new Set(
        (db.prepare('SELECT version FROM schema_migrations').all() as Row[]).map((r) => Number(r.version)),
      );
      const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
      for (const m of MIGRATIONS) {
        if (applied.has(m.version)) continue;
        db.transaction(() => {
          db.exec(m.sqlite);
          record.run(m.version, m.name, Date.now());
        }).immediate();
      }
      statements = prepare();
    },
    async ping() {
      db.prepare('SELECT 1').get();
    },
    insertEvent(e: NewInboxEvent) {
      return insertGrouped(e);
    },
    async findEvent(source: EventSource, account: string, eventId: string) {
      const row = s().findEvent.get(source, account, eventId) as Row | undefined;
      return row ? toInboxEvent(row) : null;
    },
    async getEvent(id: number) {
      const row = s().getEvent.get(id) as Row | undefined;
      return row ? toInboxEvent(row) : null;
    },
    async claimEvents(request: ClaimRequest) {
      if (request.limit <= 0) return [];
      return claim.immediate(request, request.nowMs ?? Date.now());
    },
    async extendLeases(owner: string, ids: number[], leaseExpiresAtMs: number) {
      const st = s();
      db.transaction(() => {
        for (const id of ids) st.extend.run(leaseExpiresAtMs, id, owner);
      }).immediate();
    },
    async releaseEvents(owner: string, ids: number[]) {
      const st = s();
      const now = Date.now();
      db.transaction(() => {
        for (const id of ids) st.release.run(now, id, owner);
      }).immediate();
    },
    async completeEvent(attempt: CompletedAttempt) {
      return complete.immediate(attempt);
    },
    async getObjectStamp(
      source: EventSource,
      account: string,
      objectId: string,
    ): Promise<ObjectStamp | null> {
      const row = s().getStamp.get(source, account, objectId) as Row | undefined;
      return row ? { eventCreatedMs: Number(row.event_created), eventId: String(row.event_id) } : null;
    },
    async listDeadLetters(options = {}): Promise<DeadLetter[]> {
      const st = s();
      const stmt = options.includeResolved ? st.listAll : st.listOpen;
      return (stmt.all(options.limit ?? 100, options.offset ?? 0) as Row[]).map(toDeadLetter);
    },
    async getDeadLetter(id: number): Promise<DeadLetterDetail | null> {
      const st = s();
      const row = st.getDead.get(id) as Row | undefined;
      if (!row) return null;
      const letter = toDeadLetter(row);
      const history = (st.history.all(letter.inboxId) as Row[]).map(toAttempt);
      return { ...letter, payload: String(row.payload), history };
    },
    async retryDeadLetter(id: number, nowMs = Date.now()) {
      return resolve.immediate(id, 'retried', nowMs);
    },
    async discardDeadLetter(id: number, nowMs = Date.now()) {
      return resolve.immediate(id, 'discarded', nowMs);
    },
    async queueDepth(): Promise<QueueDepth> {
      const st = s();
      const n = (stmt: typeof st.countPending) => Number((stmt.get() as Row).n);
      return { pending: n(st.countPending), processing: n(st.countProcessing), dead: n(st.countDead) };
    },
    async getCursor(name: string) {
      const row = s().getCursor.get(name) as Row | undefined;
      return row ? String(row.value) : null;
    },
    async setCursor(name: string, value: string) {
      s().setCursor.run(name, value, Date.now());
    },
    async close() {
      await checkpointer?.stop();
      checkpointer = undefined;
      if (db.open) db.close();
    },
  };
  return store;
}
