/**
 * The sandbox's scenario: a day of business played through the emulators with the official `stripe` SDK and
 * the Dataverse Web API, each outcome read back from Dataverse (or Stripe) and reported as a check.
 * Customers, payments in USD, JPY and KWD and a declined one, a partial then a full refund, a dispute opened
 * and won, a customer edited in Dataverse going to Stripe, and a refund asked for in Dataverse by a user.
 */
import Stripe from 'stripe';
import { StcDisputeStatus, StcPaymentStatus, StcRefundReason, StcRefundRequestStatus } from '@stc/solution';
import type { RunningPart } from '../cli';
import type { SandboxRun, SANDBOX_USERS } from '../parts/run';
import { tokenSource } from '../parts/token';
import { createWebApi, odataString, type WebApi } from './webapi';

export { createWebApi, odataString, WebApiError, type WebApi } from './webapi';

export interface ScenarioEnvironment {
  stripe: Stripe;
  dataverse: WebApi;
  users: typeof SANDBOX_USERS;
  /** How long a row may take to appear (default 20 s). */
  timeoutMs?: number;
}

export interface ScenarioResult {
  passed: number;
  total: number;
  failed: string[];
}

/** Amounts the scenario sends, in the smallest unit, and what each must become in Dataverse. */
export const SCENARIO_PAYMENTS = {
  usd: { amount: 1999, currency: 'usd', major: 19.99 },
  jpy: { amount: 1999, currency: 'jpy', major: 1999 },
  // Three-decimal currency: Stripe wants the last digit 0, so 12.350 KWD is 12350 fils.
  kwd: { amount: 12350, currency: 'kwd', major: 12.35 },
} as const;

const EXPONENT: Record<string, number> = { usd: 2, jpy: 0, kwd: 3 };
const money = (minor: number, currency: string) =>
  `${currency.toUpperCase()} ${(minor / 10 ** (EXPONENT[currency] ?? 2)).toFixed(EXPONENT[currency] ?? 2)}`;
const short = (id: string) => id.slice(0, 8);

interface Row extends Record<string, unknown> {
  '@odata.etag'?: string;
}

class CheckFailed extends Error {}

