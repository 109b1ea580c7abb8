/** Links to the Stripe Dashboard: the only way a form reaches Stripe is a link the user opens. */

const DASHBOARD = 'https://dashboard.stripe.com';

export type DashboardObject =
  'payments' | 'customers' | 'subscriptions' | 'invoices' | 'refunds' | 'disputes';

/**
 * `https://dashboard.stripe.com[/acct_…][/test]/<kind>/<id>`: a connected account's object is opened in that
 * account's view, and a test-mode object in test mode; a live object never gets the `/test` segment.
 */
export function dashboardUrl(
  kind: DashboardObject,
  stripeId: string,
  livemode: boolean,
  account?: string | null,
): string {
  const parts = [DASHBOARD];
  if (account && /^acct_[A-Za-z0-9]+$/.test(account)) parts.push(account);
  if (!livemode) parts.push('test');
  parts.push(kind, encodeURIComponent(stripeId));
  return parts.join('/');
}
