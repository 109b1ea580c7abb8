/** The shapes of the API's operations, as the route table (routes.ts) calls them. */
import type { RequestContext, StripeEngine } from './engine';
import type { Params } from './params';

/** An operation on a collection (`/v1/customers`): create, list, search. */
export type CollectionOperation<R = unknown> = (
  engine: StripeEngine,
  ctx: RequestContext,
  params: Params,
) => R;

/** An operation on one object (`/v1/customers/:id` and below it). */
export type ObjectOperation<R = unknown> = (
  engine: StripeEngine,
  ctx: RequestContext,
  id: string,
  params: Params,
) => R;