/** Polls until `probe` gives a value, or fails with what was last seen. */
async function until<T>(
  what: string,
  probe: () => Promise<{ value?: T; seen?: string }>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let seen = 'nothing yet';
  for (;;) {
    const result = await probe();
    if (result.value !== undefined) return result.value;
    seen = result.seen ?? seen;
    if (Date.now() > deadline)
      throw new CheckFailed(`${what}: not within ${timeoutMs / 1000} s (last seen: ${seen})`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

export async function playScenario(
  env: ScenarioEnvironment,
  print: (line: string) => void,
): Promise<ScenarioResult> {
  const { stripe, dataverse, users } = env;
  const timeoutMs = env.timeoutMs ?? 20_000;
  const result: ScenarioResult = { passed: 0, total: 0, failed: [] };
  const say = (text: string) => print(`scenario: ${text}`);

  /** One check: `act` does and reads back, and returns the line that says what happened. */
  const check = async (label: string, act: () => Promise<string>) => {
    result.total++;
    const started = Date.now();
    try {
      const line = await act();
      result.passed++;
      say(`✓ ${line} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    } catch (error) {
      result.failed.push(label);
      say(`✗ FAILED ${label}: ${(error as Error).message}`);
    }
  };
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new CheckFailed(`skipped: ${what} did not happen`);
    return value;
  };

  const paymentRow = (intentId: string, accept: (row: Row) => boolean, describe: string) =>
    until(
      `stc_payment row for ${intentId} ${describe}`,
      async () => {
        const row = await dataverse.get<Row>(
          `stc_payments(stc_stripeid=${odataString(intentId)})?$select=stc_paymentid,stc_amount,stc_currency,stc_status,stc_amountrefunded,stc_failurecode,stc_disputed`,
        );
        if (!row) return { seen: 'no row' };
        return accept(row) ? { value: row } : { seen: JSON.stringify(strip(row)) };
      },
      timeoutMs,
    );
  const rowByKey = (entitySet: string, stripeId: string, select: string, accept: (row: Row) => boolean) =>
    until(
      `${entitySet} row for ${stripeId}`,
      async () => {
        const row = await dataverse.get<Row>(
          `${entitySet}(stc_stripeid=${odataString(stripeId)})?$select=${select}`,
        );
        if (!row) return { seen: 'no row' };
        return accept(row) ? { value: row } : { seen: JSON.stringify(strip(row)) };
      },
      timeoutMs,
    );
  const customerRow = (
    entitySet: 'accounts' | 'contacts',
    customerId: string,
    select: string,
    accept: (row: Row) => boolean,
  ) =>
    until(
      `${entitySet} row for ${customerId}`,
      async () => {
        const [row] = await dataverse.list<Row>(
          `${entitySet}?$filter=stc_stripecustomerid eq ${odataString(customerId)}&$select=${select}`,
        );
        if (!row) return { seen: 'no row' };
        return accept(row) ? { value: row } : { seen: JSON.stringify(strip(row)) };
      },
      timeoutMs,
    );

  say(
    'playing: customers, payments (USD, JPY, KWD, a declined card), refunds, a dispute, a customer edit, a refund request',
  );

  // Customers: a business becomes an account, a person (metadata d365_type: contact) a contact.
  let contoso: Stripe.Customer | undefined;
  let contosoAccountId: string | undefined;
  await check('customer → account', async () => {
    contoso = await stripe.customers.create({ name: 'Contoso', email: 'billing@contoso.example' });
    const row = await customerRow(
      'accounts',
      contoso.id,
      'accountid,name,emailaddress1',
      (r) => r.name === 'Contoso',
    );
    contosoAccountId = String(row.accountid);
    return `customer ${contoso.id} "Contoso" → account row ${short(contosoAccountId)} (name Contoso, ${String(row.emailaddress1)})`;
  });
  let ada: Stripe.Customer | undefined;
  await check('customer → contact', async () => {
    ada = await stripe.customers.create({
      name: 'Ada Lovelace',
      email: 'ada@example.org',
      metadata: { d365_type: 'contact' },
    });
    const row = await customerRow(
      'contacts',
      ada.id,
      'contactid,firstname,lastname',
      (r) => r.firstname === 'Ada' && r.lastname === 'Lovelace',
    );
    return `customer ${ada.id} "Ada Lovelace" → contact row ${short(String(row.contactid))} (Ada / Lovelace)`;
  });

  // Payments: three currencies with three exponents, each amount read back in major units.
  const paid: Record<string, { intentId: string; rowId: string }> = {};
  for (const [name, p] of Object.entries(SCENARIO_PAYMENTS)) {
    await check(`payment ${money(p.amount, p.currency)}`, async () => {
      const intent = await stripe.paymentIntents.create({
        amount: p.amount,
        currency: p.currency,
        customer: (name === 'jpy' ? ada : contoso)?.id,
        payment_method: 'pm_card_visa',
        confirm: true,
        description: `Sandbox scenario ${name}`,
      });
      const row = await paymentRow(
        intent.id,
        (r) =>
          r.stc_status === StcPaymentStatus.Succeeded &&
          r.stc_amount === p.major &&
          r.stc_currency === p.currency,
        `Succeeded, ${p.major} ${p.currency}`,
      );
      paid[name] = { intentId: intent.id, rowId: String(row.stc_paymentid) };
      return `payment ${intent.id} ${money(p.amount, p.currency)} ${intent.status} → stc_payment row ${short(paid[name].rowId)} (amount ${String(row.stc_amount)}, Succeeded)`;
    });
  }
  await check('declined payment', async () => {
    let intentId: string | undefined;
    let declineCode = '';
    try {
      await stripe.paymentIntents.create({
        amount: 4200,
        currency: 'usd',
        customer: contoso?.id,
        payment_method: 'pm_card_chargeDeclined',
        confirm: true,
      });
    } catch (error) {
      if (!(error instanceof Stripe.errors.StripeCardError)) throw error;
      intentId = (error.raw as { payment_intent?: { id: string } }).payment_intent?.id;
      declineCode = error.decline_code ?? error.code ?? '';
    }
    if (!intentId) throw new CheckFailed('the declined card was not declined by Stripe');
    const row = await paymentRow(intentId, (r) => r.stc_status === StcPaymentStatus.Failed, 'Failed');
    return `payment ${intentId} USD 42.00 declined (${declineCode}) → stc_payment row ${short(String(row.stc_paymentid))} (Failed, ${String(row.stc_failurecode)})`;
  });

  // Refunds: part of the USD payment, then the rest.
  await check('partial refund', async () => {
    const { intentId } = need(paid.usd, 'the USD payment');
    const refund = await stripe.refunds.create({ payment_intent: intentId, amount: 500 });
    const row = await rowByKey(
      'stc_refunds',
      refund.id,
      'stc_refundid,stc_amount',
      (r) => r.stc_amount === 5,
    );
    const payment = await paymentRow(
      intentId,
      (r) => r.stc_amountrefunded === 5 && r.stc_status === StcPaymentStatus.PartiallyRefunded,
      'refunded 5.00, Partially Refunded',
    );
    return `refund ${refund.id} USD 5.00 of ${intentId} → stc_refund row ${short(String(row.stc_refundid))}; payment ${short(String(payment.stc_paymentid))} refunded 5 (Partially Refunded)`;
  });
  await check('full refund', async () => {
    const { intentId } = need(paid.usd, 'the USD payment');
    const refund = await stripe.refunds.create({ payment_intent: intentId });
    const row = await rowByKey(
      'stc_refunds',
      refund.id,
      'stc_refundid,stc_amount',
      (r) => r.stc_amount === 14.99,
    );
    await paymentRow(
      intentId,
      (r) => r.stc_amountrefunded === 19.99 && r.stc_status === StcPaymentStatus.Refunded,
      'refunded 19.99, Refunded',
    );
    return `refund ${refund.id} USD 14.99 (the rest) → stc_refund row ${short(String(row.stc_refundid))}; payment refunded 19.99 (Refunded)`;
  });

  // A dispute: the test card opens one on payment; evidence that wins closes it won.
  let disputeId: string | undefined;
  await check('dispute opened', async () => {
    const intent = await stripe.paymentIntents.create({
      amount: 4900,
      currency: 'usd',
      customer: contoso?.id,
      payment_method: 'pm_card_createDispute',
      confirm: true,
    });
    const dispute = await until(
      `a dispute on ${intent.id}`,
      async () => {
        const [found] = (await stripe.disputes.list({ payment_intent: intent.id })).data;
        return found ? { value: found } : { seen: 'none' };
      },
      timeoutMs,
    );
    disputeId = dispute.id;
    const row = await rowByKey(
      'stc_disputes',
      dispute.id,
      'stc_disputeid,stc_amount,stc_status',
      (r) => r.stc_amount === 49,
    );
    return `dispute ${dispute.id} on ${intent.id} USD 49.00 (${dispute.reason}) → stc_dispute row ${short(String(row.stc_disputeid))} (status ${statusName(StcDisputeStatus, row.stc_status)})`;
  });
  await check('dispute won', async () => {
    const id = need(disputeId, 'the dispute');
    await stripe.disputes.update(id, { evidence: { uncategorized_text: 'winning_evidence' }, submit: true });
    const row = await rowByKey(
      'stc_disputes',
      id,
      'stc_disputeid,stc_status,stc_fundsreinstated',
      (r) => r.stc_status === StcDisputeStatus.Won,
    );
    return `dispute ${id} won with evidence → stc_dispute row ${short(String(row.stc_disputeid))} Won (funds reinstated ${String(row.stc_fundsreinstated ?? '—')})`;
  });

  // A user edits the account in Dynamics 365: the Stripe customer follows.
  await check('account edit → Stripe customer', async () => {
    const accountId = need(contosoAccountId, 'the Contoso account');
    const customerId = need(contoso, 'the Contoso customer').id;
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
  });

  // A refund asked for in Dynamics 365 by a requester: policy, Stripe refund, outcome and refund row back.
  let requestPayment: { intentId: string; rowId: string } | undefined;
  await check('payment for the refund request', async () => {
    const intent = await stripe.paymentIntents.create({
      amount: 12000,
      currency: 'usd',
      customer: contoso?.id,
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const row = await paymentRow(
      intent.id,
      (r) => r.stc_status === StcPaymentStatus.Succeeded && r.stc_amount === 120,
      'Succeeded, 120',
    );
    requestPayment = { intentId: intent.id, rowId: String(row.stc_paymentid) };
    return `payment ${intent.id} USD 120.00 succeeded → stc_payment row ${short(requestPayment.rowId)}`;
  });
  let refundId: string | undefined;
  await check('refund request → Stripe refund', async () => {
    const payment = need(requestPayment, 'the USD 120.00 payment');
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
    const settled = [
      StcRefundRequestStatus.Succeeded,
      StcRefundRequestStatus.Failed,
      StcRefundRequestStatus.Rejected,
    ];
    const row = await until(
      `refund request ${requestId} to settle`,
      async () => {
        const r = await dataverse.get<Row>(
          `stc_refundrequests(${requestId})?$select=stc_status,stc_striperefundid,stc_failurereason`,
        );
        return r && settled.includes(r.stc_status as never)
          ? { value: r }
          : { seen: JSON.stringify(strip(r ?? {})) };
      },
      timeoutMs,
    );
    if (row.stc_status !== StcRefundRequestStatus.Succeeded)
      throw new CheckFailed(
        `request ${requestId} ended ${statusName(StcRefundRequestStatus, row.stc_status)}: ${String(row.stc_failurereason)}`,
      );
    refundId = String(row.stc_striperefundid);
    const refund = await stripe.refunds.retrieve(refundId);
    if (refund.amount !== 3000 || refund.payment_intent !== payment.intentId)
      throw new CheckFailed(
        `Stripe refund ${refundId} is ${refund.amount} on ${String(refund.payment_intent)}`,
      );
    return `refund request ${short(requestId)} by ${users.requester.fullname} (USD 30.00) → Stripe refund ${refund.id} ${money(refund.amount, refund.currency)} ${refund.status}; request Succeeded`;
  });
  await check('Stripe refund → back in Dataverse', async () => {
    const id = need(refundId, 'the requested refund');
    const payment = need(requestPayment, 'the USD 120.00 payment');
    const row = await rowByKey('stc_refunds', id, 'stc_refundid,stc_amount', (r) => r.stc_amount === 30);
    await paymentRow(payment.intentId, (r) => r.stc_amountrefunded === 30, 'refunded 30');
    return `refund ${id} → stc_refund row ${short(String(row.stc_refundid))} (30.00); payment refunded 30 (Partially Refunded)`;
  });

  say(
    result.failed.length === 0
      ? `${result.passed} of ${result.total} checks passed`
      : `${result.passed} of ${result.total} checks passed; FAILED: ${result.failed.join('; ')} (the sandbox keeps running: look around)`,
  );
  return result;
}

function strip(row: Row): Row {
  const {
    ['@odata.etag']: _etag,
    ['@odata.context']: _context,
    ...rest
  } = row as Row & { '@odata.context'?: string };
  return rest;
}

function statusName(options: Record<string, number>, value: unknown): string {
  return Object.entries(options).find(([, v]) => v === value)?.[0] ?? String(value);
}

/** The scenario against the running parts: the SDK on the Stripe emulator, the Web API on the Dataverse one. */
export async function runScenario(
  started: ReadonlyMap<string, RunningPart>,
  run: SandboxRun,
  print: (line: string) => void,
): Promise<ScenarioResult> {
  const stripeEmulator = started.get('stripe')?.stripe;
  const dataverse = started.get('dataverse')?.dataverse;
  if (!stripeEmulator || !dataverse) throw new Error('the scenario needs the Stripe and Dataverse emulators');
  const url = new URL(stripeEmulator.url);
  const stripe = new Stripe(stripeEmulator.apiKey, {
    host: url.hostname,
    port: Number(url.port),
    protocol: 'http',
    // Test mode allows 25 requests a second; the SDK retries what Stripe marks retryable.
    maxNetworkRetries: 3,
    telemetry: false,
  });
  const credentials = started.get('token')?.entra?.credentials;
  const webApi = createWebApi(dataverse.url, credentials ? tokenSource(credentials) : undefined);
  return playScenario({ stripe, dataverse: webApi, users: run.users }, print);
}
