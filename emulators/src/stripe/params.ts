/**
 * Reading Stripe request parameters (already decoded from `a[b][0]=c` form bodies by qs) with Stripe's own
 * validation messages, so a connector bug shows up as the 400 that Stripe would give.
 */
import { invalidRequest, missingParam } from './errors';

export type Params = Record<string, unknown>;

export function optionalString(params: Params, name: string): string | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidRequest(`Invalid string: ${JSON.stringify(value)}`, name);
  return value;
}

export function requiredString(params: Params, name: string): string {
  const value = optionalString(params, name);
  if (value === undefined || value === '') throw missingParam(name);
  return value;
}

/** Empty string unsets a field in Stripe's form encoding: it reads as null. */
export function nullableString(params: Params, name: string): string | null | undefined {
  const value = optionalString(params, name);
  return value === '' ? null : value;
}

/**
 * Copies each string parameter given onto the object's field of that name; an empty string clears the
 * field to null, as Stripe's API does. Fields whose parameter is absent keep their value.
 */
export function assignStrings(target: Record<string, unknown>, params: Params, names: string[]): void {
  for (const name of names) {
    const value = nullableString(params, name);
    if (value !== undefined) target[name] = value;
  }
}

/** Copies each boolean parameter given onto the object's field of that name. */
export function assignBooleans(target: Record<string, unknown>, params: Params, names: string[]): void {
  for (const name of names) {
    const value = optionalBoolean(params, name);
    if (value !== undefined) target[name] = value;
  }
}

export function optionalInteger(
  params: Params,
  name: string,
  min = Number.MIN_SAFE_INTEGER,
): number | undefined {
  const value = params[name];
  if (value === undefined || value === '') return undefined;
  const text = String(value);
  if (!/^-?\d+$/.test(text)) throw invalidRequest(`Invalid integer: ${text}`, name);
  const parsed = Number(text);
  if (!Number.isSafeInteger(parsed)) throw invalidRequest(`Invalid integer: ${text}`, name);
  if (parsed < min) throw invalidRequest(`This value must be greater than or equal to ${min}.`, name);
  return parsed;
}

export function requiredInteger(params: Params, name: string, min?: number): number {
  const value = optionalInteger(params, name, min);
  if (value === undefined) throw missingParam(name);
  return value;
}

export function optionalBoolean(params: Params, name: string): boolean | undefined {
  const value = params[name];
  if (value === undefined || value === '') return undefined;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw invalidRequest(`Invalid boolean: ${String(value)}`, name);
}

export function optionalObject(params: Params, name: string): Params | undefined {
  const value = params[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidRequest(`Invalid object`, name);
  }
  return value as Params;
}

/** qs yields an array for `a[0]=x`, but an object for sparse or very long indexes; accept both. */
export function optionalArray(params: Params, name: string): unknown[] | undefined {
  const value = params[name];
  if (value === undefined || value === '') return undefined;
  if (Array.isArray(value)) return value;
  if (typeof value === 'object' && value !== null) {
    return Object.keys(value)
      .sort((a, b) => Number(a) - Number(b))
      .map((k) => (value as Params)[k]);
  }
  if (typeof value === 'string') return [value];
  throw invalidRequest(`Invalid array`, name);
}

export function currency(params: Params, name = 'currency'): string {
  const value = requiredString(params, name).toLowerCase();
  if (!/^[a-z]{3}$/.test(value)) throw invalidRequest(`Invalid currency: ${value}.`, name);
  return value;
}

/**
 * Stripe metadata semantics: keys merge into what is there, a key set to '' is removed, and
 * `metadata=''` clears everything. At most 50 keys, key ≤ 40 characters, value ≤ 500.
 */
export function mergeMetadata(
  existing: Record<string, string>,
  params: Params,
  name = 'metadata',
): Record<string, string> {
  const incoming = params[name];
  if (incoming === undefined) return existing;
  if (incoming === '') return {};
  if (typeof incoming !== 'object' || incoming === null || Array.isArray(incoming)) {
    throw invalidRequest('Invalid metadata: metadata must be a set of key-value pairs', name);
  }
  const result = { ...existing };
  for (const [key, value] of Object.entries(incoming as Params)) {
    if (key.length > 40)
      throw invalidRequest(`Metadata keys can have up to 40 characters: ${key}`, `${name}[${key}]`);
    if (value === '' || value === null) {
      delete result[key];
      continue;
    }
    const text = String(value);
    if (text.length > 500) {
      throw invalidRequest(`Metadata values can have up to 500 characters: ${key}`, `${name}[${key}]`);
    }
    result[key] = text;
  }
  if (Object.keys(result).length > 50) throw invalidRequest('Metadata can have up to 50 keys.', name);
  return result;
}

/** `expand[]` as a list of dotted paths, at most four levels deep as Stripe allows. */
export function expandPaths(params: Params): string[] {
  const paths = (optionalArray(params, 'expand') ?? []).map(String);
  for (const path of paths) {
    if (path.split('.').length > 4) {
      throw invalidRequest(`You cannot expand more than 4 levels of a property. Property: ${path}`, 'expand');
    }
  }
  return paths;
}
