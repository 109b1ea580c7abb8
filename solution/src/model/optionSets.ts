/**
 * Option sets (choices). Values start at the publisher's option value prefix × 10,000 as Dataverse numbers
 * custom options; each option keeps Stripe's own spelling as its external value so that a mapping turns
 * `requires_capture` into a number without a table of its own. Values never change once released: a new
 * Stripe value gets the next free number.
 */
import type { OptionSet, OptionValue } from './types';

export const OPTION_VALUE_PREFIX = 10000;
const FIRST = OPTION_VALUE_PREFIX * 10000;

/** `[externalValue, label]` pairs numbered from the first custom value, in the order given. */
function stripeOptions(pairs: Array<[string, string]>): OptionValue[] {
  return pairs.map(([externalValue, label], index) => ({ value: FIRST + index, label, externalValue }));
}

function custom(
  name: string,
  displayName: string,
  global: boolean,
  pairs: Array<[string, string]>,
): OptionSet {
  return { name, displayName, global, options: stripeOptions(pairs) };
}

export const customOptionSets: OptionSet[] = [
  custom('stc_paymentstatus', 'Payment Status', false, [
    ['requires_payment_method', 'Requires payment method'],
    ['requires_confirmation', 'Requires confirmation'],
    ['requires_action', 'Requires action'],
    ['processing', 'Processing'],
    ['requires_capture', 'Requires capture'],
    ['canceled', 'Canceled'],
    ['succeeded', 'Succeeded'],
    ['failed', 'Failed'],
    ['partially_refunded', 'Partially refunded'],
    ['refunded', 'Refunded'],
    ['pending', 'Pending'],
    ['disputed', 'Disputed'],
  ]),
  // An order's or invoice's payment in Stripe: the Checkout Session's payment status, then what refunds and
  // disputes of the payment made of it.
  custom('stc_documentpaymentstatus', 'Stripe Payment Status', true, [
    ['unpaid', 'Unpaid'],
    ['paid', 'Paid'],
    ['no_payment_required', 'No payment required'],
    ['failed', 'Payment failed'],
    ['expired', 'Expired'],
    ['partially_refunded', 'Partially refunded'],
    ['refunded', 'Refunded'],
    ['disputed', 'Disputed'],
    // Last: option values follow the order, and installed rows keep theirs.
    ['partially_paid', 'Partially paid'],
  ]),
  // A price list item's Stripe price: one-time, or recurring every interval.
  custom('stc_priceinterval', 'Price Interval', false, [
    ['one_time', 'One-time'],
    ['day', 'Daily'],
    ['week', 'Weekly'],
    ['month', 'Monthly'],
    ['year', 'Yearly'],
  ]),
  custom('stc_paymentmethodtype', 'Payment Method Type', false, [
    ['card', 'Card'],
    ['sepa_debit', 'SEPA Direct Debit'],
    ['us_bank_account', 'US bank account'],
    ['link', 'Link'],
    ['paypal', 'PayPal'],
    ['other', 'Other'],
    ['acss_debit', 'Canadian pre-authorized debit'],
    ['bacs_debit', 'Bacs Direct Debit'],
    ['au_becs_debit', 'BECS Direct Debit'],
    ['ideal', 'iDEAL'],
    ['bancontact', 'Bancontact'],
    ['sofort', 'Sofort'],
    ['klarna', 'Klarna'],
    ['afterpay_clearpay', 'Afterpay / Clearpay'],
    ['customer_balance', 'Bank transfer'],
    ['card_present', 'Card present'],
  ]),
  custom('stc_cardbrand', 'Card Brand', false, [
    ['visa', 'Visa'],
    ['mastercard', 'Mastercard'],
    ['amex', 'American Express'],
    ['discover', 'Discover'],
    ['diners', 'Diners Club'],
    ['jcb', 'JCB'],
    ['unionpay', 'UnionPay'],
    ['cartes_bancaires', 'Cartes Bancaires'],
    ['interac', 'Interac'],
    ['eftpos_au', 'eftpos Australia'],
    ['unknown', 'Unknown'],
  ]),
  custom('stc_refundstatus', 'Refund Status', false, [
    ['pending', 'Pending'],
    ['requires_action', 'Requires action'],
    ['succeeded', 'Succeeded'],
    ['failed', 'Failed'],
    ['canceled', 'Canceled'],
  ]),
  // Shared by refunds (as Stripe reports them) and refund requests (as a user asks for them).
  custom('stc_refundreason', 'Refund Reason', true, [
    ['duplicate', 'Duplicate'],
    ['fraudulent', 'Fraudulent'],
    ['requested_by_customer', 'Requested by customer'],
    ['expired_uncaptured_charge', 'Expired uncaptured charge'],
  ]),
  custom('stc_refundrequeststatus', 'Refund Request Status', false, [
    ['pending', 'Pending'],
    ['awaiting_approval', 'Awaiting approval'],
    ['approved', 'Approved'],
    ['processing', 'Processing'],
    ['succeeded', 'Succeeded'],
    ['failed', 'Failed'],
    ['rejected', 'Rejected'],
  ]),
  custom('stc_paymentlinkrequeststatus', 'Payment Link Request Status', false, [
    ['pending', 'Pending'],
    ['processing', 'Processing'],
    ['created', 'Created'],
    ['paid', 'Paid'],
    ['failed', 'Failed'],
    ['rejected', 'Rejected'],
    ['expired', 'Expired'],
  ]),
  custom('stc_subscriptionaction', 'Subscription Action', false, [
    ['create', 'Create'],
    ['cancel_now', 'Cancel now'],
    ['cancel_at_period_end', 'Cancel at period end'],
    ['pause', 'Pause collection'],
    ['resume', 'Resume collection'],
    ['change_quantity', 'Change quantity'],
  ]),
  custom('stc_subscriptionrequeststatus', 'Subscription Request Status', false, [
    ['pending', 'Pending'],
    ['processing', 'Processing'],
    ['succeeded', 'Succeeded'],
    ['failed', 'Failed'],
    ['rejected', 'Rejected'],
  ]),
  custom('stc_chargerequeststatus', 'Charge Request Status', false, [
    ['pending', 'Pending'],
    ['awaiting_approval', 'Awaiting approval'],
    ['approved', 'Approved'],
    ['sent', 'Sent'],
    ['succeeded', 'Succeeded'],
    ['failed', 'Failed'],
    ['refused', 'Refused'],
  ]),
  custom('stc_disputestatus', 'Dispute Status', false, [
    ['warning_needs_response', 'Warning: needs response'],
    ['warning_under_review', 'Warning: under review'],
    ['warning_closed', 'Warning: closed'],
    ['needs_response', 'Needs response'],
    ['under_review', 'Under review'],
    ['won', 'Won'],
    ['lost', 'Lost'],
    ['prevented', 'Prevented'],
  ]),
  custom('stc_disputereason', 'Dispute Reason', false, [
    ['bank_cannot_process', 'Bank cannot process'],
    ['check_returned', 'Check returned'],
    ['credit_not_processed', 'Credit not processed'],
    ['customer_initiated', 'Customer initiated'],
    ['debit_not_authorized', 'Debit not authorized'],
    ['duplicate', 'Duplicate'],
    ['fraudulent', 'Fraudulent'],
    ['general', 'General'],
    ['incorrect_account_details', 'Incorrect account details'],
    ['insufficient_funds', 'Insufficient funds'],
    ['product_not_received', 'Product not received'],
    ['product_unacceptable', 'Product unacceptable'],
    ['subscription_canceled', 'Subscription canceled'],
    ['unrecognized', 'Unrecognized'],
    ['noncompliant', 'Noncompliant'],
  ]),
  custom('stc_subscriptionstatus', 'Subscription Status', false, [
    ['incomplete', 'Incomplete'],
    ['incomplete_expired', 'Incomplete, expired'],
    ['trialing', 'Trialing'],
    ['active', 'Active'],
    ['past_due', 'Past due'],
    ['canceled', 'Canceled'],
    ['unpaid', 'Unpaid'],
    ['paused', 'Paused'],
  ]),
  custom('stc_billinginterval', 'Billing Interval', false, [
    ['day', 'Day'],
    ['week', 'Week'],
    ['month', 'Month'],
    ['year', 'Year'],
  ]),
  custom('stc_stripeinvoicestatus', 'Stripe Invoice Status', false, [
    ['draft', 'Draft'],
    ['open', 'Open'],
    ['paid', 'Paid'],
    ['uncollectible', 'Uncollectible'],
    ['void', 'Void'],
    // A credit note's: issued (or void, above).
    ['issued', 'Issued'],
  ]),
  custom('stc_stripedocumenttype', 'Stripe Document Type', false, [
    ['invoice', 'Invoice'],
    ['credit_note', 'Credit note'],
  ]),
  // Where collecting an invoice stands, from its last payment event: Stripe's invoice status says only open.
  custom('stc_invoicecollectionstate', 'Invoice Collection', false, [
    ['pending', 'Awaiting payment'],
    ['paid', 'Paid'],
    ['payment_failed', 'Payment failed'],
    ['action_required', 'Customer action required'],
    ['not_collected', 'Not collected'],
  ]),
  custom('stc_payoutstatus', 'Payout Status', false, [
    ['pending', 'Pending'],
    ['in_transit', 'In transit'],
    ['paid', 'Paid'],
    ['failed', 'Failed'],
    ['canceled', 'Canceled'],
  ]),
  custom('stc_reconciliationstatus', 'Reconciliation Status', false, [
    ['not_applicable', 'Not applicable'],
    ['in_progress', 'In progress'],
    ['completed', 'Completed'],
  ]),
  custom('stc_payoutmethod', 'Payout Method', false, [
    ['standard', 'Standard'],
    ['instant', 'Instant'],
  ]),
  custom('stc_payouttype', 'Payout Type', false, [
    ['bank_account', 'Bank account'],
    ['card', 'Card'],
  ]),
  custom('stc_balancestatus', 'Balance Status', false, [
    ['available', 'Available'],
    ['pending', 'Pending'],
  ]),
  custom('stc_journalstatus', 'Journal Status', false, [
    ['balanced', 'Balanced'],
    ['mismatch', 'Mismatch'],
    // The payout did not stay out: its entry carries reversing lines back to the Stripe balance.
    ['failed', 'Failed'],
    ['reversed', 'Reversed'],
    // A manual payout (or a reversal of one): Stripe does not list its balance transactions.
    ['not_reconcilable', 'Not reconcilable'],
  ]),
  custom('stc_syncissuekind', 'Sync Issue Kind', false, [
    ['dead_letter', 'Event not applied'],
    ['reconciliation_mismatch', 'Payout does not reconcile'],
    // A record the connector wrote but could not complete alone, e.g. an order whose customer is unclear.
    ['customer_review', 'Order needs a customer'],
  ]),
  // A user asks for a retry or a discard by setting the status; the service answers with the outcome.
  custom('stc_connectorhealth', 'Connector Health', false, [
    ['healthy', 'Healthy'],
    ['degraded', 'Degraded'],
  ]),
  custom('stc_syncissuestatus', 'Sync Issue Status', false, [
    ['open', 'Open'],
    ['retry_requested', 'Retry requested'],
    ['discard_requested', 'Discard requested'],
    ['resolved', 'Resolved'],
    ['discarded', 'Discarded'],
  ]),
];

