/**
 * The scenario's checks, in the order they run: each acts through Stripe or Dataverse, reads the outcome back
 * and returns the line that says what happened. Later checks use what earlier ones left in the state.
 */
import Stripe from 'stripe';
import { StcDisputeStatus, StcPaymentStatus, StcRefundReason, StcRefundRequestStatus } from '@stc/solution';
import type { SANDBOX_USERS } from '../parts/run';
import { CheckFailed, need, statusName, strip, until, type ReadBack, type Row } from './readback';
import type { WebApi } from './webapi';
import { checkoutToOrder, paymentLinkFromOrder, paymentLinkFromQuote } from './orders';
import { subscriptionFromDynamics } from './billing';
import { alertsReceived, liveEventDeadLettered, mappingDeadLettered, payoutsReconciled } from './operations';
import type { StripeEmulator } from '@stc/emulators';
import type { AlertReceiver } from '../parts/alerts';

/** Amounts the scenario sends, in the smallest unit, and what each must become in Dataverse. */
export const SCENARIO_PAYMENTS = {
  usd: { amount: 1999, currency: 'usd', major: 19.99 },
  jpy: { amount: 1999, currency: 'jpy', major: 1999 },
  // Three-decimal currency: Stripe wants the last digit 0, so 12.350 KWD is 12350 fils.
  kwd: { amount: 12350, currency: 'kwd', major: 12.35 },
} as const;

type ScenarioPayment = (typeof SCENARIO_PAYMENTS)[keyof typeof SCENARIO_PAYMENTS];

const EXPONENT: Record<string, number> = { usd: 2, jpy: 0, kwd: 3 };
const money = (minor: number, currency: string) =>
  `${currency.toUpperCase()} ${(minor / 10 ** (EXPONENT[currency] ?? 2)).toFixed(EXPONENT[currency] ?? 2)}`;
const short = (id: string) => id.slice(0, 8);

interface PaidIntent {
  intentId: string;
  rowId: string;
}

/** What the checks have made so far, for the checks after them. */
export interface ScenarioState {
  contoso?: Stripe.Customer;
  contosoAccountId?: string;
  ada?: Stripe.Customer;
  paid: Record<string, PaidIntent>;
  disputeId?: string;
  requestPayment?: PaidIntent;
  refundId?: string;
  order?: { sessionId: string; orderId: string };
}

export interface ScenarioContext {
  stripe: Stripe;
  dataverse: WebApi;
  users: typeof SANDBOX_USERS;
  timeoutMs: number;
  rows: ReadBack;
  state: ScenarioState;
  /** Where a person opens a row: its form in the UI harness, or its Web API URL. */
  recordUrl(table: string, id: string): string;
  /** The Stripe emulator, when it runs in this process (its test helpers: payouts). */
  emulator?: StripeEmulator;
  /** The service, for what only its admin API shows (dead letters). */
  service?: { url: string; adminApiKey: string };
  /** The local receiver of the service's alerts. */
  alerts?: Pick<AlertReceiver, 'url' | 'received'>;
}

/** One check: `act` does and reads back, and returns the line that says what happened. */
export interface ScenarioStep {
  label: string;
  act(ctx: ScenarioContext): Promise<string>;
}

/** A confirmed USD payment by Contoso with the given test card. */
const payByContoso = (ctx: ScenarioContext, amount: number, paymentMethod: string) =>
  ctx.stripe.paymentIntents.create({
    amount,
    currency: 'usd',
    customer: ctx.state.contoso?.id,
    payment_method: paymentMethod,
    confirm: true,
  });

// Customers: a business becomes an account, a person (metadata d365_type: contact) a contact.
async function customerToAccount({ stripe, rows, state }: ScenarioContext): Promise<string> {
  const contoso = await stripe.customers.create({ name: 'Contoso', email: 'billing@contoso.example' });
  state.contoso = contoso;
  const row = await rows.customerRow(
    'accounts',
    contoso.id,
    'accountid,name,emailaddress1',
    (r) => r.name === 'Contoso',
  );
  const accountId = String(row.accountid);
  state.contosoAccountId = accountId;
  return `customer ${contoso.id} "Contoso" → account row ${short(accountId)} (name Contoso, ${String(row.emailaddress1)})`;
}

