/**
 * PostgreSQL engine (pg): for production and for several service processes sharing one database.
 * A claim takes a transaction-scoped advisory lock per object, so two processes never start two events of the
 * same object at once, and then the rows of its objects with `FOR UPDATE SKIP LOCKED`: processes never wait
 * on each other.
 */
import { Client, Pool, types as pgTypes, type PoolClient, type QueryConfig } from 'pg';
import { createGroupCommit } from './group-commit';
import { MIGRATIONS, SCHEMA_MIGRATIONS_DDL } from './migrations';
import { INBOX_COLUMNS, inboxValues, markClaimed, objectKey, toInboxEvent, toObjectState } from './rows';
import { budgetLedger, postgresBudgetStatements } from './budget';
import {
  attachBursts,
  claimRules,
  claimWindow,
  coalescedStamps,
  planClaim,
  supersededNote,
  type ClaimPlan,
} from './coalesce';
import { postgresConsoleLedger } from './lineage';
import { completionStatement } from './postgres-completion';
import { postgresMappingVersions } from './mapping-versions';
import { inTransaction } from './pg-transaction';
import { sharedMethods } from './shared';
import {
  KEEP_NEWER_STAMP,
  NO_EARLIER_CHANGE_PENDING,
  numbered,
  OBJECT_NOT_IN_FLIGHT,
  SQL,
  type StatementName,
} from './sql';
import type { ClaimRequest, CompletedAttempt, InboxEvent, NewInboxEvent, Store } from './types';

export interface PostgresStoreOptions {
  connectionString: string;
  /** Schema for every table (created when missing); default `public`. Tests use one per run. */
  schema?: string;
  poolMax?: number;
  /**
   * How long a query may wait for the server's answer before it fails (default 30 s): a connection whose
   * network went silent would otherwise hold its webhooks' answers, or a claim, for as long as the operating
   * system keeps the socket. The connection is then closed and the next query opens another. Migrations
   * run on a connection of their own, without it.
   */
  queryTimeoutMs?: number;
  /** How long opening a connection, or waiting for a free one in the pool, may take (default 10 s). */
  connectTimeoutMs?: number;
}

const DEFAULT_QUERY_TIMEOUT_MS = 30_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

// Millisecond timestamps and ids fit a double exactly; parse BIGINT (oid 20) as a number for this pool only.
const typeParsers = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20
      ? (v: string) => Number(v)
      : pgTypes.getTypeParser(oid, format as 'text')) as typeof pgTypes.getTypeParser,
};

const MIGRATION_LOCK = 0x5354_4331; // 'STC1': serialises migrations between processes starting together

const q =
  (name: string, text: string) =>
  (values: unknown[]): QueryConfig => ({ name, text, values });

/** The statements shared with SQLite, numbered, as named prepared statements (`stc_<name>`). */
const shared = Object.fromEntries(
  Object.entries(SQL).map(([name, sql]) => [name, q(`stc_${name}`, numbered(sql))]),
) as Record<StatementName, (values: unknown[]) => QueryConfig>;

// Many events in one statement: one round trip and one commit (one WAL fsync) for a whole group. Plain
// parameters rather than arrays: encoding a JSON payload as an array literal escapes every quote in it.
// Statements are prepared for a few group sizes; a group is padded up to one by repeating its last event's key
// after it (a repeat is a conflict, so DO NOTHING skips it).
const INSERT_GROUP_SIZES = [1, 2, 4, 8, 16, 32, 64, 128];
const INSERT_COLUMNS = 9;
const insertStatements = new Map(
  INSERT_GROUP_SIZES.map((size) => {
    const rows = Array.from({ length: size }, (_, r) => {
      const p = (c: number) => `$${r * INSERT_COLUMNS + c}`;
      return `(${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}::bigint, ${p(7)}, ${p(8)}, 0, ${p(9)}::bigint, ${p(9)}::bigint, ${p(9)}::bigint)`;
    });
    const text = `INSERT INTO inbox (source, account, event_id, type, object_id, event_created, payload, status, attempts,
       next_attempt_at, received_at, updated_at)
     VALUES ${rows.join(',\n')}
     ON CONFLICT (source, account, event_id) DO NOTHING
     RETURNING source, account, event_id`;
    return [size, q(`stc_inbox_insert_${size}`, text)] as const;
  }),
);
const MAX_INSERT_GROUP = INSERT_GROUP_SIZES[INSERT_GROUP_SIZES.length - 1];

