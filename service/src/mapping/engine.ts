/**
 * Compiles mapping specs against the table model (once, at load) and applies them to Stripe objects.
 * Every check that can be made without an event is made at compile time, so a mapping that loads can
 * only fail on data (a missing required value, a value outside an option set), never on its own shape.
 */
import { Payment } from '@stc/solution/tables';
import jsonata from 'jsonata';
import type { Column, LookupColumn, Table, TableModel } from '@stc/solution';
import type { KeyValues, Row } from '../dataverse/types';
import { ColumnValueError, isGuid, staticTypeFits, toColumnValue } from './columns';
import { MappingError, type MappingErrorLocation } from './errors';
import { builtInFunctions, type LookupTables, type MappingFunction, type StaticType } from './functions';
import { compileFast, FALLBACK, toBoolean, type FastEvaluator, type Scope } from './fast';
import type { Literal, MappingSpec } from './schema';

/** The parts of a Stripe event a mapping may read as `$event`, and the ordering stamp comes from. */
export interface EventEnvelope {
  id: string;
  type: string;
  /** Unix seconds. */
  created: number;
  /** Connected account (`acct_…`) for Connect events, else null. */
  account: string | null;
  livemode: boolean;
}

/**
 * Ordering stamp columns: the event that last wrote the row. The pipeline compares them. Every synced table
 * carries them under the same names (the table model adds them), so the payment table's names serve for all.
 */
export const STAMP_EVENT_ID = Payment.col.lastEventId;
export const STAMP_EVENT_CREATED = Payment.col.lastEventCreated;

export interface LinkTarget {
  table: string;
  entitySet: string;
  /** Single-valued navigation property, used as `<navigation>@odata.bind`. */
  navigation: string;
  primaryIdColumn: string;
}

/** A lookup the mapping asks for; the sync layer resolves it to an `@odata.bind` (see `resolveLinks`). */
export interface PendingLink {
  column: string;
  targets: LinkTarget[];
  /** A GUID given by the data: bound to the first target directly. */
  id?: string;
  /** Otherwise the row of a target table whose `column` equals `value`. */
  match?: { column: string; value: string };
  /** `match` is the target's alternate key and the row is known to exist: bind by key, no read. */
  byKey?: boolean;
}

export interface MappedRow {
  mapping: string;
  version: string;
  table: string;
  entitySet: string;
  key: KeyValues;
  /** Column values as the Web API takes them; includes the key columns and the ordering stamp. */
  row: Row;
  links: PendingLink[];
}

interface CompiledColumn {
  name: string;
  column: Column;
  unit?: Unit;
  /** `value:` coerced at load. */
  constant?: unknown;
  map?: Record<string, Literal>;
  default?: Literal;
  /** Coerced at load. */
  fallback?: unknown;
  required: boolean;
  truncate: boolean;
}

interface CompiledLink {
  column: string;
  targets: LinkTarget[];
  match?: string;
  byKey: boolean;
  id?: Unit;
  value?: Unit;
}

export interface CompiledMapping {
  readonly name: string;
  readonly file: string;
  readonly version: string;
  readonly description?: string;
  /** Stripe object type (`payment_intent`, `charge`…). */
  readonly source: string;
  /**
   * Reading the object from Stripe before mapping, with these expansions: on every event (`always`), or only
   * when the payload may be stale or lacks one of `needs` (`missing`); null maps the payload as it is.
   */
  readonly refresh: MappingRefresh | null;
  readonly table: Table;
  readonly entitySet: string;
  readonly keyColumns: string[];
  /** @internal */ readonly compiled: {
    model: TableModel;
    /** Named values, in order, computed once per object before the columns. */
    lets: Array<{ name: string; unit: Unit }>;
    when?: Unit;
    keys: Array<{ column: string; unit: Unit }>;
    columns: CompiledColumn[];
    links: CompiledLink[];
    stamp: { id?: Column; created?: Column };
  };
}

/** One expression of a mapping: a direct closure where the expression allows one, always JSONata as well. */
export interface Unit {
  /** Column (or `let.x`, `when`) the expression fills: named in errors. */
  name: string;
  fast: FastEvaluator | null;
  expression: jsonata.Expression;
}

export interface CompileContext {
  model: TableModel;
  file: string;
  version: string;
  lookups: LookupTables;
}

const findTable = (model: TableModel, name: string) =>
  model.tables.find((table) => table.logicalName === name);
const findColumn = (table: Table, name: string) =>
  table.columns.find((column) => column.logicalName === name);

