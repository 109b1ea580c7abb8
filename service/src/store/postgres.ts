/**
 * PostgreSQL engine (pg): for production and for several service processes sharing one database.
 * Claims use `FOR UPDATE SKIP LOCKED` so processes never wait on each other's rows, plus a transaction-scoped
 * advisory lock per object so two processes never start two events of the same object at once.
 */
import { Pool, types as pgTypes, type PoolClient, type QueryConfig } from 'pg';
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

export interface PostgresStoreOptions {
  connectionString: string;
  /** Schema for every table (created when missing); default `public`. Tests use one per run. */
  schema?: string;
  poolMax?: number;
}

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

// Many events in one statement: one round trip and one commit (one WAL fsync) for a whole group. Plain
// parameters rather than arrays: encoding a JSON payload as an array literal escapes every quote in it.
// Statements are prepared for a few group sizes; a group is padded up to one by repeating its last event
// (a repeat is a conflict, so DO NOTHING skips it).
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

export function createPostgresStore(options: PostgresStoreOptions): Store {
  const schema = options.schema ?? 'public';
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`Invalid PostgreSQL schema name: ${schema}`);
  const pool = new Pool({
    connectionString: options.connectionString,
    max: options.poolMax ?? 10,
    options: `-c search_path=${schema}`,
    types: typeParsers,
  });
  let closed = false;
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);

  const insertGrouped = createGroupCommit(
    async (events: NewInboxEvent[]): Promise<boolean[]> => {
      const size = INSERT_GROUP_SIZES.find((n) => n >= events.length)!;
      const values: unknown[] = [];
      for (let i = 0; i < size; i++) {
        const e = events[Math.min(i, events.length - 1)];
        values.push(
          e.source,
          e.account,
          e.eventId,
          e.type,
          e.objectId,
          e.eventCreatedMs,
          e.payload,
          e.status,
          e.receivedAtMs,
        );
      }
      const { rows } = await pool.query(insertStatements.get(size)!(values));
      const inserted = new Set(rows.map((r) => `${r.source}|${r.account}|${r.event_id}`));
      // The same event twice in one group: the first is the insert, the second a duplicate.
      return events.map((e) => inserted.delete(`${e.source}|${e.account}|${e.eventId}`));
    },
    // Two groups in flight at most: while one commits, the next one fills up.
    { maxBatch: MAX_INSERT_GROUP, maxConcurrent: 2 },
  );

  async function inTransaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async function resolve(id: number, resolution: 'retried' | 'discarded', now: number): Promise<boolean> {
    return inTransaction(async (c) => {
      const { rows } = await c.query(
        `UPDATE dead_letters SET resolved_at = $1, resolution = $2 WHERE id = $3 AND resolved_at IS NULL RETURNING inbox_id`,
        [now, resolution, id],
      );
      if (rows.length === 0) return false;
      if (resolution === 'retried') {
        await c.query(
          `UPDATE inbox SET status = 'pending', attempts = 0, next_attempt_at = $1, last_error = NULL,
             last_error_code = NULL, updated_at = $1 WHERE id = $2 AND status = 'dead'`,
          [now, rows[0].inbox_id],
        );
      } else {
        await c.query(
          `UPDATE inbox SET status = 'discarded', updated_at = $1 WHERE id = $2 AND status = 'dead'`,
          [now, rows[0].inbox_id],
        );
      }
      return true;
    });
  }

  const store: Store = {
    engine: 'postgres',
    async migrate() {
      const client = await pool.connect();
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
        client.release();
      }
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    insertEvent(e: NewInboxEvent) {
      return insertGrouped(e);
    },
    async findEvent(source: EventSource, account: string, eventId: string) {
      const { rows } = await pool.query(
        `SELECT ${INBOX_COLUMNS} FROM inbox WHERE source = $1 AND account = $2 AND event_id = $3`,
        [source, account, eventId],
      );
      return rows[0] ? toInboxEvent(rows[0]) : null;
    },
    async getEvent(id: number) {
      const { rows } = await pool.query(`SELECT ${INBOX_COLUMNS} FROM inbox WHERE id = $1`, [id]);
      return rows[0] ? toInboxEvent(rows[0]) : null;
    },
    async claimEvents(request: ClaimRequest): Promise<InboxEvent[]> {
      if (request.limit <= 0) return [];
      const now = request.nowMs ?? Date.now();
      return inTransaction(async (c) => {
        await c.query(
          q(
            'stc_expire_leases',
            `UPDATE inbox SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL, updated_at = $1
             WHERE id IN (SELECT id FROM inbox WHERE status = 'processing' AND lease_expires_at <= $1
                          FOR UPDATE SKIP LOCKED)`,
          )([now]),
        );
        const due = await c.query(
          q(
            'stc_claim_due',
            `SELECT ${INBOX_COLUMNS} FROM inbox WHERE status = 'pending' AND next_attempt_at <= $1
             ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`,
          )([now, request.limit * 4 + 16]),
        );
        if (due.rows.length === 0) return [];
        const candidates = due.rows.map(toInboxEvent);
        // Lock each candidate object for this transaction; a key another process holds is skipped.
        const keys = [
          ...new Set(
            candidates.map((e) => objectKey(e.source, e.account, e.objectId)).filter((k) => k !== null),
          ),
        ];
        const locked = await c.query(
          q(
            'stc_claim_lock_objects',
            `SELECT k FROM unnest($1::text[]) AS k WHERE pg_try_advisory_xact_lock(hashtextextended(k, 0))`,
          )([keys]),
        );
        const mine = new Set(locked.rows.map((r) => String(r.k)));
        // Read after taking the locks: a claim committed by the previous lock holder is visible now.
        const flying = await c.query(
          q(
            'stc_claim_in_flight',
            `SELECT source, account, object_id FROM inbox WHERE status = 'processing' AND object_id <> ''`,
          )([]),
        );
        const busy = new Set<string>(keys.filter((k) => !mine.has(k)));
        for (const r of flying.rows) busy.add(objectKey(r.source, r.account, r.object_id) as string);
        const picked = pickClaimable(candidates, busy, request.limit);
        if (picked.length === 0) return [];
        const leaseExpiresAtMs = now + request.leaseMs;
        await c.query(
          q(
            'stc_claim_mark',
            `UPDATE inbox SET status = 'processing', lease_owner = $1, lease_expires_at = $2, attempts = attempts + 1,
               updated_at = $3 WHERE id = ANY($4::bigint[])`,
          )([request.owner, leaseExpiresAtMs, now, picked.map((e) => e.id)]),
        );
        for (const event of picked) {
          event.status = 'processing';
          event.leaseOwner = request.owner;
          event.leaseExpiresAtMs = leaseExpiresAtMs;
          event.attempts += 1;
          event.updatedAtMs = now;
        }
        return picked;
      });
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
    async completeEvent(a: CompletedAttempt) {
      const { event, outcome, finishedAtMs: now } = a;
      const status = outcome.kind === 'retry' ? 'pending' : outcome.kind;
      const error = outcome.kind === 'retry' || outcome.kind === 'dead' ? outcome.error : null;
      const code = outcome.kind === 'retry' || outcome.kind === 'dead' ? outcome.code : null;
      const next = outcome.kind === 'retry' ? outcome.nextAttemptAtMs : event.nextAttemptAtMs;
      return inTransaction(async (c) => {
        const finished = await c.query(
          q(
            'stc_complete_finish',
            `UPDATE inbox SET status = $1, lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = $2,
               last_error = $3, last_error_code = $4, updated_at = $5
             WHERE id = $6 AND lease_owner = $7 AND status = 'processing'`,
          )([status, next, error, code, now, event.id, a.owner]),
        );
        if (finished.rowCount !== 1) return false;
        await c.query(
          q(
            'stc_complete_attempt',
            `INSERT INTO attempts (inbox_id, attempt, worker, started_at, finished_at, outcome, error, error_code)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          )([event.id, event.attempts, a.owner, a.startedAtMs, now, outcome.kind, error, code]),
        );
        if (outcome.kind === 'applied' && a.stampObject && event.objectId !== '') {
          await c.query(
            q(
              'stc_complete_stamp',
              `INSERT INTO object_versions (source, account, object_id, event_created, event_id, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (source, account, object_id) DO UPDATE
                 SET event_created = excluded.event_created, event_id = excluded.event_id, updated_at = excluded.updated_at
                 WHERE (excluded.event_created, excluded.event_id) > (object_versions.event_created, object_versions.event_id)`,
            )([event.source, event.account, event.objectId, event.eventCreatedMs, event.eventId, now]),
          );
        }
        if (outcome.kind === 'dead') {
          await c.query(
            `INSERT INTO dead_letters (inbox_id, error, error_code, attempts, created_at) VALUES ($1, $2, $3, $4, $5)`,
            [event.id, outcome.error, outcome.code, event.attempts, now],
          );
        }
        return true;
      });
    },
    async getObjectStamp(
      source: EventSource,
      account: string,
      objectId: string,
    ): Promise<ObjectStamp | null> {
      const { rows } = await pool.query(
        q(
          'stc_get_stamp',
          `SELECT event_created, event_id FROM object_versions WHERE source = $1 AND account = $2 AND object_id = $3`,
        )([source, account, objectId]),
      );
      return rows[0]
        ? { eventCreatedMs: Number(rows[0].event_created), eventId: String(rows[0].event_id) }
        : null;
    },
    async listDeadLetters(options = {}): Promise<DeadLetter[]> {
      const where = options.includeResolved ? '' : 'WHERE d.resolved_at IS NULL';
      const { rows } = await pool.query(`${DEAD_LETTER_SELECT} ${where} ORDER BY d.id LIMIT $1 OFFSET $2`, [
        options.limit ?? 100,
        options.offset ?? 0,
      ]);
      return rows.map(toDeadLetter);
    },
    async getDeadLetter(id: number): Promise<DeadLetterDetail | null> {
      const { rows } = await pool.query(`${DEAD_LETTER_SELECT} WHERE d.id = $1`, [id]);
      if (!rows[0]) return null;
      const letter = toDeadLetter(rows[0]);
      const history = await pool.query(
        `SELECT attempt, worker, started_at, finished_at, outcome, error, error_code FROM attempts
         WHERE inbox_id = $1 ORDER BY id`,
        [letter.inboxId],
      );
      return {
        ...letter,
        payload: String(rows[0].payload),
        history: history.rows.map((r: Row) => toAttempt(r)),
      };
    },
    retryDeadLetter: (id: number, nowMs = Date.now()) => resolve(id, 'retried', nowMs),
    discardDeadLetter: (id: number, nowMs = Date.now()) => resolve(id, 'discarded', nowMs),
    async queueDepth(): Promise<QueueDepth> {
      const { rows } = await pool.query(
        `SELECT (SELECT COUNT(*) FROM inbox WHERE status = 'pending') AS pending,
                (SELECT COUNT(*) FROM inbox WHERE status = 'processing') AS processing,
                (SELECT COUNT(*) FROM dead_letters WHERE resolved_at IS NULL) AS dead`,
      );
      return {
        pending: Number(rows[0].pending),
        processing: Number(rows[0].processing),
        dead: Number(rows[0].dead),
      };
    },
    async getCursor(name: string) {
      const { rows } = await pool.query('SELECT value FROM cursors WHERE name = $1', [name]);
      return rows[0] ? String(rows[0].value) : null;
    },
    async setCursor(name: string, value: string) {
      await pool.query(
        `INSERT INTO cursors (name, value, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
        [name, value, Date.now()],
      );
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
  return store;
}
