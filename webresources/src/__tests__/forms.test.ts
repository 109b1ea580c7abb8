import { XrmMockGenerator } from 'xrm-mock';
import { build } from 'esbuild';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import {
  Account,
  ChargeRequest,
  Payment,
  PaymentLinkRequest,
  PaymentLinkRequestStatus,
  PaymentStatus,
  RefundReason,
  RefundRequest,
  RefundRequestStatus,
  SubscriptionAction,
  SubscriptionRequest,
} from '@stc/solution/tables';
import * as SalesOrder from '../forms/salesorder';
import * as AccountForm from '../forms/account';
import * as SubscriptionForm from '../forms/subscription';
import { FORMS } from '../../scripts/build';

const ORDER_ID = '6f1c2a9e-1d2b-4c3d-8e9f-0a1b2c3d4e5f';
const ACCOUNT_ID = '0a0b0c0d-1111-2222-3333-444455556666';
const P = Payment.col;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

type Notification = { message: string; level: string; uniqueId: string };

function form(entityName: string, id: string) {
  XrmMockGenerator.initialise({ entity: { entityName, id: id ? `{${id.toUpperCase()}}` : '' } });
  const formContext = XrmMockGenerator.getFormContext();
  // A new record has no id yet (xrm-mock would invent one).
  if (!id) jest.spyOn(formContext.data.entity, 'getId').mockReturnValue('');
  const webApi = {
    retrieveMultipleRecords: jest.spyOn(Xrm.WebApi, 'retrieveMultipleRecords'),
    retrieveRecord: jest.spyOn(Xrm.WebApi, 'retrieveRecord'),
    createRecord: jest.spyOn(Xrm.WebApi, 'createRecord'),
    updateRecord: jest.spyOn(Xrm.WebApi, 'updateRecord'),
  };
  const navigation = {
    openAlertDialog: jest.spyOn(Xrm.Navigation, 'openAlertDialog').mockResolvedValue(undefined as never),
    openConfirmDialog: jest.spyOn(Xrm.Navigation, 'openConfirmDialog'),
    openUrl: jest.spyOn(Xrm.Navigation, 'openUrl').mockImplementation(() => undefined),
  };
  jest
    .spyOn(Xrm.Utility, 'getGlobalContext')
    .mockReturnValue({ userSettings: { languageId: 1033 } } as unknown as Xrm.GlobalContext);
  const notifications = () =>
    (formContext.ui as unknown as { formNotifications?: Notification[] }).formNotifications ?? [];
  const eventContext = { getFormContext: () => formContext } as unknown as Xrm.Events.EventContext;
  return {
    formContext: formContext as unknown as Xrm.FormContext,
    eventContext,
    webApi,
    navigation,
    notifications,
  };
}

/** A payment row as the panel's query returns it; captured in full unless `fields` say otherwise. */
function payment(stripeId: string, fields: Record<string, unknown> = {}) {
  return {
    [Payment.primaryId]: `00000000-0000-0000-0000-${stripeId
      .slice(-12)
      .padStart(12, '0')
      .replace(/[^0-9a-f]/gi, '0')}`,
    [P.stripeId]: stripeId,
    [P.amount]: 480,
    [P.amountCaptured]: fields[P.amount] ?? 480,
    [P.amountRefunded]: 0,
    [P.currency]: 'usd',
    [P.status]: PaymentStatus.succeeded,
    [P.disputed]: false,
    [P.liveMode]: false,
    [Payment.toMany.stc_refundrequest_stc_paymentid]: [],
    ...fields,
  };
}

afterEach(() => jest.restoreAllMocks());

