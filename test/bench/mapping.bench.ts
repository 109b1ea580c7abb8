/**
 * Mapping throughput: Stripe objects mapped to Dataverse rows per second by the mapping engine (the default
 * mapping files, JSONata compiled at load), against a baseline in the same run: the same mappings written by
 * hand in TypeScript. Both map the same corpus of real payloads (Stripe's current example objects and events
 * recorded from a real account, API versions 2020–2023); before timing, every baseline row is checked equal to
 * the engine's row, so the two do the same work. Reports the median of several runs and the ratio.
 *
 * Environment: BENCH_OBJECTS (20000 a run), BENCH_RUNS (7).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type Stripe from 'stripe';
import { model } from '@stc/solution';
// The mapping engine's own entry point: the bench needs nothing else of the service.
import {
  applyMapping,
  countryName,
  eventEnvelope,
  loadMappings,
  minorToMajor,
  minorToMajorString,
  normalizeEmail,
  phoneE164,
  unixToDateTime,
  type CompiledMapping,
  type EventEnvelope,
} from '@stc/service/src/mapping';

const MAPPINGS_DIR = join(__dirname, '../../service/mappings');
const OBJECTS = Number(process.env.BENCH_OBJECTS ?? 20_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const REFERENCE = join(__dirname, '../fixtures/reference/stripe');

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- Stripe payloads are untyped JSON here

interface Item {
  mapping: CompiledMapping;
  object: Json;
  envelope: EventEnvelope;
}

// ---------- the corpus ----------
const mappings = loadMappings(MAPPINGS_DIR, { model });
const fixtures = JSON.parse(readFileSync(join(REFERENCE, 'openapi-fixtures/fixtures3.json'), 'utf8'))
  .resources as Record<string, Json>;
const recorded = (name: string) =>
  JSON.parse(readFileSync(join(REFERENCE, 'events-2020', `${name}.json`), 'utf8')) as Stripe.Event;
const envelope = (id: string, account: string | null = null): EventEnvelope => ({
  id,
  type: 'bench',
  created: 1714555800,
  account,
  livemode: false,
});

function corpus(): Item[] {
  const items: Item[] = [];
  const add = (name: string, object: Json, env: EventEnvelope) =>
    items.push({ mapping: mappings.get(name), object, envelope: env });
  // A fresh PaymentIntent as the handler reads it: latest charge and balance transaction expanded.
  const balance = { ...fixtures.balance_transaction, amount: 1999, fee: 88, net: 1911 };
  const charge = {
    ...fixtures.charge,
    amount: 1999,
    amount_captured: 1999,
    payment_intent: fixtures.payment_intent.id,
    balance_transaction: balance,
    customer: 'cus_1',
  };
  for (const [currency, amount] of [
    ['usd', 1999],
    ['jpy', 5000],
    ['kwd', 19995],
  ] as const) {
    add(
      'payment_intent',
      {
        ...fixtures.payment_intent,
        status: 'succeeded',
        amount,
        amount_received: amount,
        currency,
        customer: 'cus_1',
        metadata: { order_number: 'ORD-1' },
        latest_charge: { ...charge, amount, currency, balance_transaction: { ...balance, currency } },
      },
      envelope('evt_pi', 'acct_1'),
    );
  }
  for (const name of [
    'payment_intent_succeeded',
    'payment_intent_payment_failed',
    'payment_intent_canceled',
    'payment_intent_processing',
  ]) {
    const event = recorded(name);
    add('payment_intent', event.data.object as unknown as Json, eventEnvelope(event));
  }
  add('charge', { ...fixtures.charge, balance_transaction: balance }, envelope('evt_ch'));
  for (const name of ['refund_created', 'refund_updated']) {
    const event = recorded(name);
    add('refund', event.data.object as unknown as Json, eventEnvelope(event));
  }
  add('refund', fixtures.refund, envelope('evt_re'));
  for (const name of ['charge_dispute_created', 'charge_dispute_funds_withdrawn']) {
    const event = recorded(name);
    add('dispute', event.data.object as unknown as Json, eventEnvelope(event));
  }
  add(
    'dispute',
    { ...fixtures.dispute, balance_transactions: [{ ...balance, amount: -1000, currency: 'usd' }] },
    envelope('evt_dp'),
  );
  const customerEvent = recorded('customer_updated');
  add('customer_account', customerEvent.data.object as unknown as Json, eventEnvelope(customerEvent));
  add(
    'customer_account',
    {
      ...fixtures.customer,
      name: 'Fabrikam',
      email: 'a@b.example',
      address: {
        line1: '1 High St',
        city: 'London',
        country: 'GB',
        line2: null,
        state: null,
        postal_code: 'EC1',
      },
    },
    envelope('evt_cus'),
  );
  return items;
}

// ---------- the baseline: the same mappings by hand ----------
const optionValues = new Map<string, Map<string, number>>();
for (const set of model.optionSets) {
  const values = new Map<string, number>();
  for (const option of set.options) {
    values.set(option.label, option.value);
    if (option.externalValue) values.set(option.externalValue, option.value);
  }
  optionValues.set(set.name, values);
}
const option = (set: string, value: unknown, fallback?: string): number | undefined => {
  const values = optionValues.get(set)!;
  const found = typeof value === 'string' ? values.get(value) : undefined;
  if (found !== undefined) return found;
  return fallback !== undefined ? values.get(fallback) : undefined;
};
const BRANDS: Record<string, string> = {
  visa: 'Visa',
  mastercard: 'Mastercard',
  MasterCard: 'Mastercard',
  amex: 'American Express',
  'American Express': 'American Express',
  discover: 'Discover',
  diners: 'Diners Club',
  'Diners Club': 'Diners Club',
  jcb: 'JCB',
  unionpay: 'UnionPay',
  UnionPay: 'UnionPay',
  cartes_bancaires: 'Cartes Bancaires',
  interac: 'Interac',
  eftpos_au: 'eftpos Australia',
};
const idOf = (value: unknown) => (value && typeof value === 'object' ? (value as Json).id : value);
const put = (row: Json, column: string, value: unknown) => {
  if (value !== undefined) row[column] = value;
};
const major = (amount: unknown, currency: unknown) =>
  amount === undefined || amount === null ? amount : minorToMajor(amount, String(currency));
const name = (o: Json) =>
  `${minorToMajorString(o.amount, o.currency)} ${String(o.currency).toUpperCase()} · ${o.id}`;
const stamp = (row: Json, e: EventEnvelope) => {
  row.stc_lasteventid = e.id;
  row.stc_lasteventcreated = unixToDateTime(e.created);
  return row;
};

/** payments.yaml `disputedNow`: disputed until every dispute the handler added is won (or an inquiry closed). */
const disputedNow = (charge: Json | undefined, disputes: unknown): boolean =>
  charge?.disputed === true &&
  !(Array.isArray(disputes) && disputes.every((d: Json) => ['won', 'warning_closed'].includes(d.status)));

