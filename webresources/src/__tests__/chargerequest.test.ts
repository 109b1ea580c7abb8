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
    // The request as Dataverse holds it when the decision is written: still awaiting approval, unless a test
    // says otherwise.
    retrieveRecord: jest.spyOn(Xrm.WebApi, 'retrieveRecord').mockResolvedValue({
      [ChargeRequest.col.status]: ChargeRequestStatus.awaiting_approval,
    }),
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

describe('a decision on a request someone else decided meanwhile', () => {
  it('reads the status again just before writing, and writes nothing when it no longer awaits approval', async () => {
    const f = requestForm(REQUEST_ID);
    f.confirm.mockResolvedValue({ confirmed: true } as never);
    f.retrieveRecord.mockResolvedValue({
      [ChargeRequest.col.status]: ChargeRequestStatus.refused,
      [`${ChargeRequest.col.status}@OData.Community.Display.V1.FormattedValue`]: 'Refused',
    });
    expect(await ChargeRequestForm.approveRequest(f.formContext)).toBe(false);
    expect(f.retrieveRecord).toHaveBeenCalledWith(
      ChargeRequest.logicalName,
      REQUEST_ID,
      `?$select=${ChargeRequest.col.status},${ChargeRequest.col.amount}`,
    );
    expect(f.updateRecord).not.toHaveBeenCalled();
    expect(f.alert).toHaveBeenCalledWith({
      text: 'This charge request no longer awaits approval: its status is now Refused, set by someone else or by the connector. Your decision was not saved; the form now shows the request as it is.',
    });
    expect(f.notifications()).toHaveLength(0);
    expect(f.refresh).toHaveBeenCalledWith(false);
  });

  it('names the status in the user’s language', async () => {
    const f = requestForm(REQUEST_ID, 1031);
    f.confirm.mockResolvedValue({ confirmed: true } as never);
    f.retrieveRecord.mockResolvedValue({ [ChargeRequest.col.status]: ChargeRequestStatus.approved });
    expect(await ChargeRequestForm.rejectRequest(f.formContext)).toBe(false);
    expect(f.updateRecord).not.toHaveBeenCalled();
    expect(String(f.alert.mock.calls[0][0].text)).toBe(
      'Diese Belastungsanfrage wartet nicht mehr auf Genehmigung: ihr Status ist jetzt Approved, gesetzt von einer anderen Person oder vom Connector. Ihre Entscheidung wurde nicht gespeichert; das Formular zeigt die Anfrage jetzt, wie sie ist.',
    );
  });
});
