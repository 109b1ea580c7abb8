/**
 * `@stc/pcf-controls`: what other browser code (the form scripts) shares with the controls. Money formatting
 * in the currency's own exponent, typed readers of Web API rows, Stripe Dashboard links and the payment panel's
 * payment query and refund-request payload, so that a form command and the panel read and write the same rows.
 * Plain functions only: importing this entry brings neither React nor Fluent into a bundle.
 */
export { currencyExponent, formatMoney, roundMoney, type CurrencyFormatter } from './shared/money';
export {
  formatted,
  labelOf,
  lookupFor,
  readBoolean,
  readDate,
  readNumber,
  readString,
  type WebApi,
} from './shared/rows';
export { dashboardUrl, type DashboardObject } from './shared/stripeDashboard';
export { isDuplicateRecord, newGuid } from './shared/guid';
export {
  paymentFromRow,
  paymentsQuery,
  refundRequestFromRow,
  refundRequestPayload,
} from './PaymentPanel/components/PaymentData';
export type { PaymentView, RefundInput, RefundRequestView } from './PaymentPanel/components/types';
