/**
 * The registry of sync handlers, one per Stripe resource. The pipeline routes each event to the handler
 * whose `eventTypes` match it; an event no handler takes is acknowledged and recorded, never bounced.
 */
import type { EventHandler } from './types';

export type { EventHandler, SyncContext, ObjectRef, HandlerLogger } from './types';

export const handlers: EventHandler[] = [];