/** The columns every money object's row starts with: id, name, mode, account, amount, currency, status. */
const moneyRow = (o: Json, e: EventEnvelope, livemode: unknown, status: number | undefined): Json => ({
  stc_stripeid: o.id,
  stc_name: name(o).slice(0, 200),
  stc_livemode: livemode,
  stc_stripeaccount: e.account,
  stc_amount: minorToMajor(o.amount, o.currency),
  stc_currency: o.currency,
  stc_status: status,
});

/** An expanded balance transaction in the payment's own currency, else undefined. */
const ownBalance = (bt: unknown, currency: unknown): Json | undefined =>
  bt && typeof bt === 'object' && (bt as Json).currency === currency ? (bt as Json) : undefined;

/** What the charge captured: amount_captured, or the whole amount in API versions without it. */
const capturedOf = (charge: Json | undefined) =>
  typeof charge?.amount_captured === 'number' ? charge.amount_captured : charge?.amount;

/** Only authorized: captured false and nothing captured. */
const uncaptured = (charge: Json | undefined) => charge?.captured === false && !(charge.amount_captured > 0);

/** Refunds: amount_refunded beyond what a partial capture released; none for an uncaptured charge. */
const refundsOf = (charge: Json | undefined): number | undefined => {
  if (uncaptured(charge)) return 0;
  const released = charge?.amount - capturedOf(charge);
  const refunded: number | undefined = charge?.amount_refunded;
  if (refunded === undefined) return undefined;
  return refunded > released ? refunded - released : refunded >= 0 ? 0 : undefined;
};

