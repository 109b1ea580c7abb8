/**
 * Rows of every table, in memory, with alternate-key indexes and transactions that roll back (a `$batch`
 * change set is all or nothing). Given a path, every committed transaction is also written to a SQLite file
 * (better-sqlite3) and read back at start, so the data survives a restart.
 */
import Database from 'better-sqlite3';
import type { AlternateKey } from '@stc/solution';
import type { ModelIndex } from './metadata';

/** Lookup values are kept as references; everything else as its JSON value (dates as ISO strings). */
export interface LookupRef {
  id: string;
  table: string;
}

export interface RowRecord {
  id: string;
  version: number;
  values: Record<string, unknown>;
}

export function isLookupRef(value: unknown): value is LookupRef {
  return typeof value === 'object' && value !== null && 'id' in value && 'table' in value;
}

/** Alternate keys compare case-insensitively, as Dataverse's SQL collation does; rows with a null part are not indexed. */
function keyString(key: AlternateKey, values: Record<string, unknown>): string | undefined {
  const parts: string[] = [];
  for (const c of key.columns) {
    const v = values[c];
    if (v === null || v === undefined) return undefined;
    if (isLookupRef(v)) parts.push(v.id.toLowerCase());
    else if (typeof v === 'string') parts.push(v.toLowerCase());
    else parts.push(String(v));
  }
  return JSON.stringify(parts);
}

interface UndoEntry {
  table: string;
  id: string;
  before: RowRecord | undefined;
}

export class Transaction {
  private readonly undo: UndoEntry[] = [];
  private readonly touched = new Map<string, { table: string; id: string }>();
  private open = true;

  constructor(private readonly store: RowStore) {}

  put(table: string, row: RowRecord): void {
    this.record(table, row.id);
    this.store.applyPut(table, row);
  }

  delete(table: string, id: string): void {
    this.record(table, id);
    this.store.applyDelete(table, id);
  }

  commit(): void {
    if (!this.open) return;
    this.open = false;
    this.store.persist([...this.touched.values()]);
  }

  rollback(): void {
    if (!this.open) return;
    this.open = false;
    for (let i = this.undo.length - 1; i >= 0; i--) {
      const { table, id, before } = this.undo[i];
      if (before) this.store.applyPut(table, before);
      else this.store.applyDelete(table, id);
    }
  }

  private record(table: string, id: string): void {
    if (!this.open) throw new Error('transaction already closed');
    const current = this.store.get(table, id);
    this.undo.push({ table, id, before: current && { ...current, values: { ...current.values } } });
    this.touched.set(`${table}|${id}`, { table, id });
  }
}

export class RowStore {
  private readonly tables = new Map<string, Map<string, RowRecord>>();
  private readonly keyIndexes = new Map<string, Map<string, string>>();
  private readonly keysByTable = new Map<string, AlternateKey[]>();
  private versionCounter = 1_000_000;
  private readonly db?: Database.Database;
  private readonly upsertStatement?: Database.Statement;
  private readonly deleteStatement?: Database.Statement;
  private readonly writeMany?: (changes: { table: string; id: string }[]) => void;

  /** Rows read from the file for tables the model does not have (yet): a solution import brings them back. */
  private readonly dormant = new Map<string, RowRecord[]>();

  constructor(index: ModelIndex, sqlitePath?: string) {
    this.adopt(index);
    if (sqlitePath) {
      this.db = new Database(sqlitePath);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.exec(
        'CREATE TABLE IF NOT EXISTS dataverse_rows (tbl TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (tbl, id))',
      );
      for (const r of this.db
        .prepare('SELECT tbl, id, version, data FROM dataverse_rows ORDER BY rowid')
        .iterate()) {
        const { tbl, id, version, data } = r as { tbl: string; id: string; version: number; data: string };
        const row: RowRecord = { id, version, values: JSON.parse(data) };
        if (this.tables.has(tbl)) this.applyPut(tbl, row);
        else this.dormant.set(tbl, [...(this.dormant.get(tbl) ?? []), row]);
        if (version > this.versionCounter) this.versionCounter = version;
      }
      this.upsertStatement = this.db.prepare(
        'INSERT INTO dataverse_rows (tbl, id, version, data) VALUES (?, ?, ?, ?) ON CONFLICT (tbl, id) DO UPDATE SET version = excluded.version, data = excluded.data',
      );
      this.deleteStatement = this.db.prepare('DELETE FROM dataverse_rows WHERE tbl = ? AND id = ?');
      this.writeMany = this.db.transaction((changes: { table: string; id: string }[]) => {
        for (const { table, id } of changes) {
          const row = this.get(table, id);
          if (row) this.upsertStatement!.run(table, id, row.version, JSON.stringify(row.values));
          else this.deleteStatement!.run(table, id);
        }
      });
    }
  }

