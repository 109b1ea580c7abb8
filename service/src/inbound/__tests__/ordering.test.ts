/**
 * Events delivered in any order, and more than once, leave the same rows: handlers re-read Stripe's
 * current state, and the pipeline's ordering stamp (the store's) keeps an older event of an object out.
 */
import type Stripe from 'stripe';
import { eventFor } from '../../mapping/__tests__/fixtures';
import type { Row } from '../../dataverse/types';
import { MemoryDataverse } from './memory-dataverse';
import { OrderedDelivery, shuffled, SyncHarness } from './harness';
import { StripeStub } from './stripe-stub';
import { currentObject, customerObject, refundOf, succeededPayment } from './world';

let stripe: StripeStub;
beforeAll(async () => {
  stripe = new StripeStub();
  await stripe.start();
  // Stripe's state after everything happened: paid, partly refunded twice, disputed; the customer renamed.
  const state = succeededPayment({
    id: 'pi_3Order',
    amount: 10000,
    currency: 'jpy',
    fee: 360,
    customer: 'cus_Order',
  });
  const refundA = refundOf(state.charge, 're_3A', 2500, 1714556000);
  const refundB = refundOf(state.charge, 're_3B', 1500, 1714557000);
  stripe.put(state.intent);
  stripe.put({ ...state.charge, amount_refunded: 4000, disputed: true });
  stripe.put(state.balanceTransaction);
  stripe.put(refundA);
  stripe.put(refundB);
  stripe.put({
    ...currentObject('dispute'),
    id: 'du_3Order',
    charge: 'ch_3Order',
    payment_intent: 'pi_3Order',
    amount: 6000,
    currency: 'jpy',
    status: 'under_review',
    balance_transactions: [],
  });
  stripe.put(customerObject({ id: 'cus_Order', name: 'Order Co (renamed)', email: 'orders@example.com' }));
});
afterAll(() => stripe.stop());

function timeline(): Stripe.Event[] {
  const intent = {
    ...succeededPayment({ id: 'pi_3Order', amount: 10000, currency: 'jpy' }).intent,
    status: 'requires_payment_method',
  };
  const charge = { ...succeededPayment({ id: 'pi_3Order', amount: 10000, currency: 'jpy' }).charge };
  const customer = customerObject({ id: 'cus_Order', name: 'Order Co', email: 'orders@example.com' });
  const dispute = {
    ...currentObject('dispute'),
    id: 'du_3Order',
    charge: 'ch_3Order',
    payment_intent: 'pi_3Order',
  };
  return [
    eventFor('customer.created', customer, { id: 'evt_01', created: 1714555000 }),
    eventFor('payment_intent.created', intent, { id: 'evt_02', created: 1714555100 }),
    eventFor(
      'payment_intent.succeeded',
      { ...intent, status: 'succeeded' },
      { id: 'evt_03', created: 1714555200 },
    ),
    eventFor('charge.succeeded', charge, { id: 'evt_04', created: 1714555200 }),
    eventFor('refund.created', refundOf(charge, 're_3A', 2500, 1714556000), {
      id: 'evt_05',
      created: 1714556000,
    }),
    eventFor('charge.refunded', { ...charge, amount_refunded: 2500 }, { id: 'evt_06', created: 1714556000 }),
    eventFor('refund.created', refundOf(charge, 're_3B', 1500, 1714557000), {
      id: 'evt_07',
      created: 1714557000,
    }),
    eventFor('refund.updated', refundOf(charge, 're_3B', 1500, 1714557000), {
      id: 'evt_08',
      created: 1714557100,
    }),
    eventFor('charge.dispute.created', dispute, { id: 'evt_09', created: 1714558000 }),
    eventFor(
      'customer.updated',
      { ...customer, name: 'Order Co (renamed)' },
      { id: 'evt_10', created: 1714559000 },
    ),
  ];
}

