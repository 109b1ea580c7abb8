/**
 * The Stripe subscription form: `StripeConnector.Forms.Subscription`. Its Cancel at period end, Cancel now,
 * Pause collection and Resume collection buttons pass PrimaryControl; each asks for the change through a
 * subscription request after the user confirms.
 */
import { requestSubscriptionChange } from '../common/subscriptionRequests';
import { platform } from '../common/record';

export function cancelAtPeriodEnd(primaryControl: Xrm.FormContext): Promise<unknown> {
  return requestSubscriptionChange(primaryControl, 'cancel_at_period_end', platform());
}

export function cancelNow(primaryControl: Xrm.FormContext): Promise<unknown> {
  return requestSubscriptionChange(primaryControl, 'cancel_now', platform());
}

export function pauseCollection(primaryControl: Xrm.FormContext): Promise<unknown> {
  return requestSubscriptionChange(primaryControl, 'pause', platform());
}

export function resumeCollection(primaryControl: Xrm.FormContext): Promise<unknown> {
  return requestSubscriptionChange(primaryControl, 'resume', platform());
}
