/**
 * The invoice form: `StripeConnector.Forms.Invoice`. Register `onLoad` on the form's OnLoad (pass the execution
 * context) and the commands on the command bar with the PrimaryControl parameter.
 */
export {
  onLoad,
  openInStripeDashboard,
  syncFromStripe,
  refundInStripe,
  createPaymentLink,
  chargeSavedCard,
} from '../common/formHandlers';
