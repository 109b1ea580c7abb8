/** GET /v1/events and /v1/events/:id, with Stripe's filters. */
import type { RequestContext, StripeEngine } from '../engine';
import { invalidRequest } from '../errors';
import { createdFilter, paginate, StripeList } from '../list';
import { optionalArray, optionalBoolean, optionalString, Params } from '../params';

const RETENTION_SECONDS = 30 * 24 * 60 * 60;

/** `charge.*` matches every charge event, `*` everything, otherwise the exact type. */
function typeMatcher(pattern: string): (type: string) => boolean {
  if (pattern === '*') return () => true;
  if (pattern.endsWith('.*')) {
    const prefix = pattern.slice(0, -1);
    return (type) => type.startsWith(prefix);
  }
  return (type) => type === pattern;
}

export function listEvents(engine: StripeEngine, ctx: RequestContext, params: Params): StripeList {
  const type = optionalString(params, 'type');
  const types = optionalArray(params, 'types')?.map(String);
  if (type && types) throw invalidRequest('You cannot specify both type and types.', 'types');
  if (types && types.length > 20) throw invalidRequest('You can specify at most 20 types.', 'types');
  const matchers = (types ?? (type ? [type] : [])).map(typeMatcher);
  const created = createdFilter(params);
  const deliverySuccess = optionalBoolean(params, 'delivery_success');
  // The Events API reaches 30 days back.
  const oldest = engine.now() - RETENTION_SECONDS;
  const items = ctx.scope.all('event').filter(
    (e) =>
      e.created >= oldest &&
      (matchers.length === 0 || matchers.some((m) => m(e.type))) &&
      (!created || created(e.created)) &&
      // Stripe: false lists events still pending or failed on some endpoint, true those delivered everywhere.
      (deliverySuccess === undefined || (e.pending_webhooks === 0) === deliverySuccess),
  );
  return paginate(items, params, '/v1/events', ctx.scope);
}
