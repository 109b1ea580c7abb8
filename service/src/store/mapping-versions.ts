/**
 * Mapping versions in the store, on both engines: a version's number is the next after the highest, taken
 * inside the transaction that stores it (SQLite's write lock, PostgreSQL's advisory lock), so processes
 * storing at once never take the same number; the active version is the latest activation. Replay queues
 * applied, skipped and dead Stripe events again in one transaction with their dead letters' resolution.
 */
import type Database from 'better-sqlite3';
import type { Pool, PoolClient } from 'pg';
import { inTransaction as inPgTransaction } from './pg-transaction';
import type { Row } from './rows';
import type {
  MappingActivation,
  MappingVersion,
  MappingVersionInfo,
  MappingVersionLedger,
  NewMappingVersion,
  ReplayFilter,
} from './types';

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));

const INFO_COLUMNS = `v.version, v.hash, v.created_at, v.created_by, v.note,
  (v.version = (SELECT version FROM mapping_activations ORDER BY id DESC LIMIT 1)) AS active`;

const SQL = {
  list: `SELECT ${INFO_COLUMNS} FROM mapping_versions v ORDER BY v.version`,
  get: `SELECT ${INFO_COLUMNS}, v.files FROM mapping_versions v WHERE v.version = ?`,
  active: `SELECT version FROM mapping_activations ORDER BY id DESC LIMIT 1`,
  next: `SELECT COALESCE(MAX(version), 0) + 1 AS version FROM mapping_versions`,
  byHash: `SELECT version FROM mapping_versions WHERE hash = ? LIMIT 1`,
  insert: `INSERT INTO mapping_versions (version, files, hash, created_at, created_by, note) VALUES (?, ?, ?, ?, ?, ?)`,
  exists: `SELECT version FROM mapping_versions WHERE version = ?`,
  activate: `INSERT INTO mapping_activations (version, activated_at, activated_by) VALUES (?, ?, ?)`,
  activations: `SELECT version, activated_at, activated_by FROM mapping_activations ORDER BY id DESC LIMIT ?`,
} as const;

/** The replay's filter as SQL over `inbox` (SQLite `?` parameters) and its values. */
function replayWhere(filter: ReplayFilter): { where: string; values: unknown[] } {
  const clauses = [`source = 'stripe'`, `status IN ('applied', 'skipped', 'dead')`];
  const values: unknown[] = [];
  if (filter.type?.endsWith('.*')) {
    clauses.push('substr(type, 1, ?) = ?');
    const prefix = filter.type.slice(0, -1);
    values.push(prefix.length, prefix);
  } else if (filter.type) {
    clauses.push('type = ?');
    values.push(filter.type);
  }
  if (filter.fromMs !== undefined) {
    clauses.push('event_created >= ?');
    values.push(filter.fromMs);
  }
  if (filter.toMs !== undefined) {
    clauses.push('event_created < ?');
    values.push(filter.toMs);
  }
  return { where: clauses.join(' AND '), values };
}

/** The statements of a replay: dead letters resolved, then the events queued again (returning their ids). */
function replayStatements(filter: ReplayFilter, nowMs: number) {
  const { where, values } = replayWhere(filter);
  return {
    resolve: {
      sql: `UPDATE dead_letters SET resolved_at = ?, resolution = 'retried'
        WHERE resolved_at IS NULL AND inbox_id IN (SELECT id FROM inbox WHERE ${where} AND status = 'dead')`,
      values: [nowMs, ...values],
    },
    requeue: {
      sql: `UPDATE inbox SET status = 'pending', attempts = 0, next_attempt_at = ?, last_error = NULL,
          last_error_code = NULL, updated_at = ?
        WHERE ${where} RETURNING id`,
      values: [nowMs, nowMs, ...values],
    },
  };
}

function toInfo(r: Row): MappingVersionInfo {
  return {
    version: num(r.version),
    hash: String(r.hash),
    createdAtMs: num(r.created_at),
    createdBy: String(r.created_by),
    note: r.note === null || r.note === undefined ? null : String(r.note),
    active: r.active === true || num(r.active) === 1,
  };
}

function toVersion(r: Row): MappingVersion {
  return { ...toInfo(r), files: JSON.parse(String(r.files)) as Record<string, string> };
}

function toActivation(r: Row): MappingActivation {
  return {
    version: num(r.version),
    activatedAtMs: num(r.activated_at),
    activatedBy: String(r.activated_by),
  };
}

/** What both engines do alike around the stored row. */
const infoOf = (
  number: number,
  v: NewMappingVersion,
  nowMs: number,
  active: boolean,
): MappingVersionInfo => ({
  version: number,
  hash: v.hash,
  createdAtMs: nowMs,
  createdBy: v.createdBy,
  note: v.note,
  active,
});

