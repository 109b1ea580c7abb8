/**
 * The console's ledger on both engines: the Dataverse requests an attempt made, written in the attempt's own
 * completion transaction (no extra commit per request), and the console's searches. The searches are built
 * from the filters given, with SQLite's `?` parameters (PostgreSQL numbers them).
 */
import type Database from 'better-sqlite3';
import type { Pool } from 'pg';
import type {
  ConsoleLedger,
  DataverseWriteRecord,
  DeadLetterSearch,
  EventSearch,
  StoredDataverseWrite,
} from './lineage-types';
import { DEAD_LETTER_SELECT, toDeadLetter, toInboxEvent, type Row } from './rows';

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/** The inbox columns without the payload, which a listing never shows. */
const SUMMARY_COLUMNS =
  "id, source, account, event_id, type, object_id, event_created, '' AS payload, status, attempts, " +
  'next_attempt_at, lease_owner, lease_expires_at, last_error, last_error_code, received_at, updated_at';

export const WRITE_COLUMNS = `inbox_id, attempt, mapping, mapping_version, table_name, row_id, operation, method, path,
  status, duration_ms, error, at`;

const SQL = {
  insertWrite: `INSERT INTO dataverse_writes (${WRITE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  writes: `SELECT ${WRITE_COLUMNS} FROM dataverse_writes WHERE inbox_id = ? ORDER BY id`,
  outcomes: `SELECT (finished_at / 60000) * 60000 AS minute, outcome, COUNT(*) AS n FROM attempts
    WHERE finished_at >= ? GROUP BY 1, 2 ORDER BY 1`,
  openDeadLetters: `SELECT COUNT(*) AS n FROM dead_letters WHERE resolved_at IS NULL`,
};

type Run = (sql: string, values: unknown[]) => Promise<Row[]>;

/** A Dataverse row id as stored and searched: GUIDs in lower case. */
export const normalRowId = (id: string): string => id.trim().toLowerCase();

function toWrite(r: Row): StoredDataverseWrite {
  return {
    inboxId: num(r.inbox_id),
    attempt: num(r.attempt),
    mapping: strOrNull(r.mapping),
    mappingVersion: strOrNull(r.mapping_version),
    table: String(r.table_name),
    rowId: strOrNull(r.row_id),
    operation: r.operation as StoredDataverseWrite['operation'],
    method: String(r.method),
    path: String(r.path),
    status: num(r.status),
    durationMs: num(r.duration_ms),
    error: strOrNull(r.error),
    atMs: num(r.at),
  };
}

function writeValues(inboxId: number, attempt: number, w: DataverseWriteRecord): unknown[] {
  return [
    inboxId,
    attempt,
    w.mapping,
    w.mappingVersion,
    w.table,
    w.rowId === null ? null : normalRowId(w.rowId),
    w.operation,
    w.method,
    w.path,
    w.status,
    Math.round(w.durationMs),
    w.error,
    w.atMs,
  ];
}

/** A WHERE clause built from the filters given, and its values in order. */
function conditions() {
  const clauses: string[] = [];
  const values: unknown[] = [];
  return {
    values,
    add(clause: string, ...clauseValues: unknown[]) {
      clauses.push(clause);
      values.push(...clauseValues);
    },
    where: () => (clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''),
  };
}

function eventQuery(s: EventSearch): { sql: string; values: unknown[] } {
  const { add, where, values } = conditions();
  if (s.q)
    add(
      '(event_id = ? OR object_id = ? OR id IN (SELECT inbox_id FROM dataverse_writes WHERE row_id = ?))',
      s.q,
      s.q,
      normalRowId(s.q),
    );
  if (s.type) add('type = ?', s.type);
  if (s.status) add('status = ?', s.status);
  if (s.fromMs !== undefined) add('received_at >= ?', s.fromMs);
  if (s.toMs !== undefined) add('received_at < ?', s.toMs);
  if (s.beforeId !== undefined) add('id < ?', s.beforeId);
  return {
    sql: `SELECT ${SUMMARY_COLUMNS} FROM inbox ${where()} ORDER BY id DESC LIMIT ?`,
    values: [...values, s.limit],
  };
}

function deadLetterQuery(s: DeadLetterSearch): { sql: string; values: unknown[] } {
  const { add, where, values } = conditions();
  if (s.openOnly !== false) add('d.resolved_at IS NULL');
  if (s.type) add('i.type = ?', s.type);
  if (s.errorCode) add('d.error_code = ?', s.errorCode);
  if (s.q) add('(i.event_id = ? OR i.object_id = ?)', s.q, s.q);
  if (s.fromMs !== undefined) add('d.created_at >= ?', s.fromMs);
  if (s.toMs !== undefined) add('d.created_at < ?', s.toMs);
  if (s.beforeId !== undefined) add('d.id < ?', s.beforeId);
  return {
    sql: `${DEAD_LETTER_SELECT} ${where()} ORDER BY d.id DESC LIMIT ?`,
    values: [...values, s.limit],
  };
}

function consoleLedger(run: Run): ConsoleLedger {
  return {
    async eventWrites(inboxId) {
      return (await run(SQL.writes, [inboxId])).map(toWrite);
    },
    async searchEvents(search) {
      const { sql, values } = eventQuery(search);
      return (await run(sql, values)).map(toInboxEvent);
    },
    async outcomesPerMinute(fromMs) {
      return (await run(SQL.outcomes, [fromMs])).map((r) => ({
        minuteMs: num(r.minute),
        outcome: String(r.outcome),
        count: num(r.n),
      }));
    },
    async searchDeadLetters(search) {
      const { sql, values } = deadLetterQuery(search);
      return (await run(sql, values)).map(toDeadLetter);
    },
    async openDeadLetterCount() {
      return num((await run(SQL.openDeadLetters, []))[0]?.n ?? 0);
    },
  };
}

/** SQLite: statements prepared on first use (the tables exist once migrated) and kept. */
export function sqliteConsoleLedger(db: Database.Database): {
  ledger: ConsoleLedger;
  /** Inside the completion transaction. */
  recordWrites(inboxId: number, attempt: number, writes: readonly DataverseWriteRecord[]): void;
} {
  const prepared = new Map<string, Database.Statement>();
  const statement = (sql: string) => {
    let st = prepared.get(sql);
    if (!st) prepared.set(sql, (st = db.prepare(sql)));
    return st;
  };
  return {
    ledger: consoleLedger(async (sql, values) => statement(sql).all(...values) as Row[]),
    recordWrites(inboxId, attempt, writes) {
      if (writes.length === 0) return;
      const insert = statement(SQL.insertWrite);
      for (const w of writes) insert.run(...writeValues(inboxId, attempt, w));
    },
  };
}

/** PostgreSQL: the `?` of each search numbered. */
export function postgresConsoleLedger(pool: Pool, numbered: (sql: string) => string): ConsoleLedger {
  return consoleLedger(async (sql, values) => (await pool.query(numbered(sql), values)).rows);
}

/**
 * An attempt's Dataverse requests as one array per column (WRITE_COLUMNS after inbox id and attempt), for
 * PostgreSQL's `unnest`: any number of writes in one statement.
 */
export function writeColumns(writes: readonly DataverseWriteRecord[]): unknown[][] {
  const rows = writes.map((w) => writeValues(0, 0, w));
  return [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((i) => rows.map((values) => values[i]));
}

/** The table and its indexes: by inbox id (an event's lineage) and by row id (which event wrote a row). */
export function dataverseWritesTable(dialect: 'sqlite' | 'postgres'): string {
  const id =
    dialect === 'sqlite'
      ? 'INTEGER PRIMARY KEY AUTOINCREMENT'
      : 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY';
  const ref = dialect === 'sqlite' ? 'INTEGER' : 'BIGINT';
  return `
CREATE TABLE dataverse_writes (
  id ${id},
  inbox_id ${ref} NOT NULL REFERENCES inbox (id),
  attempt INTEGER NOT NULL,
  mapping TEXT,
  mapping_version TEXT,
  table_name TEXT NOT NULL,
  row_id TEXT,
  operation TEXT NOT NULL,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  status INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  error TEXT,
  at BIGINT NOT NULL
);
CREATE INDEX dataverse_writes_inbox ON dataverse_writes (inbox_id);
CREATE INDEX dataverse_writes_row ON dataverse_writes (row_id) WHERE row_id IS NOT NULL;
-- The console's outcomes per minute read the attempts of the last hour.
CREATE INDEX attempts_finished ON attempts (finished_at);
`;
}