/** A payment's status from its charge: refunded, partially refunded, disputed, else `otherwise`. */
const chargeStatus = (charge: Json | undefined, disputes: unknown, otherwise: string): string => {
  const refunded = refundsOf(charge) ?? 0;
  return refunded > 0 && refunded >= capturedOf(charge)
    ? 'refunded'
    : refunded > 0
      ? 'partially_refunded'
      : disputedNow(charge, disputes)
        ? 'disputed'
        : otherwise;
};

/** The charge's fee and net, payment method, card and receipt, and the payment's dashboard link. */
function putChargeDetails(
  row: Json,
  o: Json,
  charge: Json | undefined,
  bt: Json | undefined,
  e: EventEnvelope,
) {
  put(row, 'stc_fee', major(bt?.fee, bt?.currency));
  put(row, 'stc_net', major(bt?.net, bt?.currency));
  // The balance transaction in whatever currency it settled in.
  const settled = charge?.balance_transaction;
  if (settled && typeof settled === 'object') {
    if (typeof settled.currency === 'string') row.stc_settlementcurrency = settled.currency;
    if (typeof settled.exchange_rate === 'number') row.stc_exchangerate = settled.exchange_rate;
  }
  const type = charge?.payment_method_details?.type;
  if (type !== undefined && type !== null)
    row.stc_paymentmethodtype = option('stc_paymentmethodtype', type, 'other');
  const brand = charge?.payment_method_details?.card?.brand;
  if (brand !== undefined && brand !== null)
    row.stc_cardbrand = option('stc_cardbrand', BRANDS[brand] ?? 'Unknown');
  put(row, 'stc_last4', charge?.payment_method_details?.card?.last4);
  put(row, 'stc_receipturl', charge?.receipt_url);
  row.stc_dashboardurl = `https://dashboard.stripe.com/${e.account ? `${e.account}/` : ''}${o.livemode ? '' : 'test/'}payments/${o.id}`;
}

/** The charge and payment intent a refund or dispute belongs to, its creation time and the event stamp. */
function linkedRow(row: Json, o: Json, e: EventEnvelope): Json {
  put(row, 'stc_chargeid', idOf(o.charge));
  put(row, 'stc_paymentintentid', idOf(o.payment_intent));
  put(row, 'stc_stripecreatedon', unixToDateTime(o.created));
  return stamp(row, e);
}

function paymentIntentRow(o: Json, e: EventEnvelope): Json {
  const charge: Json | undefined =
    o.latest_charge && typeof o.latest_charge === 'object' ? o.latest_charge : o.charges?.data?.[0];
  const bt = ownBalance(charge?.balance_transaction, o.currency);
  const status = chargeStatus(
    charge,
    o.disputes,
    o.status === 'requires_payment_method' && o.last_payment_error ? 'failed' : o.status,
  );
  const row = moneyRow(o, e, o.livemode, option('stc_paymentstatus', status));
  put(row, 'stc_amountcaptured', major(o.amount_received, o.currency));
  put(row, 'stc_amountrefunded', major(refundsOf(charge), o.currency));
  putChargeDetails(row, o, charge, bt, e);
  const error = o.last_payment_error;
  put(
    row,
    'stc_failurecode',
    error
      ? error.decline_code
        ? error.decline_code
        : error.code
      : error === null
        ? charge?.failure_code
        : undefined,
  );
  put(
    row,
    'stc_failuremessage',
    error ? error.message : error === null ? charge?.failure_message : undefined,
  );
  put(row, 'stc_description', o.description);
  row.stc_disputed = disputedNow(charge, o.disputes);
  put(row, 'stc_stripecustomerid', idOf(o.customer));
  put(row, 'stc_chargeid', typeof o.latest_charge === 'string' ? o.latest_charge : charge?.id);
  put(row, 'stc_stripebalancetransactionid', idOf(charge?.balance_transaction));
  put(row, 'stc_stripecreatedon', unixToDateTime(o.created));
  return stamp(row, e);
}

