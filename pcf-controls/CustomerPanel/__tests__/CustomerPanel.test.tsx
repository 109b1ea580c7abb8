import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { setIconOptions } from '@fluentui/react';
import { CustomerPanel } from '../index';
import { mockContext, MockContext, MockContextOptions, textProperty } from '../../__mocks__/mock-context';
import type { IInputs } from '../generated/ManifestTypes';
import {
  Account,
  BillingInterval,
  Payment,
  PaymentStatus,
  StripeInvoice,
  StripeInvoiceStatus,
  Subscription,
  SubscriptionStatus,
} from '@stc/solution/tables';

setIconOptions({ disableWarnings: true });

const ACCOUNT_ID = '0a0b0c0d-1111-2222-3333-444455556666';
const NAV = Account.toMany;

function contextFor(
  options: Partial<MockContextOptions> & { customerId?: string | null } = {},
): MockContext<IInputs> {
  const parameters = {
    stripeCustomerId: textProperty(options.customerId ?? null, options.security),
  } as unknown as IInputs;
  return mockContext(parameters, {
    control: 'CustomerPanel',
    entityTypeName: 'account',
    entityId: ACCOUNT_ID,
    ...options,
  });
}

function mount(context: MockContext<IInputs>) {
  const control = new CustomerPanel();
  control.init(context);
  const view = render(control.updateView(context));
  return { rerender: () => view.rerender(control.updateView(context)) };
}

function payment(stripeId: string, amount: number, currency: string, extra: Record<string, unknown> = {}) {
  return {
    [Payment.primaryId]: `id-${stripeId}`,
    [Payment.col.stripeId]: stripeId,
    [Payment.col.amount]: amount,
    [Payment.col.currency]: currency,
    [Payment.col.status]: PaymentStatus.succeeded,
    [Payment.col.amountRefunded]: 0,
    [Payment.col.disputed]: false,
    [Payment.col.stripeCreatedOn]: '2026-11-01T09:00:00Z',
    [Payment.col.liveMode]: true,
    [Payment.col.stripeAccount]: null,
    ...extra,
  };
}

function accountRow(extra: Record<string, unknown> = {}) {
  return {
    [Account.col.stripeCustomerId]: 'cus_PanelTest0001',
    [Account.col.liveMode]: true,
    [Account.col.stripeAccount]: null,
    [NAV.stc_payment_stc_customerid]: [
      payment('pi_a', 100, 'usd', {
        [Payment.col.amountRefunded]: 25,
        [Payment.col.status]: PaymentStatus.partially_refunded,
      }),
      payment('pi_b', 50.5, 'usd', { [Payment.col.stripeCreatedOn]: '2026-11-10T09:00:00Z' }),
      payment('pi_c', 3000, 'jpy', {
        [Payment.col.disputed]: true,
        [Payment.col.status]: PaymentStatus.disputed,
      }),
      payment('pi_t', 9.99, 'usd', { [Payment.col.liveMode]: false }),
      payment('pi_f', 70, 'usd', { [Payment.col.status]: PaymentStatus.failed }),
    ],
    [NAV.stc_subscription_stc_customerid]: [
      {
        [Subscription.primaryId]: 'sub-row-1',
        [Subscription.col.stripeId]: 'sub_1',
        [Subscription.col.description]: 'Pro plan',
        [Subscription.col.status]: SubscriptionStatus.active,
        [Subscription.col.amount]: 29,
        [Subscription.col.currency]: 'usd',
        [Subscription.col.interval]: BillingInterval.month,
        [Subscription.col.intervalCount]: 1,
        [Subscription.col.currentPeriodEnd]: '2026-12-15T00:00:00Z',
        [Subscription.col.cancelAtPeriodEnd]: false,
        [Subscription.col.monthlyRecurringRevenue]: 29,
        [Subscription.col.liveMode]: true,
      },
      {
        [Subscription.primaryId]: 'sub-row-2',
        [Subscription.col.stripeId]: 'sub_2',
        [Subscription.col.status]: SubscriptionStatus.canceled,
        [Subscription.col.currency]: 'usd',
        [Subscription.col.monthlyRecurringRevenue]: 0,
        [Subscription.col.liveMode]: true,
      },
      {
        [Subscription.primaryId]: 'sub-row-3',
        [Subscription.col.stripeId]: 'sub_3',
        [Subscription.col.description]: 'Annual support',
        [Subscription.col.status]: SubscriptionStatus.past_due,
        [Subscription.col.amount]: 120,
        [Subscription.col.currency]: 'usd',
        [Subscription.col.interval]: BillingInterval.year,
        [Subscription.col.intervalCount]: 1,
        [Subscription.col.monthlyRecurringRevenue]: 10,
        [Subscription.col.liveMode]: true,
      },
    ],
    [NAV.stc_stripeinvoice_stc_customerid]: [
      {
        [StripeInvoice.col.status]: StripeInvoiceStatus.open,
        [StripeInvoice.col.currency]: 'usd',
        [StripeInvoice.col.amountRemaining]: 120,
        [StripeInvoice.col.liveMode]: true,
      },
      {
        [StripeInvoice.col.status]: StripeInvoiceStatus.paid,
        [StripeInvoice.col.currency]: 'usd',
        [StripeInvoice.col.amountRemaining]: 0,
        [StripeInvoice.col.liveMode]: true,
      },
    ],
    ...extra,
  };
}

