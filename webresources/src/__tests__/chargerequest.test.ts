/**
 * Approve and Reject on a charge request: the approver's decision becomes the request's status after they
 * confirm (Approved for the connector to check and charge, Refused when rejected), the form says what happens
 * next in the user's language and reloads; nothing is written when they cancel.
 */
import { XrmMockGenerator } from 'xrm-mock';
import { ChargeRequest, ChargeRequestStatus } from '@stc/solution/tables';
import * as ChargeRequestForm from '../forms/chargerequest';

const REQUEST_ID = '3c2d3e4f-0000-4000-8000-00000000cc01';

function requestForm(id: string, languageId = 1033) {
  XrmMockGenerator.initialise({
    entity: { entityName: ChargeRequest.logicalName, id: id ? `{${id.toUpperCase()}}` : '' },
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
      .mockResolvedValue({ id: '', entityType: ChargeRequest.logicalName }),
    confirm: jest.spyOn(Xrm.Navigation, 'openConfirmDialog'),
    alert: jest.spyOn(Xrm.Navigation, 'openAlertDialog').mockResolvedValue(undefined as never),
    notifications: () =>
      (formContext.ui as unknown as { formNotifications?: Array<{ message: string }> }).formNotifications ??
      [],
  };
}

afterEach(() => jest.restoreAllMocks());

it('approves: the request becomes Approved for the connector to charge, and the form says so', async () => {
  const f = requestForm(REQUEST_ID);
  f.confirm.mockResolvedValue({ confirmed: true } as never);
  expect(await ChargeRequestForm.approveRequest(f.formContext)).toBe(true);
  expect(f.updateRecord).toHaveBeenCalledWith(ChargeRequest.logicalName, REQUEST_ID, {
    stc_status: ChargeRequestStatus.approved,
  });
  expect(f.notifications()[0].message).toBe(
    'Approved. The connector charges the saved payment method in Stripe and shows the outcome here.',
  );
  expect(f.refresh).toHaveBeenCalled();
});

it('rejects in German: the request is Refused and nothing is charged', async () => {
  const f = requestForm(REQUEST_ID, 1031);
  f.confirm.mockResolvedValue({ confirmed: true } as never);
  expect(await ChargeRequestForm.rejectRequest(f.formContext)).toBe(true);
  expect(f.confirm).toHaveBeenCalledWith(
    expect.objectContaining({
      title: 'Ablehnen',
      text: 'Diese Belastung ablehnen? Es wird nichts belastet, und die Anfrage kann danach nicht mehr genehmigt werden.',
    }),
  );
  expect(f.updateRecord).toHaveBeenCalledWith(ChargeRequest.logicalName, REQUEST_ID, {
    stc_status: ChargeRequestStatus.refused,
  });
  expect(f.notifications()[0].message).toBe('Abgelehnt. Es wird nichts belastet.');
});

it('writes nothing when the approver cancels', async () => {
  const f = requestForm(REQUEST_ID);
  f.confirm.mockResolvedValue({ confirmed: false } as never);
  expect(await ChargeRequestForm.approveRequest(f.formContext)).toBe(false);
  expect(f.updateRecord).not.toHaveBeenCalled();
});
