/**
 * The order form: `StripeConnector.Forms.SalesOrder`. Register `onLoad` on the form's OnLoad (pass the execution
 * context) and the commands on the command bar with the PrimaryControl parameter.
 */
export {
  onLoad,
  openInStripeDashboard,
  syncFromStripe,
  refundInStripe,
  createPaymentLink,
} from '../common/formHandlers';
