/**
 * The handlers every form script registers, bound to the live Xrm platform at call time. Each form module
 * re-exports the ones its form has (a customer form has no Refund or payment link command), so the bundles keep their names.
 */
import {
  createPaymentLink as paymentLink,
  refundInStripe as refund,
  openInStripeDashboard as open,
  syncFromStripe as sync,
} from './commands';
import { requestSubscription as subscription } from './subscriptionRequests';
import { chargeSavedCard as charge } from './chargeRequests';
import { showPaymentAlerts } from './notifications';
import { platform } from './record';

export function onLoad(executionContext: Xrm.Events.EventContext): Promise<unknown> {
  return showPaymentAlerts(executionContext.getFormContext(), platform());
}

export function refundInStripe(primaryControl: Xrm.FormContext): Promise<unknown> {
  return refund(primaryControl, platform());
}

export function createPaymentLink(primaryControl: Xrm.FormContext): Promise<unknown> {
  return paymentLink(primaryControl, platform());
}

export function openInStripeDashboard(primaryControl: Xrm.FormContext): Promise<unknown> {
  return open(primaryControl, platform());
}

export function syncFromStripe(primaryControl: Xrm.FormContext): Promise<unknown> {
  return sync(primaryControl, platform());
}

export function requestSubscription(primaryControl: Xrm.FormContext): Promise<unknown> {
  return subscription(primaryControl, platform());
}

export function chargeSavedCard(primaryControl: Xrm.FormContext): Promise<unknown> {
  return charge(primaryControl, platform());
}
