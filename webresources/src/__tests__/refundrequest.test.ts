/**
 * Approve and Reject on a refund request: the approver's decision becomes the request's status after they
 * confirm, the form says what happens next and reloads; nothing is written when they cancel.
 */
import { XrmMockGenerator } from 'xrm-mock';
import { build } from 'esbuild';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { RefundRequest, RefundRequestStatus } from '@stc/solution/tables';
import * as RefundRequestForm from '../forms/refundrequest';

const REQUEST_ID = '3c2d3e4f-0000-4000-8000-00000000bb01';

function requestForm(id: string, languageId = 1033) {
  XrmMockGenerator.initialise({
    entity: { entityName: RefundRequest.logicalName, id: id ? `{${id.toUpperCase()}}` : '' },
  });
  const formContext = XrmMockGenerator.getFormContext();
  if (!id) jest.spyOn(formContext.data.entity, 'getId').mockReturnValue('');
  jest
    .spyOn(Xrm.Utility, 'getGlobalContext')
    .mockReturnValue({ userSettings: { languageId } } as unknown as Xrm.GlobalContext);
  return {
    formContext: formContext as unknown as Xrm.FormContext,
    refresh: jest.spyOn(formContext.data, 'refresh').mockResolvedValue(undefined as never),
    updateRecord: jest
      .spyOn(Xrm.WebApi, 'updateRecord')
      .mockResolvedValue({ id: '', entityType: RefundRequest.logicalName }),
    // The request as Dataverse holds it when the decision is written: still awaiting approval, unless a test
    // says otherwise.
    retrieveRecord: jest.spyOn(Xrm.WebApi, 'retrieveRecord').mockResolvedValue({
      [RefundRequest.col.status]: RefundRequestStatus.awaiting_approval,
    }),
    confirm: jest.spyOn(Xrm.Navigation, 'openConfirmDialog'),
    alert: jest.spyOn(Xrm.Navigation, 'openAlertDialog').mockResolvedValue(undefined as never),
    notifications: () =>
      (formContext.ui as unknown as { formNotifications?: Array<{ message: string }> }).formNotifications ??
      [],
  };
}

afterEach(() => jest.restoreAllMocks());

it('approves: the request becomes Approved for the connector to refund, and the form says so', async () => {
  const f = requestForm(REQUEST_ID);
  f.confirm.mockResolvedValue({ confirmed: true });
  await expect(RefundRequestForm.approveRequest(f.formContext)).resolves.toBe(true);
  expect(f.updateRecord).toHaveBeenCalledWith(RefundRequest.logicalName, REQUEST_ID, {
    [RefundRequest.col.status]: RefundRequestStatus.approved,
  });
  expect(f.confirm.mock.calls[0][0]).toMatchObject({ title: 'Approve', confirmButtonLabel: 'Approve' });
  expect(f.notifications()[0]?.message).toBe(
    'Approved. The connector refunds in Stripe and shows the outcome here.',
  );
  expect(f.refresh).toHaveBeenCalledWith(false);
});

it('rejects, in the user’s language', async () => {
  const f = requestForm(REQUEST_ID, 1031);
  f.confirm.mockResolvedValue({ confirmed: true });
  await expect(RefundRequestForm.rejectRequest(f.formContext)).resolves.toBe(true);
  expect(f.updateRecord).toHaveBeenCalledWith(RefundRequest.logicalName, REQUEST_ID, {
    [RefundRequest.col.status]: RefundRequestStatus.rejected,
  });
  expect(f.confirm.mock.calls[0][0]).toMatchObject({ title: 'Ablehnen' });
  expect(f.notifications()[0]?.message).toBe('Abgelehnt. Es wird nichts erstattet.');
});

it('writes nothing when the user cancels, and says why when Dataverse refuses', async () => {
  const f = requestForm(REQUEST_ID);
  f.confirm.mockResolvedValue({ confirmed: false });
  await expect(RefundRequestForm.approveRequest(f.formContext)).resolves.toBe(false);
  expect(f.updateRecord).not.toHaveBeenCalled();

  f.confirm.mockResolvedValue({ confirmed: true });
  f.updateRecord.mockRejectedValue(new Error('You do not have prvWritestc_refundrequest'));
  await expect(RefundRequestForm.approveRequest(f.formContext)).resolves.toBe(false);
  expect(String(f.alert.mock.calls[0][0].text)).toContain('You do not have prvWritestc_refundrequest');
  expect(f.notifications()).toHaveLength(0);
});

