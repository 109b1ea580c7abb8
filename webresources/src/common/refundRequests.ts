/**
 * Approve and Reject on a refund request awaiting approval: the approver's decision is the request's status.
 * Approved goes to the connector, which checks the approver against policy (role, not the requester) before
 * it refunds; Rejected is final. The status is read again just before the decision is written: a request
 * another approver decided meanwhile is left as it is. The browser calls nothing but Dataverse.
 */
import { RefundRequest, RefundRequestStatus, StcRefundRequestStatusLabels } from '@stc/solution/tables';
import { message } from './strings';
import { errorText, formRecord, type Platform } from './record';
import { stillDecidable, type ApprovalStatus } from './awaitingApproval';

export type RefundDecision = 'approve' | 'reject';

export const DECISION_NOTIFICATION = 'stc_refund_decided';

const STATUS: Record<RefundDecision, number> = {
  approve: RefundRequestStatus.approved,
  reject: RefundRequestStatus.rejected,
};

const AWAITING: ApprovalStatus = {
  table: RefundRequest.logicalName,
  column: RefundRequest.col.status,
  awaitingApproval: RefundRequestStatus.awaiting_approval,
  labels: StcRefundRequestStatusLabels,
  amountColumn: RefundRequest.col.amount,
  notAwaitingMessage: 'refundNotAwaiting',
};

/**
 * Decides the form's request after the user confirms, if it still awaits approval; true when the decision was
 * saved. A request no longer awaiting approval is not written: the user is told its status, and the form is
 * read again.
 */
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
    if (!(await stillDecidable(host, formContext, record.id, AWAITING))) return false;
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
