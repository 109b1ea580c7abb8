export { isResourceMissing } from './errors';
export { createBudgetedStripeClients, createStripeClients, type StripeFor } from './clients';
export {
  budgetFactor,
  createStripeBudget,
  DEFAULT_SHRINK,
  PRIORITY_SHARE,
  type BudgetLedger,
  type BudgetShrink,
  type ShrinkPolicy,
  type BudgetCall,
  type StripeBudget,
  type StripeBudgetObserver,
  type StripeBudgetSettings,
} from './budget';
export { budgetedHttpClient, stripeEndpoint } from './budgeted-http';
export { createStripeBudgetMetrics } from './metrics';
export {
  currentStripePriority,
  STRIPE_PRIORITIES,
  withStripePriority,
  type StripePriority,
} from './priority';
export {
  balanceTransactionPages,
  type BalanceTransactionFilter,
  type BalanceTransactionListOptions,
} from './balance-transactions';