describe('order form on load', () => {
  it('shows a notification per failed or disputed payment, from one request', async () => {
    const f = form('salesorder', ORDER_ID);
    f.webApi.retrieveMultipleRecords.mockResolvedValue({
      entities: [
        payment('pi_failed', {
          [P.status]: PaymentStatus.failed,
          [P.failureMessage]: 'Your card was declined.',
          [P.amount]: 1250,
        }),
        payment('pi_disputed', {
          [P.status]: PaymentStatus.disputed,
          [P.disputed]: true,
          [P.amount]: 5000,
          [P.currency]: 'jpy',
        }),
      ],
    });
    await SalesOrder.onLoad(f.eventContext);
    expect(f.webApi.retrieveMultipleRecords).toHaveBeenCalledTimes(1);
    const [table, query] = f.webApi.retrieveMultipleRecords.mock.calls[0];
    expect(table).toBe('stc_payment');
    expect(query).toContain(`${Payment.lookup.salesorderid.value} eq ${ORDER_ID}`);
    expect(f.notifications()).toEqual([
      {
        message: 'Stripe payment pi_failed of USD 1,250.00 failed: Your card was declined.',
        level: 'WARNING',
        uniqueId: 'stc_payment_pi_failed',
      },
      {
        message:
          'Stripe payment pi_disputed of JPY 5,000 is disputed. Respond to the dispute in the Stripe Dashboard.',
        level: 'ERROR',
        uniqueId: 'stc_payment_pi_disputed',
      },
    ]);
  });

  it('asks nothing for a new order', async () => {
    const f = form('salesorder', '');
    await SalesOrder.onLoad(f.eventContext);
    expect(f.webApi.retrieveMultipleRecords).not.toHaveBeenCalled();
    expect(f.notifications()).toEqual([]);
  });

  it('shows a failed read as a warning instead of breaking the form', async () => {
    const f = form('salesorder', ORDER_ID);
    f.webApi.retrieveMultipleRecords.mockRejectedValue({
      message: 'Principal user is missing prvReadstc_payment privilege',
    });
    await expect(SalesOrder.onLoad(f.eventContext)).resolves.toEqual([]);
    expect(f.notifications()[0]).toMatchObject({
      level: 'WARNING',
      message:
        'The Stripe payments could not be read: Principal user is missing prvReadstc_payment privilege',
    });
  });
});