function compileExpression(
  text: string,
  functions: MappingFunction[],
  location: MappingErrorLocation,
): jsonata.Expression {
  let expression: jsonata.Expression;
  try {
    expression = jsonata(text);
  } catch (error) {
    const detail = error as { message?: string; position?: number };
    throw new MappingError(
      'mapping_invalid',
      `expression ${JSON.stringify(text)} does not parse: ${detail.message}${detail.position !== undefined ? ` (at character ${detail.position})` : ''}`,
      location,
    );
  }
  for (const fn of functions) expression.registerFunction(fn.name, fn.implementation, fn.signature);
  return expression;
}

type AstNode = jsonata.ExprNode & { then?: AstNode; else?: AstNode; condition?: AstNode };

/** The literal results an expression can give, when its shape shows them all (`a ? 'x' : 'y'`). */
function literalResults(node: AstNode | undefined): Literal[] | undefined {
  if (!node) return [];
  if (node.type === 'string' || node.type === 'number' || node.type === 'value')
    return [node.value as Literal];
  if (node.type === 'condition') {
    const then = literalResults(node.then);
    const otherwise = node.else ? literalResults(node.else) : [];
    return then && otherwise ? [...then, ...otherwise] : undefined;
  }
  if (node.type === 'block' && node.expressions?.length) {
    return literalResults(node.expressions[node.expressions.length - 1] as AstNode);
  }
  return undefined;
}

/** The result type of an expression whose outermost step is a typed built-in function. */
function staticType(node: AstNode, functions: MappingFunction[]): StaticType | undefined {
  if (node.type === 'function' && node.procedure?.type === 'variable') {
    return functions.find((fn) => fn.name === node.procedure?.value)?.returns;
  }
  if (node.type === 'block' && node.expressions?.length) {
    return staticType(node.expressions[node.expressions.length - 1] as AstNode, functions);
  }
  return undefined;
}

/** Every `$lookupTable('name', …)` must name a table the file declares. */
function checkLookupNames(node: unknown, lookups: LookupTables, location: MappingErrorLocation): void {
  if (!node || typeof node !== 'object') return;
  const current = node as AstNode;
  if (current.type === 'function' && current.procedure?.value === 'lookupTable') {
    const first = current.arguments?.[0];
    if (first?.type === 'string' && !(first.value in lookups)) {
      const known = Object.keys(lookups);
      throw new MappingError(
        'mapping_invalid',
        `$lookupTable names "${first.value}", which the file's \`lookups\` do not declare (${known.length ? known.join(', ') : 'none declared'})`,
        location,
      );
    }
  }
  for (const value of Object.values(current)) {
    if (Array.isArray(value)) value.forEach((item) => checkLookupNames(item, lookups, location));
    else if (value && typeof value === 'object') checkLookupNames(value, lookups, location);
  }
}

function coerceAtLoad(
  context: CompileContext,
  column: Column,
  value: unknown,
  what: string,
  location: MappingErrorLocation,
): unknown {
  try {
    return toColumnValue(context.model, column, value);
  } catch (error) {
    throw new MappingError('mapping_model_mismatch', `${what}: ${(error as Error).message}`, location);
  }
}

function checkExpressionFits(
  context: CompileContext,
  column: Column,
  ast: AstNode,
  functions: MappingFunction[],
  location: MappingErrorLocation,
): void {
  checkLookupNames(ast, context.lookups, location);
  const literals = literalResults(ast);
  if (literals) {
    for (const literal of literals)
      coerceAtLoad(context, column, literal, `the expression can give ${JSON.stringify(literal)}`, location);
    return;
  }
  const type = staticType(ast, functions);
  if (type && !staticTypeFits(type, column)) {
    throw new MappingError(
      'mapping_model_mismatch',
      `the expression gives a ${type} value but the column is ${column.type}`,
      location,
    );
  }
}

function linkTargets(
  context: CompileContext,
  column: LookupColumn,
  wanted: string[] | undefined,
  location: MappingErrorLocation,
): LinkTarget[] {
  const names = wanted ?? column.targets;
  return names.map((name) => {
    if (!column.targets.includes(name)) {
      throw new MappingError(
        'mapping_model_mismatch',
        `target "${name}" is not a table this lookup points to (${column.targets.join(', ')})`,
        location,
      );
    }
    const table = findTable(context.model, name);
    if (!table)
      throw new MappingError(
        'mapping_model_mismatch',
        `target table "${name}" is not in the table model`,
        location,
      );
    const navigation = column.navigation[name];
    if (!navigation) {
      throw new MappingError(
        'mapping_model_mismatch',
        `the table model gives no navigation property for target "${name}"`,
        location,
      );
    }
    return {
      table: name,
      entitySet: table.entitySetName,
      navigation,
      primaryIdColumn: table.primaryIdColumn,
    };
  });
}