/**
 * Whether a claim now could take anything: an event due whose object's burst has gathered (`due`), or a lease
 * expired (`expired`: its event comes back, and the claim first puts it back to pending). A burst has
 * gathered (planClaim's rule) when one of its events was received by `$2` or was tried before; events of no
 * object and Dataverse changes do not gather. While webhooks flow, every finished event wakes the claim loop
 * and most of the due events are bursts still gathering: this says so in one query, where the claim's
 * transaction took five round trips to take nothing.
 */
const claimable = q(
  'stc_claimable',
  `SELECT EXISTS (SELECT 1 FROM inbox i WHERE status = 'pending' AND next_attempt_at <= $1
                    AND (source <> 'stripe' OR object_id = '' OR attempts > 0 OR received_at <= $2)
                    AND ${NO_EARLIER_CHANGE_PENDING}) AS due,
       EXISTS (SELECT 1 FROM inbox WHERE status = 'processing' AND lease_expires_at <= $1) AS expired`,
);

export function createPostgresStore(options: PostgresStoreOptions): Store {
  const schema = options.schema ?? 'public';
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`Invalid PostgreSQL schema name: ${schema}`);
  const connection = {
    connectionString: options.connectionString,
    options: `-c search_path=${schema}`,
    types: typeParsers,
    connectionTimeoutMillis: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    // TCP keepalives: a server that vanished is noticed on an idle connection too.
    keepAlive: true,
  };
  const pool = new Pool({
    ...connection,
    max: options.poolMax ?? 10,
    query_timeout: options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS,
  });
  let closed = false;
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  const insertGrouped = groupedInsert(pool);

  const store: Store = {
    engine: 'postgres',
    ...sharedMethods(async (name, values) => (await pool.query(shared[name](values))).rows),
    ...budgetLedger(postgresBudgetStatements(pool)),
    ...postgresConsoleLedger(pool, numbered),
    ...postgresMappingVersions(pool, numbered),
    migrate: () => migrate(new Client(connection), schema),
    async ping() {
      await pool.query('SELECT 1');
    },
    insertEvent(e: NewInboxEvent) {
      return insertGrouped(e);
    },
    async claimEvents(request: ClaimRequest): Promise<InboxEvent[]> {
      if (request.limit <= 0) return [];
      const now = request.nowMs ?? Date.now();
      // An idle process polls four times a second and finds nothing: one query says so, without the claim
      // transaction's round trips.
      const { rows } = await pool.query(claimable([now, claimRules(request, now).gatheredBy]));
      const { due, expired } = rows[0] as { due: boolean; expired: boolean };
      if (!due && !expired) return [];
      return inTransaction(pool, (c) => claim(c, request, now, expired));
    },
    async extendLeases(owner: string, ids: number[], leaseExpiresAtMs: number) {
      if (ids.length === 0) return;
      await pool.query(
        `UPDATE inbox SET lease_expires_at = $1 WHERE id = ANY($2::bigint[]) AND lease_owner = $3 AND status = 'processing'`,
        [leaseExpiresAtMs, ids, owner],
      );
    },
    async releaseEvents(owner: string, ids: number[]) {
      if (ids.length === 0) return;
      await pool.query(
        `UPDATE inbox SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL,
           attempts = GREATEST(attempts - 1, 0), updated_at = $1
         WHERE id = ANY($2::bigint[]) AND lease_owner = $3 AND status = 'processing'`,
        [Date.now(), ids, owner],
      );
    },
    async completeEvent(attempt: CompletedAttempt) {
      const { rows } = await pool.query(completionStatement(attempt));
      return rows[0].finished === 1;
    },
    retryDeadLetter: (id: number, nowMs = Date.now()) => resolve(pool, id, 'retried', nowMs),
    discardDeadLetter: (id: number, nowMs = Date.now()) => resolve(pool, id, 'discarded', nowMs),
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
  return store;
}

/** Events inserted in groups (see INSERT_GROUP_SIZES); resolves per event to whether it was new. */
function groupedInsert(pool: Pool) {
  return createGroupCommit(
    async (events: NewInboxEvent[]): Promise<boolean[]> => {
      const size = INSERT_GROUP_SIZES.find((n) => n >= events.length)!;
      const values: unknown[] = [];
      for (const e of events) values.push(...inboxValues(e));
      // Padding repeats the last event's key only: it conflicts with that event and is skipped, so its
      // payload would be encoded, sent and parsed for nothing.
      const last = events[events.length - 1];
      const padding = inboxValues({ ...last, type: '', objectId: '', eventCreatedMs: 0, payload: '' });
      for (let i = events.length; i < size; i++) values.push(...padding);
      const { rows } = await pool.query(insertStatements.get(size)!(values));
      const inserted = new Set(rows.map((r) => `${r.source}|${r.account}|${r.event_id}`));
      // The same event twice in one group: the first is the insert, the second a duplicate.
      return events.map((e) => inserted.delete(`${e.source}|${e.account}|${e.eventId}`));
    },
    // One group in flight: while it commits, the next one fills up. Each commit costs the server about 135 µs
    // of CPU (the transaction and its WAL flush) besides 30 to 35 µs per row, so a second group sent while the
    // first commits, smaller, costs more than it saves: in the intake bench's closed loop PostgreSQL spent 54
    // µs an event with one group in flight against 72 with two (medians of 4 runs each).
    { maxBatch: MAX_INSERT_GROUP, maxConcurrent: 1 },
  );
}