async function customerToContact({ stripe, rows, state }: ScenarioContext): Promise<string> {
  const ada = await stripe.customers.create({
    name: 'Ada Lovelace',
    email: 'ada@example.org',
    metadata: { d365_type: 'contact' },
  });
  state.ada = ada;
  const row = await rows.customerRow(
    'contacts',
    ada.id,
    'contactid,firstname,lastname',
    (r) => r.firstname === 'Ada' && r.lastname === 'Lovelace',
  );
  return `customer ${ada.id} "Ada Lovelace" → contact row ${short(String(row.contactid))} (Ada / Lovelace)`;
}

// Payments: three currencies with three exponents, each amount read back in major units.
async function payInCurrency(
  { stripe, rows, state }: ScenarioContext,
  name: string,
  p: ScenarioPayment,
): Promise<string> {
  const intent = await stripe.paymentIntents.create({
    amount: p.amount,
    currency: p.currency,
    customer: (name === 'jpy' ? state.ada : state.contoso)?.id,
    payment_method: 'pm_card_visa',
    confirm: true,
    description: `Sandbox scenario ${name}`,
  });
  const row = await rows.paymentRow(
    intent.id,
    (r) =>
      r.stc_status === StcPaymentStatus.Succeeded &&
      r.stc_amount === p.major &&
      r.stc_currency === p.currency,
    `Succeeded, ${p.major} ${p.currency}`,
  );
  const paid = { intentId: intent.id, rowId: String(row.stc_paymentid) };
  state.paid[name] = paid;
  return `payment ${intent.id} ${money(p.amount, p.currency)} ${intent.status} → stc_payment row ${short(paid.rowId)} (amount ${String(row.stc_amount)}, Succeeded)`;
}

async function declinedPayment(ctx: ScenarioContext): Promise<string> {
  let intentId: string | undefined;
  let declineCode = '';
  try {
    await payByContoso(ctx, 4200, 'pm_card_chargeDeclined');
  } catch (error) {
    if (!(error instanceof Stripe.errors.StripeCardError)) throw error;
    intentId = (error.raw as { payment_intent?: { id: string } }).payment_intent?.id;
    declineCode = error.decline_code ?? error.code ?? '';
  }
  if (!intentId) throw new CheckFailed('the declined card was not declined by Stripe');
  const row = await ctx.rows.paymentRow(intentId, (r) => r.stc_status === StcPaymentStatus.Failed, 'Failed');
  return `payment ${intentId} USD 42.00 declined (${declineCode}) → stc_payment row ${short(String(row.stc_paymentid))} (Failed, ${String(row.stc_failurecode)})`;
}

// Refunds: part of the USD payment, then the rest.
async function partialRefund({ stripe, rows, state }: ScenarioContext): Promise<string> {
  const { intentId } = need(state.paid.usd, 'the USD payment');
  const refund = await stripe.refunds.create({ payment_intent: intentId, amount: 500 });
  const row = await rows.rowByKey(
    'stc_refunds',
    refund.id,
    'stc_refundid,stc_amount',
    (r) => r.stc_amount === 5,
  );
  const payment = await rows.paymentRow(
    intentId,
    (r) => r.stc_amountrefunded === 5 && r.stc_status === StcPaymentStatus.PartiallyRefunded,
    'refunded 5.00, Partially Refunded',
  );
  return `refund ${refund.id} USD 5.00 of ${intentId} → stc_refund row ${short(String(row.stc_refundid))}; payment ${short(String(payment.stc_paymentid))} refunded 5 (Partially Refunded)`;
}

async function fullRefund({ stripe, rows, state }: ScenarioContext): Promise<string> {
  const { intentId } = need(state.paid.usd, 'the USD payment');
  const refund = await stripe.refunds.create({ payment_intent: intentId });
  const row = await rows.rowByKey(
    'stc_refunds',
    refund.id,
    'stc_refundid,stc_amount',
    (r) => r.stc_amount === 14.99,
  );
  await rows.paymentRow(
    intentId,
    (r) => r.stc_amountrefunded === 19.99 && r.stc_status === StcPaymentStatus.Refunded,
    'refunded 19.99, Refunded',
  );
  return `refund ${refund.id} USD 14.99 (the rest) → stc_refund row ${short(String(row.stc_refundid))}; payment refunded 19.99 (Refunded)`;
}