/** What compiling one mapping's sections shares: its table, its error locations and its expression parser. */
interface MappingCompiler {
  context: CompileContext;
  table: Table;
  functions: MappingFunction[];
  at(column?: string): MappingErrorLocation;
  /** The table's column of that name, or a MappingError. */
  columnOf(columnName: string): Column;
  /** Parses an expression once: its tree for the load-time checks, a closure and a JSONata fallback to run. */
  unit(unitName: string, text: string, location: MappingErrorLocation): { unit: Unit; ast: AstNode };
}

type ColumnInput = MappingSpec['columns'][string];
type LinkInput = NonNullable<MappingSpec['links']>[string];

function mappingCompiler(name: string, spec: MappingSpec, context: CompileContext): MappingCompiler {
  const at = (column?: string): MappingErrorLocation => ({ file: context.file, mapping: name, column });
  const functions = builtInFunctions(context.lookups);
  const table = findTable(context.model, spec.table);
  if (!table) {
    throw new MappingError('mapping_model_mismatch', `table "${spec.table}" is not in the table model`, at());
  }
  const fastFunctions = Object.fromEntries(functions.map((fn) => [fn.name, fn.implementation]));
  return {
    context,
    table,
    functions,
    at,
    columnOf(columnName) {
      const column = findColumn(table, columnName);
      if (!column) {
        throw new MappingError(
          'mapping_model_mismatch',
          `table "${table.logicalName}" has no column "${columnName}"`,
          at(columnName),
        );
      }
      return column;
    },
    unit(unitName, text, location) {
      const expression = compileExpression(text, functions, location);
      const ast = expression.ast() as AstNode;
      return { unit: { name: unitName, fast: compileFast(ast, fastFunctions), expression }, ast };
    },
  };
}

/** The key's columns must exist and be one of the table's alternate keys. */
function checkKeyColumns(compiler: MappingCompiler, keyColumns: string[]): void {
  const { table } = compiler;
  keyColumns.forEach(compiler.columnOf);
  const sameColumns = (a: string[], b: string[]) =>
    a.length === b.length && a.every((column) => b.includes(column));
  if (!table.keys.some((key) => sameColumns(key.columns, keyColumns))) {
    throw new MappingError(
      'mapping_model_mismatch',
      `(${keyColumns.join(', ')}) is not an alternate key of table "${table.logicalName}" (keys: ${
        table.keys.map((key) => `(${key.columns.join(', ')})`).join(', ') || 'none'
      })`,
      compiler.at(keyColumns.join(', ')),
    );
  }
}

function compileColumn(
  compiler: MappingCompiler,
  columnName: string,
  input: ColumnInput,
  keyColumns: string[],
): CompiledColumn {
  const { context } = compiler;
  const at = compiler.at(columnName);
  const column = compiler.columnOf(columnName);
  if (keyColumns.includes(columnName)) {
    throw new MappingError('mapping_invalid', 'a key column is set under `key`, not `columns`', at);
  }
  if (column.type === 'lookup' || column.type === 'customer' || column.type === 'owner') {
    throw new MappingError(
      'mapping_model_mismatch',
      `a ${column.type} column is set under \`links\`, not \`columns\``,
      at,
    );
  }
  const columnSpec = typeof input === 'string' ? { expr: input } : input;
  const compiled: CompiledColumn = {
    name: columnName,
    column,
    map: columnSpec.map,
    default: columnSpec.default,
    required: columnSpec.required ?? false,
    truncate: columnSpec.truncate ?? false,
  };
  if (columnSpec.value !== undefined) {
    compiled.constant = coerceAtLoad(context, column, columnSpec.value, 'the value', at);
  }
  if (columnSpec.default !== undefined && columnSpec.default !== null) {
    coerceAtLoad(context, column, columnSpec.default, 'the default', at);
  }
  if (columnSpec.fallback !== undefined) {
    if (!columnSpec.map && !['picklist', 'state', 'status'].includes(column.type)) {
      throw new MappingError('mapping_invalid', '`fallback` applies to a `map` or a choice column', at);
    }
    compiled.fallback = coerceAtLoad(context, column, columnSpec.fallback, 'the fallback', at);
  }
  if (columnSpec.map) {
    for (const [from, to] of Object.entries(columnSpec.map)) {
      coerceAtLoad(context, column, to, `map entry "${from}"`, at);
    }
  }
  if (columnSpec.expr !== undefined) {
    const compiledUnit = compiler.unit(columnName, columnSpec.expr, at);
    compiled.unit = compiledUnit.unit;
    // With a map, the expression gives a key of the map, not the column's value.
    if (!columnSpec.map) checkExpressionFits(context, column, compiledUnit.ast, compiler.functions, at);
    else checkLookupNames(compiledUnit.ast, context.lookups, at);
  }
  return compiled;
}

