/**
 * The order form: `StripeConnector.Forms.SalesOrder`. Register `onLoad` on the form's OnLoad (pass the execution
 * context) and the commands on the command bar with the PrimaryControl parameter.
 */
import {
  refundInStripe as refund,
  openInStripeDashboard as open,
  syncFromStripe as sync,
} from '../common/commands';
import { showPaymentAlerts } from '../common/notifications';
import { platform } from '../common/record';

export function onLoad(executionContext: Xrm.Events.EventContext): Promise<unknown> {
  return showPaymentAlerts(executionContext.getFormContext(), platform());
}

export function refundInStripe(primaryControl: Xrm.FormContext): Promise<unknown> {
  return refund(primaryControl, platform());
}

export function openInStripeDashboard(primaryControl: Xrm.FormContext): Promise<unknown> {
  return open(primaryControl, platform());
}

export function syncFromStripe(primaryControl: Xrm.FormContext): Promise<unknown> {
  return sync(primaryControl, platform());
}
