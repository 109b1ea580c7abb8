/**
 * The charge request form: `StripeConnector.Forms.ChargeRequest`. Its Approve and Reject buttons pass
 * PrimaryControl.
 */
import { decideOnChargeRequest } from '../common/chargeRequests';
import { platform } from '../common/record';

export function approveRequest(primaryControl: Xrm.FormContext): Promise<boolean> {
  return decideOnChargeRequest(primaryControl, 'approve', platform());
}

export function rejectRequest(primaryControl: Xrm.FormContext): Promise<boolean> {
  return decideOnChargeRequest(primaryControl, 'reject', platform());
}
