/**
 * Start subscription on the order form: its enable rule (a saved order that is not canceled and has lines,
 * read from Dataverse), and the request it writes once the user confirms (action Create, the order named),
 * in English and German; the bundle publishes both functions under StripeConnector.Forms.SalesOrder.
 */
import { XrmMockGenerator } from 'xrm-mock';
import { build } from 'esbuild';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { SalesorderStatecode, SubscriptionAction, SubscriptionRequest } from '@stc/solution/tables';
import * as SalesOrder from '../forms/salesorder';

const ORDER_ID = '6f1c2a9e-1d2b-4c3d-8e9f-0a1b2c3d4e5f';
type Notification = { message: string; level: string; uniqueId: string };

function orderForm(id: string, languageId = 1033) {
  XrmMockGenerator.initialise({
    entity: { entityName: 'salesorder', id: id ? `{${id.toUpperCase()}}` : '' },
  });
  const formContext = XrmMockGenerator.getFormContext() as unknown as Xrm.FormContext;
  if (!id) jest.spyOn(formContext.data.entity, 'getId').mockReturnValue('');
  jest.spyOn(formContext.data.entity, 'getPrimaryAttributeValue').mockReturnValue('ORD-2001');
  jest
    .spyOn(Xrm.Utility, 'getGlobalContext')
    .mockReturnValue({ userSettings: { languageId } } as unknown as Xrm.GlobalContext);
  return {
    formContext,
    retrieveRecord: jest.spyOn(Xrm.WebApi, 'retrieveRecord'),
    retrieveMultipleRecords: jest.spyOn(Xrm.WebApi, 'retrieveMultipleRecords'),
    createRecord: jest.spyOn(Xrm.WebApi, 'createRecord'),
    openConfirmDialog: jest.spyOn(Xrm.Navigation, 'openConfirmDialog'),
    openAlertDialog: jest.spyOn(Xrm.Navigation, 'openAlertDialog').mockResolvedValue(undefined as never),
    notifications: () =>
      (formContext.ui as unknown as { formNotifications?: Notification[] }).formNotifications ?? [],
  };
}

afterEach(() => jest.restoreAllMocks());

describe('the enable rule of Start subscription', () => {
  const answer = async (statecode: number, lines: number, id = ORDER_ID) => {
    const f = orderForm(id);
    f.retrieveRecord.mockResolvedValue({ statecode } as never);
    f.retrieveMultipleRecords.mockResolvedValue({
      entities: Array.from({ length: lines }, (_, i) => ({ salesorderdetailid: `line-${i}` })),
    } as never);
    const enabled = await SalesOrder.canStartSubscription(f.formContext);
    return { enabled, f };
  };

  it('is enabled for an active order with lines, reading the order and one of its lines', async () => {
    const { enabled, f } = await answer(SalesorderStatecode.Active, 2);
    expect(enabled).toBe(true);
    expect(f.retrieveRecord).toHaveBeenCalledWith('salesorder', ORDER_ID, '?$select=statecode');
    expect(f.retrieveMultipleRecords).toHaveBeenCalledWith(
      'salesorderdetail',
      `?$select=salesorderdetailid&$filter=_salesorderid_value eq ${ORDER_ID}&$top=1`,
    );
  });

  it('is disabled for a canceled order, an order without lines, a new order, and when Dataverse cannot tell', async () => {
    expect((await answer(SalesorderStatecode.Canceled, 2)).enabled).toBe(false);
    expect((await answer(SalesorderStatecode.Active, 0)).enabled).toBe(false);
    const fresh = await answer(SalesorderStatecode.Active, 1, '');
    expect(fresh.enabled).toBe(false);
    expect(fresh.f.retrieveRecord).not.toHaveBeenCalled();
    const f = orderForm(ORDER_ID);
    f.retrieveRecord.mockRejectedValue({ message: 'offline' });
    f.retrieveMultipleRecords.mockResolvedValue({ entities: [{}] } as never);
    expect(await SalesOrder.canStartSubscription(f.formContext)).toBe(false);
  });
});

