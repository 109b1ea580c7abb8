/**
 * The contact form: `StripeConnector.Forms.Contact`. Register `onLoad` on the form's OnLoad (pass the execution
 * context) and the commands on the command bar with the PrimaryControl parameter. A contact has no Refund
 * command: a refund belongs to a payment, which the order and invoice forms show. Stripe subscription…
 * (requestSubscription) opens a new subscription request for it, Charge saved card… (chargeSavedCard) a new
 * charge request of its saved Stripe payment method.
 */
export {
  onLoad,
  openInStripeDashboard,
  syncFromStripe,
  requestSubscription,
  chargeSavedCard,
} from '../common/formHandlers';
