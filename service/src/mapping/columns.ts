/**
 * What a value must look like to go into a Dataverse column of a given type, and the conversion of a
 * mapping's result into it. Used at load (constants, map values, defaults, literal results) and for every
 * mapped object, so a constant that would fail is caught before any event arrives.
 */
import type { ChoiceColumn, Column, OptionSet, TableModel } from '@stc/solution';
import { decimalToNumber, MoneyError } from './money';
import type { StaticType } from './functions';

export class ColumnValueError extends Error {
  override name = 'ColumnValueError';
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

export function isGuid(value: unknown): value is string {
  return typeof value === 'string' && GUID.test(value);
}

const optionSetCache = new WeakMap<ChoiceColumn, OptionSet>();
const exactOptionCache = new WeakMap<OptionSet, Map<string, number>>();

export function optionSetOf(model: TableModel, column: ChoiceColumn): OptionSet {
  const cached = optionSetCache.get(column);
  if (cached) return cached;
  const set = model.optionSets.find((candidate) => candidate.name === column.optionSet);
  if (set) optionSetCache.set(column, set);
  if (!set) throw new ColumnValueError(`option set "${column.optionSet}" is not in the table model`);
  return set;
}

/**
 * An option by Stripe's spelling (`externalValue`, e.g. `requires_capture`) or its label, exactly; then by
 * label ignoring case, spaces and underscores ("partially_refunded" → "Partially Refunded").
 */
function optionByLabel(set: OptionSet, label: string): number | undefined {
  let exact = exactOptionCache.get(set);
  if (!exact) {
    exact = new Map();
    // Labels first, so that Stripe's spelling wins where a label and an external value coincide.
    for (const option of set.options) exact.set(option.label, option.value);
    for (const option of set.options) {
      const external = (option as { externalValue?: string }).externalValue;
      if (external !== undefined) exact.set(external, option.value);
    }
    exactOptionCache.set(set, exact);
  }
  const found = exact.get(label);
  if (found !== undefined) return found;
  const loose = (text: string) => text.toLowerCase().replace(/[\s_-]+/g, '');
  const wanted = loose(label);
  return set.options.find((option) => loose(option.label) === wanted)?.value;
}

function describeOptions(set: OptionSet): string {
  return set.options.map((option) => `${option.value} "${option.label}"`).join(', ');
}

export interface CoerceOptions {
  truncate?: boolean;
}

/** The column of the model whose `type` includes T. */
type ColumnOf<T extends Column['type']> = Column extends infer C
  ? C extends { type: infer K }
    ? T extends K
      ? C
      : never
    : never
  : never;

type Converter<C extends Column> = (
  value: unknown,
  column: C,
  model: TableModel,
  options: CoerceOptions,
) => unknown;

/**
 * The value as the Web API takes it for this column, or a ColumnValueError saying why not.
 * `null` clears the column and passes through; `undefined` is handled by the caller (column left out).
 */
export function toColumnValue(
  model: TableModel,
  column: Column,
  value: unknown,
  options: CoerceOptions = {},
): unknown {
  if (value === null) return null;
  const convert = CONVERTERS[column.type] as Converter<Column>;
  return convert(value, column, model, options);
}

const toText: Converter<ColumnOf<'string'>> = (value, column, _model, options) => {
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    throw new ColumnValueError(`${JSON.stringify(value)} is not text (the column is ${column.type})`);
  }
  const text = String(value);
  if (text.length > column.maxLength) {
    if (options.truncate) return text.slice(0, column.maxLength);
    throw new ColumnValueError(
      `text of ${text.length} characters exceeds the column's maximum length ${column.maxLength} (set truncate: true to cut it)`,
    );
  }
  return text;
};

const toWholeNumber: Converter<ColumnOf<'integer'>> = (value, column) => {
  const number = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number)) {
    throw new ColumnValueError(
      `${JSON.stringify(value)} is not a whole number (the column is ${column.type})`,
    );
  }
  checkRange(number, column.minValue, column.maxValue);
  return number;
};

