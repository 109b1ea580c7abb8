/**
 * `expand[]`: replace an id with the object it names, along dotted paths such as
 * `latest_charge.balance_transaction` or, on lists, `data.balance_transaction`.
 */
import { cloneJson } from './clone';
import { invalidRequest } from './errors';
import type { StripeObject } from './store';

export type Resolver = (id: string) => StripeObject | undefined;

export function expand(target: Record<string, unknown>, paths: readonly string[], resolve: Resolver): void {
  for (const path of paths) expandPath(target, path.split('.'), path, resolve);
}

function expandPath(node: unknown, segments: string[], fullPath: string, resolve: Resolver): void {
  if (segments.length === 0 || node === null || node === undefined) return;
  if (Array.isArray(node)) {
    for (const item of node) expandPath(item, segments, fullPath, resolve);
    return;
  }
  if (typeof node !== 'object') return;
  const record = node as Record<string, unknown>;
  const [head, ...rest] = segments;
  if (!(head in record)) throw notExpandable(fullPath, head);
  let value = record[head];
  if (typeof value === 'string') {
    const found = resolve(value);
    if (!found) throw notExpandable(fullPath, head);
    value = cloneJson(found);
    record[head] = value;
  } else if (value !== null && typeof value !== 'object') {
    throw notExpandable(fullPath, head);
  }
  expandPath(value, rest, fullPath, resolve);
}

function notExpandable(fullPath: string, segment: string) {
  const where = fullPath === segment ? segment : `${segment} in ${fullPath}`;
  return invalidRequest(`This property cannot be expanded (${where}).`, 'expand');
}