describe('Refund in Stripe', () => {
  it('asks for confirmation and creates the refund request for what is still refundable', async () => {
    const f = form('salesorder', ORDER_ID);
    const row = payment('pi_one', {
      [P.amount]: 500,
      [P.amountRefunded]: 20,
      [P.status]: PaymentStatus.partially_refunded,
    });
    f.webApi.retrieveMultipleRecords.mockResolvedValue({
      entities: [row, payment('pi_failed', { [P.status]: PaymentStatus.failed })],
    });
    f.navigation.openConfirmDialog.mockResolvedValue({ confirmed: true });
    f.webApi.createRecord.mockResolvedValue({
      id: 'aaaaaaaa-0000-0000-0000-000000000001',
      entityType: 'stc_refundrequest',
    });
    await SalesOrder.refundInStripe(f.formContext);
    expect(f.navigation.openConfirmDialog.mock.calls[0][0]).toMatchObject({
      text: 'Refund USD 480.00 of payment pi_one to the customer? The refund is sent to Stripe once it is approved.',
    });
    expect(f.webApi.createRecord).toHaveBeenCalledWith(RefundRequest.logicalName, {
      [RefundRequest.primaryId]: expect.stringMatching(GUID),
      [RefundRequest.col.name]: 'Refund of pi_one',
      [`${RefundRequest.lookup.paymentid.bind.stc_payment}@odata.bind`]: `/${Payment.entitySetName}(${row[Payment.primaryId]})`,
      [RefundRequest.col.amount]: 480,
      [RefundRequest.col.currency]: 'usd',
      [RefundRequest.col.reason]: RefundReason.requested_by_customer,
      [RefundRequest.col.note]: null,
      [RefundRequest.col.status]: RefundRequestStatus.pending,
      [RefundRequest.col.liveMode]: false,
    });
    expect(f.notifications()[0]).toMatchObject({ level: 'INFO', uniqueId: 'stc_refund_requested' });
  });

  it('offers what the service would refund: captured, less refunded or succeeded requests, less open requests', async () => {
    const f = form('salesorder', ORDER_ID);
    f.webApi.retrieveMultipleRecords.mockResolvedValue({
      entities: [
        payment('pi_one', {
          [P.amount]: 500,
          // A partial capture, and a refund of 50 whose event has not reached the payment row yet.
          [P.amountCaptured]: 300,
          [P.amountRefunded]: 20,
          [P.status]: PaymentStatus.partially_refunded,
          [Payment.toMany.stc_refundrequest_stc_paymentid]: [
            { [RefundRequest.col.amount]: 50, [RefundRequest.col.status]: RefundRequestStatus.succeeded },
            {
              [RefundRequest.col.amount]: 30,
              [RefundRequest.col.status]: RefundRequestStatus.awaiting_approval,
            },
            { [RefundRequest.col.amount]: 100, [RefundRequest.col.status]: RefundRequestStatus.rejected },
          ],
        }),
      ],
    });
    f.navigation.openConfirmDialog.mockResolvedValue({ confirmed: true });
    f.webApi.createRecord.mockResolvedValue({ id: 'x', entityType: 'stc_refundrequest' });
    await SalesOrder.refundInStripe(f.formContext);
    expect(f.navigation.openConfirmDialog.mock.calls[0][0]).toMatchObject({
      text: 'Refund USD 220.00 of payment pi_one to the customer? The refund is sent to Stripe once it is approved.',
    });
    expect(f.webApi.createRecord.mock.calls[0][1]).toMatchObject({ [RefundRequest.col.amount]: 220 });
    expect(f.webApi.retrieveMultipleRecords.mock.calls[0][1]).toContain(P.amountCaptured);
  });

  it('creates nothing when the user cancels', async () => {
    const f = form('invoice', ORDER_ID);
    f.webApi.retrieveMultipleRecords.mockResolvedValue({ entities: [payment('pi_one')] });
    f.navigation.openConfirmDialog.mockResolvedValue({ confirmed: false });
    await SalesOrder.refundInStripe(f.formContext);
    expect(f.webApi.retrieveMultipleRecords.mock.calls[0][1]).toContain(Payment.lookup.invoiceid.value);
    expect(f.webApi.createRecord).not.toHaveBeenCalled();
  });

  it.each([
    [
      [payment('pi_a', { [P.amountRefunded]: 480, [P.status]: PaymentStatus.refunded })],
      'No Stripe payment of this record can be refunded.',
    ],
    [[payment('pi_d', { [P.disputed]: true })], 'No Stripe payment of this record can be refunded.'],
    [
      [payment('pi_uncaptured', { [P.status]: PaymentStatus.requires_capture, [P.amountCaptured]: 0 })],
      'No Stripe payment of this record can be refunded.',
    ],
    [
      [
        payment('pi_refunded_now', {
          [Payment.toMany.stc_refundrequest_stc_paymentid]: [
            { [RefundRequest.col.amount]: 480, [RefundRequest.col.status]: RefundRequestStatus.succeeded },
          ],
        }),
      ],
      'No Stripe payment of this record can be refunded.',
    ],
    [
      [payment('pi_a'), payment('pi_b')],
      'This record has 2 refundable Stripe payments. Choose one in the Stripe payments panel on the form.',
    ],
  ])('explains why it cannot refund (%#)', async (rows, text) => {
    const f = form('salesorder', ORDER_ID);
    f.webApi.retrieveMultipleRecords.mockResolvedValue({ entities: rows });
    await SalesOrder.refundInStripe(f.formContext);
    expect(f.navigation.openAlertDialog).toHaveBeenCalledWith({ text });
    expect(f.webApi.createRecord).not.toHaveBeenCalled();
  });

  it('shows why the request could not be saved', async () => {
    const f = form('salesorder', ORDER_ID);
    f.webApi.retrieveMultipleRecords.mockResolvedValue({ entities: [payment('pi_one')] });
    f.navigation.openConfirmDialog.mockResolvedValue({ confirmed: true });
    f.webApi.createRecord.mockRejectedValue({
      message: 'Principal user is missing prvCreatestc_refundrequest privilege',
    });
    await SalesOrder.refundInStripe(f.formContext);
    expect(f.navigation.openAlertDialog).toHaveBeenCalledWith({
      text: 'The request could not be saved: Principal user is missing prvCreatestc_refundrequest privilege',
    });
  });
});