/** Rows without what legitimately differs between runs: generated ids, creation times, bind targets' GUIDs. */
function snapshot(
  dataverse: MemoryDataverse,
  withStamps: (entitySet: string) => boolean,
): Record<string, Row[]> {
  const result: Record<string, Row[]> = {};
  for (const entitySet of ['stc_payments', 'stc_refunds', 'stc_disputes', 'accounts', 'contacts']) {
    result[entitySet] = dataverse
      .rows(entitySet)
      .map((row) => {
        const copy: Row = {};
        for (const [column, value] of Object.entries(row)) {
          if (column.endsWith('id') && typeof value === 'string' && /^[0-9a-f-]{36}$/.test(value)) continue;
          if (column === 'createdon') continue;
          if (!withStamps(entitySet) && (column === 'stc_lasteventid' || column === 'stc_lasteventcreated'))
            continue;
          copy[column] = column.endsWith('@odata.bind')
            ? String(value).replace(/\([0-9a-f-]{36}\)/, '(…)')
            : value;
        }
        return copy;
      })
      .sort((a, b) =>
        String(a.stc_stripeid ?? a.stc_stripecustomerid).localeCompare(
          String(b.stc_stripeid ?? b.stc_stripecustomerid),
        ),
      );
  }
  return result;
}

async function run(events: Stripe.Event[]): Promise<{ dataverse: MemoryDataverse; outcomes: string[] }> {
  const dataverse = new MemoryDataverse();
  const ordered = await OrderedDelivery.open(new SyncHarness(stripe, dataverse));
  const outcomes: string[] = [];
  try {
    for (const event of events) outcomes.push(`${event.id}:${await ordered.deliver(event)}`);
  } finally {
    await ordered.close();
  }
  return { dataverse, outcomes };
}

test('shuffled and duplicated events give the same rows as in order', async () => {
  const inOrder = await run(timeline());
  const expected = snapshot(inOrder.dataverse, () => true);
  expect(expected.stc_payments).toEqual([
    expect.objectContaining({
      stc_stripeid: 'pi_3Order',
      stc_amount: 10000,
      stc_amountrefunded: 4000,
      stc_fee: 360,
      stc_net: 9640,
      stc_disputed: true,
      'stc_customerid_account@odata.bind': '/accounts(…)',
    }),
  ]);
  expect(expected.stc_refunds.map((r) => [r.stc_stripeid, r.stc_amount, r.stc_lasteventid])).toEqual([
    // charge.refunded (evt_06) re-reads and writes every refund of the charge.
    ['re_3A', 2500, 'evt_06'],
    ['re_3B', 1500, 'evt_08'],
  ]);
  expect(expected.accounts).toEqual([
    expect.objectContaining({ name: 'Order Co (renamed)', stc_lasteventid: 'evt_10' }),
  ]);

  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const events = timeline();
    const withDuplicates = shuffled([...events, ...shuffled(events, seed + 100).slice(0, 4)], seed);
    const { dataverse, outcomes } = await run(withDuplicates);
    // Payments and refunds are written by events of several objects (a refund also by charge.refunded), so
    // their stamp is whichever came last; the data is the same. Other rows carry their object's newest event.
    const stamped = (entitySet: string) => entitySet !== 'stc_payments' && entitySet !== 'stc_refunds';
    expect({ seed, rows: snapshot(dataverse, stamped) }).toEqual({
      seed,
      rows: snapshot(inOrder.dataverse, stamped),
    });
    expect(outcomes.filter((outcome) => outcome.endsWith(':duplicate'))).toHaveLength(4);
  }
});

test('an older event of an object is superseded once a newer one was applied', async () => {
  const [created, , , , , , refundB, refundBUpdated, , updated] = timeline();
  const { outcomes } = await run([updated, created, refundBUpdated, refundB]);
  expect(outcomes).toEqual(['evt_10:applied', 'evt_01:superseded', 'evt_08:applied', 'evt_07:superseded']);
});
