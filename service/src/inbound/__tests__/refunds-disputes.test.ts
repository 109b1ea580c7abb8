import { eventFor, recordedEvent, type StripeJson } from '../../mapping/__tests__/fixtures';
import { MemoryDataverse } from './memory-dataverse';
import { SyncHarness } from './harness';
import { currentObject, putDisputedPayment, recordedPayment, refundOf, succeededPayment } from './world';
import { option, memoryHandlersForEachTest, stripeStubForFile } from './setup';

const stripe = stripeStubForFile();
let dataverse: MemoryDataverse;
let sync: SyncHarness;
memoryHandlersForEachTest(stripe, (fresh) => ({ dataverse, sync } = fresh));

describe('refunds handler', () => {
  test('a partial then a full refund: refund rows linked to the payment, whose status follows', async () => {
    const state = succeededPayment({ id: 'pi_3Refund', amount: 5000, currency: 'eur', fee: 175 });
    stripe.put(state.intent);
    stripe.put(state.balanceTransaction);
    const first = refundOf(state.charge, 're_3First', 2000, 1714556000);
    stripe.put({ ...state.charge, amount_refunded: 2000 });
    stripe.put(first);

    expect(await sync.deliver(eventFor('refund.created', first, { id: 'evt_r1', created: 1714556000 }))).toBe(
      'refunds',
    );

    const payment = () => dataverse.rowByKey('stc_payments', { stc_stripeid: 'pi_3Refund' })!;
    expect(payment()).toMatchObject({
      stc_status: option('stc_paymentstatus', 'partially_refunded'),
      stc_amountrefunded: 20,
      stc_amount: 50,
    });
    const refundRow = dataverse.rowByKey('stc_refunds', { stc_stripeid: 're_3First' })!;
    const { stc_refundid, createdon, ...refund } = refundRow;
    expect(refund).toEqual({
      stc_stripeid: 're_3First',
      stc_name: '20.00 EUR · re_3First',
      stc_livemode: false,
      stc_stripeaccount: null,
      stc_amount: 20,
      stc_currency: 'eur',
      stc_status: option('stc_refundstatus', 'succeeded'),
      stc_reason: null,
      stc_chargeid: 'ch_3Refund',
      stc_paymentintentid: 'pi_3Refund',
      stc_stripecreatedon: '2024-05-01T09:33:20Z',
      stc_lasteventid: 'evt_r1',
      stc_lasteventcreated: '2024-05-01T09:33:20Z',
      'stc_paymentid@odata.bind': "/stc_payments(stc_stripeid='pi_3Refund')",
    });
    expect(stc_refundid).toEqual(expect.any(String));
    expect(createdon).toEqual(expect.any(String));

    // The rest is refunded; Stripe sends charge.refunded with the charge (no refunds list since 2022-11-15).
    const second = {
      ...refundOf(state.charge, 're_3Second', 3000, 1714557000),
      reason: 'requested_by_customer',
    };
    const refundedCharge = { ...state.charge, amount_refunded: 5000, refunded: true };
    stripe.put(refundedCharge);
    stripe.put(second);
    await sync.deliver(eventFor('charge.refunded', refundedCharge, { id: 'evt_r2', created: 1714557000 }));

    expect(stripe.requests.map((r) => r.path)).toContain('/v1/refunds');
    expect(stripe.requests.find((r) => r.path === '/v1/refunds')!.query.get('charge')).toBe('ch_3Refund');
    expect(payment()).toMatchObject({
      stc_status: option('stc_paymentstatus', 'refunded'),
      stc_amountrefunded: 50,
    });
    expect(
      dataverse
        .rows('stc_refunds')
        .map((r) => [r.stc_stripeid, r.stc_amount, r.stc_reason])
        .sort(),
    ).toEqual([
      ['re_3First', 20, null],
      ['re_3Second', 30, option('stc_refundreason', 'requested_by_customer')],
    ]);
    expect(dataverse.rows('stc_payments')).toHaveLength(1);
  });

  test('a second refund made while the first one wrote the payment: the payment is written again, as Stripe has it', async () => {
    const state = succeededPayment({ id: 'pi_3Twice', amount: 5000, currency: 'eur', fee: 175 });
    stripe.put(state.intent);
    stripe.put(state.balanceTransaction);
    stripe.put({ ...state.charge, amount_refunded: 2000 });
    const first = refundOf(state.charge, 're_3Once', 2000, 1714556000);
    stripe.put(first);
    // The second refund is made once the first one's handler has written the payment (another handler,
    // beside it, wrote the newer state before that write landed).
    const upsert = dataverse.upsertByKey.bind(dataverse);
    let paymentWrites = 0;
    dataverse.upsertByKey = async (entitySet, key, row, options) => {
      const result = await upsert(entitySet, key, row, options);
      if (entitySet === 'stc_payments' && ++paymentWrites === 1)
        stripe.put({ ...state.charge, amount_refunded: 3500 });
      return result;
    };
    const intentReads = () =>
      stripe.requests.filter((r) => r.path === '/v1/payment_intents/pi_3Twice').length;

    await sync.deliver(eventFor('refund.created', first, { id: 'evt_once', created: 1714556000 }));

    expect(dataverse.rowByKey('stc_payments', { stc_stripeid: 'pi_3Twice' })).toMatchObject({
      stc_status: option('stc_paymentstatus', 'partially_refunded'),
      stc_amountrefunded: 35,
    });
    expect(paymentWrites).toBe(2);
    // Read, written, read again (changed), written again, read again (unchanged).
    expect(intentReads()).toBe(3);
    expect(sync.log.entries.map((e) => e.msg)).toContain(
      'the payment changed in Stripe while it was written; written again',
    );
  });

  test('recorded refund events (2020 API) in every form give one refund row', async () => {
    const event = recordedEvent('refund_created');
    const refund = event.data.object as StripeJson;
    const state = succeededPayment({ id: refund.payment_intent, amount: 1000 });
    stripe.put(state.intent);
    stripe.put({ ...state.charge, id: refund.charge, amount_refunded: 1000, refunded: true });
    state.intent.latest_charge = refund.charge;
    stripe.put(state.intent);
    stripe.put(refund);

    for (const name of ['refund_created', 'refund_updated', 'refund_failed'])
      await sync.deliver(recordedEvent(name));

    expect(dataverse.rows('stc_refunds')).toEqual([
      expect.objectContaining({
        stc_stripeid: 're_1Nispe2eZvKYlo2Cd31jOCgZ',
        stc_amount: 10,
        stc_chargeid: 'ch_1NirD82eZvKYlo2CIvbtLWuY',
      }),
    ]);
    expect(dataverse.rowByKey('stc_payments', { stc_stripeid: refund.payment_intent })).toMatchObject({
      stc_status: option('stc_paymentstatus', 'refunded'),
    });
  });

  test('the recorded charge.refunded (2020 API, live mode) re-reads the charge’s refunds', async () => {
    const { event, object: charge, state } = recordedPayment('charge_refunded');
    state.intent.latest_charge = charge.id;
    state.intent.livemode = true;
    stripe.put(state.intent);
    stripe.put({ ...charge, balance_transaction: state.balanceTransaction.id });
    stripe.put({ ...state.balanceTransaction, id: state.balanceTransaction.id });
    stripe.put(charge.refunds.data[0]);

    expect(await sync.deliver(event)).toBe('refunds');

    expect(dataverse.rowByKey('stc_payments', { stc_stripeid: charge.payment_intent })).toMatchObject({
      stc_status: option('stc_paymentstatus', 'refunded'),
      stc_amountrefunded: 25,
      stc_livemode: true,
      stc_cardbrand: option('stc_cardbrand', 'mastercard'),
      stc_dashboardurl: `https://dashboard.stripe.com/payments/${charge.payment_intent}`,
    });
    expect(dataverse.rows('stc_refunds')).toEqual([
      expect.objectContaining({ stc_stripeid: 're_3Kl36gJDPojXS6LN0eP4yPDz', stc_amount: 25 }),
    ]);
  });
});

