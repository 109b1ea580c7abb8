/** What the customer panel shows, independent of how Dataverse names it (mapping in CustomerData.ts). */

export interface MoneyTotal {
  currency: string;
  amount: number;
}

/** Totals of one mode: live and test money are never added together. */
export interface ModeTotals {
  livemode: boolean;
  paid: MoneyTotal[];
  refunded: MoneyTotal[];
  openInvoices: number;
  openInvoiceAmount: MoneyTotal[];
  /** Monthly recurring revenue of the active subscriptions, per currency. */
  mrr: MoneyTotal[];
}

export interface RecentPayment {
  id: string;
  stripeId: string;
  statusLabel: string;
  amount: number;
  currency: string;
  created?: Date;
  disputed: boolean;
  /** The status itself says Disputed (no second badge needed). */
  statusIsDisputed: boolean;
  livemode: boolean;
  stripeAccount?: string;
}

export interface SubscriptionView {
  id: string;
  stripeId: string;
  description: string;
  statusLabel: string;
  amount?: number;
  currency: string;
  /** "month", "3 months"… as the model labels the interval. */
  intervalLabel: string;
  /** End of the current period: the next renewal, or the end when it cancels at period end. */
  periodEnd?: Date;
  cancelAtPeriodEnd: boolean;
  livemode: boolean;
  stripeAccount?: string;
}

export interface CustomerSummary {
  stripeCustomerId?: string;
  livemode: boolean;
  stripeAccount?: string;
  totals: ModeTotals[];
  activeSubscriptions: SubscriptionView[];
  recentPayments: RecentPayment[];
  disputedPayments: RecentPayment[];
}

export interface CustomerSource {
  /** One Web API request: the record with its payments, subscriptions and Stripe invoices expanded. */
  summary(entityTypeName: string, id: string): Promise<CustomerSummary>;
  /** Writes the Stripe customer id on the record. */
  link(entityTypeName: string, id: string, stripeCustomerId: string): Promise<void>;
}