function compileLink(compiler: MappingCompiler, columnName: string, link: LinkInput): CompiledLink {
  const { context } = compiler;
  const at = compiler.at(columnName);
  const column = compiler.columnOf(columnName);
  if (column.type !== 'lookup' && column.type !== 'customer' && column.type !== 'owner') {
    throw new MappingError(
      'mapping_model_mismatch',
      `column is ${column.type}, not a lookup: set it under \`columns\``,
      at,
    );
  }
  const targets = linkTargets(context, column, link.targets, at);
  if (link.match !== undefined) {
    for (const target of targets) {
      const targetTable = findTable(context.model, target.table)!;
      if (!findColumn(targetTable, link.match)) {
        throw new MappingError(
          'mapping_model_mismatch',
          `target table "${target.table}" has no column "${link.match}" to match on`,
          at,
        );
      }
    }
  }
  if (link.byKey) {
    const keyed = targets.every((target) =>
      findTable(context.model, target.table)!.keys.some(
        (key) => key.columns.length === 1 && key.columns[0] === link.match,
      ),
    );
    if (!keyed || targets.length !== 1) {
      throw new MappingError(
        'mapping_model_mismatch',
        `\`byKey\` needs one target whose alternate key is "${link.match ?? ''}"`,
        at,
      );
    }
  }
  return {
    column: columnName,
    targets,
    match: link.match,
    byKey: link.byKey ?? false,
    id: link.id !== undefined ? compiler.unit(columnName, link.id, at).unit : undefined,
    value: link.value !== undefined ? compiler.unit(columnName, link.value, at).unit : undefined,
  };
}

export interface MappingRefresh {
  expand: string[];
  when: 'always' | 'missing';
  /** Dotted paths the payload must hold as objects (or null) to be mapped without a read. */
  needs: string[];
}

function refreshOf(spec: MappingSpec): MappingRefresh | null {
  if (spec.refresh === true) return { expand: [], when: 'always', needs: [] };
  if (spec.refresh && typeof spec.refresh === 'object') {
    const { expand, when, needs } = spec.refresh;
    return { expand, when: when ?? 'always', needs: needs ?? [] };
  }
  return null;
}

export function compileMapping(name: string, spec: MappingSpec, context: CompileContext): CompiledMapping {
  const compiler = mappingCompiler(name, spec, context);
  const { table, at } = compiler;
  const keyColumns = Object.keys(spec.key);
  checkKeyColumns(compiler, keyColumns);

  const lets = Object.entries(spec.let ?? {}).map(([letName, text]) => ({
    name: letName,
    unit: compiler.unit(`let.${letName}`, text, at(`let.${letName}`)).unit,
  }));
  const keys = Object.entries(spec.key).map(([columnName, text]) => ({
    column: columnName,
    unit: compiler.unit(columnName, text, at(columnName)).unit,
  }));
  const columns = Object.entries(spec.columns).map(([columnName, input]) =>
    compileColumn(compiler, columnName, input, keyColumns),
  );
  const links = Object.entries(spec.links ?? {}).map(([columnName, link]) =>
    compileLink(compiler, columnName, link),
  );
  const when = spec.when !== undefined ? compiler.unit('when', spec.when, at('when')).unit : undefined;

  return {
    name,
    file: context.file,
    version: context.version,
    description: spec.description,
    source: spec.source,
    refresh: refreshOf(spec),
    table,
    entitySet: table.entitySetName,
    keyColumns,
    compiled: {
      model: context.model,
      lets,
      when,
      keys,
      columns,
      links,
      stamp: { id: findColumn(table, STAMP_EVENT_ID), created: findColumn(table, STAMP_EVENT_CREATED) },
    },
  };
}

