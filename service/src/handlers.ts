/**
 * The registry of sync handlers, one per Stripe resource. The pipeline routes each event to the handler
 * whose `eventTypes` match it; an event no handler takes is acknowledged and recorded, never bounced.
 */
import type { MappingSet } from './mapping';
import { createBillingHandler } from './inbound/billing';
import { createCatalogHandler } from './inbound/catalog';
import {
  createCustomersHandler,
  DEFAULT_CUSTOMER_MAPPINGS,
  type CustomerMappingNames,
} from './inbound/customers';
import { createCustomersOutboundHandler } from './outbound/customers';
import { createDisputesHandler } from './inbound/disputes';
import { createOrdersHandler, invoiceCapturedHold, writePaymentOrder } from './inbound/orders';
import { withPaymentOrders } from './inbound/orders/payment-orders';
import { createPaymentsHandler, type FeeFiller, type PaymentHooks } from './inbound/payments';
import { createRefundRequestsHandler } from './outbound/refund-requests';
import {
  createPaymentLinkRequestsHandler,
  createPaymentPageDocumentsHandler,
} from './outbound/payment-links';
import { createSubscriptionRequestsHandler } from './outbound/subscription-requests';
import { createChargeRequestsHandler } from './outbound/charge-requests';
import { createRefundsHandler } from './inbound/refunds';
import { createSyncRequestsHandler, withSyncRequests } from './inbound/sync-requests';
import { createPayoutsHandler, type PayoutsHandlerOptions } from './inbound/payouts';
import { lazyMappings, resolveMappingSource, type MappingSource } from './write/mappings';
import type { EventHandler } from './pipeline/handler';
import { PermanentError } from './pipeline';
import type { OutboundSettings, StripeMode } from './config';
import { withStripePriority, type StripePriority } from './stripe';

export type { EventHandler, SyncContext, ObjectRef, HandlerLogger } from './pipeline/handler';
export { DEFAULT_MAPPINGS_DIR, lazyMappings } from './write/mappings';
export { syncPayment, type PaymentRef } from './inbound/payments';
export { DEFAULT_CUSTOMER_MAPPINGS, type CustomerMappingNames } from './inbound/customers';
export { writeMappedRow } from './write/rows';

export interface SyncHandlerOptions {
  /** A loaded mapping set, or a function giving it; default: `mappingsDir`, loaded on first use. */
  mappings?: MappingSource;
  /** Folder of mapping files; default `service/mappings/`. */
  mappingsDir?: string;
  customers?: CustomerMappingNames;
  /** GL accounts and metrics for payout reconciliation. */
  payouts?: PayoutsHandlerOptions;
  /** Refund policy and the service's own user, from `config.outbound`; default: the documented defaults. */
  outbound?: OutboundSettings;
  /** Fills fee and net in bulk for payment rows written without them; none: they stay as written. */
  fees?: FeeFiller;
  /** Payments made without a Checkout Session get an order too (`config.orders.fromPayments`). */
  ordersFromPayments?: boolean;
}

/** The Stripe → Dataverse handlers over one mapping set. */
export function createSyncHandlers(options: SyncHandlerOptions = {}): EventHandler[] {
  const mappings: () => MappingSet = options.mappings
    ? resolveMappingSource(options.mappings)
    : lazyMappings(options.mappingsDir);
  const syncRequests = atStripePriority('user', createSyncRequestsHandler(mappings, options.customers));
  // Over the Stripe budget, users' actions in Dynamics 365 go first and payout reconciliation after live sync.
  // A refund's or dispute's events may supersede the payment's own: they make its invoice and order too.
  const paymentHooks: PaymentHooks = {
    onHoldCaptured: invoiceCapturedHold,
    ...(options.ordersFromPayments ? { onWrittenByOther: writePaymentOrder } : {}),
  };
  const payments = createPaymentsHandler(mappings, options.fees, paymentHooks);
  return [
    options.ordersFromPayments ? withPaymentOrders(payments, mappings) : payments,
    createRefundsHandler(mappings, paymentHooks),
    createDisputesHandler(mappings, paymentHooks),
    createCustomersHandler(mappings, options.customers ?? DEFAULT_CUSTOMER_MAPPINGS),
    atStripePriority('user', createRefundRequestsHandler({ mappings, settings: options.outbound })),
    atStripePriority('user', createPaymentLinkRequestsHandler({ settings: options.outbound })),
    atStripePriority('user', createPaymentPageDocumentsHandler({ settings: options.outbound })),
    atStripePriority('user', createSubscriptionRequestsHandler({ settings: options.outbound })),
    atStripePriority('user', createChargeRequestsHandler({ settings: options.outbound })),
    // Account/contact updates: user edits to Stripe, then a Sync from Stripe when the change asked for one.
    atStripePriority(
      'user',
      withSyncRequests(createCustomersOutboundHandler({ settings: options.outbound }), syncRequests),
    ),
    syncRequests,
    createBillingHandler(mappings),
    createCatalogHandler(mappings),
    createOrdersHandler(mappings),
    atStripePriority('reconcile', createPayoutsHandler(mappings, options.payouts)),
  ];
}

/** The handler with every Stripe call it makes at `priority` in the Stripe budget. */
export function atStripePriority<H extends EventHandler>(priority: StripePriority, handler: H): H {
  const handle = handler.handle.bind(handler) as (...args: unknown[]) => Promise<void>;
  return {
    ...handler,
    handle: (...args: unknown[]) => withStripePriority(priority, () => handle(...args)),
  } as H;
}

/**
 * The handlers of a service that serves one Stripe mode: a Stripe event of the other mode (its `livemode`)
 * reaches no handler and writes nothing; it fails as permanent, so it is dead-lettered with the reason.
 * Dataverse change handlers check the mode of the rows they act on themselves.
 */
export function servingMode(mode: StripeMode, handlers: readonly EventHandler[]): EventHandler[] {
  const livemode = mode === 'live';
  return handlers.map((handler) => {
    if (handler.source === 'dataverse') return handler;
    return {
      ...handler,
      async handle(event, context) {
        if (Boolean(event.livemode) !== livemode) {
          throw new PermanentError(
            `Event ${event.id} is a ${event.livemode ? 'live' : 'test'}-mode event but this service serves ${mode} mode (STRIPE_MODE); it is not applied`,
            'stripe_mode_mismatch',
          );
        }
        await handler.handle(event, context);
      },
    };
  });
}