describe('Create payment link', () => {
  it.each([
    ['salesorder', 'stc_salesorderid@odata.bind', `/salesorders(${ORDER_ID})`],
    ['invoice', 'stc_invoiceid@odata.bind', `/invoices(${ORDER_ID})`],
  ])('asks for a payment page of the %s and says where its link will appear', async (table, bind, path) => {
    const f = form(table, ORDER_ID);
    jest.spyOn(f.formContext.data.entity, 'getPrimaryAttributeValue').mockReturnValue('ORD-01042');
    f.webApi.createRecord.mockResolvedValue({
      id: 'bbbbbbbb-0000-0000-0000-000000000001',
      entityType: PaymentLinkRequest.logicalName,
    });
    const id = await SalesOrder.createPaymentLink(f.formContext);
    expect(id).toBe('bbbbbbbb-0000-0000-0000-000000000001');
    expect(f.webApi.createRecord).toHaveBeenCalledWith(PaymentLinkRequest.logicalName, {
      [PaymentLinkRequest.col.name]: 'Payment page for ORD-01042',
      [bind]: path,
      [PaymentLinkRequest.col.status]: PaymentLinkRequestStatus.pending,
    });
    expect(f.notifications()[0]).toMatchObject({
      level: 'INFO',
      uniqueId: 'stc_payment_link_requested',
      message: expect.stringContaining('Stripe Payment Page'),
    });
  });

  it('asks to save a new order first and creates nothing', async () => {
    const f = form('salesorder', '');
    await SalesOrder.createPaymentLink(f.formContext);
    expect(f.navigation.openAlertDialog).toHaveBeenCalledWith({ text: 'Save the record first.' });
    expect(f.webApi.createRecord).not.toHaveBeenCalled();
  });

  it('shows why the request could not be saved', async () => {
    const f = form('invoice', ORDER_ID);
    f.webApi.createRecord.mockRejectedValue({
      message: 'Principal user is missing prvCreatestc_paymentlinkrequest privilege',
    });
    expect(await SalesOrder.createPaymentLink(f.formContext)).toBeUndefined();
    expect(f.navigation.openAlertDialog).toHaveBeenCalledWith({
      text: 'The request could not be saved: Principal user is missing prvCreatestc_paymentlinkrequest privilege',
    });
    expect(f.notifications()).toEqual([]);
  });
});

