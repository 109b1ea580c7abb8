/**
 * Which handler takes an event type. `eventTypes` entries are exact types or `prefix.*` wildcards (`*` alone
 * takes everything). The most specific match wins: an exact type, then the longest wildcard prefix, so
 * `charge.dispute.*` (disputes) beats `charge.*` (payments) whatever the registry's order.
 */
import type { EventHandler } from '../sync/types';

export interface HandlerRouter {
  /** The handler for `type`, or null when no handler takes it (the event is recorded as `ignored`). */
  route(type: string): EventHandler | null;
}

export function createHandlerRouter(handlers: readonly EventHandler[]): HandlerRouter {
  const exact = new Map<string, EventHandler>();
  const wildcards: Array<{ prefix: string; handler: EventHandler }> = [];
  for (const handler of handlers) {
    for (const pattern of handler.eventTypes) {
      if (pattern === '*') wildcards.push({ prefix: '', handler });
      else if (pattern.endsWith('.*')) wildcards.push({ prefix: pattern.slice(0, -1), handler });
      else if (!exact.has(pattern)) exact.set(pattern, handler);
    }
  }
  wildcards.sort((a, b) => b.prefix.length - a.prefix.length);
  // Event types form a small closed set, so remembering each answer keeps routing off the hot path.
  const memo = new Map<string, EventHandler | null>();
  return {
    route(type: string): EventHandler | null {
      const known = memo.get(type);
      if (known !== undefined) return known;
      const found = exact.get(type) ?? wildcards.find((w) => type.startsWith(w.prefix))?.handler ?? null;
      if (memo.size < 10_000) memo.set(type, found);
      return found;
    },
  };
}