describe('CustomerPanel', () => {
  it('shows loading, then the linked customer with totals per mode and currency', async () => {
    const context = contextFor({ customerId: 'cus_PanelTest0001' });
    let resolve: (row: Record<string, unknown>) => void = () => undefined;
    context.webAPI.retrieveRecord.mockReturnValue(new Promise((r) => (resolve = r)));
    mount(context);
    expect(screen.getByText('Loading Stripe customer…')).toBeTruthy();
    await act(async () => resolve(accountRow()));

    expect(
      screen
        .getByRole('link', { name: 'Open customer cus_PanelTest0001 in the Stripe Dashboard' })
        .getAttribute('href'),
    ).toBe('https://dashboard.stripe.com/customers/cus_PanelTest0001');
    const live = screen.getByRole('group', { name: 'Totals' });
    expect(within(live).getByText('USD 150.50 · JPY 3,000')).toBeTruthy();
    expect(within(live).getByText('USD 25.00')).toBeTruthy();
    expect(within(live).getByText('1 (USD 120.00)')).toBeTruthy();
    // Monthly recurring revenue of the active and past-due subscriptions (29.00 + 120.00 a year).
    expect(within(live).getByText('Monthly recurring revenue')).toBeTruthy();
    expect(within(live).getByText('USD 39.00')).toBeTruthy();
    const test = screen.getByRole('group', { name: 'Totals in test mode' });
    expect(within(test).getByText('USD 9.99')).toBeTruthy();
    // Beside the live totals, the test ones say their mode.
    expect(within(test).getByText('Test mode')).toBeTruthy();
    expect(within(live).queryByText('Test mode')).toBeNull();

    const subscription = screen.getByTestId('subscription-sub_1');
    expect(within(subscription).getByText('Renews 2026-12-15')).toBeTruthy();
    expect(subscription.textContent).toContain('USD 29.00 / Month');
    expect(screen.queryByTestId('subscription-sub_2')).toBeNull();
    expect(screen.getByText('Active subscriptions (2)')).toBeTruthy();
    expect(screen.getByText('Disputed payments')).toBeTruthy();
    expect(await screen.findByText(/1 payment\(s\) of this customer are disputed/)).toBeTruthy();
  });

  it('says test mode once for a test-mode customer, beside the customer, not again on its totals', async () => {
    const context = contextFor({ customerId: 'cus_PanelTest0001' });
    context.webAPI.retrieveRecord.mockResolvedValue(
      accountRow({
        [Account.col.liveMode]: false,
        [NAV.stc_payment_stc_customerid]: [payment('pi_t', 9.99, 'usd', { [Payment.col.liveMode]: false })],
        [NAV.stc_subscription_stc_customerid]: [],
        [NAV.stc_stripeinvoice_stc_customerid]: [],
      }),
    );
    mount(context);
    const totals = await screen.findByRole('group', { name: 'Totals in test mode' });
    expect(within(totals).getByText('USD 9.99')).toBeTruthy();
    expect(within(totals).queryByText('Test mode')).toBeNull();
    const header = screen.getByRole('link', {
      name: 'Open customer cus_PanelTest0001 in the Stripe Dashboard',
    }).parentElement!;
    expect(within(header).getByText('Test mode')).toBeTruthy();
  });

  it('reads everything in one Web API request, however often it is rendered', async () => {
    const context = contextFor({ customerId: 'cus_PanelTest0001' });
    context.webAPI.retrieveRecord.mockResolvedValue(accountRow());
    const { rerender } = mount(context);
    await screen.findByText('Recent payments');
    for (let i = 0; i < 5; i++) rerender();
    expect(context.webAPI.retrieveRecord).toHaveBeenCalledTimes(1);
    expect(context.webAPI.retrieveMultipleRecords).not.toHaveBeenCalled();
    const [entity, id, query] = context.webAPI.retrieveRecord.mock.calls[0];
    expect([entity, id]).toEqual(['account', ACCOUNT_ID]);
    for (const navigation of [
      NAV.stc_payment_stc_customerid,
      NAV.stc_subscription_stc_customerid,
      NAV.stc_stripeinvoice_stc_customerid,
    ]) {
      expect(query).toContain(`${navigation}($select=`);
    }
  });

  it('shows the error and nothing else when the read fails', async () => {
    const context = contextFor();
    context.webAPI.retrieveRecord.mockRejectedValue(new Error('Network request failed'));
    mount(context);
    expect(
      await screen.findByText('The Stripe customer could not be loaded: Network request failed'),
    ).toBeTruthy();
  });

  it('says when a linked customer has no activity yet', async () => {
    const context = contextFor();
    context.webAPI.retrieveRecord.mockResolvedValue(
      accountRow({
        [NAV.stc_payment_stc_customerid]: [],
        [NAV.stc_subscription_stc_customerid]: [],
        [NAV.stc_stripeinvoice_stc_customerid]: [],
      }),
    );
    mount(context);
    expect(await screen.findByText('No payments or invoices yet.')).toBeTruthy();
    expect(screen.getByText('No active subscription.')).toBeTruthy();
  });

  it('hides the customer id when field security does not let the user read it', async () => {
    const context = contextFor({ security: { readable: false, editable: false, secured: true } });
    context.webAPI.retrieveRecord.mockResolvedValue(accountRow());
    mount(context);
    expect(await screen.findByText('(hidden by field security)')).toBeTruthy();
    expect(screen.queryByText('cus_PanelTest0001')).toBeNull();
  });
});