describe('Charge saved card', () => {
  it("opens a new charge request for the account, the account as customer, in the user's language", async () => {
    const f = form('account', ACCOUNT_ID);
    jest.spyOn(f.formContext.data.entity, 'getPrimaryAttributeValue').mockReturnValue('Northwind');
    const openForm = jest.spyOn(Xrm.Navigation, 'openForm').mockResolvedValue(undefined as never);
    await AccountForm.chargeSavedCard(f.formContext);
    expect(openForm).toHaveBeenCalledWith(
      { entityName: ChargeRequest.logicalName },
      {
        stc_name: 'Charge of the saved card of Northwind',
        stc_customerid: ACCOUNT_ID,
        stc_customeridname: 'Northwind',
        stc_customeridtype: 'account',
      },
    );
    jest
      .spyOn(Xrm.Utility, 'getGlobalContext')
      .mockReturnValue({ userSettings: { languageId: 1031 } } as unknown as Xrm.GlobalContext);
    await AccountForm.chargeSavedCard(f.formContext);
    expect(openForm).toHaveBeenLastCalledWith(
      { entityName: ChargeRequest.logicalName },
      expect.objectContaining({ stc_name: 'Belastung der gespeicherten Karte von Northwind' }),
    );
    expect(f.webApi.createRecord).not.toHaveBeenCalled();
  });

  it('opens a new charge request for an order: its customer, its total in its currency, the order it pays', async () => {
    const f = form('salesorder', ORDER_ID);
    jest.spyOn(f.formContext.data.entity, 'getPrimaryAttributeValue').mockReturnValue('ORD-01042');
    const values: Record<string, unknown> = {
      customerid: [{ id: `{${ACCOUNT_ID.toUpperCase()}}`, entityType: 'account', name: 'Northwind' }],
      transactioncurrencyid: [
        { id: '{C0C0C0C0-0000-4000-8000-000000000001}', entityType: 'transactioncurrency' },
      ],
      totalamount: 120.5,
    };
    jest
      .spyOn(f.formContext, 'getAttribute')
      .mockImplementation(((name: string) => ({ getValue: () => values[name] ?? null })) as never);
    f.webApi.retrieveRecord.mockResolvedValue({ isocurrencycode: 'USD' } as never);
    const openForm = jest.spyOn(Xrm.Navigation, 'openForm').mockResolvedValue(undefined as never);
    await SalesOrder.chargeSavedCard(f.formContext);
    expect(f.webApi.retrieveRecord).toHaveBeenCalledWith(
      'transactioncurrency',
      'c0c0c0c0-0000-4000-8000-000000000001',
      '?$select=isocurrencycode',
    );
    expect(openForm).toHaveBeenCalledWith(
      { entityName: ChargeRequest.logicalName },
      {
        stc_name: 'Charge of the saved card of ORD-01042',
        stc_customerid: ACCOUNT_ID,
        stc_customeridname: 'Northwind',
        stc_customeridtype: 'account',
        stc_salesorderid: ORDER_ID,
        stc_salesorderidname: 'ORD-01042',
        stc_salesorderidtype: 'salesorder',
        stc_amount: '120.5',
        stc_currency: 'usd',
      },
    );

    // An order without a customer has no one to charge.
    values.customerid = null;
    openForm.mockClear();
    await SalesOrder.chargeSavedCard(f.formContext);
    expect(f.navigation.openAlertDialog).toHaveBeenCalledWith({
      text: 'This record has no customer to charge.',
    });
    expect(openForm).not.toHaveBeenCalled();
  });

  it('asks to save a new account first', async () => {
    const f = form('account', '');
    const openForm = jest.spyOn(Xrm.Navigation, 'openForm');
    await AccountForm.chargeSavedCard(f.formContext);
    expect(f.navigation.openAlertDialog).toHaveBeenCalledWith({ text: 'Save the record first.' });
    expect(openForm).not.toHaveBeenCalled();
  });
});