describe('Start subscription', () => {
  it('writes a Create request naming the order once the user confirms, and says what follows', async () => {
    const f = orderForm(ORDER_ID);
    f.openConfirmDialog.mockResolvedValue({ confirmed: true } as never);
    f.createRecord.mockResolvedValue({ id: 'dddddddd-0000-0000-0000-000000000001', entityType: '' });
    expect(await SalesOrder.startSubscription(f.formContext)).toBe('dddddddd-0000-0000-0000-000000000001');
    expect(f.openConfirmDialog).toHaveBeenCalledWith(
      expect.objectContaining({ title: 'Start subscription', confirmButtonLabel: 'Start subscription' }),
    );
    expect(f.createRecord).toHaveBeenCalledWith(SubscriptionRequest.logicalName, {
      stc_name: 'Stripe subscription from ORD-2001',
      stc_action: SubscriptionAction.create,
      'stc_salesorderid@odata.bind': `/salesorders(${ORDER_ID})`,
    });
    expect(f.notifications()[0]).toMatchObject({
      level: 'INFO',
      uniqueId: 'stc_subscription_requested',
      message: expect.stringMatching(/^Stripe subscription requested\./),
    });
  });

  it('speaks German to a German user', async () => {
    const f = orderForm(ORDER_ID, 1031);
    f.openConfirmDialog.mockResolvedValue({ confirmed: true } as never);
    f.createRecord.mockResolvedValue({ id: 'dddddddd-0000-0000-0000-000000000002', entityType: '' });
    await SalesOrder.startSubscription(f.formContext);
    expect(f.openConfirmDialog).toHaveBeenCalledWith(
      expect.objectContaining({
        title: 'Abonnement starten',
        text: expect.stringMatching(/^Ein Stripe-Abonnement aus diesem Auftrag starten\?/),
      }),
    );
    expect(f.createRecord.mock.calls[0][1]).toMatchObject({ stc_name: 'Stripe-Abonnement aus ORD-2001' });
    expect(f.notifications()[0].message).toMatch(/^Stripe-Abonnement angefordert\./);
  });

  it('writes nothing when the user does not confirm, and shows why a request could not be saved', async () => {
    const declined = orderForm(ORDER_ID);
    declined.openConfirmDialog.mockResolvedValue({ confirmed: false } as never);
    expect(await SalesOrder.startSubscription(declined.formContext)).toBeUndefined();
    expect(declined.createRecord).not.toHaveBeenCalled();
    jest.restoreAllMocks();

    const f = orderForm(ORDER_ID);
    f.openConfirmDialog.mockResolvedValue({ confirmed: true } as never);
    f.createRecord.mockRejectedValue({
      message: 'Principal user is missing prvCreatestc_subscriptionrequest privilege',
    });
    expect(await SalesOrder.startSubscription(f.formContext)).toBeUndefined();
    expect(f.openAlertDialog).toHaveBeenCalledWith({
      text: 'The request could not be saved: Principal user is missing prvCreatestc_subscriptionrequest privilege',
    });
  });

  it('asks to save a new order first', async () => {
    const f = orderForm('');
    await SalesOrder.startSubscription(f.formContext);
    expect(f.openAlertDialog).toHaveBeenCalledWith({ text: 'Save the record first.' });
    expect(f.createRecord).not.toHaveBeenCalled();
  });
});

test('salesorder.js publishes startSubscription and canStartSubscription', async () => {
  const result = await build({
    entryPoints: [join(__dirname, '..', 'forms', 'salesorder.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    globalName: 'StripeConnector.Forms.SalesOrder',
    platform: 'browser',
    logLevel: 'silent',
  });
  const sandbox: Record<string, unknown> = {};
  runInNewContext(result.outputFiles[0].text, sandbox);
  const forms = (sandbox.StripeConnector as { Forms: Record<string, Record<string, unknown>> }).Forms;
  expect(typeof forms.SalesOrder.startSubscription).toBe('function');
  expect(typeof forms.SalesOrder.canStartSubscription).toBe('function');
});
