/** The form scripts, one module per form; `scripts/build.ts` bundles each to `StripeConnector.Forms.<Form>`. */
export * as Account from './forms/account';
export * as Contact from './forms/contact';
export * as SalesOrder from './forms/salesorder';
export * as Invoice from './forms/invoice';
export * as SyncIssue from './forms/syncissue';
export * as Subscription from './forms/subscription';
export { showPaymentAlerts } from './common/notifications';
export { refundInStripe, createPaymentLink, openInStripeDashboard, syncFromStripe } from './common/commands';