function isMissing(value: unknown): boolean {
  return (
    value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0)
  );
}

/** JSONata gives sequences as arrays with extra properties; rows want plain values. */
function plain(value: unknown): unknown {
  return Array.isArray(value) ? (value.length === 1 ? value[0] : [...value]) : value;
}

function failed(mapping: CompiledMapping, unitName: string, object: unknown, error: unknown): MappingError {
  if (error instanceof MappingError) return error;
  return new MappingError(
    'mapping_failed',
    `expression failed on ${describeObject(object)}: ${(error as Error).message}`,
    { file: mapping.file, mapping: mapping.name, column: unitName },
    { cause: error },
  );
}

/**
 * One expression's value: the closure's when it has one and the value is in its subset, else JSONata's
 * (asynchronous, so only then is there a promise to wait for).
 */
function run(mapping: CompiledMapping, unit: Unit, object: unknown, scope: Scope): unknown {
  if (unit.fast) {
    try {
      // Plain as JSONata's result below is, so a `let` holds the same value whichever way it was computed.
      return plain(unit.fast(object, scope));
    } catch (error) {
      if (error !== FALLBACK) throw failed(mapping, unit.name, object, error);
    }
  }
  return unit.expression.evaluate(object, scope).then(plain, (error: unknown) => {
    throw failed(mapping, unit.name, object, error);
  });
}

const isPromise = (value: unknown): value is Promise<unknown> => value instanceof Promise;

/** `$event`, `$$` and the mapping's `let` values, computed in order (a promise only if one needs JSONata). */
function scopeFor(mapping: CompiledMapping, object: unknown, event: EventEnvelope): Scope | Promise<Scope> {
  const scope: Scope = Object.create(null);
  scope.$$ = object;
  scope.event = event;
  const lets = mapping.compiled.lets;
  for (let index = 0; index < lets.length; index++) {
    const value = run(mapping, lets[index].unit, object, scope);
    if (isPromise(value)) return finishScope(mapping, object, scope, index, value);
    scope[lets[index].name] = value;
  }
  return scope;
}

async function finishScope(
  mapping: CompiledMapping,
  object: unknown,
  scope: Scope,
  from: number,
  pending: Promise<unknown>,
): Promise<Scope> {
  const lets = mapping.compiled.lets;
  scope[lets[from].name] = await pending;
  for (let index = from + 1; index < lets.length; index++) {
    const value = run(mapping, lets[index].unit, object, scope);
    scope[lets[index].name] = isPromise(value) ? await value : value;
  }
  return scope;
}

async function value(mapping: CompiledMapping, unit: Unit, object: unknown, scope: Scope): Promise<unknown> {
  const result = run(mapping, unit, object, scope);
  return plain(isPromise(result) ? await result : result);
}

function describeObject(object: unknown): string {
  const id = (object as { id?: unknown })?.id;
  return typeof id === 'string' ? id : 'the object';
}

/** Whether the mapping's `when` holds for this object (true when it has none). */
export async function mappingApplies(
  mapping: CompiledMapping,
  object: unknown,
  event: EventEnvelope,
): Promise<boolean> {
  const when = mapping.compiled.when;
  if (!when) return true;
  // As JSONata reads a condition (its `$boolean`): `when: discounts` holds only when there are discounts.
  return toBoolean(await value(mapping, when, object, await scopeFor(mapping, object, event)));
}

function locationOf(mapping: CompiledMapping, column: string): MappingErrorLocation {
  return { file: mapping.file, mapping: mapping.name, column };
}

function unitValue(mapping: CompiledMapping, unit: Unit, object: unknown, scope: Scope): unknown {
  const result = run(mapping, unit, object, scope);
  return isPromise(result) ? result.then(plain) : plain(result);
}

/** What mapping one object shares: the mapping, the object, its scope and how errors name it. */
interface MappingRun {
  mapping: CompiledMapping;
  object: unknown;
  scope: Scope;
  objectId: string;
}

async function awaitUnit({ mapping, object, scope }: MappingRun, unit: Unit): Promise<unknown> {
  const pending = unitValue(mapping, unit, object, scope);
  return isPromise(pending) ? await pending : pending;
}

/**
 * Maps one Stripe object to one Dataverse row. Columns whose expression gives nothing (a field an older
 * API version lacks) are left out, so an upsert leaves them as they are; `null` clears a column.
 */