describe('Stripe subscription requests', () => {
  const SUBSCRIPTION_ID = '5ab0c0d0-0000-4000-8000-00000000e001';

  it('opens a new subscription request for the account, its action Create and the account as customer', async () => {
    const f = form('account', ACCOUNT_ID);
    jest.spyOn(f.formContext.data.entity, 'getPrimaryAttributeValue').mockReturnValue('Northwind');
    const openForm = jest.spyOn(Xrm.Navigation, 'openForm').mockResolvedValue(undefined as never);
    await AccountForm.requestSubscription(f.formContext);
    expect(openForm).toHaveBeenCalledWith(
      { entityName: SubscriptionRequest.logicalName },
      {
        stc_name: 'Stripe subscription for Northwind',
        stc_action: String(SubscriptionAction.create),
        stc_customerid: ACCOUNT_ID,
        stc_customeridname: 'Northwind',
        stc_customeridtype: 'account',
      },
    );
    expect(f.webApi.createRecord).not.toHaveBeenCalled();
  });

  it('asks to save a new account first', async () => {
    const f = form('account', '');
    const openForm = jest.spyOn(Xrm.Navigation, 'openForm');
    await AccountForm.requestSubscription(f.formContext);
    expect(f.navigation.openAlertDialog).toHaveBeenCalledWith({ text: 'Save the record first.' });
    expect(openForm).not.toHaveBeenCalled();
  });

  it.each([
    ['cancelAtPeriodEnd', 'cancel_at_period_end', 'Cancel at period end'],
    ['cancelNow', 'cancel_now', 'Cancel now'],
    ['pauseCollection', 'pause', 'Pause collection'],
    ['resumeCollection', 'resume', 'Resume collection'],
  ] as const)(
    '%s on a subscription writes a %s request for it and its customer once the user confirms',
    async (fn, action, title) => {
      const f = form('stc_subscription', SUBSCRIPTION_ID);
      jest.spyOn(f.formContext.data.entity, 'getPrimaryAttributeValue').mockReturnValue('sub_123');
      jest.spyOn(f.formContext, 'getAttribute').mockReturnValue({
        getValue: () => [{ id: `{${ACCOUNT_ID.toUpperCase()}}`, entityType: 'account', name: 'Northwind' }],
      } as never);
      f.navigation.openConfirmDialog.mockResolvedValue({ confirmed: true } as never);
      f.webApi.createRecord.mockResolvedValue({ id: 'cccccccc-0000-0000-0000-000000000001', entityType: '' });
      expect(await SubscriptionForm[fn](f.formContext)).toBe('cccccccc-0000-0000-0000-000000000001');
      expect(f.navigation.openConfirmDialog).toHaveBeenCalledWith(
        expect.objectContaining({ title, confirmButtonLabel: title }),
      );
      expect(f.webApi.createRecord).toHaveBeenCalledWith(SubscriptionRequest.logicalName, {
        stc_name: `${title}: sub_123`,
        stc_action: SubscriptionAction[action],
        'stc_subscriptionid@odata.bind': `/stc_subscriptions(${SUBSCRIPTION_ID})`,
        'stc_customerid_account@odata.bind': `/accounts(${ACCOUNT_ID})`,
      });
      expect(f.notifications()[0]).toMatchObject({ level: 'INFO', uniqueId: 'stc_subscription_requested' });
    },
  );

  it('writes nothing when the user does not confirm', async () => {
    const f = form('stc_subscription', SUBSCRIPTION_ID);
    f.navigation.openConfirmDialog.mockResolvedValue({ confirmed: false } as never);
    expect(await SubscriptionForm.cancelNow(f.formContext)).toBeUndefined();
    expect(f.webApi.createRecord).not.toHaveBeenCalled();
  });

  it('shows why the request could not be saved', async () => {
    const f = form('stc_subscription', SUBSCRIPTION_ID);
    f.navigation.openConfirmDialog.mockResolvedValue({ confirmed: true } as never);
    f.webApi.createRecord.mockRejectedValue({
      message: 'Principal user is missing prvCreatestc_subscriptionrequest privilege',
    });
    expect(await SubscriptionForm.pauseCollection(f.formContext)).toBeUndefined();
    expect(f.navigation.openAlertDialog).toHaveBeenCalledWith({
      text: 'The request could not be saved: Principal user is missing prvCreatestc_subscriptionrequest privilege',
    });
  });
});

