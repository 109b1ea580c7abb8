/**
 * The Stripe event types no handler takes, each with why: the service acknowledges them and records them
 * `ignored`. Keys are exact types or `prefix.*` wildcards, matched as the handler router matches them (an
 * exact type first, then the longest prefix). docs/EVENT-TYPES.md is generated from this list and the router
 * (`npx tsx service/scripts/event-types.ts`); its test fails when a type of Stripe's trigger flows is neither
 * routed nor listed here, or when a type listed here is routed.
 */
export const IGNORED_EVENT_TYPES: Readonly<Record<string, string>> = {
  'account.*':
    'Connect account settings: the connector syncs the payments, customers and payouts of an account, not the account itself.',
  'balance.available':
    'The Stripe balance is no Dynamics 365 record; the money reaches Dynamics 365 as payouts with their balance transactions (payout.*).',
  'billing_portal.*':
    "The customer portal's settings and sessions hold nothing finance keeps; the changes a customer makes there arrive as customer.* and customer.subscription.* events.",
  'cash_balance.funds_available':
    'Customer cash balances are not synced; a payment made from one arrives as payment_intent.*.',
  'coupon.*':
    'Discount definitions are not synced; the discounts reach Dynamics 365 as amounts on the order lines and invoices they reduce.',
  'promotion_code.*':
    'Discount codes are not synced; the discounts reach Dynamics 365 as amounts on the order lines and invoices they reduce.',
  'customer.discount.*':
    "A customer's coupon is not synced; the discounts show as amounts on the invoices and order lines they reduce.",
  'customer.source.*': 'Saved payment sources are card and bank data, which is never kept in Dynamics 365.',
  'customer.tax_id.*': "Tax ids are not synced to the customer's account or contact.",
  'identity.*':
    'Identity verification is not part of the connector; no identity document goes to Dynamics 365.',
  'invoice.finalization_failed':
    'The invoice stays a draft with nothing new to write; it is written again when Stripe finalizes it (invoice.finalized).',
  'invoice.overdue':
    "A reminder that the due date has passed; the due date and amount due are on the invoice's row already.",
  'invoice.will_be_due':
    "A reminder of a coming due date; the due date and amount due are on the invoice's row already.",
  'invoice.upcoming':
    'A preview of an invoice that does not exist yet; the invoice is written once Stripe creates it (invoice.created).',
  'invoice.overpaid':
    "Customer credit balances, where an overpayment goes, are not synced; the invoice's status and amounts come with invoice.paid and invoice.updated.",
  'invoice.payment_attempt_required':
    "The invoice's own status does not change (it stays open); the payment that follows arrives as payment_intent.*.",
  'invoice.sent': 'Sending an invoice to the customer changes neither its amounts nor its status.',
  'invoiceitem.*':
    'A pending invoice item belongs to no invoice yet; the invoice that takes it is written from its own invoice.* events.',
  'issuing_authorization.*': 'Stripe Issuing (cards a business issues) is not part of the connector.',
  'issuing_card.*': 'Stripe Issuing (cards a business issues) is not part of the connector.',
  'issuing_cardholder.*': 'Stripe Issuing (cards a business issues) is not part of the connector.',
  'issuing_transaction.*': 'Stripe Issuing (cards a business issues) is not part of the connector.',
  'payment_link.*':
    'A payment link holds no money; a payment made through it arrives as checkout.session.completed (the order) and payment_intent.* (the payment).',
  'payment_method.*': 'Payment methods are card and bank data, which is never kept in Dynamics 365.',
  'plan.*':
    'A plan is the older API of a recurring price and is also a price with the same id; the catalog syncs prices (price.*).',
  'quote.*':
    'Stripe quotes are not synced; quotes are made in Dynamics 365, and the payment link made from one is paid through checkout.session.*.',
  'reporting.*': 'Report runs are files to download; nothing for Dynamics 365.',
  'setup_intent.*':
    'Saving a payment method moves no money, and card and bank data is never kept in Dynamics 365.',
  'subscription_schedule.*':
    'A schedule holds future changes of a subscription; the subscription is written when it changes (customer.subscription.*).',
  'tax_rate.*':
    'Tax rates are not synced; the tax amounts are on the order lines and invoices they apply to.',
  'test_helpers.*':
    'Test clocks move time in test mode only; the subscriptions, invoices and payments they renew arrive as their own events.',
  'topup.*': 'Top-ups fund the Stripe balance; they are no customer payment and are not synced.',
  'transfer.*':
    "Connect transfers to connected accounts are not synced; each account's own payments are, from that account's events.",
  'v1.billing.meter.*':
    'Usage meter errors are Stripe Billing set-up problems for a developer to fix; nothing for Dynamics 365.',
};

/** The entry of the list a type falls under: its exact type, else the longest matching wildcard; or null. */
export function ignoredEntry(type: string): string | null {
  if (Object.hasOwn(IGNORED_EVENT_TYPES, type)) return type;
  const wildcards = Object.keys(IGNORED_EVENT_TYPES).filter(
    (key) => key.endsWith('.*') && type.startsWith(key.slice(0, -1)),
  );
  return wildcards.sort((a, b) => b.length - a.length)[0] ?? null;
}

/** Why a type is ignored, or null when the list does not name it. */
export function ignoredReason(type: string): string | null {
  const entry = ignoredEntry(type);
  return entry === null ? null : IGNORED_EVENT_TYPES[entry];
}