/** The platform's own option set: described for readers and the emulator, never emitted. */
function platform(name: string, displayName: string, options: OptionValue[]): OptionSet {
  return { name, displayName, global: false, standard: true, options };
}

/** A table's statecode: its states numbered from 0 in the order given. */
function states(table: string, labels: string[]): OptionSet {
  return platform(
    `${table}_statecode`,
    'Status',
    labels.map((label, value) => ({ value, label })),
  );
}

/** A table's statuscode: `[value, label, the statecode it belongs to]`. */
function statusReasons(table: string, reasons: Array<[number, string, number]>): OptionSet {
  return platform(
    `${table}_statuscode`,
    'Status Reason',
    reasons.map(([value, label, state]) => ({ value, label, state })),
  );
}

/** statecode/statuscode of a table: the platform's Active/Inactive pair unless the table says otherwise. */
export function activeInactive(table: string): OptionSet[] {
  return [
    states(table, ['Active', 'Inactive']),
    statusReasons(table, [
      [1, 'Active', 0],
      [2, 'Inactive', 1],
    ]),
  ];
}

/** The quote's, sales order's, invoice's and product's lifecycles as Dynamics 365 Sales defines them. */
export const salesOptionSets: OptionSet[] = [
  // A quote is edited as a Draft, offered while Active, and closed as Won (WinQuote) or Lost, Canceled, Revised.
  states('quote', ['Draft', 'Active', 'Won', 'Closed']),
  statusReasons('quote', [
    [1, 'In Progress', 0],
    [2, 'In Progress', 1],
    [3, 'Open', 1],
    [4, 'Won', 2],
    [5, 'Lost', 3],
    [6, 'Canceled', 3],
    [7, 'Revised', 3],
  ]),
  states('salesorder', ['Active', 'Submitted', 'Canceled', 'Fulfilled', 'Invoiced']),
  statusReasons('salesorder', [
    [1, 'New', 0],
    [2, 'Pending', 0],
    [3, 'In Progress', 1],
    [4, 'No Money', 2],
    [100001, 'Complete', 3],
    [100002, 'Partial', 3],
    [100003, 'Invoiced', 4],
  ]),
  states('invoice', ['Active', 'Closed (deprecated)', 'Paid', 'Canceled']),
  statusReasons('invoice', [
    [1, 'New', 0],
    [2, 'Partially Shipped', 0],
    [4, 'Billed', 0],
    [5, 'Booked (applies to services)', 0],
    [6, 'Installed (applies to services)', 0],
    [100001, 'Complete', 2],
    [100002, 'Partial', 2],
    [3, 'Canceled (deprecated)', 3],
  ]),
  // A product is published (Active) from Draft, retired when no longer sold, and revised while Under Revision.
  states('product', ['Active', 'Retired', 'Draft', 'Under Revision']),
  statusReasons('product', [
    [1, 'Active', 0],
    [2, 'Retired', 1],
    [0, 'Draft', 2],
    [3, 'Under Revision', 3],
  ]),
  platform(
    'environmentvariabledefinition_type',
    'Type',
    ['String', 'Number', 'Boolean', 'JSON', 'Data source', 'Secret'].map((label, index) => ({
      value: 100000000 + index,
      label,
    })),
  ),
];