function chargeRow(o: Json, e: EventEnvelope): Json {
  const bt = ownBalance(o.balance_transaction, o.currency);
  // Made with capture=false: requires capture until captured, canceled once released.
  const status =
    uncaptured(o) && o.status === 'succeeded'
      ? o.refunded === true || o.amount_refunded > 0
        ? 'canceled'
        : 'requires_capture'
      : chargeStatus(o, o.disputes, o.status);
  const row = moneyRow(o, e, o.livemode, option('stc_paymentstatus', status));
  put(row, 'stc_amountcaptured', major(o.amount_captured, o.currency));
  put(row, 'stc_amountrefunded', major(refundsOf(o), o.currency));
  putChargeDetails(row, o, o, bt, e);
  put(row, 'stc_failurecode', o.failure_code);
  put(row, 'stc_failuremessage', o.failure_message);
  put(row, 'stc_description', o.description);
  row.stc_disputed = disputedNow(o, o.disputes);
  put(row, 'stc_stripecustomerid', idOf(o.customer));
  put(row, 'stc_chargeid', o.id);
  put(row, 'stc_stripebalancetransactionid', idOf(o.balance_transaction));
  put(row, 'stc_stripecreatedon', unixToDateTime(o.created));
  return stamp(row, e);
}

function refundRow(o: Json, e: EventEnvelope): Json {
  const row = moneyRow(o, e, e.livemode, option('stc_refundstatus', o.status, 'pending'));
  put(row, 'stc_reason', o.reason === null ? null : option('stc_refundreason', o.reason));
  put(row, 'stc_failurereason', o.failure_reason);
  return linkedRow(row, o, e);
}

/** A dispute's funds moved one way: the sum of its balance transactions, or its amount on that event. */
const disputeFunds = (o: Json, e: EventEnvelope, moved: Json[], sign: number, eventType: string) =>
  moved.length
    ? minorToMajor(sign * moved.reduce((sum, t) => sum + t.amount, 0), o.currency)
    : e.type === eventType
      ? minorToMajor(o.amount, o.currency)
      : undefined;

function disputeRow(o: Json, e: EventEnvelope): Json {
  const row = moneyRow(o, e, o.livemode, option('stc_disputestatus', o.status, 'needs_response'));
  put(row, 'stc_reason', o.reason === null ? null : option('stc_disputereason', o.reason, 'general'));
  put(row, 'stc_evidencedueby', unixToDateTime(o.evidence_details?.due_by));
  const own = ((o.balance_transactions ?? []) as Json[]).filter((t) => t.currency === o.currency);
  const out = own.filter((t) => t.amount < 0);
  const back = own.filter((t) => t.amount > 0);
  put(row, 'stc_fundswithdrawn', disputeFunds(o, e, out, -1, 'charge.dispute.funds_withdrawn'));
  put(row, 'stc_fundsreinstated', disputeFunds(o, e, back, 1, 'charge.dispute.funds_reinstated'));
  return linkedRow(row, o, e);
}

function customerAccountRow(o: Json, e: EventEnvelope): Json {
  const text = (value: unknown, max: number) =>
    value === undefined || value === null ? value : String(value).slice(0, max);
  const row: Json = {
    stc_stripecustomerid: o.id,
    name: text(o.name ? o.name : o.email ? o.email : o.id, 160),
  };
  put(row, 'emailaddress1', text(normalizeEmail(o.email), 100));
  const e164 = phoneE164(o.phone, o.address?.country);
  put(row, 'telephone1', text(e164 ? e164 : o.phone, 50));
  put(row, 'address1_line1', text(o.address?.line1, 250));
  put(row, 'address1_line2', text(o.address?.line2, 250));
  put(row, 'address1_city', text(o.address?.city, 80));
  put(row, 'address1_stateorprovince', text(o.address?.state, 50));
  put(row, 'address1_postalcode', text(o.address?.postal_code, 20));
  const country = countryName(o.address?.country);
  put(row, 'address1_country', text(country ? country : o.address?.country, 80));
  put(row, 'description', text(o.description, 2000));
  row.stc_livemode = o.livemode;
  row.stc_stripeaccount = e.account;
  return stamp(row, e);
}