describe('disputes handler', () => {
  const disputedPayment = () => putDisputedPayment(stripe, 'charge_dispute_created');

  test('charge.dispute.created flags the payment and records the dispute, linked to it', async () => {
    const { event, dispute } = disputedPayment();

    expect(await sync.deliver(event)).toBe('disputes');

    expect(dataverse.rowByKey('stc_payments', { stc_stripeid: dispute.payment_intent })).toMatchObject({
      stc_disputed: true,
      stc_status: option('stc_paymentstatus', 'disputed'),
    });
    const { stc_disputeid, createdon, ...row } = dataverse.rowByKey('stc_disputes', {
      stc_stripeid: dispute.id,
    })!;
    expect(row).toEqual({
      stc_stripeid: 'dp_1MLuxQJDPojXS6LNrukJCBBG',
      stc_name: '10.00 USD · dp_1MLuxQJDPojXS6LNrukJCBBG',
      stc_livemode: false,
      stc_stripeaccount: null,
      stc_amount: 10,
      stc_currency: 'usd',
      stc_status: option('stc_disputestatus', 'warning_needs_response'),
      stc_reason: option('stc_disputereason', 'general'),
      stc_evidencedueby: '2023-01-21T23:59:59Z',
      stc_chargeid: 'ch_1IqtGAJDPojXS6LNstgEfUji',
      stc_paymentintentid: 'pi_1IqtG9JDPojXS6LNOGnYrIqq',
      stc_stripecreatedon: '2023-01-02T20:50:08Z',
      stc_lasteventid: event.id,
      stc_lasteventcreated: '2021-04-29T12:58:31Z',
      'stc_paymentid@odata.bind': "/stc_payments(stc_stripeid='pi_1IqtG9JDPojXS6LNOGnYrIqq')",
    });
    expect([stc_disputeid, createdon]).toEqual([expect.any(String), expect.any(String)]);
  });

  test("the payment's write from Stripe is counted as begun before its row is written, not after", async () => {
    const { event, dispute } = disputedPayment();
    const payment = () => dataverse.rowByKey('stc_payments', { stc_stripeid: dispute.payment_intent });
    // What the pipeline is told, and whether the payment's row was written by then.
    const told: Array<{ objectId: string; rowWritten: boolean }> = [];
    const handler = sync.router.stripe(event.type)!;
    await handler.handle(event, {
      ...sync.context,
      writingFreshStateOf: async (objectId) => void told.push({ objectId, rowWritten: !!payment() }),
    });
    expect(told).toEqual([{ objectId: dispute.payment_intent, rowWritten: false }]);
    expect(payment()).toMatchObject({ stc_status: option('stc_paymentstatus', 'disputed') });
  });

  test('funds withdrawn, then reinstated when the dispute is won', async () => {
    const { dispute } = disputedPayment();
    const withdrawal = {
      ...currentObject('balance_transaction'),
      id: 'txn_dw',
      amount: -1000,
      fee: 1500,
      net: -2500,
      currency: 'usd',
      reporting_category: 'dispute',
      type: 'adjustment',
    };
    stripe.put({ ...dispute, status: 'needs_response', balance_transactions: [withdrawal] });
    await sync.deliver(recordedEvent('charge_dispute_funds_withdrawn'));
    expect(dataverse.rowByKey('stc_disputes', { stc_stripeid: dispute.id })).toMatchObject({
      stc_status: option('stc_disputestatus', 'needs_response'),
      stc_fundswithdrawn: 10,
    });
    expect(dataverse.rowByKey('stc_disputes', { stc_stripeid: dispute.id })).not.toHaveProperty(
      'stc_fundsreinstated',
    );

    const reinstatement = {
      ...withdrawal,
      id: 'txn_dr',
      amount: 1000,
      fee: 0,
      net: 1000,
      reporting_category: 'dispute_reversal',
    };
    stripe.put({ ...dispute, status: 'won', balance_transactions: [withdrawal, reinstatement] });
    await sync.deliver(recordedEvent('charge_dispute_funds_reinstated'));
    await sync.deliver(recordedEvent('charge_dispute_closed'));
    expect(dataverse.rowByKey('stc_disputes', { stc_stripeid: dispute.id })).toMatchObject({
      stc_status: option('stc_disputestatus', 'won'),
      stc_fundswithdrawn: 10,
      stc_fundsreinstated: 10,
    });
    expect(dataverse.rows('stc_disputes')).toHaveLength(1);
  });
});
