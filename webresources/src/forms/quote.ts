/**
 * The quote form: `StripeConnector.Forms.Quote`. Register `onLoad` on the form's OnLoad (pass the execution
 * context): it shows the quote's open Stripe payment page. Create payment link goes on the command bar with the
 * PrimaryControl parameter. Paying the page makes the order of the quote and wins the quote.
 */
import { showPaymentPage } from '../common/paymentPage';
import { platform } from '../common/record';

export { createPaymentLink } from '../common/formHandlers';

export function onLoad(executionContext: Xrm.Events.EventContext): Promise<unknown> {
  return showPaymentPage(executionContext.getFormContext(), platform());
}
