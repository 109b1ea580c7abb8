/**
 * The order form: `StripeConnector.Forms.SalesOrder`. Register `onLoad` on the form's OnLoad (pass the execution
 * context) and the commands on the command bar with the PrimaryControl parameter; `canStartSubscription` is
 * the enable rule of Start subscription.
 */
import { orderMaySubscribe, requestSubscriptionFromOrder } from '../common/subscriptionRequests';
import { platform } from '../common/record';

export {
  onLoad,
  openInStripeDashboard,
  syncFromStripe,
  refundInStripe,
  createPaymentLink,
  chargeSavedCard,
} from '../common/formHandlers';

export function startSubscription(primaryControl: Xrm.FormContext): Promise<unknown> {
  return requestSubscriptionFromOrder(primaryControl, platform());
}

export function canStartSubscription(primaryControl: Xrm.FormContext): Promise<boolean> {
  return orderMaySubscribe(primaryControl, platform());
}
