/**
 * Approve and Reject on a refund request awaiting approval: the approver's decision is the request's status.
 * Approved goes to the connector, which checks the approver against policy (role, not the requester) before
 * it refunds; Rejected is final. The browser calls nothing but Dataverse.
 */
import { RefundRequest, RefundRequestStatus } from '@stc/solution/tables';
import { message } from './strings';
import { errorText, formRecord, type Platform } from './record';

export type RefundDecision = 'approve' | 'reject';

export const DECISION_NOTIFICATION = 'stc_refund_decided';

const STATUS: Record<RefundDecision, number> = {
  approve: RefundRequestStatus.approved,
  reject: RefundRequestStatus.rejected,
};

/** Decides the form's request after the user confirms; true when the decision was saved. */
export async function decideOnFormRequest(
  formContext: Xrm.FormContext,
  decision: RefundDecision,
  host: Platform,
): Promise<boolean> {
  const record = formRecord(formContext);
  if (!record.id) {
    await host.navigation.openAlertDialog({ text: message(host.languageId, 'saveFirst') });
    return false;
  }
  const approve = decision === 'approve';
  const answer = await host.navigation.openConfirmDialog({
    title: message(host.languageId, approve ? 'refundApproveTitle' : 'refundRejectTitle'),
    text: message(host.languageId, approve ? 'refundApproveConfirm' : 'refundRejectConfirm'),
    confirmButtonLabel: message(host.languageId, approve ? 'refundApproveTitle' : 'refundRejectTitle'),
  });
  if (!answer.confirmed) return false;
  try {
    await host.webApi.updateRecord(RefundRequest.logicalName, record.id, {
      [RefundRequest.col.status]: STATUS[decision],
    });
  } catch (error) {
    await host.navigation.openAlertDialog({ text: message(host.languageId, 'failed', errorText(error)) });
    return false;
  }
  formContext.ui.setFormNotification(
    message(host.languageId, approve ? 'refundApproved' : 'refundRejected'),
    'INFO',
    DECISION_NOTIFICATION,
  );
  await formContext.data.refresh(false);
  return true;
}