export async function applyMapping(
  mapping: CompiledMapping,
  object: unknown,
  event: EventEnvelope,
): Promise<MappedRow> {
  const pendingScope = scopeFor(mapping, object, event);
  const scope = isPromise(pendingScope) ? await pendingScope : pendingScope;
  const mappingRun: MappingRun = { mapping, object, scope, objectId: describeObject(object) };

  const key: KeyValues = {};
  const row: Row = {};
  for (const { column: columnName, unit } of mapping.compiled.keys) {
    const value = await keyValue(mappingRun, columnName, unit);
    key[columnName] = value;
    row[columnName] = value;
  }
  for (const column of mapping.compiled.columns) {
    const value = await columnValue(mappingRun, column);
    if (value !== undefined) row[column.name] = value;
  }
  stampRow(mapping, event, row);

  const links: PendingLink[] = [];
  for (const link of mapping.compiled.links) {
    const pending = await pendingLink(mappingRun, link);
    if (pending.id || pending.match) links.push(pending);
  }

  return {
    mapping: mapping.name,
    version: mapping.version,
    table: mapping.table.logicalName,
    entitySet: mapping.entitySet,
    key,
    row,
    links,
  };
}

async function keyValue(mappingRun: MappingRun, columnName: string, unit: Unit): Promise<string | number> {
  const value = await awaitUnit(mappingRun, unit);
  if (isMissing(value)) {
    throw new MappingError(
      'mapping_required_missing',
      `the key has no value for ${mappingRun.objectId}`,
      locationOf(mappingRun.mapping, columnName),
    );
  }
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw new MappingError(
      'mapping_failed',
      `key value ${JSON.stringify(value)} is not text or a number`,
      locationOf(mappingRun.mapping, columnName),
    );
  }
  return value;
}

/** The column's value for the row, or undefined to leave the column out. */
async function columnValue(mappingRun: MappingRun, column: CompiledColumn): Promise<unknown> {
  const { mapping, objectId } = mappingRun;
  let value: unknown = column.constant;
  if (value === undefined && column.unit) value = await awaitUnit(mappingRun, column.unit);
  let useFallback = false;
  if (column.map && column.constant === undefined && !isMissing(value)) {
    const mapKey = String(value);
    if (Object.prototype.hasOwnProperty.call(column.map, mapKey)) value = column.map[mapKey];
    else if (column.fallback !== undefined) useFallback = true;
    else value = undefined;
  }
  if (isMissing(value) && column.default !== undefined) value = column.default;
  if (isMissing(value) && column.required) {
    throw new MappingError(
      'mapping_required_missing',
      `required value is missing for ${objectId}`,
      locationOf(mapping, column.name),
    );
  }
  if (value === undefined) return undefined;
  if (useFallback) return column.fallback;
  try {
    return toColumnValue(mapping.compiled.model, column.column, value, { truncate: column.truncate });
  } catch (error) {
    if (!(error instanceof ColumnValueError)) throw error;
    const isChoice = ['picklist', 'state', 'status'].includes(column.column.type);
    if (column.fallback !== undefined && isChoice) return column.fallback;
    throw new MappingError(
      'mapping_failed',
      `${error.message} (for ${objectId})`,
      locationOf(mapping, column.name),
    );
  }
}

/** The ordering stamp: the event that wrote the row, where the table has the columns. */
function stampRow(mapping: CompiledMapping, event: EventEnvelope, row: Row): void {
  const { stamp } = mapping.compiled;
  if (stamp.id) row[STAMP_EVENT_ID] = event.id;
  if (stamp.created) {
    row[STAMP_EVENT_CREATED] =
      stamp.created.type === 'datetime'
        ? new Date(event.created * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')
        : event.created;
  }
}

async function pendingLink(mappingRun: MappingRun, link: CompiledLink): Promise<PendingLink> {
  const id = link.id ? await awaitUnit(mappingRun, link.id) : undefined;
  const matchValue = link.value ? await awaitUnit(mappingRun, link.value) : undefined;
  const pending: PendingLink = { column: link.column, targets: link.targets };
  if (!isMissing(id)) {
    if (!isGuid(id)) {
      throw new MappingError(
        'mapping_failed',
        `link id ${JSON.stringify(id)} is not a GUID (for ${mappingRun.objectId})`,
        locationOf(mappingRun.mapping, link.column),
      );
    }
    pending.id = id;
  }
  if (link.match && !isMissing(matchValue)) {
    pending.match = { column: link.match, value: String(matchValue) };
    if (link.byKey) pending.byKey = true;
  }
  return pending;
}
