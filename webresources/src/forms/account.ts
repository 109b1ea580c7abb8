/**
 * The account form: `StripeConnector.Forms.Account`. Register `onLoad` on the form's OnLoad (pass the execution
 * context) and the commands on the command bar with the PrimaryControl parameter. A account has no Refund
 * command: a refund belongs to a payment, which the order and invoice forms show.
 */
import { openInStripeDashboard as open, syncFromStripe as sync } from '../common/commands';
import { showPaymentAlerts } from '../common/notifications';
import { platform } from '../common/record';

export function onLoad(executionContext: Xrm.Events.EventContext): Promise<unknown> {
  return showPaymentAlerts(executionContext.getFormContext(), platform());
}

export function openInStripeDashboard(primaryControl: Xrm.FormContext): Promise<unknown> {
  return open(primaryControl, platform());
}

export function syncFromStripe(primaryControl: Xrm.FormContext): Promise<unknown> {
  return sync(primaryControl, platform());
}