describe('CustomerPanel linking', () => {
  const unlinked = () =>
    accountRow({ [Account.col.stripeCustomerId]: null, [NAV.stc_payment_stc_customerid]: [] });

  it('validates the id and writes a valid one to stc_stripecustomerid', async () => {
    const context = contextFor();
    context.webAPI.retrieveRecord.mockResolvedValueOnce(unlinked()).mockResolvedValueOnce(accountRow());
    context.webAPI.updateRecord.mockResolvedValue({ id: ACCOUNT_ID, entityType: 'account' });
    mount(context);
    const input = await screen.findByLabelText('Stripe customer id');
    fireEvent.click(screen.getByRole('button', { name: 'Link' }));
    expect(await screen.findByText('Enter a Stripe customer id.')).toBeTruthy();
    fireEvent.change(input, { target: { value: 'cust_123' } });
    fireEvent.click(screen.getByRole('button', { name: 'Link' }));
    expect(
      await screen.findByText('A Stripe customer id starts with cus_ followed by letters and digits.'),
    ).toBeTruthy();
    expect(context.webAPI.updateRecord).not.toHaveBeenCalled();

    fireEvent.change(input, { target: { value: ' cus_NffrFeUfNV2Hib ' } });
    fireEvent.click(screen.getByRole('button', { name: 'Link' }));
    await waitFor(() =>
      expect(context.webAPI.updateRecord).toHaveBeenCalledWith('account', ACCOUNT_ID, {
        stc_stripecustomerid: 'cus_NffrFeUfNV2Hib',
      }),
    );
    expect(await screen.findByText(/Linked to cus_NffrFeUfNV2Hib\./)).toBeTruthy();
    expect(await screen.findByText('Recent payments')).toBeTruthy();
  });

  it('explains a customer id already linked to another record', async () => {
    const context = contextFor();
    context.webAPI.retrieveRecord.mockResolvedValue(unlinked());
    context.webAPI.updateRecord.mockRejectedValue({
      code: 0x80060892 - 2 ** 32,
      message: 'A record with matching key values already exists.',
    });
    mount(context);
    fireEvent.change(await screen.findByLabelText('Stripe customer id'), {
      target: { value: 'cus_Taken0001' },
    });
    fireEvent.click(screen.getByRole('button', { name: 'Link' }));
    expect(await screen.findByText('Another record is already linked to cus_Taken0001.')).toBeTruthy();
  });

  it('offers no link on a read-only form', async () => {
    const context = contextFor({ isControlDisabled: true });
    context.webAPI.retrieveRecord.mockResolvedValue(unlinked());
    mount(context);
    expect(await screen.findByText('This record is not linked to a Stripe customer.')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Link' })).toBeNull();
  });

  it('offers no link to a user without write privilege on the table', async () => {
    const context = contextFor({ deniedPrivileges: ['account:Write'] });
    context.webAPI.retrieveRecord.mockResolvedValue(unlinked());
    mount(context);
    await screen.findByText('This record is not linked to a Stripe customer.');
    expect(screen.queryByRole('button', { name: 'Link' })).toBeNull();
  });

  it('shows a panel placed on another table as a configuration problem', async () => {
    const context = contextFor({ entityTypeName: 'lead' });
    mount(context);
    expect(await screen.findByText(/not on lead forms/)).toBeTruthy();
    expect(context.webAPI.retrieveRecord).not.toHaveBeenCalled();
  });
});