// A dispute: the test card opens one on payment; evidence that wins closes it won.
async function disputeOpened(ctx: ScenarioContext): Promise<string> {
  const intent = await payByContoso(ctx, 4900, 'pm_card_createDispute');
  const dispute = await until(
    `a dispute on ${intent.id}`,
    async () => {
      const [found] = (await ctx.stripe.disputes.list({ payment_intent: intent.id })).data;
      return found ? { value: found } : { seen: 'none' };
    },
    ctx.timeoutMs,
  );
  ctx.state.disputeId = dispute.id;
  const row = await ctx.rows.rowByKey(
    'stc_disputes',
    dispute.id,
    'stc_disputeid,stc_amount,stc_status',
    (r) => r.stc_amount === 49,
  );
  return `dispute ${dispute.id} on ${intent.id} USD 49.00 (${dispute.reason}) → stc_dispute row ${short(String(row.stc_disputeid))} (status ${statusName(StcDisputeStatus, row.stc_status)})`;
}

async function disputeWon({ stripe, rows, state }: ScenarioContext): Promise<string> {
  const id = need(state.disputeId, 'the dispute');
  await stripe.disputes.update(id, { evidence: { uncategorized_text: 'winning_evidence' }, submit: true });
  const row = await rows.rowByKey(
    'stc_disputes',
    id,
    'stc_disputeid,stc_status,stc_fundsreinstated',
    (r) => r.stc_status === StcDisputeStatus.Won,
  );
  return `dispute ${id} won with evidence → stc_dispute row ${short(String(row.stc_disputeid))} Won (funds reinstated ${String(row.stc_fundsreinstated ?? '—')})`;
}

// A user edits the account in Dynamics 365: the Stripe customer follows.
async function accountEdit({ stripe, dataverse, users, state, timeoutMs }: ScenarioContext): Promise<string> {
  const accountId = need(state.contosoAccountId, 'the Contoso account');
  const customerId = need(state.contoso, 'the Contoso customer').id;
  await dataverse.update(
    `accounts(${accountId})`,
    { name: 'Contoso Ltd', address1_city: 'London', address1_country: 'GB' },
    users.seller.systemuserid,
  );
  const customer = await until(
    `Stripe customer ${customerId} renamed`,
    async () => {
      const now = (await stripe.customers.retrieve(customerId)) as Stripe.Customer;
      return now.name === 'Contoso Ltd' && now.address?.city === 'London'
        ? { value: now }
        : { seen: `name ${now.name}, city ${now.address?.city ?? 'none'}` };
    },
    timeoutMs,
  );
  return `account ${short(accountId)} edited by ${users.seller.fullname} in Dataverse → Stripe customer ${customer.id} "${customer.name}", ${customer.address?.city}`;
}

// A refund asked for in Dynamics 365 by a requester: policy, Stripe refund, outcome and refund row back.
async function paymentForRefundRequest(ctx: ScenarioContext): Promise<string> {
  const intent = await payByContoso(ctx, 12000, 'pm_card_visa');
  const row = await ctx.rows.paymentRow(
    intent.id,
    (r) => r.stc_status === StcPaymentStatus.Succeeded && r.stc_amount === 120,
    'Succeeded, 120',
  );
  const payment = { intentId: intent.id, rowId: String(row.stc_paymentid) };
  ctx.state.requestPayment = payment;
  return `payment ${intent.id} USD 120.00 succeeded → stc_payment row ${short(payment.rowId)}`;
}

const SETTLED_REQUEST: unknown[] = [
  StcRefundRequestStatus.Succeeded,
  StcRefundRequestStatus.Failed,
  StcRefundRequestStatus.Rejected,
];

