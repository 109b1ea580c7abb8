/**
 * Which handler takes an inbox event. Stripe events go to Stripe event handlers by type: `eventTypes` entries
 * are exact types or `prefix.*` wildcards (`*` alone takes everything), and the most specific match wins (an
 * exact type, then the longest wildcard prefix, so `charge.dispute.*` (disputes) beats `charge.*` (payments)
 * whatever the registry's order). Dataverse changes go to Dataverse change handlers by table and message.
 */
import { dataverseEventType } from '../dataverse/change';
import type { EventSource } from '../store';
import type { DataverseChangeHandler, EventHandler, StripeEventHandler } from './handler';

export interface HandlerRouter {
  /** The handler for an inbox event of this type and source, or null when none takes it (recorded `ignored`). */
  route(type: string, source?: EventSource): EventHandler | null;
  /** The handler for a Stripe event type, or null. */
  stripe(type: string): StripeEventHandler | null;
  /** The handler for a Dataverse change of this inbox type (`dataverse.<table>.<message>`), or null. */
  dataverse(type: string): DataverseChangeHandler | null;
}

export function createHandlerRouter(handlers: readonly EventHandler[]): HandlerRouter {
  const exact = new Map<string, StripeEventHandler>();
  const wildcards: Array<{ prefix: string; handler: StripeEventHandler }> = [];
  const changes = new Map<string, DataverseChangeHandler>();
  for (const handler of handlers) {
    if (handler.source === 'dataverse') {
      for (const { table, messages } of handler.changes)
        for (const message of messages) {
          const type = dataverseEventType(table, message);
          if (!changes.has(type)) changes.set(type, handler);
        }
      continue;
    }
    for (const pattern of handler.eventTypes) {
      if (pattern === '*') wildcards.push({ prefix: '', handler });
      else if (pattern.endsWith('.*')) wildcards.push({ prefix: pattern.slice(0, -1), handler });
      else if (!exact.has(pattern)) exact.set(pattern, handler);
    }
  }
  wildcards.sort((a, b) => b.prefix.length - a.prefix.length);
  // Event types form a small closed set, so remembering each answer keeps routing off the hot path.
  const memo = new Map<string, StripeEventHandler | null>();
  const stripe = (type: string): StripeEventHandler | null => {
    const known = memo.get(type);
    if (known !== undefined) return known;
    const found = exact.get(type) ?? wildcards.find((w) => type.startsWith(w.prefix))?.handler ?? null;
    if (memo.size < 10_000) memo.set(type, found);
    return found;
  };
  const dataverse = (type: string): DataverseChangeHandler | null => changes.get(type) ?? null;
  return {
    route: (type, source = 'stripe') => (source === 'dataverse' ? dataverse(type) : stripe(type)),
    stripe,
    dataverse,
  };
}