const BASELINE: Record<string, (o: Json, e: EventEnvelope) => Json> = {
  payment_intent: paymentIntentRow,
  charge: chargeRow,
  refund: refundRow,
  dispute: disputeRow,
  customer_account: customerAccountRow,
};

// ---------- the runs ----------
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main(): Promise<void> {
  const items = corpus();
  // Same work: every baseline row equals the engine's row (which a JSON body would carry).
  for (const item of items) {
    const engineRow = (await applyMapping(item.mapping, item.object, item.envelope)).row;
    const handRow = BASELINE[item.mapping.name](item.object, item.envelope);
    if (!isDeepStrictEqual(JSON.parse(JSON.stringify(engineRow)), JSON.parse(JSON.stringify(handRow)))) {
      console.error(
        `baseline and engine differ for ${item.mapping.name} ${item.object.id}:\n engine ${JSON.stringify(engineRow)}\n hand   ${JSON.stringify(handRow)}`,
      );
      process.exit(1);
    }
  }
  // Each mapping over its own payloads, OBJECTS / (number of mappings) objects a run, engine then baseline.
  const names = [...new Set(items.map((item) => item.mapping.name))];
  const perMapping = Math.ceil(OBJECTS / names.length);
  const rates = new Map<string, { engine: number[]; baseline: number[] }>();
  const totals = { engine: [] as number[], baseline: [] as number[] };
  let sink = 0;
  for (let run = 0; run < RUNS; run++) {
    let engineSeconds = 0;
    let baselineSeconds = 0;
    for (const name of names) {
      const own = items.filter((item) => item.mapping.name === name);
      const sequence = Array.from({ length: perMapping }, (_, i) => own[i % own.length]);
      let started = process.hrtime.bigint();
      for (const item of sequence)
        sink += Object.keys((await applyMapping(item.mapping, item.object, item.envelope)).row).length;
      const engine = Number(process.hrtime.bigint() - started) / 1e9;
      started = process.hrtime.bigint();
      // Awaited like the engine, so the comparison is of the mapping work, not of promise scheduling.
      for (const item of sequence)
        sink += Object.keys(await Promise.resolve(BASELINE[name](item.object, item.envelope))).length;
      const baseline = Number(process.hrtime.bigint() - started) / 1e9;
      const entry = rates.get(name) ?? { engine: [], baseline: [] };
      entry.engine.push(perMapping / engine);
      entry.baseline.push(perMapping / baseline);
      rates.set(name, entry);
      engineSeconds += engine;
      baselineSeconds += baseline;
    }
    totals.engine.push((perMapping * names.length) / engineSeconds);
    totals.baseline.push((perMapping * names.length) / baselineSeconds);
  }
  const fmt = (value: number) => Math.round(value).toLocaleString('en').padStart(9);
  console.log(
    `corpus: ${items.length} real payloads, ${perMapping} objects a mapping a run, ${RUNS} runs (medians; objects mapped per second)`,
  );
  console.log(`${'mapping'.padEnd(18)}${'engine'.padStart(9)} ${'baseline'.padStart(9)}  ratio`);
  for (const [name, entry] of rates) {
    const engine = median(entry.engine);
    const baseline = median(entry.baseline);
    console.log(`${name.padEnd(18)}${fmt(engine)} ${fmt(baseline)}  ${(engine / baseline).toFixed(2)}`);
  }
  const engine = median(totals.engine);
  const baseline = median(totals.baseline);
  console.log(`${'all'.padEnd(18)}${fmt(engine)} ${fmt(baseline)}  ${(engine / baseline).toFixed(2)}`);
  console.log(
    `mapping engine (YAML + JSONata): median ${Math.round(engine).toLocaleString('en')} objects/s; hand-written TypeScript: ${Math.round(baseline).toLocaleString('en')} objects/s; ratio ${(engine / baseline).toFixed(3)}`,
  );
  if (sink === 0) process.exit(1);
}

void main();
