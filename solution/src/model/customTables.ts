/**
 * The connector's own tables. Every table whose rows come from a Stripe object carries the sync columns:
 * the Stripe id (its alternate key), the mode, the Connect account and the stamp of the last event that
 * wrote it (an older event never overwrites a newer one).
 */
import {
  amount,
  choice,
  customer,
  dateOnly,
  dateTime,
  decimal,
  integer,
  lookup,
  memo,
  primaryId,
  systemColumns,
  tableOf,
  text,
  yesNo,
} from './columns';
import type { AlternateKey, Column, Table, TableNames } from './types';

/** Longest Stripe id seen is far below this; Stripe documents ids as opaque strings up to 255. */
export const STRIPE_ID_LENGTH = 255;

/** The columns that make a row synced from Stripe. Also added to account and contact (with the customer id). */
export function syncStampColumns(): Column[] {
  return [
    yesNo('stc_LiveMode', 'Live Mode', {
      description: 'True for live-mode Stripe data, false for test mode. The two are never mixed.',
      trueLabel: 'Live',
      falseLabel: 'Test',
    }),
    text('stc_StripeAccount', 'Stripe Account', STRIPE_ID_LENGTH, {
      description: 'Connected account (acct_…) the object belongs to; empty for the platform account.',
    }),
    text('stc_LastEventId', 'Last Event Id', STRIPE_ID_LENGTH, {
      description: 'Id of the Stripe event that last wrote this row.',
    }),
    dateTime('stc_LastEventCreated', 'Last Event Created', {
      description: 'Creation time of the Stripe event that last wrote this row; older events are ignored.',
    }),
    dateTime('stc_SyncRequestedOn', 'Sync Requested On', {
      description:
        "Set by a user's Sync from Stripe command: the service re-reads the row's Stripe object. Never written by the service.",
    }),
  ];
}

function syncColumns(what: string): Column[] {
  return [
    text('stc_StripeId', 'Stripe Id', STRIPE_ID_LENGTH, {
      requiredLevel: 'required',
      description: `Id of the Stripe ${what}; the row's alternate key.`,
    }),
    ...syncStampColumns(),
  ];
}

function stripeIdKey(table: string): AlternateKey {
  return {
    logicalName: `${table}_stripeid_key`,
    schemaName: `${table}_StripeId_Key`,
    displayName: 'Stripe Id',
    columns: ['stc_stripeid'],
  };
}

const currency = () =>
  text('stc_Currency', 'Currency', 3, {
    requiredLevel: 'required',
    description: 'ISO 4217 code in lower case, as Stripe sends it.',
  });
const url = (schemaName: string, displayName: string) =>
  text(schemaName, displayName, 1000, { format: 'url' });

interface TableSpec extends TableNames {
  ownership?: Table['ownership'];
  /**
   * A Stripe object's rows: adds the sync columns and the stc_stripeid key before `columns`, and the
   * object's creation time in Stripe after them.
   */
  stripeObject?: string;
  nameLength?: number;
  columns: Column[];
  /** Lookups to other tables, after the Stripe creation time. */
  links?: Column[];
  keys?: AlternateKey[];
  viewColumns?: string[];
}

function customTable(spec: TableSpec): Table {
  const {
    ownership = 'OrganizationOwned',
    stripeObject,
    nameLength = 200,
    columns,
    links = [],
    keys = [],
    viewColumns,
    ...names
  } = spec;
  const table = tableOf(names);
  return {
    ...table,
    primaryNameColumn: 'stc_name',
    standard: false,
    ownership,
    synced: stripeObject !== undefined,
    viewColumns,
    columns: [
      primaryId(names),
      text('stc_Name', 'Name', nameLength, { requiredLevel: 'required' }),
      ...(stripeObject ? syncColumns(stripeObject) : []),
      ...columns,
      ...(stripeObject ? [dateTime('stc_StripeCreatedOn', 'Created On (Stripe)')] : []),
      ...links,
      ...systemColumns(table.logicalName),
    ],
    keys: [...(stripeObject ? [stripeIdKey(table.logicalName)] : []), ...keys],
  };
}

/**
 * Refunds and disputes: Stripe objects raised against one payment, with their own status and reason sets
 * (`stc_<kind>status`, `stc_<kind>reason`) and the charge and payment intent they came from. `own` columns
 * stand between the reason and those ids.
 */
function againstPayment(kind: 'refund' | 'dispute', own: Column[]): Column[] {
  return [
    lookup('stc_paymentid', 'Payment', 'stc_payment'),
    amount('stc_Amount', 'Amount', { requiredLevel: 'required' }),
    currency(),
    choice('stc_Status', 'Status', `stc_${kind}status`, { requiredLevel: 'required' }),
    choice('stc_Reason', 'Reason', `stc_${kind}reason`),
    ...own,
    text('stc_ChargeId', 'Charge Id', STRIPE_ID_LENGTH),
    text('stc_PaymentIntentId', 'Payment Intent Id', STRIPE_ID_LENGTH),
  ];
}

