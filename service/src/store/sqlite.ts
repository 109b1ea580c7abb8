/**
 * SQLite engine (better-sqlite3): the embedded default. Statements are prepared once; every multi-step
 * change is one `BEGIN IMMEDIATE` transaction, so claims stay exclusive even if two processes share the file.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import {
  DEFAULT_WAL_RESTART_BYTES,
  startCheckpointer,
  type Checkpointer,
  type CheckpointerOptions,
} from './checkpointer';
import { createGroupCommit } from './group-commit';
import { MIGRATIONS, SCHEMA_MIGRATIONS_DDL } from './migrations';
import {
  finishValues,
  finishedEvent,
  inboxValues,
  markClaimed,
  toInboxEvent,
  toObjectState,
  type Row,
} from './rows';
import { budgetLedger, sqliteBudgetStatements } from './budget';
import {
  attachBursts,
  claimRules,
  claimWindow,
  coalescedStamps,
  planClaim,
  supersededNote,
} from './coalesce';
import { sqliteConsoleLedger } from './lineage';
import { sqliteMappingVersions } from './mapping-versions';
import { sharedMethods } from './shared';
import { SQL, type StatementName } from './sql';
import type { ClaimRequest, CompletedAttempt, InboxEvent, NewInboxEvent, Store } from './types';

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
  /** How the worker thread checkpoints (see checkpointer.ts); its WAL restart size also caps the WAL file. */
  checkpoints?: CheckpointerOptions;
}

/** Page size of a database this store creates. */
const PAGE_SIZE = 16_384;

type Statements = ReturnType<typeof prepareStatements>;
/** The prepared statements; they exist once migrate() ran. */
type StatementsOf = () => Statements;

