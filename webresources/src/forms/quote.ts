/**
 * The quote form: `StripeConnector.Forms.Quote`. Register `onLoad` on the form's OnLoad (pass the execution
 * context) and Create payment link on the command bar with the PrimaryControl parameter. Paying the link makes
 * the order of the quote and wins the quote.
 */
export { onLoad, createPaymentLink } from '../common/formHandlers';
