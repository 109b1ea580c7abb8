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
  ]),
];

/** statecode/statuscode of a table: the platform's Active/Inactive pair unless the table says otherwise. */
export function activeInactive(table: string): OptionSet[] {
  return [
    {
      name: `${table}_statecode`,
      displayName: 'Status',
      global: false,
      standard: true,
      options: [
        { value: 0, label: 'Active' },
        { value: 1, label: 'Inactive' },
      ],
    },
    {
      name: `${table}_statuscode`,
      displayName: 'Status Reason',
      global: false,
      standard: true,
      options: [
        { value: 1, label: 'Active', state: 0 },
        { value: 2, label: 'Inactive', state: 1 },
      ],
    },
  ];
}

/** The sales order's and invoice's lifecycles as Dynamics 365 Sales defines them. */
export const salesOptionSets: OptionSet[] = [
  {
    name: 'salesorder_statecode',
    displayName: 'Status',
    global: false,
    standard: true,
    options: [
      { value: 0, label: 'Active' },
      { value: 1, label: 'Submitted' },
      { value: 2, label: 'Canceled' },
      { value: 3, label: 'Fulfilled' },
      { value: 4, label: 'Invoiced' },
    ],
  },
  {
    name: 'salesorder_statuscode',
    displayName: 'Status Reason',
    global: false,
    standard: true,
    options: [
      { value: 1, label: 'New', state: 0 },
      { value: 2, label: 'Pending', state: 0 },
      { value: 3, label: 'In Progress', state: 1 },
      { value: 4, label: 'No Money', state: 2 },
      { value: 100001, label: 'Complete', state: 3 },
      { value: 100002, label: 'Partial', state: 3 },
      { value: 100003, label: 'Invoiced', state: 4 },
    ],
  },
  {
    name: 'invoice_statecode',
    displayName: 'Status',
    global: false,
    standard: true,
    options: [
      { value: 0, label: 'Active' },
      { value: 1, label: 'Closed (deprecated)' },
      { value: 2, label: 'Paid' },
      { value: 3, label: 'Canceled' },
    ],
  },
  {
    name: 'invoice_statuscode',
    displayName: 'Status Reason',
    global: false,
    standard: true,
    options: [
      { value: 1, label: 'New', state: 0 },
      { value: 2, label: 'Partially Shipped', state: 0 },
      { value: 4, label: 'Billed', state: 0 },
      { value: 5, label: 'Booked (applies to services)', state: 0 },
      { value: 6, label: 'Installed (applies to services)', state: 0 },
      { value: 100001, label: 'Complete', state: 2 },
      { value: 100002, label: 'Partial', state: 2 },
      { value: 3, label: 'Canceled (deprecated)', state: 3 },
    ],
  },
  {
    name: 'environmentvariabledefinition_type',
    displayName: 'Type',
    global: false,
    standard: true,
    options: [
      { value: 100000000, label: 'String' },
      { value: 100000001, label: 'Number' },
      { value: 100000002, label: 'Boolean' },
      { value: 100000003, label: 'JSON' },
      { value: 100000004, label: 'Data source' },
      { value: 100000005, label: 'Secret' },
    ],
  },
];
