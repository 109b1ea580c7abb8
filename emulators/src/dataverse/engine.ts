/**
 * The table engine: turns Web API payloads into rows (validating every column as Dataverse does), writes them
 * through a transaction, and renders rows back in the Web API's JSON shape (`_x_value`, `@odata.etag`,
 * formatted-value annotations, `$expand`). Knows nothing of HTTP.
 */
import { randomUUID } from 'node:crypto';
import type { ChoiceColumn, Column, DecimalColumn, NumberColumn, StringColumn } from '@stc/solution';
import {
  DataverseHttpError,
  badRequest,
  cannotConvert,
  duplicateId,
  duplicateKey,
  invalidProperty,
  numberOutOfRange,
  optionOutOfRange,
  propertyNotFound,
  recordNotFoundById,
  recordNotFoundByKey,
  requiredMissing,
  stringTooLong,
  undeclaredNavigation,
} from './errors';
import { isLookup, keyDisplay, type ModelIndex, type TableMeta } from './metadata';
import {
  type ExpandItem,
  type FilterExpr,
  type KeyPredicate,
  type Literal,
  type Operand,
  type QueryOptions,
  filterProperties,
  isGuid,
  makeSkipToken,
  parseKeyPredicate,
  readSkipToken,
} from './odata';
import { SalesPricing } from './pricing';
import { refuseQuoteWrite } from './quotes';
import { type LookupRef, type RowRecord, type RowStore, type Transaction, isLookupRef } from './store';

export interface Caller {
  /** The user the operation runs as (the impersonated user when `MSCRMCallerID` is sent). */
  userId: string;
  /** The user who sent the request. */
  initiatingUserId: string;
}

export type MessageName = 'Create' | 'Update' | 'Delete';

/** A committed change, for webhooks. `target` holds the attributes the message carried. */
export interface ChangeEvent {
  message: MessageName;
  table: string;
  id: string;
  target: Record<string, unknown>;
  pre?: RowRecord;
  post?: RowRecord;
  caller: Caller;
  correlationId: string;
}

/** What one request (or one `$batch` change set) writes through. */
export interface WriteScope {
  tx: Transaction;
  caller: Caller;
  /** `Content-ID` → entity URL, for `$1` references inside a change set. */
  contentIds: Map<string, string>;
  events: ChangeEvent[];
  correlationId: string;
}

export interface AnnotationFilter {
  (name: string): boolean;
}
export const noAnnotations: AnnotationFilter = () => false;

/** `Prefer: odata.include-annotations="*"` or a comma list with `*` wildcards. */
export function annotationFilter(pattern: string | undefined): AnnotationFilter {
  if (!pattern) return noAnnotations;
  const patterns = pattern.split(',').map((p) => p.trim());
  return (name) =>
    patterns.some((p) => p === '*' || p === name || (p.endsWith('.*') && name.startsWith(p.slice(0, -1))));
}

const FORMATTED = 'OData.Community.Display.V1.FormattedValue';
const NAVIGATION = 'Microsoft.Dynamics.CRM.associatednavigationproperty';
const LOOKUP_NAME = 'Microsoft.Dynamics.CRM.lookuplogicalname';

const INT32 = { min: -2147483648, max: 2147483647 };
const DEFAULT_PAGE_SIZE = 5000;

export interface EngineOptions {
  /** Enforce ApplicationRequired ('required') columns too; Dataverse itself enforces only SystemRequired. */
  enforceApplicationRequired?: boolean;
  /** Organization.CreateProductsWithoutParentInActiveState: new products are Active, not Draft. */
  createProductsInActiveState?: boolean;
  now?: () => Date;
}

export const etagOf = (row: RowRecord): string => `W/"${row.version}"`;

