/**
 * Stripe list semantics: newest first, `limit` 1..100 (default 10), cursors `starting_after` /
 * `ending_before` naming an object id, `has_more`, and the list's own `url`.
 */
import { invalidRequest } from './errors';
import { optionalBoolean, optionalInteger, optionalString, Params } from './params';
import { sequenceOf, type Scope, type StripeObject } from './store';

export interface StripeList<T = StripeObject> {
  object: 'list';
  data: T[];
  has_more: boolean;
  url: string;
}

/** `items` are in creation order (oldest first) and already filtered. */
export function paginate<T extends { id: string }>(
  items: readonly T[],
  params: Params,
  url: string,
  scope?: Scope,
): StripeList<T> {
  const limit = optionalInteger(params, 'limit') ?? 10;
  if (limit < 1 || limit > 100) {
    throw invalidRequest(`Invalid limit: must be at least 1 and less than or equal to 100.`, 'limit');
  }
  const startingAfter = optionalString(params, 'starting_after');
  const endingBefore = optionalString(params, 'ending_before');
  if (startingAfter && endingBefore) {
    throw invalidRequest(
      'You may only specify one of these parameters: ending_before, starting_after.',
      'ending_before',
    );
  }
  if (endingBefore) {
    const cursor = indexOf(items, endingBefore, 'ending_before', scope);
    const from = cursor + 1;
    const to = Math.min(items.length, from + limit);
    return { object: 'list', data: items.slice(from, to).reverse(), has_more: to < items.length, url };
  }
  const end = startingAfter ? indexOf(items, startingAfter, 'starting_after', scope) : items.length;
  const start = Math.max(0, end - limit);
  return { object: 'list', data: items.slice(start, end).reverse(), has_more: start > 0, url };
}

/**
 * Position of the cursor object in the list. Objects of a scope carry their creation sequence, so a list in
 * creation order is searched by halving (payouts list tens of thousands of transactions, page by page).
 */
function indexOf(items: readonly { id: string }[], id: string, param: string, scope?: Scope): number {
  const cursor = scope?.find(id);
  const target = cursor ? sequenceOf(cursor) : undefined;
  if (target !== undefined) {
    let low = 0;
    let high = items.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const sequence = sequenceOf(items[middle]);
      if (sequence === undefined) break;
      if (sequence === target) return middle;
      if (sequence < target) low = middle + 1;
      else high = middle - 1;
    }
  }
  for (let i = items.length - 1; i >= 0; i--) if (items[i].id === id) return i;
  throw invalidRequest(
    `The object '${id}' given as ${param} does not belong to this list.`,
    param,
    'resource_missing',
  );
}

type Range = { gt?: number; gte?: number; lt?: number; lte?: number };

/** `created=123` or `created[gte]=…&created[lt]=…` as a predicate on an object's `created`. */
export function createdFilter(params: Params, name = 'created'): ((created: number) => boolean) | undefined {
  const value = params[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value === 'string' || typeof value === 'number') {
    const exact = optionalInteger({ [name]: value }, name);
    return (created) => created === exact;
  }
  if (typeof value !== 'object' || value === null) throw invalidRequest('Invalid timestamp range', name);
  const range: Range = {};
  for (const op of ['gt', 'gte', 'lt', 'lte'] as const) {
    range[op] = optionalInteger(value as Params, op);
  }
  return (created) =>
    (range.gt === undefined || created > range.gt) &&
    (range.gte === undefined || created >= range.gte) &&
    (range.lt === undefined || created < range.lt) &&
    (range.lte === undefined || created <= range.lte);
}

/** One condition of a list request on an object; undefined where the request asks nothing. */
export type Filter = ((object: StripeObject) => boolean) | undefined;

/** The objects that meet every condition given. */
export function allOf(filters: Filter[]): (object: StripeObject) => boolean {
  const asked = filters.filter((filter) => filter !== undefined);
  return (object) => asked.every((filter) => filter(object));
}

/** `<name>=<value>` of each name: the object's field of that name equals the value (empty asks nothing). */
export function fieldFilters(params: Params, ...names: string[]): Filter[] {
  return names.map((name) => {
    const value = optionalString(params, name);
    return value ? (object) => object[name] === value : undefined;
  });
}

/** `<name>=true|false` on the object's boolean field of that name. */
export function flagFilter(params: Params, name: string): Filter {
  const value = optionalBoolean(params, name);
  return value === undefined ? undefined : (object) => object[name] === value;
}

/** `created` (or another timestamp, `arrival_date`…) as one time or a range, on the field of that name. */
export function timeFilter(params: Params, name = 'created'): Filter {
  const within = createdFilter(params, name);
  return within && ((object) => within(object[name]));
}

/** The objects of a type that meet every condition, as a page of the list at `url`. */
export function listObjects(
  scope: Scope,
  type: string,
  params: Params,
  url: string,
  filters: Filter[],
): StripeList {
  return paginate(scope.all(type).filter(allOf(filters)), params, url, scope);
}

/** A list embedded in an object (a charge's refunds, an invoice's lines), empty at first. */
export function emptyList(url: string) {
  return { object: 'list', data: [] as StripeObject[], has_more: false, total_count: 0, url };
}
