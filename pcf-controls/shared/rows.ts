/** Reading Web API rows: values as the platform returns them, with formatted values where it sends them. */

const FORMATTED = '@OData.Community.Display.V1.FormattedValue';

/** The subset of `ComponentFramework.WebApi` the controls use, so that tests and the harness can supply it. */
export interface WebApi {
  createRecord(entityType: string, data: Record<string, unknown>): Promise<{ id: string }>;
  updateRecord(entityType: string, id: string, data: Record<string, unknown>): Promise<{ id: string }>;
  retrieveRecord(entityType: string, id: string, options?: string): Promise<Record<string, unknown>>;
  retrieveMultipleRecords(
    entityType: string,
    options?: string,
    maxPageSize?: number,
  ): Promise<{ entities: Record<string, unknown>[]; nextLink?: string }>;
}

export function formatted(row: Record<string, unknown>, column: string): string | undefined {
  const value = row[`${column}${FORMATTED}`];
  return typeof value === 'string' ? value : undefined;
}

export function readString(row: Record<string, unknown>, column: string): string | undefined {
  const value = row[column];
  return typeof value === 'string' ? value : undefined;
}

/** Decimal columns arrive as numbers; some clients send them as strings. */
export function readNumber(row: Record<string, unknown>, column: string): number | undefined {
  const value = row[column];
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) return Number(value);
  return undefined;
}

export function readBoolean(row: Record<string, unknown>, column: string): boolean {
  return row[column] === true;
}

export function readDate(row: Record<string, unknown>, column: string): Date | undefined {
  const value = row[column];
  if (typeof value !== 'string') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** The platform's label (localised), else the model's label, else the number. */
export function labelOf(
  row: Record<string, unknown>,
  column: string,
  labels: Readonly<Record<number, string>>,
): string {
  const value = readNumber(row, column);
  return formatted(row, column) ?? (value === undefined ? '' : (labels[value] ?? String(value)));
}

/** The Stripe spelling of an option value (`100000006` → `succeeded`). */
export function optionKey<K extends string>(
  options: Readonly<Record<K, number>>,
  value: number | undefined,
): K | undefined {
  if (value === undefined) return undefined;
  return (Object.keys(options) as K[]).find((key) => options[key] === value);
}

interface LookupNames {
  value: string;
  bind: Readonly<Record<string, string>>;
}

/** The lookup of a table that points at `targetTable` (e.g. the payment's order lookup for `salesorder`). */
export function lookupFor(
  lookups: Readonly<Record<string, LookupNames>>,
  targetTable: string,
): LookupNames | undefined {
  return Object.values(lookups).find((lookup) => targetTable in lookup.bind);
}