const toDecimal: Converter<ColumnOf<'decimal'>> = (value, column) => {
  let number: number;
  if (typeof value === 'number' && Number.isFinite(value)) number = value;
  else if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value)) {
    try {
      number = decimalToNumber(value);
    } catch (error) {
      throw new ColumnValueError((error as MoneyError).message);
    }
  } else
    throw new ColumnValueError(
      `${JSON.stringify(value)} is not a decimal number (the column is ${column.type})`,
    );
  checkRange(number, column.minValue, column.maxValue);
  return number;
};

const toChoice: Converter<ColumnOf<'picklist'>> = (value, column, model) => {
  const set = optionSetOf(model, column);
  if (typeof value === 'number') {
    if (set.options.some((option) => option.value === value)) return value;
    throw new ColumnValueError(
      `${value} is not a value of option set "${set.name}" (${describeOptions(set)})`,
    );
  }
  if (typeof value === 'string') {
    const option = optionByLabel(set, value);
    if (option !== undefined) return option;
    throw new ColumnValueError(
      `"${value}" is not a label of option set "${set.name}" (${describeOptions(set)})`,
    );
  }
  throw new ColumnValueError(
    `${JSON.stringify(value)} is not an option label or value of option set "${set.name}"`,
  );
};

const toBoolean: Converter<Column> = (value) => {
  if (typeof value !== 'boolean')
    throw new ColumnValueError(`${JSON.stringify(value)} is not true or false (the column is boolean)`);
  return value;
};

const toDateTime: Converter<Column> = (value) => {
  if (typeof value !== 'string' || !DATE_TIME.test(value)) {
    throw new ColumnValueError(
      `${JSON.stringify(value)} is not an ISO date-time with a zone; use $unixToDateTime(…) for Stripe times`,
    );
  }
  return value;
};

const toDateOnly: Converter<Column> = (value) => {
  if (typeof value !== 'string' || !DATE_ONLY.test(value)) {
    throw new ColumnValueError(
      `${JSON.stringify(value)} is not a date YYYY-MM-DD; use $unixToDate(…) for Stripe times`,
    );
  }
  return value;
};

const toGuid: Converter<Column> = (value) => {
  if (!isGuid(value)) throw new ColumnValueError(`${JSON.stringify(value)} is not a GUID`);
  return value;
};

const refuseLink: Converter<Column> = (_value, column) => {
  throw new ColumnValueError(`a ${column.type} column is set under \`links\`, not \`columns\``);
};

/** The conversion for each column type. */
const CONVERTERS: { [T in Column['type']]: Converter<ColumnOf<T>> } = {
  string: toText,
  memo: toText,
  integer: toWholeNumber,
  bigint: toWholeNumber,
  decimal: toDecimal,
  money: toDecimal,
  boolean: toBoolean,
  datetime: toDateTime,
  dateonly: toDateOnly,
  picklist: toChoice,
  state: toChoice,
  status: toChoice,
  uniqueidentifier: toGuid,
  lookup: refuseLink,
  customer: refuseLink,
  owner: refuseLink,
};

function checkRange(value: number, min?: number, max?: number): void {
  if (min !== undefined && value < min)
    throw new ColumnValueError(`${value} is below the column's minimum ${min}`);
  if (max !== undefined && value > max)
    throw new ColumnValueError(`${value} is above the column's maximum ${max}`);
}

/** Whether an expression known (from its shape) to give `type` can fill the column. */
export function staticTypeFits(type: StaticType, column: Column): boolean {
  switch (type) {
    case 'decimal':
      return column.type === 'decimal' || column.type === 'money';
    case 'datetime':
      return column.type === 'datetime';
    case 'dateonly':
      return column.type === 'dateonly';
    case 'string':
      return ['string', 'memo', 'picklist', 'state', 'status'].includes(column.type);
    case 'number':
      return [
        'integer',
        'bigint',
        'decimal',
        'money',
        'picklist',
        'state',
        'status',
        'string',
        'memo',
      ].includes(column.type);
    case 'boolean':
      return column.type === 'boolean' || column.type === 'string' || column.type === 'memo';
  }
}
