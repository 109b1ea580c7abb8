/**
 * Test support: a DataverseClient over in-memory tables that behaves like the Web API where the handlers
 * rely on it: alternate-key upserts with If-Match / If-None-Match modes, `@odata.bind` to a GUID or an
 * alternate key that must exist, `$filter` with `eq` joined by `and`, and typed not-found / duplicate errors.
 */
import { randomUUID } from 'node:crypto';
import { model } from '@stc/solution';
import type {
  BatchOperation,
  DataverseClient,
  KeyValues,
  QueryOptions,
  Row,
  UpsertResult,
  WriteMode,
} from '../../dataverse/types';

export class MemoryDataverseError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly transient = false,
  ) {
    super(message);
  }
}

export interface RecordedWrite {
  op: 'upsert' | 'update' | 'create';
  entitySet: string;
  key?: KeyValues;
  id?: string;
  row: Row;
  mode?: WriteMode;
}

function tableBySet(entitySet: string) {
  const table = model.tables.find((candidate) => candidate.entitySetName === entitySet);
  if (!table)
    throw new MemoryDataverseError(404, '0x8006088a', `Resource not found for the segment '${entitySet}'.`);
  return table;
}

const unquote = (text: string) => text.replace(/''/g, "'");

/** `column eq 'value'`, `column eq null`, and `Microsoft.Dynamics.CRM.In(…)` (one of several values). */
function parseFilter(filter: string): Array<[string, string | null | string[]]> {
  return filter.split(/\s+and\s+/).map((clause) => {
    const among = /^Microsoft\.Dynamics\.CRM\.In\(PropertyName='(\w+)',PropertyValues=\[(.*)\]\)$/.exec(
      clause.trim(),
    );
    if (among) return [among[1], [...among[2].matchAll(/'((?:[^']|'')*)'/g)].map((m) => unquote(m[1]))];
    const match = /^(\w+) eq (?:'((?:[^']|'')*)'|(null))$/.exec(clause.trim());
    if (!match) throw new Error(`memory Dataverse: unsupported $filter clause "${clause}"`);
    return [match[1], match[3] ? null : match[2].replace(/''/g, "'")];
  });
}

export class MemoryDataverse implements DataverseClient {
  readonly tables = new Map<string, Map<string, Row>>();
  readonly writes: RecordedWrite[] = [];
  requests = 0;

  rows(entitySet: string): Row[] {
    return [...(this.tables.get(entitySet)?.values() ?? [])];
  }

  rowByKey(entitySet: string, key: KeyValues): Row | undefined {
    return this.rows(entitySet).find((row) =>
      Object.entries(key).every(([column, value]) => row[column] === value),
    );
  }

  /** Adds a row as if entered in Dynamics 365; returns its id. */
  seed(entitySet: string, row: Row): string {
    const table = tableBySet(entitySet);
    const id = randomUUID();
    this.table(entitySet).set(id, {
      [table.primaryIdColumn]: id,
      createdon: new Date().toISOString(),
      ...row,
    });
    return id;
  }

  private table(entitySet: string): Map<string, Row> {
    let rows = this.tables.get(entitySet);
    if (!rows) this.tables.set(entitySet, (rows = new Map()));
    return rows;
  }

