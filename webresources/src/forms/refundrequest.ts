/**
 * The refund request form: `StripeConnector.Forms.RefundRequest`. Its Approve and Reject buttons pass
 * PrimaryControl.
 */
import { decideOnFormRequest } from '../common/refundRequests';
import { platform } from '../common/record';

export function approveRequest(primaryControl: Xrm.FormContext): Promise<boolean> {
  return decideOnFormRequest(primaryControl, 'approve', platform());
}

export function rejectRequest(primaryControl: Xrm.FormContext): Promise<boolean> {
  return decideOnFormRequest(primaryControl, 'reject', platform());
}