it('is bundled as StripeConnector.Forms.RefundRequest with the two functions its buttons call', async () => {
  const result = await build({
    entryPoints: [join(__dirname, '..', 'forms', 'refundrequest.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    globalName: 'StripeConnector.Forms.RefundRequest',
    platform: 'browser',
    logLevel: 'silent',
  });
  const sandbox: Record<string, unknown> = {};
  runInNewContext(result.outputFiles[0].text, sandbox);
  const published = (sandbox.StripeConnector as { Forms: Record<string, Record<string, unknown>> }).Forms
    .RefundRequest;
  expect(Object.keys(published).sort()).toEqual(['approveRequest', 'rejectRequest']);
});

describe('a decision on a request someone else decided meanwhile', () => {
  // Two approvers have the request open; B rejects it, then A (whose form still shows Awaiting approval)
  // approves: the connector would refund a rejected request.
  it('reads the status again just before writing, and writes nothing when it no longer awaits approval', async () => {
    const f = requestForm(REQUEST_ID);
    f.confirm.mockResolvedValue({ confirmed: true });
    f.retrieveRecord.mockResolvedValue({
      [RefundRequest.col.status]: RefundRequestStatus.rejected,
      [`${RefundRequest.col.status}@OData.Community.Display.V1.FormattedValue`]: 'Rejected',
    });
    await expect(RefundRequestForm.approveRequest(f.formContext)).resolves.toBe(false);
    expect(f.retrieveRecord).toHaveBeenCalledWith(
      RefundRequest.logicalName,
      REQUEST_ID,
      `?$select=${RefundRequest.col.status},${RefundRequest.col.amount}`,
    );
    expect(f.updateRecord).not.toHaveBeenCalled();
    expect(f.alert).toHaveBeenCalledWith({
      text: 'This refund request no longer awaits approval: its status is now Rejected, set by someone else or by the connector. Your decision was not saved; the form now shows the request as it is.',
    });
    expect(f.notifications()).toHaveLength(0);
    expect(f.refresh).toHaveBeenCalledWith(false);
  });

  it('reads it after the approver confirms, so a decision made while the dialog was open counts', async () => {
    const f = requestForm(REQUEST_ID, 1031);
    f.confirm.mockImplementation(async () => {
      f.retrieveRecord.mockResolvedValue({ [RefundRequest.col.status]: RefundRequestStatus.processing });
      return { confirmed: true };
    });
    await expect(RefundRequestForm.rejectRequest(f.formContext)).resolves.toBe(false);
    expect(f.updateRecord).not.toHaveBeenCalled();
    expect(String(f.alert.mock.calls[0][0].text)).toBe(
      'Diese Erstattungsanfrage wartet nicht mehr auf Genehmigung: ihr Status ist jetzt Processing, gesetzt von einer anderen Person oder vom Connector. Ihre Entscheidung wurde nicht gespeichert; das Formular zeigt die Anfrage jetzt, wie sie ist.',
    );
  });

  it('writes nothing when the amount is not the one the form showed: an approval is for the amount seen', async () => {
    const f = requestForm(REQUEST_ID);
    XrmMockGenerator.Attribute.createNumber(RefundRequest.col.amount, 150);
    f.confirm.mockResolvedValue({ confirmed: true });
    // The requester raised the amount after the approver opened the form.
    f.retrieveRecord.mockResolvedValue({
      [RefundRequest.col.status]: RefundRequestStatus.awaiting_approval,
      [RefundRequest.col.amount]: 15000,
    });
    await expect(RefundRequestForm.approveRequest(f.formContext)).resolves.toBe(false);
    expect(f.updateRecord).not.toHaveBeenCalled();
    expect(f.alert).toHaveBeenCalledWith({
      text: 'The amount of this request was changed to 15000 since the form was loaded. Your decision was not saved; the form now shows the request as it is: check the amount and decide again.',
    });
    expect(f.refresh).toHaveBeenCalledWith(false);

    // The same amount as the form shows: approved.
    f.retrieveRecord.mockResolvedValue({
      [RefundRequest.col.status]: RefundRequestStatus.awaiting_approval,
      [RefundRequest.col.amount]: 150,
    });
    await expect(RefundRequestForm.approveRequest(f.formContext)).resolves.toBe(true);
    expect(f.updateRecord).toHaveBeenCalledWith(RefundRequest.logicalName, REQUEST_ID, {
      [RefundRequest.col.status]: RefundRequestStatus.approved,
    });
  });

  it('writes nothing and says why when the status cannot be read', async () => {
    const f = requestForm(REQUEST_ID);
    f.confirm.mockResolvedValue({ confirmed: true });
    f.retrieveRecord.mockRejectedValue(new Error('The request timed out.'));
    await expect(RefundRequestForm.approveRequest(f.formContext)).resolves.toBe(false);
    expect(f.updateRecord).not.toHaveBeenCalled();
    expect(String(f.alert.mock.calls[0][0].text)).toContain('The request timed out.');
  });
});