  /** Checks every `@odata.bind` names a row that exists, as Dataverse does. */
  private checkBinds(row: Row): void {
    for (const [name, value] of Object.entries(row)) {
      if (!name.endsWith('@odata.bind')) continue;
      const match = /^\/(\w+)\((.+)\)$/.exec(String(value));
      if (!match) throw new MemoryDataverseError(400, '0x0', `Bad @odata.bind value ${String(value)}`);
      const [, entitySet, address] = match;
      const byKey = /^(\w+)='((?:[^']|'')*)'$/.exec(address);
      const target = byKey
        ? this.rowByKey(entitySet, { [byKey[1]]: byKey[2].replace(/''/g, "'") })
        : this.tables.get(entitySet)?.get(address);
      if (!target) {
        throw new MemoryDataverseError(
          404,
          byKey ? '0x80060891' : '0x80040217',
          `${entitySet} With Ids = ${address} Do Not Exist`,
        );
      }
    }
  }

  async upsertByKey(
    entitySet: string,
    key: KeyValues,
    row: Row,
    options: { mode?: WriteMode } = {},
  ): Promise<UpsertResult> {
    this.requests++;
    const table = tableBySet(entitySet);
    const mode = options.mode ?? 'upsert';
    const existing = this.rowByKey(entitySet, key);
    if (existing && mode === 'createOnly')
      throw new MemoryDataverseError(412, '0x80060892', 'A record with matching key values already exists.');
    if (!existing && mode === 'updateOnly')
      throw new MemoryDataverseError(
        404,
        '0x80060891',
        'A record with the specified key values does not exist.',
      );
    this.checkBinds(row);
    this.writes.push({ op: 'upsert', entitySet, key, row, mode });
    if (existing) {
      Object.assign(existing, row);
      return { id: String(existing[table.primaryIdColumn]), created: false };
    }
    const id = randomUUID();
    this.table(entitySet).set(id, {
      [table.primaryIdColumn]: id,
      createdon: new Date().toISOString(),
      ...row,
      ...key,
    });
    return { id, created: true };
  }

  async update(entitySet: string, id: string, row: Row): Promise<void> {
    this.requests++;
    const existing = this.tables.get(entitySet)?.get(id);
    if (!existing)
      throw new MemoryDataverseError(404, '0x80040217', `${entitySet} With Id = ${id} Does Not Exist`);
    this.checkBinds(row);
    this.writes.push({ op: 'update', entitySet, id, row });
    Object.assign(existing, row);
  }

  async create(entitySet: string, row: Row): Promise<string> {
    this.requests++;
    this.checkBinds(row);
    this.writes.push({ op: 'create', entitySet, row });
    return this.seed(entitySet, row);
  }

  async retrieveMultiple(entitySet: string, query: QueryOptions = {}): Promise<Row[]> {
    this.requests++;
    tableBySet(entitySet);
    const clauses = query.filter ? parseFilter(query.filter) : [];
    // `_<lookup>_value` is the lookup's id; here a lookup is set by a `<lookup>…@odata.bind` entry.
    const lookupSet = (row: Row, column: string) => {
      const lookup = /^_(\w+)_value$/.exec(column)?.[1];
      return (
        lookup !== undefined &&
        Object.keys(row).some((name) => name.startsWith(lookup) && name.endsWith('@odata.bind'))
      );
    };
    let rows = this.rows(entitySet).filter((row) =>
      clauses.every(([column, value]) =>
        value === null
          ? (row[column] === undefined || row[column] === null) && !lookupSet(row, column)
          : Array.isArray(value)
            ? value.some((one) => String(row[column] ?? '').toLowerCase() === one.toLowerCase())
            : typeof row[column] === 'string' &&
              (row[column] as string).toLowerCase() === value.toLowerCase(),
      ),
    );
    if (query.orderBy?.[0] === 'createdon asc')
      rows = rows.sort((a, b) => String(a.createdon).localeCompare(String(b.createdon)));
    if (query.top !== undefined) rows = rows.slice(0, query.top);
    return rows.map((row) => ({ ...row }));
  }

  async retrieveByKey(entitySet: string, key: KeyValues): Promise<Row | null> {
    this.requests++;
    return this.rowByKey(entitySet, key) ?? null;
  }

  async retrieve(entitySet: string, id: string): Promise<Row | null> {
    this.requests++;
    return this.tables.get(entitySet)?.get(id) ?? null;
  }

  async delete(entitySet: string, id: string): Promise<void> {
    this.requests++;
    this.tables.get(entitySet)?.delete(id);
  }

  async executeAction(name: string): Promise<never> {
    throw new Error(`memory Dataverse: the action ${name} is not used by the handlers it serves`);
  }

  async executeBatch(operations: BatchOperation[]): Promise<never> {
    throw new Error(
      `memory Dataverse: $batch of ${operations.length} operations is not used by the handlers`,
    );
  }
}