/** The refund request row once it has settled, whichever way. */
const settledRequest = ({ dataverse, timeoutMs }: ScenarioContext, requestId: string) =>
  until(
    `refund request ${requestId} to settle`,
    async () => {
      const r = await dataverse.get<Row>(
        `stc_refundrequests(${requestId})?$select=stc_status,stc_striperefundid,stc_failurereason`,
      );
      return r && SETTLED_REQUEST.includes(r.stc_status)
        ? { value: r }
        : { seen: JSON.stringify(strip(r ?? {})) };
    },
    timeoutMs,
  );

async function refundRequestToStripe(ctx: ScenarioContext): Promise<string> {
  const { stripe, dataverse, users, state } = ctx;
  const payment = need(state.requestPayment, 'the USD 120.00 payment');
  const requestId = await dataverse.create(
    'stc_refundrequests',
    {
      stc_name: 'Refund of 30.00 USD (damaged item)',
      'stc_paymentid@odata.bind': `/stc_payments(${payment.rowId})`,
      stc_amount: 30,
      stc_currency: 'usd',
      stc_reason: StcRefundReason.RequestedByCustomer,
    },
    users.requester.systemuserid,
  );
  const row = await settledRequest(ctx, requestId);
  if (row.stc_status !== StcRefundRequestStatus.Succeeded)
    throw new CheckFailed(
      `request ${requestId} ended ${statusName(StcRefundRequestStatus, row.stc_status)}: ${String(row.stc_failurereason)}`,
    );
  const refundId = String(row.stc_striperefundid);
  state.refundId = refundId;
  const refund = await stripe.refunds.retrieve(refundId);
  if (refund.amount !== 3000 || refund.payment_intent !== payment.intentId)
    throw new CheckFailed(
      `Stripe refund ${refundId} is ${refund.amount} on ${String(refund.payment_intent)}`,
    );
  return `refund request ${short(requestId)} by ${users.requester.fullname} (USD 30.00) → Stripe refund ${refund.id} ${money(refund.amount, refund.currency)} ${refund.status}; request Succeeded`;
}

async function requestedRefundBack({ rows, state }: ScenarioContext): Promise<string> {
  const id = need(state.refundId, 'the requested refund');
  const payment = need(state.requestPayment, 'the USD 120.00 payment');
  const row = await rows.rowByKey('stc_refunds', id, 'stc_refundid,stc_amount', (r) => r.stc_amount === 30);
  await rows.paymentRow(payment.intentId, (r) => r.stc_amountrefunded === 30, 'refunded 30');
  return `refund ${id} → stc_refund row ${short(String(row.stc_refundid))} (30.00); payment refunded 30 (Partially Refunded)`;
}

/** The checks in the order they run. */
export const SCENARIO_STEPS: readonly ScenarioStep[] = [
  { label: 'customer → account', act: customerToAccount },
  { label: 'customer → contact', act: customerToContact },
  ...Object.entries(SCENARIO_PAYMENTS).map(([name, p]) => ({
    label: `payment ${money(p.amount, p.currency)}`,
    act: (ctx: ScenarioContext) => payInCurrency(ctx, name, p),
  })),
  { label: 'declined payment', act: declinedPayment },
  { label: 'partial refund', act: partialRefund },
  { label: 'full refund', act: fullRefund },
  { label: 'dispute opened', act: disputeOpened },
  { label: 'dispute won', act: disputeWon },
  { label: 'account edit → Stripe customer', act: accountEdit },
  { label: 'payment for the refund request', act: paymentForRefundRequest },
  { label: 'refund request → Stripe refund', act: refundRequestToStripe },
  { label: 'Stripe refund → back in Dataverse', act: requestedRefundBack },
  { label: 'checkout → order and paid invoice', act: checkoutToOrder },
  { label: 'payment link from a Dynamics 365 order, paid', act: paymentLinkFromOrder },
  { label: 'payment link from a Dynamics 365 quote, paid', act: paymentLinkFromQuote },
  { label: 'subscription from Dynamics 365, renewed twice', act: subscriptionFromDynamics },
  { label: 'payouts reconciled: one balanced, one mismatched', act: payoutsReconciled },
  { label: 'a live-mode event dead-lettered', act: liveEventDeadLettered },
  { label: 'a payment dead-lettered by the shipped mapping', act: mappingDeadLettered },
  { label: 'alerts at the local receiver', act: alertsReceived },
];
