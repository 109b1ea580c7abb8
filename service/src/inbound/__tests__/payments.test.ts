import { randomUUID } from 'node:crypto';
import { eventFor, type StripeJson } from '../../mapping/__tests__/fixtures';
import { MemoryDataverse } from './memory-dataverse';
import { OrderedDelivery, SyncHarness } from './harness';
import { currentObject, recordedPayment, succeededPayment } from './world';
import { memoryHandlersForEachTest, option, stripeStubForFile } from './setup';

describe('payments handler', () => {
  const stripe = stripeStubForFile();
  let dataverse: MemoryDataverse;
  let sync: SyncHarness;
  memoryHandlersForEachTest(stripe, (fresh) => ({ dataverse, sync } = fresh));

  function putPayment(state: ReturnType<typeof succeededPayment>, account: string | null = null) {
    stripe.put(state.intent, account);
    stripe.put(state.charge, account);
    stripe.put(state.balanceTransaction, account);
  }

  test('payment_intent.succeeded whose charge is a bare id: the payment read once, with its charge and fees, linked to its account and order', async () => {
    const accountId = dataverse.seed('accounts', { name: 'Contoso', stc_stripecustomerid: 'cus_contoso' });
    const orderId = dataverse.seed('salesorders', { name: 'Order 1', ordernumber: 'ORD-01001' });
    const state = succeededPayment({
      id: 'pi_3Pay',
      amount: 1999,
      fee: 88,
      customer: 'cus_contoso',
      metadata: { d365_salesorderid: orderId },
    });
    putPayment(state);
    // As Stripe sends it: the latest charge is an id, and the status, refunds and card are on the charge.
    expect(state.intent.latest_charge).toBe('ch_3Pay');

    const resource = await sync.deliver(
      eventFor('payment_intent.succeeded', state.intent, { id: 'evt_pay_1', created: 1714555800 }),
    );

    expect(resource).toBe('payments');
    expect(stripe.requests).toEqual([
      expect.objectContaining({
        path: '/v1/payment_intents/pi_3Pay',
        expand: ['latest_charge.balance_transaction'],
        stripeAccount: null,
      }),
    ]);
    const rows = dataverse.rows('stc_payments');
    expect(rows).toHaveLength(1);
    const { stc_paymentid: id, createdon, ...row } = rows[0];
    expect(id).toEqual(expect.any(String));
    expect(createdon).toEqual(expect.any(String));
    expect(row).toEqual({
      stc_stripeid: 'pi_3Pay',
      stc_name: '19.99 USD · pi_3Pay',
      stc_livemode: false,
      stc_stripeaccount: null,
      stc_amount: 19.99,
      stc_currency: 'usd',
      stc_status: option('stc_paymentstatus', 'succeeded'),
      stc_amountcaptured: 19.99,
      stc_amountrefunded: 0,
      stc_fee: 0.88,
      stc_net: 19.11,
      stc_settlementcurrency: 'usd',
      stc_paymentmethodtype: option('stc_paymentmethodtype', 'card'),
      stc_cardbrand: option('stc_cardbrand', 'visa'),
      stc_last4: '4242',
      stc_receipturl: state.charge.receipt_url,
      stc_dashboardurl: 'https://dashboard.stripe.com/test/payments/pi_3Pay',
      stc_failurecode: null,
      stc_failuremessage: null,
      stc_description: null,
      stc_disputed: false,
      stc_stripecustomerid: 'cus_contoso',
      stc_chargeid: 'ch_3Pay',
      stc_stripebalancetransactionid: 'txn_3Pay',
      stc_stripecreatedon: '2009-02-13T23:31:30Z',
      stc_lasteventid: 'evt_pay_1',
      stc_lasteventcreated: '2024-05-01T09:30:00Z',
      'stc_customerid_account@odata.bind': `/accounts(${accountId})`,
      'stc_salesorderid@odata.bind': `/salesorders(${orderId})`,
    });
    // One upsert by alternate key; the only reads are the lookups of the customer.
    expect(dataverse.writes).toEqual([
      expect.objectContaining({
        op: 'upsert',
        entitySet: 'stc_payments',
        key: { stc_stripeid: 'pi_3Pay' },
        mode: 'upsert',
      }),
    ]);
  });

  test('a recorded 2020 charge.succeeded of a PaymentIntent updates the PaymentIntent’s row, not a second one', async () => {
    const { event, object: recorded, state } = recordedPayment('charge_succeeded');
    state.charge = { ...recorded, balance_transaction: state.balanceTransaction.id };
    state.intent.latest_charge = recorded.id;
    state.balanceTransaction.fee = 117;
    state.balanceTransaction.net = recorded.amount - 117;
    putPayment(state);
    const contactId = dataverse.seed('contacts', {
      lastname: 'Customer',
      stc_stripecustomerid: recorded.customer,
    });

    await sync.deliver(event);

    const rows = dataverse.rows('stc_payments');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      stc_stripeid: 'pi_3KtQThJDPojXS6LN0H9EfsjV',
      stc_amount: 30,
      stc_fee: 1.17,
      stc_net: 28.83,
      stc_settlementcurrency: 'usd',
      stc_chargeid: 'ch_3KtQThJDPojXS6LN0YmgbxGj',
      stc_last4: '4242',
      stc_cardbrand: option('stc_cardbrand', 'visa'),
      stc_receipturl: recorded.receipt_url,
      stc_lasteventid: 'evt_3KtQThJDPojXS6LN0E06aNxq',
      'stc_customerid_contact@odata.bind': `/contacts(${contactId})`,
    });
  });

  test('a charge without a PaymentIntent is a payment of its own, keyed by the charge id', async () => {
    const charge: StripeJson = {
      ...currentObject('charge'),
      amount: 19995,
      amount_captured: 19995,
      currency: 'kwd',
      balance_transaction: 'txn_kwd',
    };
    stripe.put(charge);
    stripe.put({
      ...currentObject('balance_transaction'),
      id: 'txn_kwd',
      currency: 'kwd',
      amount: 19995,
      fee: 605,
      net: 19390,
    });

    await sync.deliver(eventFor('charge.succeeded', charge));

    // The event's charge is mapped as it is: no read. Its balance transaction is an id, so fee and net are
    // left as they are, never guessed.
    expect(stripe.requests).toEqual([]);
    const [row] = dataverse.rows('stc_payments');
    expect(row).toEqual(
      expect.objectContaining({
        stc_stripeid: charge.id,
        stc_amount: 19.995,
        stc_currency: 'kwd',
        stc_stripebalancetransactionid: 'txn_kwd',
      }),
    );
    expect(row).not.toHaveProperty('stc_fee');
    expect(row).not.toHaveProperty('stc_net');
  });

  test('payload first: the newest event of a payment is mapped as it is; one of the same second is read', async () => {
    const state = succeededPayment({ id: 'pi_3First', amount: 2500, fee: 103 });
    putPayment(state);
    const ordered = await OrderedDelivery.open(sync);
    const created = {
      ...state.intent,
      status: 'requires_payment_method',
      amount_received: 0,
      latest_charge: null,
    };
    // No charge yet: nothing to read.
    await ordered.deliver(
      eventFor('payment_intent.created', created, { id: 'evt_first_1', created: 1714555000 }),
    );
    expect(stripe.requests).toEqual([]);
    expect(dataverse.rows('stc_payments')).toEqual([
      expect.objectContaining({
        stc_stripeid: 'pi_3First',
        stc_amount: 25,
        stc_status: option('stc_paymentstatus', 'requires_payment_method'),
      }),
    ]);
    // A later event carrying the charge expanded: still no read; the fee comes with it.
    const expanded = {
      ...state.intent,
      latest_charge: { ...state.charge, balance_transaction: state.balanceTransaction },
    };
    await ordered.deliver(
      eventFor('payment_intent.succeeded', expanded, { id: 'evt_first_2', created: 1714555060 }),
    );
    expect(stripe.requests).toEqual([]);
    expect(dataverse.rows('stc_payments')[0]).toMatchObject({
      stc_status: option('stc_paymentstatus', 'succeeded'),
      stc_fee: 1.03,
      stc_cardbrand: option('stc_cardbrand', 'visa'),
    });
    // An event of that same second whose copy is older: Stripe gives no order within a second, so it is read.
    const older = { ...created, latest_charge: null };
    await ordered.deliver(
      eventFor('payment_intent.processing', older, { id: 'evt_first_0', created: 1714555060 }),
    );
    expect(stripe.requests).toEqual([expect.objectContaining({ path: '/v1/payment_intents/pi_3First' })]);
    expect(dataverse.rows('stc_payments')[0]).toMatchObject({
      stc_status: option('stc_paymentstatus', 'succeeded'),
    });
    await ordered.close();
  });

  test('a failed payment records the decline reason', async () => {
    const state = succeededPayment({ id: 'pi_3Declined', amount: 5000, currency: 'jpy' });
    state.intent.status = 'requires_payment_method';
    state.intent.amount_received = 0;
    state.intent.last_payment_error = {
      type: 'card_error',
      code: 'card_declined',
      decline_code: 'generic_decline',
      message: 'Your card was declined.',
    };
    Object.assign(state.charge, {
      status: 'failed',
      captured: false,
      amount_captured: 0,
      failure_code: 'card_declined',
      failure_message: 'Your card was declined.',
    });
    putPayment(state);

    await sync.deliver(eventFor('payment_intent.payment_failed', state.intent));

    expect(dataverse.rows('stc_payments')[0]).toMatchObject({
      stc_status: option('stc_paymentstatus', 'failed'),
      stc_amount: 5000,
      stc_amountcaptured: 0,
      stc_failurecode: 'generic_decline',
      stc_failuremessage: 'Your card was declined.',
    });
  });

  test('Connect: the payment is read from the connected account and marked with it', async () => {
    const state = succeededPayment({ id: 'pi_3Connect', amount: 1000 });
    putPayment(state, 'acct_1Connected');

    await sync.deliver(eventFor('payment_intent.succeeded', state.intent, { account: 'acct_1Connected' }));

    expect(stripe.requests[0]).toMatchObject({
      path: '/v1/payment_intents/pi_3Connect',
      stripeAccount: 'acct_1Connected',
    });
    expect(dataverse.rows('stc_payments')[0]).toMatchObject({
      stc_stripeaccount: 'acct_1Connected',
      stc_dashboardurl: 'https://dashboard.stripe.com/acct_1Connected/test/payments/pi_3Connect',
    });
  });

  test('an order found by its order number in metadata is linked; a wrong order GUID loses only the link', async () => {
    const orderId = dataverse.seed('salesorders', { name: 'Order 7', ordernumber: 'ORD-7' });
    const byNumber = succeededPayment({
      id: 'pi_3ByNumber',
      amount: 100,
      metadata: { order_number: 'ORD-7' },
    });
    putPayment(byNumber);
    await sync.deliver(eventFor('payment_intent.succeeded', byNumber.intent));
    expect(dataverse.rowByKey('stc_payments', { stc_stripeid: 'pi_3ByNumber' })).toMatchObject({
      'stc_salesorderid@odata.bind': `/salesorders(${orderId})`,
    });

    const missing = randomUUID();
    const wrongGuid = succeededPayment({
      id: 'pi_3WrongGuid',
      amount: 100,
      metadata: { d365_invoiceid: missing },
    });
    putPayment(wrongGuid);
    await sync.deliver(eventFor('payment_intent.succeeded', wrongGuid.intent));
    const row = dataverse.rowByKey('stc_payments', { stc_stripeid: 'pi_3WrongGuid' })!;
    expect(row.stc_amount).toBe(1);
    expect(row).not.toHaveProperty('stc_invoiceid@odata.bind');
    expect(sync.log.entries).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        obj: expect.objectContaining({ links: [`/invoices(${missing})`] }),
      }),
    );
  });

  test('payments of one customer look the customer up once; a row deleted since costs only the link', async () => {
    const accountId = dataverse.seed('accounts', { name: 'Contoso', stc_stripecustomerid: 'cus_burst' });
    const queries: string[] = [];
    const retrieveMultiple = dataverse.retrieveMultiple.bind(dataverse);
    dataverse.retrieveMultiple = async (entitySet, query) => {
      queries.push(entitySet);
      return retrieveMultiple(entitySet, query);
    };
    for (const id of ['pi_3Burst1', 'pi_3Burst2', 'pi_3Burst3']) {
      const state = succeededPayment({ id, amount: 100, customer: 'cus_burst' });
      putPayment(state);
      await sync.deliver(eventFor('payment_intent.succeeded', state.intent));
    }
    expect(queries).toEqual(['accounts']);
    expect(dataverse.rows('stc_payments').map((row) => row['stc_customerid_account@odata.bind'])).toEqual([
      `/accounts(${accountId})`,
      `/accounts(${accountId})`,
      `/accounts(${accountId})`,
    ]);

    await dataverse.delete('accounts', accountId);
    const late = succeededPayment({ id: 'pi_3Burst4', amount: 100, customer: 'cus_burst' });
    putPayment(late);
    await sync.deliver(eventFor('payment_intent.succeeded', late.intent));
    expect(dataverse.rowByKey('stc_payments', { stc_stripeid: 'pi_3Burst4' })).toMatchObject({
      stc_amount: 1,
    });
    expect(dataverse.rowByKey('stc_payments', { stc_stripeid: 'pi_3Burst4' })).not.toHaveProperty(
      'stc_customerid_account@odata.bind',
    );
  });

  test('a payment that Stripe no longer has fails with Stripe’s own error', async () => {
    const state = succeededPayment({ id: 'pi_3Gone', amount: 100 });
    await expect(sync.deliver(eventFor('payment_intent.succeeded', state.intent))).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      code: 'resource_missing',
      statusCode: 404,
    });
    expect(dataverse.rows('stc_payments')).toEqual([]);
  });

  test('a Dataverse error passes through with its transient flag', async () => {
    const state = succeededPayment({ id: 'pi_3Throttled', amount: 100 });
    putPayment(state);
    const throttled = Object.assign(new Error('Number of requests exceeded the limit'), {
      status: 429,
      code: '0x80072322',
      transient: true,
      retryAfterMs: 5000,
    });
    dataverse.upsertByKey = async () => {
      throw throttled;
    };
    await expect(sync.deliver(eventFor('payment_intent.succeeded', state.intent))).rejects.toBe(throttled);
  });
});