describe('Open in Stripe Dashboard', () => {
  it('opens a connected account’s test-mode customer in that account’s test view', async () => {
    const f = form('account', ACCOUNT_ID);
    f.webApi.retrieveRecord.mockResolvedValue({
      [Account.col.stripeCustomerId]: 'cus_123',
      [Account.col.liveMode]: false,
      [Account.col.stripeAccount]: 'acct_1Conn',
    });
    await AccountForm.openInStripeDashboard(f.formContext);
    expect(f.navigation.openUrl).toHaveBeenCalledWith(
      'https://dashboard.stripe.com/acct_1Conn/test/customers/cus_123',
    );
  });

  it('opens the latest live payment of an order', async () => {
    const f = form('salesorder', ORDER_ID);
    f.webApi.retrieveMultipleRecords.mockResolvedValue({
      entities: [payment('pi_latest', { [P.liveMode]: true }), payment('pi_older')],
    });
    await SalesOrder.openInStripeDashboard(f.formContext);
    expect(f.navigation.openUrl).toHaveBeenCalledWith('https://dashboard.stripe.com/payments/pi_latest');
  });

  it('says when the account is not linked', async () => {
    const f = form('account', ACCOUNT_ID);
    f.webApi.retrieveRecord.mockResolvedValue({ [Account.col.stripeCustomerId]: null });
    await AccountForm.openInStripeDashboard(f.formContext);
    expect(f.navigation.openAlertDialog).toHaveBeenCalledWith({
      text: 'This record is not linked to a Stripe customer.',
    });
    expect(f.navigation.openUrl).not.toHaveBeenCalled();
  });
});

describe('Sync from Stripe', () => {
  it('stamps stc_syncrequestedon on the account', async () => {
    const f = form('account', ACCOUNT_ID);
    f.webApi.updateRecord.mockResolvedValue({ id: ACCOUNT_ID, entityType: 'account' });
    await AccountForm.syncFromStripe(f.formContext);
    expect(f.webApi.updateRecord).toHaveBeenCalledWith('account', ACCOUNT_ID, {
      [Account.col.syncRequestedOn]: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(f.notifications()[0]).toMatchObject({ level: 'INFO', uniqueId: 'stc_sync_requested' });
  });

  it('stamps each payment of an order', async () => {
    const f = form('salesorder', ORDER_ID);
    const rows = [payment('pi_a'), payment('pi_b')];
    f.webApi.retrieveMultipleRecords.mockResolvedValue({ entities: rows });
    f.webApi.updateRecord.mockResolvedValue({ id: '', entityType: 'stc_payment' });
    await SalesOrder.syncFromStripe(f.formContext);
    expect(f.webApi.updateRecord.mock.calls.map((c) => [c[0], c[1], Object.keys(c[2])])).toEqual(
      rows.map((r) => ['stc_payment', r[Payment.primaryId], [Payment.col.syncRequestedOn]]),
    );
  });
});

describe('bundles', () => {
  const recordForms = Object.entries(FORMS).filter(
    ([file]) => !['syncissue', 'refundrequest', 'subscription', 'chargerequest'].includes(file),
  );
  it.each(recordForms)('%s.js publishes StripeConnector.Forms.%s', async (file, name) => {
    const result = await build({
      entryPoints: [join(__dirname, '..', 'forms', `${file}.ts`)],
      bundle: true,
      write: false,
      format: 'iife',
      globalName: `StripeConnector.Forms.${name}`,
      platform: 'browser',
      logLevel: 'silent',
    });
    const sandbox: Record<string, unknown> = {};
    runInNewContext(result.outputFiles[0].text, sandbox);
    const forms = (sandbox.StripeConnector as { Forms: Record<string, Record<string, unknown>> }).Forms;
    expect(typeof forms[name].onLoad).toBe('function');
    // A quote has no payment of its own to open, sync or refund: only its payment link.
    expect(typeof forms[name].openInStripeDashboard).toBe(file === 'quote' ? 'undefined' : 'function');
    expect(typeof forms[name].syncFromStripe).toBe(file === 'quote' ? 'undefined' : 'function');
    expect(typeof forms[name].refundInStripe).toBe(
      ['salesorder', 'invoice'].includes(file) ? 'function' : 'undefined',
    );
    expect(typeof forms[name].createPaymentLink).toBe(
      ['quote', 'salesorder', 'invoice'].includes(file) ? 'function' : 'undefined',
    );
    expect(typeof forms[name].requestSubscription).toBe(
      ['account', 'contact'].includes(file) ? 'function' : 'undefined',
    );
  });
});