/** Subscriptions and Stripe invoices belong to a Stripe customer: the Dynamics customer and the cus_ id. */
const billedCustomer = (): Column[] => [
  customer('stc_customerid', 'Customer'),
  text('stc_StripeCustomerId', 'Stripe Customer Id', STRIPE_ID_LENGTH),
];

export const customTables: Table[] = [
  customTable({
    viewColumns: [
      'stc_amount',
      'stc_currency',
      'stc_status',
      'stc_customerid',
      'stc_stripecreatedon',
      'stc_livemode',
    ],
    schemaName: 'stc_Payment',
    entitySetName: 'stc_payments',
    displayName: 'Stripe Payment',
    pluralName: 'Stripe Payments',
    description: 'A Stripe payment: a PaymentIntent, or a Charge made without one.',
    stripeObject: 'PaymentIntent (pi_…) or Charge (ch_…)',
    columns: [
      amount('stc_Amount', 'Amount', { requiredLevel: 'required' }),
      currency(),
      choice('stc_Status', 'Status', 'stc_paymentstatus', { requiredLevel: 'required' }),
      amount('stc_AmountCaptured', 'Amount Captured'),
      amount('stc_AmountRefunded', 'Amount Refunded'),
      amount('stc_Fee', 'Fee'),
      amount('stc_Net', 'Net'),
      text('stc_SettlementCurrency', 'Settlement Currency', 3, {
        description:
          'The currency the payment landed in the Stripe balance in (ISO code, lower case); fee and net are shown only when it is the payment’s own currency.',
      }),
      decimal('stc_ExchangeRate', 'Exchange Rate', 10, {
        minValue: 0,
        maxValue: 100000000000,
        description:
          'Settlement currency units per unit of the payment’s currency, when Stripe converted it; empty when it did not.',
      }),
      choice('stc_PaymentMethodType', 'Payment Method Type', 'stc_paymentmethodtype'),
      choice('stc_CardBrand', 'Card Brand', 'stc_cardbrand'),
      text('stc_Last4', 'Last 4', 4, { description: 'Last four digits only; no card data beyond this.' }),
      url('stc_ReceiptUrl', 'Receipt URL'),
      url('stc_DashboardUrl', 'Stripe Dashboard URL'),
      text('stc_FailureCode', 'Failure Code', 100),
      memo('stc_FailureMessage', 'Failure Message', 2000),
      memo('stc_Description', 'Description', 4000),
      yesNo('stc_Disputed', 'Disputed'),
      text('stc_StripeCustomerId', 'Stripe Customer Id', STRIPE_ID_LENGTH),
      text('stc_ChargeId', 'Charge Id', STRIPE_ID_LENGTH, { description: 'The latest charge (ch_…/py_…).' }),
      text('stc_StripeBalanceTransactionId', 'Balance Transaction Id', STRIPE_ID_LENGTH),
    ],
    links: [
      customer('stc_customerid', 'Customer'),
      lookup('stc_salesorderid', 'Order', 'salesorder'),
      lookup('stc_invoiceid', 'Invoice', 'invoice'),
    ],
  }),
  customTable({
    viewColumns: [
      'stc_paymentid',
      'stc_amount',
      'stc_currency',
      'stc_status',
      'stc_reason',
      'stc_stripecreatedon',
    ],
    schemaName: 'stc_Refund',
    entitySetName: 'stc_refunds',
    displayName: 'Stripe Refund',
    pluralName: 'Stripe Refunds',
    description: 'A Stripe refund of a payment, full or partial.',
    stripeObject: 'Refund (re_…)',
    columns: againstPayment('refund', [text('stc_FailureReason', 'Failure Reason', 200)]),
  }),
  customTable({
    viewColumns: [
      'stc_paymentid',
      'stc_amount',
      'stc_currency',
      'stc_status',
      'stc_reason',
      'stc_evidencedueby',
    ],
    schemaName: 'stc_Dispute',
    entitySetName: 'stc_disputes',
    displayName: 'Stripe Dispute',
    pluralName: 'Stripe Disputes',
    description: 'A dispute (chargeback) raised against a payment.',
    stripeObject: 'Dispute (du_…/dp_…)',
    columns: againstPayment('dispute', [
      dateTime('stc_EvidenceDueBy', 'Evidence Due By'),
      amount('stc_FundsWithdrawn', 'Funds Withdrawn'),
      amount('stc_FundsReinstated', 'Funds Reinstated'),
    ]),
  }),
  customTable({
    viewColumns: [
      'stc_paymentid',
      'stc_amount',
      'stc_currency',
      'stc_status',
      'stc_requestedby',
      'createdon',
    ],
    schemaName: 'stc_RefundRequest',
    entitySetName: 'stc_refundrequests',
    displayName: 'Refund Request',
    pluralName: 'Refund Requests',
    description: "A user's request, made in Dynamics 365, to refund a Stripe payment, and its outcome.",
    ownership: 'UserOwned',
    columns: [
      lookup('stc_paymentid', 'Payment', 'stc_payment', { requiredLevel: 'required' }),
      amount('stc_Amount', 'Amount', {
        requiredLevel: 'required',
        description: 'Amount to refund in major units of the payment currency.',
      }),
      currency(),
      choice('stc_Reason', 'Reason', 'stc_refundreason', { requiredLevel: 'required' }),
      memo('stc_Note', 'Note', 2000),
      choice('stc_Status', 'Status', 'stc_refundrequeststatus', {
        requiredLevel: 'required',
        defaultValue: 100000000,
      }),
      memo('stc_FailureReason', 'Failure Reason', 2000),
      text('stc_StripeRefundId', 'Stripe Refund Id', STRIPE_ID_LENGTH),
      lookup('stc_refundid', 'Refund', 'stc_refund'),
      lookup('stc_requestedby', 'Requested By', 'systemuser'),
      lookup('stc_approvedby', 'Approved By', 'systemuser'),
      dateTime('stc_DecidedOn', 'Decided On'),
      yesNo('stc_LiveMode', 'Live Mode', { trueLabel: 'Live', falseLabel: 'Test' }),
    ],
  }),
  customTable({
    viewColumns: [
      'stc_quoteid',
      'stc_salesorderid',
      'stc_invoiceid',
      'stc_status',
      'stc_url',
      'stc_requestedby',
      'createdon',
    ],
    schemaName: 'stc_PaymentLinkRequest',
    entitySetName: 'stc_paymentlinkrequests',
    displayName: 'Payment Link Request',
    pluralName: 'Payment Link Requests',
    description:
      "A user's request, made in Dynamics 365, for a Stripe payment page of a quote, order or invoice with its lines, and its outcome.",
    ownership: 'UserOwned',
    columns: [
      lookup('stc_salesorderid', 'Order', 'salesorder', {
        description: 'The order to be paid; a request names one quote, order or invoice.',
      }),
      lookup('stc_invoiceid', 'Invoice', 'invoice', {
        description: 'The invoice to be paid; a request names one quote, order or invoice.',
      }),
      lookup('stc_quoteid', 'Quote', 'quote', {
        description:
          'The quote to be paid; a request names one quote, order or invoice. Paying it makes the order and wins the quote.',
      }),
      choice('stc_Status', 'Status', 'stc_paymentlinkrequeststatus', {
        requiredLevel: 'required',
        defaultValue: 100000000,
      }),
      url('stc_Url', 'Payment Page URL'),
      text('stc_StripeSessionId', 'Stripe Checkout Session Id', STRIPE_ID_LENGTH),
      dateTime('stc_ExpiresAt', 'Expires At', {
        description: 'When Stripe closes the payment page unpaid.',
      }),
      memo('stc_FailureReason', 'Failure Reason', 2000),
      lookup('stc_requestedby', 'Requested By', 'systemuser'),
      dateTime('stc_DecidedOn', 'Decided On'),
      yesNo('stc_LiveMode', 'Live Mode', { trueLabel: 'Live', falseLabel: 'Test' }),
    ],
  }),
  customTable({
    viewColumns: [
      'stc_customerid',
      'stc_status',
      'stc_amount',
      'stc_currency',
      'stc_interval',
      'stc_currentperiodend',
    ],
    schemaName: 'stc_Subscription',
    entitySetName: 'stc_subscriptions',
    displayName: 'Stripe Subscription',
    pluralName: 'Stripe Subscriptions',
    description: 'A Stripe Billing subscription.',
    stripeObject: 'Subscription (sub_…)',
    columns: [
      ...billedCustomer(),
      choice('stc_Status', 'Status', 'stc_subscriptionstatus', { requiredLevel: 'required' }),
      currency(),
      amount('stc_Amount', 'Amount per Period'),
      choice('stc_Interval', 'Billing Interval', 'stc_billinginterval'),
      integer('stc_IntervalCount', 'Interval Count', { minValue: 1, maxValue: 1000 }),
      dateTime('stc_CurrentPeriodStart', 'Current Period Start'),
      dateTime('stc_CurrentPeriodEnd', 'Current Period End'),
      yesNo('stc_CancelAtPeriodEnd', 'Cancel at Period End'),
      dateTime('stc_CanceledAt', 'Canceled At'),
      dateTime('stc_EndedAt', 'Ended At'),
      dateTime('stc_TrialEnd', 'Trial End'),
      memo('stc_Description', 'Description', 4000),
      text('stc_LatestInvoiceId', 'Latest Invoice Id', STRIPE_ID_LENGTH),
      url('stc_DashboardUrl', 'Stripe Dashboard URL'),
      amount('stc_MonthlyRecurringRevenue', 'MRR', {
        description:
          'Monthly recurring revenue in the subscription currency: every item per period normalised to a month; zero unless active or past due, and while collection is paused.',
      }),
      text('stc_PauseCollection', 'Collection Paused', 50, {
        description:
          "Stripe's pause_collection behavior (keep_as_draft, mark_uncollectible, void) while paused; empty otherwise.",
      }),
      dateTime('stc_ResumesAt', 'Resumes At'),
      lookup('stc_salesorderid', 'Order', 'salesorder', {
        description:
          'The order the subscription was started from (its d365_salesorderid metadata); empty for one made in Stripe.',
      }),
    ],
  }),
  customTable({
    viewColumns: [
      'stc_action',
      'stc_customerid',
      'stc_subscriptionid',
      'stc_status',
      'stc_stripesubscriptionid',
      'stc_requestedby',
      'createdon',
    ],
    schemaName: 'stc_SubscriptionRequest',
    entitySetName: 'stc_subscriptionrequests',
    displayName: 'Subscription Request',
    pluralName: 'Subscription Requests',
    description:
      "A user's request, made in Dynamics 365, to create a Stripe subscription for an account or contact or from an order's recurring lines, or to cancel, pause, resume or change the quantity of one, and its outcome.",
    ownership: 'UserOwned',
    columns: [
      choice('stc_Action', 'Action', 'stc_subscriptionaction', { requiredLevel: 'required' }),
      customer('stc_customerid', 'Customer', {
        description: 'The account or contact the subscription is (to be) billed to.',
      }),
      text('stc_StripePriceId', 'Stripe Price Id', STRIPE_ID_LENGTH, {
        description:
          'Create: the recurring Stripe price (price_…) to subscribe to; or name a product instead.',
      }),
      lookup('stc_productid', 'Product', 'product', {
        description: 'Create: a product whose one active recurring price list item carries its Stripe price.',
      }),
      lookup('stc_salesorderid', 'Order', 'salesorder', {
        description:
          "Create: the order whose lines with recurring Stripe prices become the subscription's items (its customer is billed).",
      }),
      integer('stc_Quantity', 'Quantity', {
        minValue: 1,
        maxValue: 1000000000,
        description: 'Create: the quantity (1 when empty). Change quantity: the new quantity.',
      }),
      lookup('stc_subscriptionid', 'Subscription', 'stc_subscription', {
        description: 'Cancel, pause, resume, change quantity: the subscription to act on.',
      }),
      lookup('stc_subscriptionitemid', 'Subscription Item', 'stc_subscriptionitem', {
        description: 'Change quantity: the item whose quantity changes (the only item when empty).',
      }),
      choice('stc_Status', 'Status', 'stc_subscriptionrequeststatus', {
        requiredLevel: 'required',
        defaultValue: 100000000,
      }),
      memo('stc_FailureReason', 'Failure Reason', 2000),
      text('stc_StripeSubscriptionId', 'Stripe Subscription Id', STRIPE_ID_LENGTH),
      lookup('stc_requestedby', 'Requested By', 'systemuser'),
      dateTime('stc_DecidedOn', 'Decided On'),
      yesNo('stc_LiveMode', 'Live Mode', { trueLabel: 'Live', falseLabel: 'Test' }),
    ],
  }),
  customTable({
    viewColumns: [
      'stc_customerid',
      'stc_amount',
      'stc_currency',
      'stc_status',
      'stc_stripepaymentintentid',
      'stc_requestedby',
      'createdon',
    ],
    schemaName: 'stc_ChargeRequest',
    entitySetName: 'stc_chargerequests',
    displayName: 'Charge Request',
    pluralName: 'Charge Requests',
    description:
      "A user's request, made in Dynamics 365, to charge a customer's saved Stripe payment method off session, and its outcome. It never holds card data.",
    ownership: 'UserOwned',
    columns: [
      customer('stc_customerid', 'Customer', {
        requiredLevel: 'required',
        description: "The account or contact whose Stripe customer's saved payment method is charged.",
      }),
      amount('stc_Amount', 'Amount', {
        requiredLevel: 'required',
        description: 'Amount to charge in major units of the currency.',
      }),
      currency(),
      memo('stc_Description', 'Description', 1000, {
        description: "What the charge is for; Stripe's payment description, which the customer may see.",
      }),
      lookup('stc_salesorderid', 'Order', 'salesorder', {
        description: 'The order the charge pays, if any; name an order or an invoice, not both.',
      }),
      lookup('stc_invoiceid', 'Invoice', 'invoice', {
        description: 'The invoice the charge pays, if any; name an order or an invoice, not both.',
      }),
      choice('stc_Status', 'Status', 'stc_chargerequeststatus', {
        requiredLevel: 'required',
        defaultValue: 100000000,
      }),
      memo('stc_FailureReason', 'Failure Reason', 2000),
      text('stc_DeclineCode', 'Decline Code', 100, {
        description: "Stripe's decline or error code of a failed charge (authentication_required, …).",
      }),
      text('stc_StripePaymentIntentId', 'Stripe PaymentIntent Id', STRIPE_ID_LENGTH),
      lookup('stc_paymentid', 'Payment', 'stc_payment', {
        description: 'The payment row of the charge, once Stripe has reported it.',
      }),
      lookup('stc_requestedby', 'Requested By', 'systemuser'),
      lookup('stc_approvedby', 'Approved By', 'systemuser'),
      dateTime('stc_DecidedOn', 'Decided On'),
      yesNo('stc_LiveMode', 'Live Mode', { trueLabel: 'Live', falseLabel: 'Test' }),
    ],
  }),
  customTable({
    viewColumns: ['stc_subscriptionid', 'stc_quantity', 'stc_unitamount', 'stc_currency', 'stc_interval'],
    schemaName: 'stc_SubscriptionItem',
    entitySetName: 'stc_subscriptionitems',
    displayName: 'Stripe Subscription Item',
    pluralName: 'Stripe Subscription Items',
    description: 'One price of a Stripe subscription at its quantity, with the period it is billed for.',
    stripeObject: 'Subscription item (si_…)',
    columns: [
      lookup('stc_subscriptionid', 'Subscription', 'stc_subscription'),
      text('stc_StripePriceId', 'Stripe Price Id', STRIPE_ID_LENGTH),
      text('stc_StripeProductId', 'Stripe Product Id', STRIPE_ID_LENGTH),
      decimal('stc_Quantity', 'Quantity', 5, { minValue: 0, maxValue: 1000000000 }),
      amount('stc_UnitAmount', 'Unit Amount'),
      amount('stc_AmountPerPeriod', 'Amount per Period'),
      currency(),
      text('stc_Interval', 'Billing Interval', 20),
      integer('stc_IntervalCount', 'Interval Count', { minValue: 1, maxValue: 1000 }),
      dateTime('stc_CurrentPeriodStart', 'Current Period Start'),
      dateTime('stc_CurrentPeriodEnd', 'Current Period End'),
    ],
  }),
  customTable({
    viewColumns: [
      'stc_number',
      'stc_customerid',
      'stc_status',
      'stc_amountdue',
      'stc_amountpaid',
      'stc_currency',
      'stc_duedate',
    ],
    schemaName: 'stc_StripeInvoice',
    entitySetName: 'stc_stripeinvoices',
    displayName: 'Stripe Invoice',
    pluralName: 'Stripe Invoices',
    description: 'A Stripe Billing invoice.',
    stripeObject: 'Invoice (in_…)',
    columns: [
      ...billedCustomer(),
      lookup('stc_subscriptionid', 'Subscription', 'stc_subscription'),
      text('stc_StripeSubscriptionId', 'Stripe Subscription Id', STRIPE_ID_LENGTH, {
        description: "The subscription's Stripe id: the invoice is linked to its row once that row exists.",
      }),
      choice('stc_Status', 'Status', 'stc_stripeinvoicestatus'),
      text('stc_Number', 'Number', 100),
      currency(),
      amount('stc_AmountDue', 'Amount Due'),
      amount('stc_AmountPaid', 'Amount Paid'),
      amount('stc_AmountRemaining', 'Amount Remaining'),
      amount('stc_Subtotal', 'Subtotal'),
      amount('stc_Total', 'Total'),
      dateTime('stc_PeriodStart', 'Period Start', {
        description:
          "Start of the period the invoice bills (its subscription lines); Stripe's invoice period for an invoice without them.",
      }),
      dateTime('stc_PeriodEnd', 'Period End', {
        description:
          "End of the period the invoice bills (its subscription lines); Stripe's invoice period for an invoice without them.",
      }),
      dateTime('stc_DueDate', 'Due Date'),
      url('stc_HostedInvoiceUrl', 'Hosted Invoice URL'),
      url('stc_InvoicePdfUrl', 'Invoice PDF URL'),
      text('stc_BillingReason', 'Billing Reason', 100),
      text('stc_PaymentIntentId', 'Payment Intent Id', STRIPE_ID_LENGTH),
      choice('stc_DocumentType', 'Document Type', 'stc_stripedocumenttype', {
        description: 'An invoice, or a credit note (its amounts negative), linked to the invoice it credits.',
      }),
      lookup('stc_creditedinvoiceid', 'Credited Invoice', 'stc_stripeinvoice'),
      text('stc_CreditReason', 'Credit Reason', 100),
      choice('stc_CollectionState', 'Collection', 'stc_invoicecollectionstate'),
      integer('stc_AttemptCount', 'Payment Attempts', { minValue: 0, maxValue: 1000 }),
      dateTime('stc_NextPaymentAttempt', 'Next Payment Attempt'),
    ],
  }),
  customTable({
    viewColumns: [
      'stc_invoiceid',
      'stc_amount',
      'stc_currency',
      'stc_periodstart',
      'stc_periodend',
      'stc_proration',
    ],
    schemaName: 'stc_StripeInvoiceLine',
    entitySetName: 'stc_stripeinvoicelines',
    displayName: 'Stripe Invoice Line',
    pluralName: 'Stripe Invoice Lines',
    description: 'One line of a Stripe invoice: what it bills for which period, with its discounts and tax.',
    stripeObject: 'Invoice line item (il_…)',
    columns: [
      lookup('stc_invoiceid', 'Invoice', 'stc_stripeinvoice'),
      memo('stc_Description', 'Description', 2000),
      amount('stc_Amount', 'Amount'),
      currency(),
      decimal('stc_Quantity', 'Quantity', 5, { minValue: 0, maxValue: 1000000000 }),
      dateTime('stc_PeriodStart', 'Period Start'),
      dateTime('stc_PeriodEnd', 'Period End'),
      yesNo('stc_Proration', 'Proration'),
      amount('stc_DiscountAmount', 'Discounts'),
      amount('stc_TaxAmount', 'Tax'),
      text('stc_StripePriceId', 'Stripe Price Id', STRIPE_ID_LENGTH),
      text('stc_StripeSubscriptionId', 'Stripe Subscription Id', STRIPE_ID_LENGTH),
    ],
  }),
  customTable({
    viewColumns: ['stc_amount', 'stc_currency', 'stc_arrivaldate', 'stc_status', 'stc_reconciliationstatus'],
    schemaName: 'stc_Payout',
    entitySetName: 'stc_payouts',
    displayName: 'Stripe Payout',
    pluralName: 'Stripe Payouts',
    description: 'A payout from the Stripe balance to a bank account or card.',
    stripeObject: 'Payout (po_…)',
    columns: [
      amount('stc_Amount', 'Amount', { requiredLevel: 'required' }),
      currency(),
      dateOnly('stc_ArrivalDate', 'Arrival Date'),
      choice('stc_Status', 'Status', 'stc_payoutstatus', { requiredLevel: 'required' }),
      choice('stc_ReconciliationStatus', 'Reconciliation Status', 'stc_reconciliationstatus'),
      choice('stc_Method', 'Method', 'stc_payoutmethod'),
      choice('stc_Type', 'Type', 'stc_payouttype'),
      yesNo('stc_Automatic', 'Automatic'),
      text('stc_FailureCode', 'Failure Code', 100),
      memo('stc_FailureMessage', 'Failure Message', 2000),
      text('stc_StatementDescriptor', 'Statement Descriptor', 100),
      text('stc_StripeBalanceTransactionId', 'Balance Transaction Id', STRIPE_ID_LENGTH),
      dateTime('stc_ReconciledOn', 'Reconciled On'),
      text('stc_ReversedBy', 'Reversed By', STRIPE_ID_LENGTH, {
        description: 'The payout (po_…) that reverses this one, when it was reversed.',
      }),
      text('stc_OriginalPayout', 'Original Payout', STRIPE_ID_LENGTH, {
        description: 'The payout (po_…) this one reverses, when it is a reversal.',
      }),
    ],
  }),
  customTable({
    viewColumns: [
      'stc_payoutid',
      'stc_type',
      'stc_reportingcategory',
      'stc_amount',
      'stc_fee',
      'stc_net',
      'stc_currency',
    ],
    schemaName: 'stc_BalanceTransaction',
    entitySetName: 'stc_balancetransactions',
    displayName: 'Stripe Balance Transaction',
    pluralName: 'Stripe Balance Transactions',
    description: 'A movement of funds in the Stripe balance, settled by a payout.',
    stripeObject: 'BalanceTransaction (txn_…)',
    columns: [
      lookup('stc_payoutid', 'Payout', 'stc_payout'),
      // Strings, not choices: Stripe adds types and categories, and an unknown one must not fail a payout.
      text('stc_Type', 'Type', 100, { requiredLevel: 'required' }),
      text('stc_ReportingCategory', 'Reporting Category', 100, { requiredLevel: 'required' }),
      amount('stc_Amount', 'Amount', { requiredLevel: 'required' }),
      amount('stc_Fee', 'Fee'),
      amount('stc_Net', 'Net'),
      currency(),
      decimal('stc_ExchangeRate', 'Exchange Rate', 10, { minValue: 0, maxValue: 100000000000 }),
      text('stc_SourceId', 'Source Id', STRIPE_ID_LENGTH),
      choice('stc_Status', 'Status', 'stc_balancestatus'),
      dateTime('stc_AvailableOn', 'Available On'),
      memo('stc_Description', 'Description', 2000),
    ],
  }),
  customTable({
    viewColumns: ['stc_date', 'stc_currency', 'stc_total', 'stc_difference', 'stc_status'],
    schemaName: 'stc_JournalEntry',
    entitySetName: 'stc_journalentries',
    displayName: 'Journal Entry',
    pluralName: 'Journal Entries',
    description:
      "A payout's reconciliation: one entry per payout, balanced when its lines sum to the payout.",
    columns: [
      text('stc_StripePayoutId', 'Stripe Payout Id', STRIPE_ID_LENGTH, { requiredLevel: 'required' }),
      lookup('stc_payoutid', 'Payout', 'stc_payout'),
      dateOnly('stc_Date', 'Date', { requiredLevel: 'required' }),
      currency(),
      amount('stc_Total', 'Total', { description: 'The payout amount the lines must sum to.' }),
      amount('stc_TotalDebit', 'Total Debit'),
      amount('stc_TotalCredit', 'Total Credit'),
      amount('stc_Difference', 'Difference'),
      choice('stc_Status', 'Status', 'stc_journalstatus', { requiredLevel: 'required' }),
      memo('stc_StatusNote', 'Status Note', 2000, {
        description: 'Why the entry is not reconcilable, failed or reversed, in words.',
      }),
      yesNo('stc_LiveMode', 'Live Mode', { trueLabel: 'Live', falseLabel: 'Test' }),
      text('stc_StripeAccount', 'Stripe Account', STRIPE_ID_LENGTH),
    ],
    keys: [
      {
        logicalName: 'stc_journalentry_payout_key',
        schemaName: 'stc_journalentry_Payout_Key',
        displayName: 'Stripe Payout Id',
        columns: ['stc_stripepayoutid'],
      },
    ],
  }),
  customTable({
    viewColumns: [
      'stc_journalentryid',
      'stc_linenumber',
      'stc_glaccount',
      'stc_debit',
      'stc_credit',
      'stc_category',
    ],
    schemaName: 'stc_JournalLine',
    entitySetName: 'stc_journallines',
    displayName: 'Journal Line',
    pluralName: 'Journal Lines',
    description: 'One debit or credit of a journal entry into a general-ledger account.',
    columns: [
      text('stc_LineKey', 'Line Key', 400, {
        requiredLevel: 'required',
        description:
          'Stable key of the line within its payout (payout id and category), for idempotent writes.',
      }),
      lookup('stc_journalentryid', 'Journal Entry', 'stc_journalentry', { requiredLevel: 'required' }),
      integer('stc_LineNumber', 'Line Number', { minValue: 0, maxValue: 100000 }),
      text('stc_GLAccount', 'GL Account', 100, { requiredLevel: 'required' }),
      amount('stc_Debit', 'Debit'),
      amount('stc_Credit', 'Credit'),
      text('stc_Category', 'Category', 100, { description: 'Stripe reporting category the line sums.' }),
      memo('stc_Description', 'Description', 2000),
      currency(),
      dateOnly('stc_PostingDate', 'Posting Date', {
        description:
          "The date the line posts on: the payout's arrival date, or the date a failure or reversal put the amount back in the Stripe balance. Empty on lines written before the column existed: they post on their entry's date.",
      }),
    ],
    keys: [
      {
        logicalName: 'stc_journalline_linekey_key',
        schemaName: 'stc_journalline_LineKey_Key',
        displayName: 'Line Key',
        columns: ['stc_linekey'],
      },
    ],
  }),
  customTable({
    viewColumns: [
      'stc_kind',
      'stc_status',
      'stc_errorcode',
      'stc_stripeobjectid',
      'stc_attempts',
      'stc_lastseen',
    ],
    schemaName: 'stc_SyncIssue',
    entitySetName: 'stc_syncissues',
    displayName: 'Sync Issue',
    pluralName: 'Sync Issues',
    description:
      "Something the connector could not do: a Stripe event it could not apply (its dead letter) or a payout that does not reconcile. Kept in step with the service's queue.",
    nameLength: 400,
    columns: [
      text('stc_IssueKey', 'Issue Key', 400, {
        requiredLevel: 'required',
        description: 'event:<event id> for an event, payout:<payout id> for a payout; one row each.',
      }),
      choice('stc_Kind', 'Kind', 'stc_syncissuekind', { requiredLevel: 'required' }),
      choice('stc_Status', 'Status', 'stc_syncissuestatus', {
        requiredLevel: 'required',
        defaultValue: 100000000,
      }),
      text('stc_EventId', 'Stripe Event Id', STRIPE_ID_LENGTH),
      text('stc_EventType', 'Event Type', 100),
      text('stc_StripeObjectId', 'Stripe Object Id', STRIPE_ID_LENGTH),
      text('stc_StripeObjectType', 'Stripe Object Type', 100),
      text('stc_ErrorCode', 'Error Code', 100),
      memo('stc_ErrorMessage', 'Error Message', 4000),
      integer('stc_Attempts', 'Attempts', { minValue: 0, maxValue: 1000000 }),
      dateTime('stc_FirstSeen', 'First Seen'),
      dateTime('stc_LastSeen', 'Last Seen'),
      dateTime('stc_ResolvedOn', 'Resolved On'),
      yesNo('stc_LiveMode', 'Live Mode', { trueLabel: 'Live', falseLabel: 'Test' }),
      text('stc_StripeAccount', 'Stripe Account', STRIPE_ID_LENGTH),
    ],
    links: [lookup('stc_payoutid', 'Payout', 'stc_payout')],
    keys: [
      {
        logicalName: 'stc_syncissue_issuekey_key',
        schemaName: 'stc_syncissue_IssueKey_Key',
        displayName: 'Issue Key',
        columns: ['stc_issuekey'],
      },
    ],
  }),
  customTable({
    viewColumns: [
      'stc_livemode',
      'stc_stripeaccount',
      'stc_health',
      'stc_lastheartbeat',
      'stc_lasteventreceived',
    ],
    schemaName: 'stc_ConnectorStatus',
    entitySetName: 'stc_connectorstatuses',
    displayName: 'Connector Status',
    pluralName: 'Connector Statuses',
    description:
      "The connector service's state as it last reported it, one row per Stripe account and mode: where it runs, its health, the last event received and its queue; and the connection test a user asks for.",
    columns: [
      text('stc_StatusKey', 'Status Key', 300, {
        requiredLevel: 'required',
        description: '<test|live>:<account id, or platform>; one row each.',
      }),
      url('stc_ServiceUrl', 'Service URL'),
      text('stc_ServiceVersion', 'Service Version', 50),
      yesNo('stc_LiveMode', 'Live Mode', { trueLabel: 'Live', falseLabel: 'Test' }),
      text('stc_StripeAccount', 'Stripe Account', STRIPE_ID_LENGTH),
      text('stc_StripeAccountName', 'Stripe Account Name', 200),
      choice('stc_Health', 'Health', 'stc_connectorhealth', { requiredLevel: 'required' }),
      memo('stc_HealthDetail', 'Health Detail', 4000),
      dateTime('stc_LastHeartbeat', 'Last Heartbeat'),
      dateTime('stc_LastEventReceived', 'Last Event Received'),
      text('stc_LastEventId', 'Last Event Id', STRIPE_ID_LENGTH),
      text('stc_LastEventType', 'Last Event Type', 100),
      integer('stc_PendingEvents', 'Pending Events', { minValue: 0, maxValue: 2000000000 }),
      integer('stc_DeadLetters', 'Dead Letters', { minValue: 0, maxValue: 2000000000 }),
      dateTime('stc_TestRequestedOn', 'Test Requested On', {
        description:
          "Set by a user's Test connection: the service tests Stripe, Dataverse and its store and answers.",
      }),
      dateTime('stc_LastTestedOn', 'Last Tested On'),
      yesNo('stc_LastTestSucceeded', 'Last Test Succeeded'),
      memo('stc_LastTestResult', 'Last Test Result', 4000),
    ],
    keys: [
      {
        logicalName: 'stc_connectorstatus_statuskey_key',
        schemaName: 'stc_connectorstatus_StatusKey_Key',
        displayName: 'Status Key',
        columns: ['stc_statuskey'],
      },
    ],
  }),
];

/**
 * Cascade behaviour of custom lookups, by `table.column`. The rest remove the link: deleting a synced row
 * (test data, a cleanup) must not take other Stripe records with it.
 */
export const cascadeDeletes: Record<string, 'Cascade' | 'Restrict'> = {
  'stc_journalline.stc_journalentryid': 'Cascade',
};