  /**
   * Takes the tables and keys of the model: a new table starts empty (or with the rows the file kept of it),
   * a table whose keys changed has its key indexes rebuilt. Rows of tables the model dropped stay aside.
   */
  adopt(index: ModelIndex): void {
    for (const meta of index.tables) {
      const table = meta.logicalName;
      if (!this.tables.has(table)) this.tables.set(table, new Map());
      const before = this.keysByTable.get(table) ?? [];
      const keysChanged = JSON.stringify(before) !== JSON.stringify(meta.keys);
      if (!keysChanged && this.keysByTable.has(table) && !this.dormant.has(table)) continue;
      for (const key of before) this.keyIndexes.delete(`${table}|${key.logicalName}`);
      this.keysByTable.set(table, meta.keys);
      for (const key of meta.keys) this.keyIndexes.set(`${table}|${key.logicalName}`, new Map());
      const rows = [...this.tables.get(table)!.values(), ...(this.dormant.get(table) ?? [])];
      this.dormant.delete(table);
      for (const row of rows) this.applyPut(table, row);
    }
  }

  nextVersion(): number {
    return ++this.versionCounter;
  }

  begin(): Transaction {
    return new Transaction(this);
  }

  get(table: string, id: string): RowRecord | undefined {
    return this.tables.get(table)?.get(id);
  }

  rows(table: string): IterableIterator<RowRecord> {
    const rows = this.tables.get(table);
    if (!rows) throw new Error(`unknown table ${table}`);
    return rows.values();
  }

  count(table: string): number {
    return this.tables.get(table)?.size ?? 0;
  }

  /** The id of the row holding these key values, if any. */
  findByKey(table: string, key: AlternateKey, values: Record<string, unknown>): string | undefined {
    const k = keyString(key, values);
    return k === undefined ? undefined : this.keyIndexes.get(`${table}|${key.logicalName}`)?.get(k);
  }

  /** The key that `values` would duplicate on another row, if any. */
  duplicateKeyOf(table: string, id: string, values: Record<string, unknown>): AlternateKey | undefined {
    for (const key of this.keysByTable.get(table) ?? []) {
      const owner = this.findByKey(table, key, values);
      if (owner !== undefined && owner !== id) return key;
    }
    return undefined;
  }

  applyPut(table: string, row: RowRecord): void {
    const rows = this.tables.get(table)!;
    const previous = rows.get(row.id);
    if (previous) this.unindex(table, previous);
    rows.set(row.id, row);
    for (const key of this.keysByTable.get(table) ?? []) {
      const k = keyString(key, row.values);
      if (k !== undefined) this.keyIndexes.get(`${table}|${key.logicalName}`)!.set(k, row.id);
    }
  }

  applyDelete(table: string, id: string): void {
    const rows = this.tables.get(table)!;
    const previous = rows.get(id);
    if (!previous) return;
    this.unindex(table, previous);
    rows.delete(id);
  }

  persist(changes: { table: string; id: string }[]): void {
    if (this.writeMany && changes.length > 0) this.writeMany(changes);
  }

  /** Removes every row (tests); persisted too when a file backs the store. */
  clear(): void {
    for (const rows of this.tables.values()) rows.clear();
    for (const index of this.keyIndexes.values()) index.clear();
    this.db?.exec('DELETE FROM dataverse_rows');
  }

  close(): void {
    this.db?.close();
  }

  private unindex(table: string, row: RowRecord): void {
    for (const key of this.keysByTable.get(table) ?? []) {
      const k = keyString(key, row.values);
      const index = this.keyIndexes.get(`${table}|${key.logicalName}`)!;
      if (k !== undefined && index.get(k) === row.id) index.delete(k);
    }
  }
}