function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class DataverseEngine {
  baseUrl = 'http://127.0.0.1/api/data/v9.2/';
  private readonly selections = new WeakMap<QueryOptions, Set<string> | undefined>();
  /** Children of a collection-valued `$expand`, grouped by parent once per request. */
  private readonly childGroups = new WeakMap<ExpandItem, Map<string, RowRecord[]>>();
  private readonly pricing = new SalesPricing();

  constructor(
    readonly model: ModelIndex,
    readonly store: RowStore,
    private readonly options: EngineOptions = {},
  ) {}

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  tableBySet(entitySet: string): TableMeta | undefined {
    return this.model.bySet.get(entitySet);
  }

  entityUrl(meta: TableMeta, id: string): string {
    return `${this.baseUrl}${meta.entitySetName}(${id})`;
  }

  // ---------------------------------------------------------------- addressing

  /** The id of the row a key predicate names, or undefined. Validates the key's columns. */
  resolvePredicate(meta: TableMeta, predicate: KeyPredicate): string | undefined {
    if ('id' in predicate) return this.store.get(meta.logicalName, predicate.id) ? predicate.id : undefined;
    const names = Object.keys(predicate.key).sort();
    const key = meta.keys.find((k) => [...k.columns].sort().join(',') === names.join(','));
    if (!key) {
      throw badRequest(
        `The key attributes ${names.join(', ')} do not match any alternate key defined for entity ${meta.logicalName}.`,
        '0x80060890',
      );
    }
    const values: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(predicate.key)) {
      const column = meta.columns.get(name)!;
      values[name] = isLookup(column) ? { id: String(value).toLowerCase(), table: column.targets[0] } : value;
    }
    return this.store.findByKey(meta.logicalName, key, values);
  }

  notFound(meta: TableMeta, predicate: KeyPredicate): DataverseHttpError {
    return 'id' in predicate
      ? recordNotFoundById(meta.logicalName, predicate.id)
      : recordNotFoundByKey(meta.logicalName);
  }

  /** Key values from a predicate as column values, for the row an upsert creates. */
  keyValues(meta: TableMeta, predicate: KeyPredicate): Record<string, unknown> {
    if ('id' in predicate) return {};
    const out: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(predicate.key)) {
      const column = meta.columns.get(name)!;
      out[name] = isLookup(column) ? { id: String(value).toLowerCase(), table: column.targets[0] } : value;
    }
    return out;
  }

  // ---------------------------------------------------------------- payloads

  /** Validates and converts a Web API payload into column values (lookups as references). */
  convertPayload(meta: TableMeta, body: unknown, scope: WriteScope | undefined): Record<string, unknown> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw badRequest('The request body must be a JSON object.', '0x80048d19');
    }
    const values: Record<string, unknown> = {};
    for (const [name, raw] of Object.entries(body as Record<string, unknown>)) {
      if (name.endsWith('@odata.bind')) {
        const navigation = name.slice(0, -'@odata.bind'.length);
        const nav = meta.singleNavigations.get(navigation);
        if (!nav) throw undeclaredNavigation(navigation, meta.entitySetName);
        if (raw === null) {
          values[nav.column.logicalName] = null;
          continue;
        }
        if (typeof raw !== 'string') throw cannotConvert(raw, 'Edm.String', meta.entitySetName);
        values[nav.column.logicalName] = this.resolveBind(raw, nav.target, scope);
        continue;
      }
      if (name.startsWith('@') || name.includes('@')) continue; // @odata.type, @odata.etag and other annotations
      const column = meta.columns.get(name);
      if (!column || isLookup(column)) throw invalidProperty(name, meta.logicalName);
      if (column.system && (name === 'createdon' || name === 'modifiedon')) continue; // read-only platform columns
      values[name] = this.convertValue(meta, column, raw);
    }
    return values;
  }

  private resolveBind(reference: string, target: string, scope: WriteScope | undefined): LookupRef {
    let path = reference;
    if (path.startsWith('$')) {
      const url = scope?.contentIds.get(path.slice(1));
      if (!url) throw badRequest(`Content-ID Reference: '${path}' does not exist in the batch context.`);
      path = url;
    }
    path = path
      .replace(/^https?:\/\/[^/]+/, '')
      .replace(/^\/?api\/data\/v9\.\d\//, '')
      .replace(/^\//, '');
    const m = /^([A-Za-z_][\w]*)\((.*)\)$/.exec(path);
    if (!m)
      throw badRequest(
        `The value '${reference}' is not a valid entity reference for @odata.bind.`,
        '0x80048d19',
      );
    const targetMeta = this.model.bySet.get(m[1]);
    if (!targetMeta) throw badRequest(`Resource not found for the segment '${m[1]}'.`, '0x8006088a');
    if (targetMeta.logicalName !== target) {
      throw badRequest(
        `The entity set '${m[1]}' does not match the navigation property's target '${target}'.`,
        '0x80048d19',
      );
    }
    const predicate = parseKeyPredicate(m[2]);
    const id = this.resolvePredicate(targetMeta, predicate);
    if (!id) throw this.notFound(targetMeta, predicate);
    return { id, table: targetMeta.logicalName };
  }

  private convertValue(meta: TableMeta, column: Column, raw: unknown): unknown {
    if (raw === null) return null;
    const set = meta.entitySetName;
    switch (column.type) {
      case 'string':
      case 'memo': {
        if (typeof raw !== 'string') throw cannotConvert(raw, 'Edm.String', set);
        const max = (column as StringColumn).maxLength;
        if (max && raw.length > max) throw stringTooLong(column.logicalName, meta.logicalName, max);
        return raw;
      }
      case 'integer':
      case 'bigint': {
        const edm = column.type === 'integer' ? 'Edm.Int32' : 'Edm.Int64';
        if (typeof raw !== 'number' || !Number.isInteger(raw)) throw cannotConvert(raw, edm, set);
        const { minValue, maxValue } = column as NumberColumn;
        const min = minValue ?? (column.type === 'integer' ? INT32.min : Number.MIN_SAFE_INTEGER);
        const max = maxValue ?? (column.type === 'integer' ? INT32.max : Number.MAX_SAFE_INTEGER);
        if (raw < min || raw > max)
          throw numberOutOfRange(column.logicalName, meta.logicalName, raw, min, max);
        return raw;
      }
      case 'decimal':
      case 'money': {
        const value = typeof raw === 'string' && /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
        if (typeof value !== 'number' || !Number.isFinite(value))
          throw cannotConvert(raw, 'Edm.Decimal', set);
        const { minValue, maxValue, precision } = column as DecimalColumn;
        if ((minValue !== undefined && value < minValue) || (maxValue !== undefined && value > maxValue)) {
          throw numberOutOfRange(column.logicalName, meta.logicalName, value, minValue, maxValue);
        }
        return precision !== undefined ? Number(value.toFixed(precision)) : value;
      }
      case 'boolean':
        if (typeof raw !== 'boolean') throw cannotConvert(raw, 'Edm.Boolean', set);
        return raw;
      case 'datetime': {
        if (typeof raw !== 'string' || !/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$/.test(raw)) {
          throw cannotConvert(raw, 'Edm.DateTimeOffset', set);
        }
        const ms = Date.parse(raw);
        if (Number.isNaN(ms)) throw cannotConvert(raw, 'Edm.DateTimeOffset', set);
        return isoSeconds(new Date(ms));
      }
      case 'dateonly':
        if (typeof raw !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(raw) || Number.isNaN(Date.parse(raw))) {
          throw cannotConvert(raw, 'Edm.Date', set);
        }
        return raw;
      case 'picklist':
      case 'state':
      case 'status': {
        if (typeof raw !== 'number' || !Number.isInteger(raw)) throw cannotConvert(raw, 'Edm.Int32', set);
        const options = meta.optionValues.get(column.logicalName);
        if (options && !options.has(raw)) {
          throw optionOutOfRange(column.logicalName, meta.logicalName, raw, [...options.keys()]);
        }
        return raw;
      }
      case 'uniqueidentifier':
        if (typeof raw !== 'string' || !isGuid(raw)) throw cannotConvert(raw, 'Edm.Guid', set);
        return raw.toLowerCase();
      default:
        throw invalidProperty(column.logicalName, meta.logicalName);
    }
  }

  // ---------------------------------------------------------------- writes

  create(
    meta: TableMeta,
    body: unknown,
    scope: WriteScope,
    presetId?: string,
    preset: Record<string, unknown> = {},
  ): RowRecord {
    const payload = this.convertPayload(meta, body, scope);
    refuseQuoteWrite(this, meta, payload, undefined);
    this.pricing.dropCalculated(meta, payload);
    const values: Record<string, unknown> = { ...payload, ...preset };
    let id = presetId ?? (values[meta.primaryId] as string | undefined) ?? randomUUID();
    id = id.toLowerCase();
    if (this.store.get(meta.logicalName, id)) throw duplicateId();
    values[meta.primaryId] = id;
    this.draftProduct(meta, values);

    for (const column of meta.columns.values()) {
      if (values[column.logicalName] !== undefined) continue;
      const withDefault = column as ChoiceColumn & { defaultValue?: unknown };
      if (withDefault.defaultValue !== undefined) values[column.logicalName] = withDefault.defaultValue;
      else if (column.type === 'state') values[column.logicalName] = 0;
      else if (column.type === 'status') {
        const options = meta.optionValues.get(column.logicalName);
        const first = options ? [...options.keys()][0] : 1;
        values[column.logicalName] = first;
      }
    }
    const now = isoSeconds(this.now());
    const user: LookupRef = { id: scope.caller.userId, table: 'systemuser' };
    values.createdon = now;
    values.modifiedon = now;
    if (meta.columns.has('createdby')) values.createdby = user;
    if (meta.columns.has('modifiedby')) values.modifiedby = user;
    if (meta.columns.has('ownerid') && !values.ownerid) values.ownerid = user;
    this.pricing.prepare(meta, values, true);

    for (const column of meta.columns.values()) {
      const required =
        column.requiredLevel === 'systemrequired' ||
        (column.requiredLevel === 'required' && this.options.enforceApplicationRequired);
      if (
        required &&
        column.logicalName !== meta.primaryId &&
        (values[column.logicalName] ?? null) === null
      ) {
        throw requiredMissing(column.logicalName, meta.logicalName);
      }
    }
    this.assertUniqueKeys(meta, id, values);
    const row: RowRecord = { id, version: this.store.nextVersion(), values };
    scope.tx.put(meta.logicalName, row);
    this.retotal(meta, undefined, values, scope);
    scope.events.push({
      message: 'Create',
      table: meta.logicalName,
      id,
      target: { ...values },
      post: row,
      caller: scope.caller,
      correlationId: scope.correlationId,
    });
    return row;
  }

  /** `options.winQuote`: the state change of the WinQuote action (quotes.ts), the one way a quote is won. */
  update(
    meta: TableMeta,
    existing: RowRecord,
    body: unknown,
    scope: WriteScope,
    options: { winQuote?: boolean } = {},
  ): RowRecord {
    const payload = this.convertPayload(meta, body, scope);
    delete payload[meta.primaryId];
    if (!options.winQuote) refuseQuoteWrite(this, meta, payload, existing);
    this.pricing.dropCalculated(meta, payload);
    const values: Record<string, unknown> = { ...existing.values, ...payload };
    this.pricing.prepare(meta, values, false);
    for (const [name, value] of Object.entries(payload)) {
      const column = meta.columns.get(name)!;
      if (column.requiredLevel === 'systemrequired' && value === null)
        throw requiredMissing(name, meta.logicalName);
    }
    values.modifiedon = isoSeconds(this.now());
    if (meta.columns.has('modifiedby')) values.modifiedby = { id: scope.caller.userId, table: 'systemuser' };
    this.assertUniqueKeys(meta, existing.id, values);
    const row: RowRecord = { id: existing.id, version: this.store.nextVersion(), values };
    scope.tx.put(meta.logicalName, row);
    this.retotal(meta, existing, values, scope);
    scope.events.push({
      message: 'Update',
      table: meta.logicalName,
      id: existing.id,
      target: {
        ...payload,
        [meta.primaryId]: existing.id,
        modifiedon: values.modifiedon,
        modifiedby: values.modifiedby,
      },
      pre: existing,
      post: row,
      caller: scope.caller,
      correlationId: scope.correlationId,
    });
    return row;
  }

  delete(meta: TableMeta, existing: RowRecord, scope: WriteScope): void {
    for (const relationship of meta.dependents) {
      const child = this.model.byLogical.get(relationship.referencingTable)!;
      const children = [...this.store.rows(child.logicalName)].filter((r) => {
        const ref = r.values[relationship.referencingColumn];
        return isLookupRef(ref) && ref.id === existing.id;
      });
      if (children.length === 0) continue;
      if (relationship.cascadeDelete === 'Restrict') {
        throw badRequest(
          'The object you tried to delete is associated with another object and cannot be deleted.',
          '0x80040227',
        );
      }
      for (const c of children) {
        if (relationship.cascadeDelete === 'Cascade') this.delete(child, c, scope);
        else {
          const values = { ...c.values, [relationship.referencingColumn]: null };
          scope.tx.put(child.logicalName, { id: c.id, version: this.store.nextVersion(), values });
        }
      }
    }
    scope.tx.delete(meta.logicalName, existing.id);
    this.retotal(meta, existing, undefined, scope);
    scope.events.push({
      message: 'Delete',
      table: meta.logicalName,
      id: existing.id,
      target: {},
      pre: existing,
      caller: scope.caller,
      correlationId: scope.correlationId,
    });
  }

  /**
   * Dynamics 365 Sales creates a product in Draft (statecode 2, status reason 0), to be published, unless
   * the organization creates products in the Active state (a new organization does not).
   */
  private draftProduct(meta: TableMeta, values: Record<string, unknown>): void {
    if (meta.logicalName !== 'product' || this.options.createProductsInActiveState) return;
    if (values.statecode !== undefined || !meta.optionValues.get('statuscode')?.has(0)) return;
    values.statecode = 2;
    values.statuscode = 0;
  }

  /** Orders, invoices and quotes: the totals over the lines, as Dynamics 365 Sales keeps them (pricing.ts). */
  private retotal(
    meta: TableMeta,
    before: RowRecord | undefined,
    after: Record<string, unknown> | undefined,
    scope: WriteScope,
  ): void {
    for (const { table, id } of this.pricing.affected(meta, before, after)) {
      const documentMeta = this.model.byLogical.get(table);
      if (!documentMeta) continue;
      this.pricing.total(documentMeta, id, {
        rows: (name) => this.store.rows(name),
        get: (name, rowId) => this.store.get(name, rowId),
        put: (name, values, existing) =>
          scope.tx.put(name, { id: existing.id, version: this.store.nextVersion(), values }),
      });
    }
  }

  private assertUniqueKeys(meta: TableMeta, id: string, values: Record<string, unknown>): void {
    const key = this.store.duplicateKeyOf(meta.logicalName, id, values);
    if (key) {
      const display = keyDisplay(meta, key);
      throw duplicateKey(display.columns, display.key);
    }
  }

  // ---------------------------------------------------------------- reads

  /** Validates `$select` names; lookups may be named by logical name or as `_x_value`. */
  selection(meta: TableMeta, select: string[] | undefined): Set<string> | undefined {
    if (!select) return undefined;
    const out = new Set<string>();
    for (const name of select) {
      if (name === '*') return undefined;
      const column = meta.columns.get(name);
      if (column) out.add(column.logicalName);
      else if (meta.lookupValueNames.has(name)) out.add(meta.lookupValueNames.get(name)!.logicalName);
      else throw propertyNotFound(name, meta.logicalName);
    }
    return out;
  }

  contextUrl(meta: TableMeta, options: QueryOptions, single: boolean): string {
    const parts = [...(options.select ?? [])];
    for (const e of options.expand ?? [])
      parts.push(`${e.navigation}(${(e.options.select ?? []).join(',')})`);
    const projection = parts.length > 0 ? `(${parts.join(',')})` : '';
    return `${this.baseUrl}$metadata#${meta.entitySetName}${projection}${single ? '/$entity' : ''}`;
  }

  renderRow(
    meta: TableMeta,
    row: RowRecord,
    options: QueryOptions,
    annotations: AnnotationFilter,
  ): Record<string, unknown> {
    // One query renders up to 5,000 rows with the same options: work the selection out once.
    let selected = this.selections.get(options);
    if (!this.selections.has(options)) {
      selected = this.selection(meta, options.select);
      this.selections.set(options, selected);
    }
    const out: Record<string, unknown> = { '@odata.etag': etagOf(row) };
    for (const column of meta.columns.values()) {
      if (selected && !selected.has(column.logicalName) && column.logicalName !== meta.primaryId) continue;
      const value = row.values[column.logicalName] ?? null;
      if (isLookup(column)) {
        const name = `_${column.logicalName}_value`;
        const ref = isLookupRef(value) ? value : undefined;
        if (ref) {
          const nav = Object.entries(column.navigation).find(([target]) => target === ref.table)?.[1];
          if (annotations(FORMATTED)) {
            const targetMeta = this.model.byLogical.get(ref.table);
            const target = targetMeta && this.store.get(ref.table, ref.id);
            const label = target && targetMeta ? target.values[targetMeta.primaryName] : undefined;
            if (label !== undefined && label !== null) out[`${name}@${FORMATTED}`] = String(label);
          }
          if (annotations(NAVIGATION) && nav) out[`${name}@${NAVIGATION}`] = nav;
          if (annotations(LOOKUP_NAME)) out[`${name}@${LOOKUP_NAME}`] = ref.table;
        }
        out[name] = ref ? ref.id : null;
        continue;
      }
      if (value !== null && annotations(FORMATTED)) {
        const formatted = this.formatValue(meta, column, value);
        if (formatted !== undefined) out[`${column.logicalName}@${FORMATTED}`] = formatted;
      }
      out[column.logicalName] = value;
    }
    for (const item of options.expand ?? []) out[item.navigation] = this.expand(meta, row, item, annotations);
    return out;
  }

  private formatValue(meta: TableMeta, column: Column, value: unknown): string | undefined {
    switch (column.type) {
      case 'picklist':
      case 'state':
      case 'status':
        return meta.optionValues.get(column.logicalName)?.get(value as number);
      case 'boolean':
        return value ? (column.trueLabel ?? 'Yes') : (column.falseLabel ?? 'No');
      case 'money':
      case 'decimal': {
        const precision = (column as DecimalColumn).precision ?? 2;
        return (value as number).toLocaleString('en-US', {
          minimumFractionDigits: precision,
          maximumFractionDigits: precision,
        });
      }
      case 'integer':
      case 'bigint':
        return (value as number).toLocaleString('en-US');
      case 'datetime': {
        const d = new Date(value as string);
        const hours = d.getUTCHours() % 12 || 12;
        const minutes = String(d.getUTCMinutes()).padStart(2, '0');
        return `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()} ${hours}:${minutes} ${d.getUTCHours() < 12 ? 'AM' : 'PM'}`;
      }
      case 'dateonly': {
        const [y, m, day] = (value as string).split('-').map(Number);
        return `${m}/${day}/${y}`;
      }
      default:
        return undefined;
    }
  }

  private expand(meta: TableMeta, row: RowRecord, item: ExpandItem, annotations: AnnotationFilter): unknown {
    const single = meta.singleNavigations.get(item.navigation);
    if (single) {
      const ref = row.values[single.column.logicalName];
      if (!isLookupRef(ref) || ref.table !== single.target) return null;
      const targetMeta = this.model.byLogical.get(single.target)!;
      const target = this.store.get(targetMeta.logicalName, ref.id);
      return target ? this.renderRow(targetMeta, target, item.options, annotations) : null;
    }
    const collection = meta.collectionNavigations.get(item.navigation)!;
    const childMeta = this.model.byLogical.get(collection.referencingTable)!;
    let groups = this.childGroups.get(item);
    if (!groups) {
      groups = new Map();
      for (const child of this.select(childMeta, item.options)) {
        const ref = child.values[collection.referencingColumn];
        if (!isLookupRef(ref)) continue;
        const list = groups.get(ref.id);
        if (list) list.push(child);
        else groups.set(ref.id, [child]);
      }
      this.childGroups.set(item, groups);
    }
    const children = groups.get(row.id) ?? [];
    const limited = item.options.top !== undefined ? children.slice(0, item.options.top) : children;
    return limited.map((c) => this.renderRow(childMeta, c, item.options, annotations));
  }

  /** Checks `$select`, `$filter`, `$orderby`, `$expand` names before any row is read. */
  validateQuery(meta: TableMeta, options: QueryOptions): void {
    this.selection(meta, options.select);
    if (options.filter) for (const name of filterProperties(options.filter)) this.property(meta, name);
    for (const o of options.orderBy ?? []) this.property(meta, o.name);
    for (const item of options.expand ?? []) {
      const single = meta.singleNavigations.get(item.navigation);
      const collection = meta.collectionNavigations.get(item.navigation);
      if (!single && !collection) throw propertyNotFound(item.navigation, meta.logicalName);
      const target = this.model.byLogical.get(single ? single.target : collection!.referencingTable)!;
      this.validateQuery(target, item.options);
    }
  }

  /** A readable property: a column, a lookup's `_x_value`, or a single-valued navigation path `nav/column`. */
  private property(
    meta: TableMeta,
    name: string,
  ): { get: (row: RowRecord) => unknown; column: Column | 'id' } {
    if (name.includes('/')) {
      const [navName, ...rest] = name.split('/');
      const nav = meta.singleNavigations.get(navName);
      if (!nav) throw propertyNotFound(navName, meta.logicalName);
      const targetMeta = this.model.byLogical.get(nav.target)!;
      const inner = this.property(targetMeta, rest.join('/'));
      return {
        column: inner.column,
        get: (row) => {
          const ref = row.values[nav.column.logicalName];
          if (!isLookupRef(ref) || ref.table !== nav.target) return null;
          const target = this.store.get(nav.target, ref.id);
          return target ? inner.get(target) : null;
        },
      };
    }
    const lookup = meta.lookupValueNames.get(name);
    if (lookup) {
      return {
        column: 'id',
        get: (row) => {
          const ref = row.values[lookup.logicalName];
          return isLookupRef(ref) ? ref.id : null;
        },
      };
    }
    const column = meta.columns.get(name);
    if (!column || isLookup(column)) throw propertyNotFound(name, meta.logicalName);
    if (name === meta.primaryId) return { column: 'id', get: (row) => row.id };
    return { column, get: (row) => row.values[name] ?? null };
  }

  compileFilter(meta: TableMeta, expr: FilterExpr): (row: RowRecord) => boolean {
    switch (expr.kind) {
      case 'and': {
        const l = this.compileFilter(meta, expr.left);
        const r = this.compileFilter(meta, expr.right);
        return (row) => l(row) && r(row);
      }
      case 'or': {
        const l = this.compileFilter(meta, expr.left);
        const r = this.compileFilter(meta, expr.right);
        return (row) => l(row) || r(row);
      }
      case 'not': {
        const inner = this.compileFilter(meta, expr.expr);
        return (row) => !inner(row);
      }
      case 'func': {
        const [subject, needle] = expr.args.map((a) => this.operand(meta, a));
        return (row) => {
          const s = subject(row);
          const n = needle(row);
          if (typeof s !== 'string' || typeof n !== 'string') return false;
          const hay = s.toLowerCase();
          const x = n.toLowerCase();
          return expr.name === 'contains'
            ? hay.includes(x)
            : expr.name === 'startswith'
              ? hay.startsWith(x)
              : hay.endsWith(x);
        };
      }
      case 'in': {
        // Dataverse passes PropertyValues as strings whatever the column type: compare as text, ignoring case.
        const subject = this.operand(meta, { kind: 'prop', name: expr.property });
        const wanted = new Set(expr.values.map((l) => String(normalise(literalValue(l)))));
        return (row) => {
          const v = subject(row);
          const hit = v !== null && v !== undefined && wanted.has(String(normalise(v)));
          return expr.negated ? !hit : hit;
        };
      }
      case 'cmp': {
        const left = this.operand(meta, expr.left);
        const right = this.operand(meta, expr.right);
        const op = expr.op;
        return (row) => compare(left(row), right(row), op);
      }
    }
  }

  private operand(meta: TableMeta, operand: Operand): (row: RowRecord) => unknown {
    if (operand.kind === 'lit') {
      const value = literalValue(operand.literal);
      return () => value;
    }
    const property = this.property(meta, operand.name);
    const column = property.column;
    if (column !== 'id' && (column.type === 'datetime' || column.type === 'dateonly')) {
      return (row) => {
        const v = property.get(row);
        return typeof v === 'string' ? new Date(Date.parse(v)) : v;
      };
    }
    return property.get;
  }

  /** Rows of a table matching a query, ordered; uses an alternate-key index for `key eq 'x'` filters. */
  select(meta: TableMeta, options: QueryOptions, extra?: (row: RowRecord) => boolean): RowRecord[] {
    const predicate = options.filter ? this.compileFilter(meta, options.filter) : undefined;
    const candidates =
      (options.filter && this.indexedCandidates(meta, options.filter)) ?? this.store.rows(meta.logicalName);
    const rows: RowRecord[] = [];
    for (const row of candidates) {
      if (extra && !extra(row)) continue;
      if (predicate && !predicate(row)) continue;
      rows.push(row);
    }
    if (options.orderBy && options.orderBy.length > 0) {
      const getters = options.orderBy.map((o) => ({
        get: this.property(meta, o.name).get,
        desc: o.descending,
      }));
      rows.sort((a, b) => {
        for (const { get, desc } of getters) {
          const c = order(get(a), get(b));
          if (c !== 0) return desc ? -c : c;
        }
        return 0;
      });
    }
    return rows;
  }

  private indexedCandidates(meta: TableMeta, filter: FilterExpr): RowRecord[] | undefined {
    const conjuncts: FilterExpr[] = [];
    const collect = (e: FilterExpr): void => {
      if (e.kind === 'and') {
        collect(e.left);
        collect(e.right);
      } else conjuncts.push(e);
    };
    collect(filter);
    for (const c of conjuncts) {
      if (c.kind !== 'cmp' || c.op !== 'eq' || c.left.kind !== 'prop' || c.right.kind !== 'lit') continue;
      const name = c.left.name;
      const literal = c.right.literal;
      if (literal.type !== 'string' && literal.type !== 'number') continue;
      const key = meta.keys.find((k) => k.columns.length === 1 && k.columns[0] === name);
      if (!key) continue;
      const id = this.store.findByKey(meta.logicalName, key, { [name]: literal.value });
      const row = id ? this.store.get(meta.logicalName, id) : undefined;
      return row ? [row] : [];
    }
    return undefined;
  }

  /** A collection response: `value`, `@odata.count`, `@odata.nextLink` when a page is full. */
  query(
    meta: TableMeta,
    options: QueryOptions,
    annotations: AnnotationFilter,
    pageSize: number | undefined,
    nextLinkBase: string,
    extra?: (row: RowRecord) => boolean,
  ): Record<string, unknown> {
    this.validateQuery(meta, options);
    let rows = this.select(meta, options, extra);
    const total = rows.length;
    if (options.top !== undefined) rows = rows.slice(0, options.top);
    const size = Math.max(1, Math.min(pageSize ?? DEFAULT_PAGE_SIZE, DEFAULT_PAGE_SIZE));
    const skip = options.skipToken ? readSkipToken(options.skipToken) : 0;
    const page = rows.slice(skip, skip + size);
    const body: Record<string, unknown> = { '@odata.context': this.contextUrl(meta, options, false) };
    if (options.count) body['@odata.count'] = total;
    body.value = page.map((r) => this.renderRow(meta, r, options, annotations));
    if (skip + size < rows.length) {
      const token = makeSkipToken(Math.floor(skip / size) + 2, skip + size);
      const separator = nextLinkBase.includes('?') ? '&' : '?';
      body['@odata.nextLink'] = `${nextLinkBase}${separator}$skiptoken=${encodeURIComponent(token)}`;
    }
    return body;
  }
}

function literalValue(literal: Literal): unknown {
  switch (literal.type) {
    case 'datetime':
    case 'date':
      return new Date(Date.parse(literal.value as string));
    default:
      return literal.value;
  }
}

function normalise(v: unknown): unknown {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'string') return v.toLowerCase();
  return v;
}

/** OData comparison with Dataverse's case-insensitive string collation; null only equals null. */
function compare(a: unknown, b: unknown, op: string): boolean {
  if (a === null || a === undefined || b === null || b === undefined) {
    const bothNull = (a ?? null) === null && (b ?? null) === null;
    if (op === 'eq') return bothNull;
    if (op === 'ne') return !bothNull;
    return false;
  }
  const x = normalise(a);
  const y = normalise(b);
  switch (op) {
    case 'eq':
      return x === y;
    case 'ne':
      return x !== y;
    case 'gt':
      return (x as number) > (y as number);
    case 'ge':
      return (x as number) >= (y as number);
    case 'lt':
      return (x as number) < (y as number);
    default:
      return (x as number) <= (y as number);
  }
}

/** Sort order as SQL Server gives it: nulls first ascending. */
function order(a: unknown, b: unknown): number {
  const x = a === undefined ? null : normalise(a);
  const y = b === undefined ? null : normalise(b);
  if (x === y) return 0;
  if (x === null) return -1;
  if (y === null) return 1;
  return (x as number) < (y as number) ? -1 : 1;
}