export function sqliteMappingVersions(db: Database.Database): MappingVersionLedger {
  const prepared = new Map<keyof typeof SQL, Database.Statement>();
  const st = (name: keyof typeof SQL): Database.Statement => {
    let statement = prepared.get(name);
    if (!statement) prepared.set(name, (statement = db.prepare(SQL[name])));
    return statement;
  };
  const store = db.transaction(
    (v: NewMappingVersion, activate: boolean, onlyIfNew: boolean): MappingVersionInfo | null => {
      if (onlyIfNew && st('byHash').get(v.hash)) return null;
      const nowMs = v.nowMs ?? Date.now();
      const number = num((st('next').get() as Row).version);
      st('insert').run(number, JSON.stringify(v.files), v.hash, nowMs, v.createdBy, v.note);
      if (activate) st('activate').run(number, nowMs, v.createdBy);
      return infoOf(number, v, nowMs, activate);
    },
  );
  const activate = db.transaction((version: number, by: string, nowMs: number): boolean => {
    if (!st('exists').get(version)) return false;
    st('activate').run(version, nowMs, by);
    return true;
  });
  const requeue = db.transaction((filter: ReplayFilter, nowMs: number): number[] => {
    const { resolve, requeue: queue } = replayStatements(filter, nowMs);
    db.prepare(resolve.sql).run(...resolve.values);
    return (db.prepare(queue.sql).all(...queue.values) as Row[]).map((r) => num(r.id));
  });
  return {
    async listMappingVersions() {
      return (st('list').all() as Row[]).map(toInfo);
    },
    async getMappingVersion(version) {
      const row = st('get').get(version) as Row | undefined;
      return row ? toVersion(row) : null;
    },
    async activeMappingVersion() {
      const row = st('active').get() as Row | undefined;
      return row ? num(row.version) : null;
    },
    async createMappingVersion(v, options) {
      return store.immediate(v, options.activate, false)!;
    },
    async adoptMappingFiles(v) {
      return { created: store.immediate(v, true, true) };
    },
    async activateMappingVersion(version, by, nowMs = Date.now()) {
      return activate.immediate(version, by, nowMs);
    },
    async mappingActivations(limit) {
      return (st('activations').all(limit) as Row[]).map(toActivation);
    },
    async requeueEvents(filter, nowMs = Date.now()) {
      return requeue.immediate(filter, nowMs);
    },
  };
}

/** Serialises the numbering of versions between processes (transaction-scoped). */
const MAPPING_VERSION_LOCK = 0x5354_4332; // 'STC2'

export function postgresMappingVersions(pool: Pool, numbered: (sql: string) => string): MappingVersionLedger {
  const query = async (c: Pool | PoolClient, sql: string, values: unknown[]) =>
    (await c.query(numbered(sql), values)).rows as Row[];
  const inTransaction = <T>(work: (c: PoolClient) => Promise<T>): Promise<T> => inPgTransaction(pool, work);
  const store = (v: NewMappingVersion, activate: boolean, onlyIfNew: boolean) =>
    inTransaction(async (c): Promise<MappingVersionInfo | null> => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [MAPPING_VERSION_LOCK]);
      if (onlyIfNew && (await query(c, SQL.byHash, [v.hash])).length > 0) return null;
      const nowMs = v.nowMs ?? Date.now();
      const number = num((await query(c, SQL.next, []))[0].version);
      await query(c, SQL.insert, [number, JSON.stringify(v.files), v.hash, nowMs, v.createdBy, v.note]);
      if (activate) await query(c, SQL.activate, [number, nowMs, v.createdBy]);
      return infoOf(number, v, nowMs, activate);
    });
  return {
    async listMappingVersions() {
      return (await query(pool, SQL.list, [])).map(toInfo);
    },
    async getMappingVersion(version) {
      const [row] = await query(pool, SQL.get, [version]);
      return row ? toVersion(row) : null;
    },
    async activeMappingVersion() {
      const [row] = await query(pool, SQL.active, []);
      return row ? num(row.version) : null;
    },
    async createMappingVersion(v, options) {
      return (await store(v, options.activate, false))!;
    },
    async adoptMappingFiles(v) {
      return { created: await store(v, true, true) };
    },
    async activateMappingVersion(version, by, nowMs = Date.now()) {
      return inTransaction(async (c) => {
        // FOR SHARE: the version cannot vanish between the check and the activation's reference to it.
        if ((await query(c, `${SQL.exists} FOR SHARE`, [version])).length === 0) return false;
        await query(c, SQL.activate, [version, nowMs, by]);
        return true;
      });
    },
    async mappingActivations(limit) {
      return (await query(pool, SQL.activations, [limit])).map(toActivation);
    },
    async requeueEvents(filter, nowMs = Date.now()) {
      const { resolve, requeue } = replayStatements(filter, nowMs);
      return inTransaction(async (c) => {
        await query(c, resolve.sql, resolve.values);
        return (await query(c, requeue.sql, requeue.values)).map((r) => num(r.id));
      });
    },
  };
}
