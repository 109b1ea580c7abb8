/**
 * The quote form's script: on load it shows the Stripe payment page the quote's newest payment link request
 * made (an Active quote is read-only, so the URL is on the request), and Create payment link names the quote.
 */
import { XrmMockGenerator } from 'xrm-mock';
import { PaymentLinkRequest, PaymentLinkRequestStatus } from '@stc/solution/tables';
import * as QuoteForm from '../forms/quote';
import { paymentPageQuery } from '../common/paymentPage';

const QUOTE_ID = '5d0c2a9e-1d2b-4c3d-8e9f-0a1b2c3d4e5f';
type Notification = { message: string; level: string; uniqueId: string };

function quoteForm(id = QUOTE_ID) {
  XrmMockGenerator.initialise({ entity: { entityName: 'quote', id: id ? `{${id.toUpperCase()}}` : '' } });
  const formContext = XrmMockGenerator.getFormContext();
  if (!id) jest.spyOn(formContext.data.entity, 'getId').mockReturnValue('');
  jest
    .spyOn(Xrm.Utility, 'getGlobalContext')
    .mockReturnValue({ userSettings: { languageId: 1033 } } as unknown as Xrm.GlobalContext);
  return {
    formContext: formContext as unknown as Xrm.FormContext,
    eventContext: { getFormContext: () => formContext } as unknown as Xrm.Events.EventContext,
    retrieveMultipleRecords: jest.spyOn(Xrm.WebApi, 'retrieveMultipleRecords'),
    createRecord: jest.spyOn(Xrm.WebApi, 'createRecord'),
    notifications: () =>
      (formContext.ui as unknown as { formNotifications?: Notification[] }).formNotifications ?? [],
  };
}

const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

describe('the quote form', () => {
  it('shows the open payment page of the newest Created request, read with one query', async () => {
    const f = quoteForm();
    f.retrieveMultipleRecords.mockResolvedValue({
      entities: [{ stc_url: 'https://checkout.stripe.com/c/pay/cs_test_1', stc_expiresat: inAnHour() }],
    } as never);
    await QuoteForm.onLoad(f.eventContext);
    expect(f.retrieveMultipleRecords).toHaveBeenCalledWith(
      PaymentLinkRequest.logicalName,
      `?$select=stc_url,stc_expiresat&$filter=_stc_quoteid_value eq ${QUOTE_ID} and stc_status eq ${PaymentLinkRequestStatus.created}&$orderby=createdon desc&$top=1`,
    );
    expect(paymentPageQuery(QUOTE_ID)).toContain(`_stc_quoteid_value eq ${QUOTE_ID}`);
    expect(f.notifications()).toEqual([
      expect.objectContaining({
        level: 'INFO',
        uniqueId: 'stc_payment_page',
        message: expect.stringMatching(
          /^Stripe payment page of this quote, to copy or send to the customer \(open until .+\): https:\/\/checkout\.stripe\.com\/c\/pay\/cs_test_1\. Paying it makes the order and wins the quote\.$/,
        ),
      }),
    ]);
  });

  it('shows nothing for a page that has expired, or for a quote without one, and nothing for a new quote', async () => {
    const f = quoteForm();
    f.retrieveMultipleRecords.mockResolvedValue({
      entities: [
        { stc_url: 'https://checkout.stripe.com/c/pay/cs_old', stc_expiresat: '2020-01-01T00:00:00Z' },
      ],
    } as never);
    expect(await QuoteForm.onLoad(f.eventContext)).toBeUndefined();
    f.retrieveMultipleRecords.mockResolvedValue({ entities: [] } as never);
    expect(await QuoteForm.onLoad(f.eventContext)).toBeUndefined();
    expect(f.notifications()).toEqual([]);
    const fresh = quoteForm('');
    await QuoteForm.onLoad(fresh.eventContext);
    expect(fresh.retrieveMultipleRecords).not.toHaveBeenCalled();
  });

  it('says why the page could not be read, without failing the form', async () => {
    const f = quoteForm();
    f.retrieveMultipleRecords.mockRejectedValue({
      message: 'Principal user is missing prvReadstc_paymentlinkrequest privilege',
    });
    expect(await QuoteForm.onLoad(f.eventContext)).toBeUndefined();
    expect(f.notifications()).toEqual([
      expect.objectContaining({
        level: 'WARNING',
        message:
          'The Stripe payment page of this quote could not be read: Principal user is missing prvReadstc_paymentlinkrequest privilege',
      }),
    ]);
  });

  it('asks for a payment page of the quote and says where its link will appear', async () => {
    const f = quoteForm();
    f.createRecord.mockResolvedValue({
      id: 'cccccccc-0000-0000-0000-000000000001',
      entityType: 'x',
    } as never);
    await QuoteForm.createPaymentLink(f.formContext);
    expect(f.createRecord).toHaveBeenCalledWith(
      PaymentLinkRequest.logicalName,
      expect.objectContaining({ 'stc_quoteid@odata.bind': `/quotes(${QUOTE_ID})` }),
    );
    expect(f.notifications()[0].message).toContain('appears at the top of this form');
  });
});