export function createSqliteStore(options: SqliteStoreOptions): Store {
  const db = openDatabase(options);
  let checkpointer = startWalCheckpoints(db, options);

  let statements: Statements | undefined;
  const s = () => {
    if (!statements) throw new Error('SQLite store used before migrate()');
    return statements;
  };
  const insertGrouped = groupedInsert(db, s);
  const claim = claimTransaction(db, s);
  const lineage = sqliteConsoleLedger(db);
  const complete = completeTransaction(db, s, lineage.recordWrites);
  const resolve = resolveTransaction(db, s);

  const store: Store = {
    engine: 'sqlite',
    ...sharedMethods(async (name, values) => {
      const statement = s()[name];
      if (statement.reader) return statement.all(...values) as Row[];
      statement.run(...values);
      return [];
    }),
    ...budgetLedger(sqliteBudgetStatements(db)),
    ...lineage.ledger,
    ...sqliteMappingVersions(db),
    async migrate() {
      migrate(db);
      statements = prepareStatements(db);
    },
    async ping() {
      db.prepare('SELECT 1').get();
    },
    insertEvent(e: NewInboxEvent) {
      return insertGrouped(e);
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
    async retryDeadLetter(id: number, nowMs = Date.now()) {
      return resolve.immediate(id, 'retried', nowMs);
    },
    async discardDeadLetter(id: number, nowMs = Date.now()) {
      return resolve.immediate(id, 'discarded', nowMs);
    },
    async close() {
      const stopping = checkpointer;
      checkpointer = undefined;
      const closeDatabase = () => {
        if (db.open) db.close();
      };
      if (stopping) await stopping.stop(closeDatabase);
      else closeDatabase();
    },
  };
  return store;
}

/** Checkpoints in a worker thread instead of SQLite's own, on the main thread (a file only). */
function startWalCheckpoints(db: Database.Database, options: SqliteStoreOptions): Checkpointer | undefined {
  if (options.path === ':memory:' || options.backgroundCheckpoints === false) return undefined;
  db.pragma('wal_autocheckpoint = 0');
  const restartAboveBytes = options.checkpoints?.restartAboveBytes ?? DEFAULT_WAL_RESTART_BYTES;
  // When a write starts the WAL over, SQLite truncates the file to this size: a burst leaves no large WAL.
  db.pragma(`journal_size_limit = ${restartAboveBytes}`);
  return startCheckpointer(options.path, { ...options.checkpoints, restartAboveBytes });
}

function openDatabase(options: SqliteStoreOptions): Database.Database {
  if (options.path !== ':memory:') fs.mkdirSync(path.dirname(options.path), { recursive: true });
  const db = new Database(options.path);
  // Before anything is written: a new database gets 16 KiB pages (SQLite's default is 4 KiB). An inbox row
  // (a Stripe event is 2 to 4 KB) then shares its page with others instead of filling most of one, so a
  // commit appends fewer, fuller WAL frames and checkpoints copy fewer bytes. Measured through insertEvent
  // (80,000 events, 18 a commit, about 12,000 a second, medians of 5 alternating runs): 29 instead of 39 us
  // of process CPU per event, the checkpoint thread's included, and a database file a fifth smaller. The
  // cost falls on single-event commits, each rewriting its few pages whole: 70 instead of 25 KB of WAL an
  // event at 1,000 a second, so the WAL starts over three times as often. An existing database keeps its
  // page size (changing it takes a VACUUM outside WAL mode).
  db.pragma(`page_size = ${PAGE_SIZE}`);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  return db;
}

/** Applies the migrations not yet recorded, each in its own transaction. */
function migrate(db: Database.Database): void {
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
}

function prepareStatements(db: Database.Database) {
  const shared = Object.fromEntries(
    Object.entries(SQL).map(([name, sql]) => [name, db.prepare(sql)]),
  ) as Record<StatementName, Database.Statement>;
  return {
    ...shared,
    insert: db.prepare(
      `INSERT INTO inbox (source, account, event_id, type, object_id, event_created, payload, status, attempts,
         next_attempt_at, received_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)
       ON CONFLICT (source, account, event_id) DO NOTHING`,
    ),
    expireLeases: db.prepare(
      `UPDATE inbox SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL, updated_at = ?
       WHERE status = 'processing' AND lease_expires_at <= ?`,
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
  };
}

/** Webhooks arriving in the same event-loop turn share one commit. */
function groupedInsert(db: Database.Database, s: StatementsOf) {
  const insertBatch = db.transaction((events: NewInboxEvent[]): boolean[] => {
    const insert = s().insert;
    // next_attempt_at and updated_at start at received_at, the last of the shared values.
    return events.map((e) => insert.run(...inboxValues(e), e.receivedAtMs, e.receivedAtMs).changes === 1);
  });
  return createGroupCommit((events: NewInboxEvent[]) => insertBatch.immediate(events), {
    maxBatch: 256,
    maxConcurrent: 1,
  });
}

function claimTransaction(db: Database.Database, s: StatementsOf) {
  return db.transaction((request: ClaimRequest, now: number): InboxEvent[] => {
    const st = s();
    st.expireLeases.run(now, now);
    const candidates = (st.due.all(now, claimWindow(request.limit)) as Row[]).map(toInboxEvent);
    if (candidates.length === 0) return [];
    // The window holds no object in flight (the claim is one write transaction: none starts meanwhile).
    const plan = planClaim(candidates, new Set(), claimRules(request, now));
    const { picked, superseded } = plan;
    attachBursts(plan, (e) =>
      toObjectState(st.getObjectState.get(e.source, e.account, e.objectId) as Row | undefined, now),
    );
    for (const { event, by } of superseded) {
      st.supersede.run(now, event.id);
      st.attempt.run(
        event.id,
        event.attempts + 1,
        request.owner,
        now,
        now,
        'superseded',
        supersededNote(by),
        null,
        null,
      );
    }
    for (const e of coalescedStamps(superseded))
      st.stamp.run(e.source, e.account, e.objectId, e.eventCreatedMs, e.eventId, now);
    const leaseExpiresAtMs = now + request.leaseMs;
    for (const event of picked) st.claimOne.run(request.owner, leaseExpiresAtMs, now, event.id);
    return markClaimed(picked, request.owner, leaseExpiresAtMs, now);
  });
}

function completeTransaction(
  db: Database.Database,
  s: StatementsOf,
  recordWrites: ReturnType<typeof sqliteConsoleLedger>['recordWrites'],
) {
  return db.transaction((a: CompletedAttempt): boolean => {
    const st = s();
    const { event, outcome, finishedAtMs: now } = a;
    const finished = finishedEvent(a);
    const { error, code, stampedObjects, freshEnded } = finished;
    const changed = st.finish.run(...finishValues(a, finished)).changes;
    if (changed === 0) return false;
    st.attempt.run(
      event.id,
      event.attempts,
      a.owner,
      a.startedAtMs,
      now,
      outcome.kind,
      error,
      code,
      a.mappingVersion ?? null,
    );
    if (a.writes) recordWrites(event.id, event.attempts, a.writes);
    for (const objectId of stampedObjects)
      st.stamp.run(event.source, event.account, objectId, event.eventCreatedMs, event.eventId, now);
    freshEnded.objectIds.forEach((objectId, i) =>
      st.endFreshWrites.run(
        freshEnded.counts[i],
        freshEnded.counts[i],
        now,
        event.source,
        event.account,
        objectId,
      ),
    );
    if (outcome.kind === 'dead')
      st.deadLetter.run(event.id, outcome.error, outcome.code, event.attempts, now);
    return true;
  });
}

function resolveTransaction(db: Database.Database, s: StatementsOf) {
  return db.transaction((id: number, resolution: 'retried' | 'discarded', now: number): boolean => {
    const st = s();
    const row = st.resolve.get(now, resolution, id) as Row | undefined;
    if (!row) return false;
    if (resolution === 'retried') st.requeue.run(now, now, row.inbox_id);
    else st.discard.run(now, row.inbox_id);
    return true;
  });
}