/**
 * Creates the schema and applies the migrations not yet recorded, under an advisory lock, on a connection of
 * its own: waiting for another process's migrations, or building an index on a large table, may take longer
 * than the pool's query timeout allows.
 */
async function migrate(client: Client, schema: string): Promise<void> {
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query(SCHEMA_MIGRATIONS_DDL);
      const { rows } = await client.query('SELECT version FROM schema_migrations');
      const applied = new Set(rows.map((r) => Number(r.version)));
      for (const m of MIGRATIONS) {
        if (applied.has(m.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.postgres);
          await client.query(
            'INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)',
            [m.version, m.name, Date.now()],
          );
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw error;
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    await client.end();
  }
}

/**
 * One claim, inside the caller's transaction; `expired`: leases have expired, their events come back first.
 *
 * Objects are shared out by their advisory locks before any inbox row is locked: concurrent claims read the
 * same window of due events, each takes the locks of the objects it can, then locks the rows of those objects
 * only. Locking rows first (`FOR UPDATE SKIP LOCKED` over the window) split a burst between two claims: one
 * held the newest event's row, the other the object, which then applied an older state first.
 */
async function claim(
  c: PoolClient,
  request: ClaimRequest,
  now: number,
  expired: boolean,
): Promise<InboxEvent[]> {
  if (expired)
    await c.query(
      q(
        'stc_expire_leases',
        `UPDATE inbox SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL, updated_at = $1
         WHERE id IN (SELECT id FROM inbox WHERE status = 'processing' AND lease_expires_at <= $1
                      FOR UPDATE SKIP LOCKED)`,
      )([now]),
    );
  // The window: due events, oldest first, of objects not in flight (their events wait for the completion).
  const due = await c.query(
    q(
      'stc_claim_window',
      `SELECT id, source, account, object_id FROM inbox i WHERE status = 'pending' AND next_attempt_at <= $1
         AND ${OBJECT_NOT_IN_FLIGHT} AND ${NO_EARLIER_CHANGE_PENDING}
       ORDER BY id LIMIT $2`,
    )([now, claimWindow(request.limit)]),
  );
  if (due.rows.length === 0) return [];
  const window = due.rows.map((r) => ({
    id: Number(r.id),
    key: objectKey(r.source, r.account, r.object_id),
  }));
  // The oldest objects another claim does not hold, as many as this claim may take; the locks of a key held
  // elsewhere fail at once, so concurrent claims take consecutive objects of the window.
  const keys = [...new Set(window.map((w) => w.key).filter((k) => k !== null))];
  const locked = await c.query(
    q(
      'stc_claim_lock_objects',
      `SELECT k FROM unnest($1::text[]) AS k WHERE pg_try_advisory_xact_lock(hashtextextended(k, 0)) LIMIT $2`,
    )([keys, request.limit]),
  );
  const mine = new Set(locked.rows.map((r) => String(r.k)));
  const wanted = [
    ...window.filter((w) => w.key === null).slice(0, request.limit),
    ...window.filter((w) => w.key !== null && mine.has(w.key)),
  ];
  if (wanted.length === 0) return [];
  // Their rows, read after taking the locks: a claim committed by the previous holder of an object shows
  // here as its event in flight, and the object's events are left for the completion.
  const { rows } = await c.query(
    q(
      'stc_claim_rows',
      `SELECT ${INBOX_COLUMNS} FROM inbox i WHERE id = ANY($1::bigint[]) AND status = 'pending'
         AND ${OBJECT_NOT_IN_FLIGHT} AND ${NO_EARLIER_CHANGE_PENDING}
       ORDER BY id FOR UPDATE SKIP LOCKED`,
    )([wanted.map((w) => w.id)]),
  );
  const candidates = rows.map(toInboxEvent);
  const plan = planClaim(candidates, incomplete(wanted, candidates), claimRules(request, now));
  const { picked } = plan;
  if (picked.length === 0) return [];
  await attachPgBursts(c, plan, now);
  const leaseExpiresAtMs = now + request.leaseMs;
  await c.query(takeStatement(plan, request.owner, now, leaseExpiresAtMs));
  return markClaimed(picked, request.owner, leaseExpiresAtMs, now);
}

/**
 * The objects of which a wanted row did not come back: locked by another writer, or no longer pending. The
 * claim leaves such an object whole to a later one rather than apply the rows it has without the newest.
 */
function incomplete(wanted: { id: number; key: string | null }[], read: InboxEvent[]): Set<string> {
  const have = new Set(read.map((e) => e.id));
  return new Set(wanted.filter((w) => w.key !== null && !have.has(w.id)).map((w) => w.key as string));
}

/**
 * Bursts for the handlers (see attachBursts), from the state of their objects before this claim's stamps: the
 * stamp, and the writes from Stripe by other objects' events.
 */
async function attachPgBursts(c: PoolClient, plan: ClaimPlan<InboxEvent>, now: number): Promise<void> {
  const objects = [...new Set(plan.superseded.map(({ by }) => by))];
  if (objects.length === 0) return;
  const states = await c.query(
    q(
      'stc_claim_prior_states',
      `SELECT k.source, k.account, k.object_id, o.event_created, o.event_id, f.began, f.ended,
         f.updated_at AS fresh_at
       FROM unnest($1::text[], $2::text[], $3::text[]) AS k(source, account, object_id)
       LEFT JOIN object_versions o
         ON o.source = k.source AND o.account = k.account AND o.object_id = k.object_id
       LEFT JOIN object_fresh_writes f
         ON f.source = k.source AND f.account = k.account AND f.object_id = k.object_id`,
    )([objects.map((e) => e.source), objects.map((e) => e.account), objects.map((e) => e.objectId)]),
  );
  const prior = new Map(
    states.rows.map((r) => [objectKey(r.source, r.account, r.object_id), toObjectState(r, now)]),
  );
  attachBursts(
    plan,
    (e) => prior.get(objectKey(e.source, e.account, e.objectId)) ?? toObjectState(undefined, now),
  );
}

/**
 * What a claim writes, as one statement: the events it coalesced (superseded, each with its attempt, and the
 * newest of each object stamped), and the picked ones marked processing under this owner's lease.
 */
function takeStatement(
  { picked, superseded }: ClaimPlan<InboxEvent>,
  owner: string,
  now: number,
  leaseExpiresAtMs: number,
): QueryConfig {
  const stamps = coalescedStamps(superseded);
  return q(
    'stc_claim_take',
    `WITH superseded AS (
       UPDATE inbox SET status = 'superseded', attempts = attempts + 1, updated_at = $1
       WHERE id = ANY($2::bigint[]) AND status = 'pending'
     ), superseded_attempts AS (
       INSERT INTO attempts (inbox_id, attempt, worker, started_at, finished_at, outcome, error, error_code)
       SELECT u.id, u.n, $5::text, $1::bigint, $1::bigint, 'superseded', u.note, NULL
       FROM unnest($2::bigint[], $3::int[], $4::text[]) AS u(id, n, note)
     ), stamps AS (
       INSERT INTO object_versions (source, account, object_id, event_created, event_id, updated_at)
       SELECT s.source, s.account, s.object_id, s.created, s.event_id, $1::bigint
       FROM unnest($6::text[], $7::text[], $8::text[], $9::bigint[], $10::text[])
         AS s(source, account, object_id, created, event_id)
       ${KEEP_NEWER_STAMP}
     )
     UPDATE inbox SET status = 'processing', lease_owner = $5, lease_expires_at = $11, attempts = attempts + 1,
       updated_at = $1 WHERE id = ANY($12::bigint[])`,
  )([
    now,
    superseded.map(({ event }) => event.id),
    superseded.map(({ event }) => event.attempts + 1),
    superseded.map(({ by }) => supersededNote(by)),
    owner,
    stamps.map((e) => e.source),
    stamps.map((e) => e.account),
    stamps.map((e) => e.objectId),
    stamps.map((e) => e.eventCreatedMs),
    stamps.map((e) => e.eventId),
    leaseExpiresAtMs,
    picked.map((e) => e.id),
  ]);
}

async function resolve(
  pool: Pool,
  id: number,
  resolution: 'retried' | 'discarded',
  now: number,
): Promise<boolean> {
  return inTransaction(pool, async (c) => {
    const { rows } = await c.query(shared.resolve([now, resolution, id]));
    if (rows.length === 0) return false;
    const inboxId = rows[0].inbox_id;
    if (resolution === 'retried') await c.query(shared.requeue([now, now, inboxId]));
    else await c.query(shared.discard([now, inboxId]));
    return true;
  });
}
