/** Customers, Billing (products, prices, subscriptions, invoices) and payouts with their balance transactions. */
import Stripe from 'stripe';
import type { StripeEmulator } from '..';
import { confirmedPayment, emulatorForEachTest } from './harness';

let emulator: StripeEmulator;
let stripe: Stripe;

const typesAfter = emulatorForEachTest((started) => ({ emulator, stripe } = started));

describe('customers', () => {
  test('create, retrieve, update, list by email, search, delete', async () => {
    const created = await stripe.customers.create({
      email: 'jenny@example.com',
      name: 'Jenny Rosen',
      address: { line1: '510 Townsend St', city: 'San Francisco', country: 'US' },
      metadata: { crm_id: 'A-1' },
    });
    expect(created).toMatchObject({
      object: 'customer',
      email: 'jenny@example.com',
      metadata: { crm_id: 'A-1' },
    });
    expect(created.address).toEqual({
      city: 'San Francisco',
      country: 'US',
      line1: '510 Townsend St',
      line2: null,
      postal_code: null,
      state: null,
    });
    await stripe.customers.create({ email: 'other@example.com', name: 'Other' });

    const updated = await stripe.customers.update(created.id, {
      name: 'Jenny R.',
      metadata: { crm_id: '', tier: 'gold' },
      description: '',
    });
    expect(updated).toMatchObject({ name: 'Jenny R.', metadata: { tier: 'gold' }, description: null });
    expect((await stripe.customers.retrieve(created.id)) as Stripe.Customer).toMatchObject({
      name: 'Jenny R.',
    });

    expect((await stripe.customers.list({ email: 'jenny@example.com' })).data.map((c) => c.id)).toEqual([
      created.id,
    ]);
    const found = await stripe.customers.search({ query: "email:'jenny@example.com'" });
    expect(found.data.map((c) => c.id)).toEqual([created.id]);
    expect((await stripe.customers.search({ query: "metadata['tier']:'gold'" })).data).toHaveLength(1);
    expect((await stripe.customers.search({ query: "name~'R'" })).data).toHaveLength(2);

    const deleted = await stripe.customers.del(created.id);
    expect(deleted).toEqual(expect.objectContaining({ id: created.id, object: 'customer', deleted: true }));
    expect(await stripe.customers.retrieve(created.id)).toMatchObject({ deleted: true });
    expect((await stripe.customers.list()).data).toHaveLength(1);
    expect(emulator.events.map((e) => e.type)).toEqual([
      'customer.created',
      'customer.created',
      'customer.updated',
      'customer.deleted',
    ]);
    const deletedEvent = emulator.events.at(-1)!;
    expect(deletedEvent.data.object).toMatchObject({
      id: created.id,
      deleted: true,
      email: 'jenny@example.com',
    });
  });

  test('an e-mail that is not an address is refused, on create and on update, and changes nothing', async () => {
    const before = emulator.events.length;
    await expect(stripe.customers.create({ name: 'Jenny', email: 'jenny at example' })).rejects.toMatchObject(
      {
        type: 'StripeInvalidRequestError',
        statusCode: 400,
        code: 'email_invalid',
        param: 'email',
        message: 'Invalid email address: jenny at example',
      },
    );
    const customer = await stripe.customers.create({ name: 'Jenny', email: 'jenny@example.com' });
    await expect(
      stripe.customers.update(customer.id, { name: 'Jenny Rosen', email: 'jenny@example' }),
    ).rejects.toMatchObject({ code: 'email_invalid' });
    expect(await stripe.customers.retrieve(customer.id)).toMatchObject({
      name: 'Jenny',
      email: 'jenny@example.com',
    });
    // Empty clears it.
    expect(await stripe.customers.update(customer.id, { email: '' })).toMatchObject({ email: null });
    expect(emulator.events.slice(before).map((e) => e.type)).toEqual([
      'customer.created',
      'customer.updated',
    ]);
  });

  test('customer list pages with auto-pagination', async () => {
    const ids = [];
    for (let i = 0; i < 25; i++) ids.push((await stripe.customers.create({ name: `C${i}` })).id);
    const seen: string[] = [];
    for await (const customer of stripe.customers.list({ limit: 10 })) seen.push(customer.id);
    expect(seen).toEqual(ids.reverse());
  });

  test('a card that declines cannot be attached; an attachable one becomes the default', async () => {
    await expect(stripe.customers.create({ payment_method: 'pm_card_chargeDeclined' })).rejects.toMatchObject(
      { statusCode: 402, code: 'card_declined' },
    );
    expect((await stripe.customers.list()).data).toHaveLength(0);
    const customer = await stripe.customers.create({
      payment_method: 'pm_card_visa',
      invoice_settings: { default_payment_method: 'pm_card_visa' },
    });
    const paymentMethodId = customer.invoice_settings.default_payment_method as string;
    expect(paymentMethodId).toMatch(/^pm_/);
    const methods = await stripe.customers.listPaymentMethods(customer.id);
    expect(methods.data.map((pm) => pm.id)).toEqual([paymentMethodId]);
  });
});

describe('billing', () => {
  async function plan(amount = 1500) {
    const product = await stripe.products.create({ name: 'Pro plan' });
    const price = await stripe.prices.create({
      product: product.id,
      unit_amount: amount,
      currency: 'usd',
      recurring: { interval: 'month' },
    });
    return { product, price };
  }

  /** A customer with a card that pays, on a monthly plan of one unit. */
  async function subscribedWithCard() {
    const customer = await stripe.customers.create({
      payment_method: 'pm_card_visa',
      invoice_settings: { default_payment_method: 'pm_card_visa' },
    });
    const { price } = await plan();
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
    });
    return { customer, subscription };
  }

  test('a subscription bills its first invoice and becomes active, with Stripe’s events', async () => {
    const customer = await stripe.customers.create({
      payment_method: 'pm_card_visa',
      invoice_settings: { default_payment_method: 'pm_card_visa' },
    });
    const { price } = await plan();
    const before = emulator.events.length;
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id, quantity: 2 }],
      expand: ['latest_invoice'],
    });
    expect(subscription.status).toBe('active');
    const invoice = subscription.latest_invoice as Stripe.Invoice;
    expect(invoice).toMatchObject({
      status: 'paid',
      amount_due: 3000,
      amount_paid: 3000,
      billing_reason: 'subscription_create',
      customer: customer.id,
    });
    expect(invoice.parent?.subscription_details?.subscription).toBe(subscription.id);
    expect(invoice.lines.data[0]).toMatchObject({
      amount: 3000,
      quantity: 2,
      pricing: { price_details: { price: price.id } },
    });
    expect(invoice.number).toMatch(/^[A-Z0-9]{8}-0001$/);
    expect(typesAfter(before)).toEqual([
      'customer.subscription.created',
      'invoice.created',
      'invoice.finalized',
      'payment_intent.created',
      'charge.succeeded',
      'payment_intent.succeeded',
      'charge.updated',
      'invoice_payment.paid',
      'invoice.paid',
      'invoice.payment_succeeded',
      'customer.subscription.updated',
    ]);
    const paid = emulator.events.find((e) => e.type === 'invoice.paid')!;
    expect((paid.data.object as Stripe.Invoice).lines.data).toHaveLength(1);
    const [payment] = (await stripe.invoicePayments.list({ invoice: invoice.id })).data;
    const paymentIntent = await stripe.paymentIntents.retrieve(payment.payment.payment_intent as string);
    expect(paymentIntent).toMatchObject({ amount: 3000, status: 'succeeded', customer: customer.id });

    const renewal = emulator.events.length;
    emulator.testHelpers.renewSubscription(subscription.id);
    expect(typesAfter(renewal)).toEqual(
      expect.arrayContaining(['invoice.created', 'invoice.paid', 'customer.subscription.updated']),
    );
    const invoices = await stripe.invoices.list({ subscription: subscription.id });
    expect(invoices.data.map((i) => i.billing_reason)).toEqual(['subscription_cycle', 'subscription_create']);

    const canceled = await stripe.subscriptions.cancel(subscription.id);
    expect(canceled.status).toBe('canceled');
    expect(emulator.events.at(-1)!.type).toBe('customer.subscription.deleted');
    expect((await stripe.subscriptions.list({ customer: customer.id })).data).toHaveLength(0);
    expect(
      (await stripe.subscriptions.list({ customer: customer.id, status: 'canceled' })).data,
    ).toHaveLength(1);
  });

  test('add_invoice_items bill one-off charges once, on the first invoice only, with the metadata kept', async () => {
    const customer = await stripe.customers.create({
      payment_method: 'pm_card_visa',
      invoice_settings: { default_payment_method: 'pm_card_visa' },
    });
    const { price } = await plan();
    const setup = await stripe.products.create({ name: 'Setup' });
    const fee = await stripe.prices.create({ product: setup.id, unit_amount: 5000, currency: 'usd' });
    const before = emulator.events.length;
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id, quantity: 2 }],
      add_invoice_items: [
        { price: fee.id },
        { price_data: { currency: 'usd', product: setup.id, unit_amount: 1250 }, quantity: 2 },
      ],
      metadata: { d365_salesorderid: 'order-1' },
      expand: ['latest_invoice'],
    });
    expect(subscription.metadata).toEqual({ d365_salesorderid: 'order-1' });
    expect(subscription.items.data).toHaveLength(1);
    const invoice = subscription.latest_invoice as Stripe.Invoice;
    expect(invoice).toMatchObject({ status: 'paid', amount_paid: 3000 + 5000 + 2500 });
    expect(invoice.lines.data.map((l) => [l.amount, l.quantity, l.parent?.type])).toEqual([
      [5000, 1, 'invoice_item_details'],
      [2500, 2, 'invoice_item_details'],
      [3000, 2, 'subscription_item_details'],
    ]);
    expect(invoice.lines.data[0].parent?.invoice_item_details?.subscription).toBe(subscription.id);
    expect(typesAfter(before).filter((t) => t === 'invoiceitem.created')).toHaveLength(2);
    // The inline price is made inactive, as Stripe makes them.
    const inline = invoice.lines.data[1].pricing?.price_details?.price as string;
    expect(await stripe.prices.retrieve(inline)).toMatchObject({ active: false, unit_amount: 1250 });

    emulator.testHelpers.renewSubscription(subscription.id);
    const [renewal] = (await stripe.invoices.list({ subscription: subscription.id })).data;
    expect(renewal).toMatchObject({ billing_reason: 'subscription_cycle', amount_due: 3000 });
  });

  test('add_invoice_items refuses a recurring price, another currency, and a missing price, creating nothing', async () => {
    const customer = await stripe.customers.create({
      payment_method: 'pm_card_visa',
      invoice_settings: { default_payment_method: 'pm_card_visa' },
    });
    const { price, product } = await plan();
    const refused = async (item: Stripe.SubscriptionCreateParams.AddInvoiceItem) =>
      stripe.subscriptions
        .create({ customer: customer.id, items: [{ price: price.id }], add_invoice_items: [item] })
        .then(
          () => 'created',
          (e: Stripe.errors.StripeError) => e.message,
        );
    expect(await refused({ price: price.id })).toBe(
      'The price specified is set to `type=recurring` but this field only accepts prices with `type=one_time`.',
    );
    expect(await refused({ price_data: { currency: 'eur', product: product.id, unit_amount: 100 } })).toBe(
      "The price's currency (eur) must match the subscription's currency (usd).",
    );
    expect(await refused({ quantity: 1 })).toBe(
      'You must specify either `price` or `price_data` in `add_invoice_items[0]`.',
    );
    expect((await stripe.subscriptions.list({ status: 'all' })).data).toHaveLength(0);
  });

  test('collection is paused with a behavior and resumed with an empty pause_collection, each an update event', async () => {
    const { subscription } = await subscribedWithCard();
    const paused = await stripe.subscriptions.update(subscription.id, {
      pause_collection: { behavior: 'void' },
    });
    expect(paused.pause_collection).toEqual({ behavior: 'void', resumes_at: null });
    const event = emulator.events.at(-1)!;
    expect(event.type).toBe('customer.subscription.updated');
    expect((event.data.object as Stripe.Subscription).pause_collection?.behavior).toBe('void');
    expect(event.data.previous_attributes).toMatchObject({ pause_collection: null });

    const resumed = await stripe.subscriptions.update(subscription.id, { pause_collection: '' });
    expect(resumed.pause_collection).toBeNull();
    expect((await stripe.subscriptions.retrieve(subscription.id)).pause_collection).toBeNull();

    await expect(
      stripe.subscriptions.update(subscription.id, {
        pause_collection: { behavior: 'skip' as 'void' },
      }),
    ).rejects.toMatchObject({
      statusCode: 400,
      param: 'pause_collection',
      message: 'Invalid pause_collection[behavior]: must be one of keep_as_draft, mark_uncollectible, void',
    });
  });

  test.each([
    ['void', 'void', 'invoice.voided'],
    ['mark_uncollectible', 'uncollectible', 'invoice.marked_uncollectible'],
    ['keep_as_draft', 'draft', 'invoice.created'],
  ] as const)(
    'a renewal while collection is paused (%s) makes its invoice %s and charges nothing',
    async (behavior, status, lastInvoiceEvent) => {
      const { customer, subscription } = await subscribedWithCard();
      await stripe.subscriptions.update(subscription.id, { pause_collection: { behavior } });
      const charges = (await stripe.paymentIntents.list({ customer: customer.id })).data.length;
      const renewal = emulator.events.length;
      emulator.testHelpers.renewSubscription(subscription.id);
      const renewed = await stripe.subscriptions.retrieve(subscription.id);
      const invoice = await stripe.invoices.retrieve(String(renewed.latest_invoice));
      expect(invoice).toMatchObject({ status, billing_reason: 'subscription_cycle', amount_paid: 0 });
      expect(
        typesAfter(renewal)
          .filter((t) => t.startsWith('invoice.'))
          .at(-1),
      ).toBe(lastInvoiceEvent);
      expect(typesAfter(renewal)).not.toContain('payment_intent.created');
      expect((await stripe.paymentIntents.list({ customer: customer.id })).data).toHaveLength(charges);
    },
  );

  test('a declined renewal fails the invoice and makes the subscription past_due', async () => {
    const customer = await stripe.customers.create({
      payment_method: 'pm_card_chargeCustomerFail',
      invoice_settings: { default_payment_method: 'pm_card_chargeCustomerFail' },
    });
    const { price } = await plan();
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      trial_period_days: 7,
    });
    expect(subscription.status).toBe('trialing');
    const before = emulator.events.length;
    emulator.testHelpers.renewSubscription(subscription.id);
    expect(typesAfter(before)).toEqual(
      expect.arrayContaining(['charge.failed', 'payment_intent.payment_failed', 'invoice.payment_failed']),
    );
    expect((await stripe.subscriptions.retrieve(subscription.id)).status).toBe('past_due');
    const [invoice] = (await stripe.invoices.list({ subscription: subscription.id, status: 'open' })).data;
    expect(invoice).toMatchObject({ attempt_count: 1, attempted: true, amount_paid: 0 });
  });

  test('a one-off invoice from invoice items: create, finalize, pay', async () => {
    const customer = await stripe.customers.create({ payment_method: 'pm_card_visa' });
    const paymentMethod = (await stripe.customers.listPaymentMethods(customer.id)).data[0];
    await stripe.invoiceItems.create({
      customer: customer.id,
      amount: 2000,
      currency: 'usd',
      description: 'Consulting',
    });
    const draft = await stripe.invoices.create({
      customer: customer.id,
      pending_invoice_items_behavior: 'include',
    });
    expect(draft).toMatchObject({ status: 'draft', total: 2000 });
    const finalized = await stripe.invoices.finalizeInvoice(draft.id);
    expect(finalized.status).toBe('open');
    const paid = await stripe.invoices.pay(draft.id, { payment_method: paymentMethod.id });
    expect(paid).toMatchObject({ status: 'paid', amount_paid: 2000 });
    const lines = await stripe.invoices.listLineItems(draft.id);
    expect(lines.data.map((l) => l.description)).toEqual(['Consulting']);
  });

  test('paying an invoice with a card that needs 3-D Secure: open, its payment waits for the customer', async () => {
    // Stripe CLI's trigger for invoice.payment_action_required (cli-triggers/invoice.payment_action_required.json).
    const customer = await stripe.customers.create({ description: '3DS' });
    const card = await stripe.paymentMethods.attach('pm_card_threeDSecure2Required', {
      customer: customer.id,
    });
    await stripe.invoiceItems.create({ customer: customer.id, amount: 2000, currency: 'usd' });
    const invoice = await stripe.invoices.create({
      customer: customer.id,
      pending_invoice_items_behavior: 'include',
    });
    const before = emulator.events.length;
    const refused = await stripe.invoices
      .pay(invoice.id, { payment_method: card.id })
      .catch((e: Stripe.errors.StripeCardError) => e);
    expect(refused).toMatchObject({
      statusCode: 402,
      type: 'StripeCardError',
      code: 'invoice_payment_intent_requires_action',
      payment_intent: { status: 'requires_action' },
    });
    expect(typesAfter(before)).toEqual([
      'invoice.finalized',
      'payment_intent.created',
      'payment_intent.requires_action',
      'invoice.payment_action_required',
      'invoice.updated',
    ]);
    const updated = emulator.events.at(-1)!;
    expect(updated.data.previous_attributes).toMatchObject({ attempt_count: 0, attempted: false });
    const open = await stripe.invoices.retrieve(invoice.id, {
      expand: ['payments.data.payment.payment_intent'],
    });
    expect(open).toMatchObject({ status: 'open', attempt_count: 1, attempted: true, amount_paid: 0 });
    expect(open.payments!.data).toEqual([
      expect.objectContaining({
        is_default: true,
        status: 'open',
        amount_paid: null,
        amount_requested: 2000,
        payment: {
          type: 'payment_intent',
          payment_intent: expect.objectContaining({ status: 'requires_action' }),
        },
      }),
    ]);
    // Without the expansion the invoice names no payments, as Stripe returns it.
    expect((await stripe.invoices.retrieve(invoice.id)).payments).toBeUndefined();

    // The customer pays with another card: the invoice's one payment is paid, by that card's PaymentIntent.
    const visa = await stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
    const paid = await stripe.invoices.pay(invoice.id, { payment_method: visa.id });
    expect(paid).toMatchObject({ status: 'paid', attempt_count: 2 });
    const payments = (await stripe.invoicePayments.list({ invoice: invoice.id })).data;
    expect(payments).toEqual([expect.objectContaining({ status: 'paid', amount_paid: 2000 })]);
    const intent = await stripe.paymentIntents.retrieve(String(payments[0].payment.payment_intent));
    expect(intent.status).toBe('succeeded');
  });

  test('a declined attempt leaves the invoice open with its payment open, the PaymentIntent needing a method', async () => {
    const customer = await stripe.customers.create({});
    const card = await stripe.paymentMethods.attach('pm_card_chargeCustomerFail', { customer: customer.id });
    await stripe.invoiceItems.create({ customer: customer.id, amount: 2000, currency: 'usd' });
    const invoice = await stripe.invoices.create({
      customer: customer.id,
      pending_invoice_items_behavior: 'include',
    });
    await expect(stripe.invoices.pay(invoice.id, { payment_method: card.id })).rejects.toMatchObject({
      code: 'card_declined',
    });
    const open = await stripe.invoices.retrieve(invoice.id, {
      expand: ['payments.data.payment.payment_intent'],
    });
    expect(open).toMatchObject({ status: 'open', attempt_count: 1 });
    expect(open.payments!.data).toEqual([
      expect.objectContaining({
        status: 'open',
        payment: {
          type: 'payment_intent',
          payment_intent: expect.objectContaining({ status: 'requires_payment_method' }),
        },
      }),
    ]);
  });

  test('a renewal whose card needs 3-D Secure waits for the customer: past_due, invoice.payment_action_required', async () => {
    const customer = await stripe.customers.create({
      payment_method: 'pm_card_authenticationRequired',
      invoice_settings: { default_payment_method: 'pm_card_authenticationRequired' },
    });
    const { price } = await plan();
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      trial_period_days: 7,
    });
    const before = emulator.events.length;
    emulator.testHelpers.renewSubscription(subscription.id);
    expect(typesAfter(before)).toEqual(
      expect.arrayContaining(['invoice.payment_action_required', 'invoice.updated']),
    );
    expect(typesAfter(before)).not.toContain('invoice.paid');
    expect((await stripe.subscriptions.retrieve(subscription.id)).status).toBe('past_due');
    const [invoice] = (await stripe.invoices.list({ subscription: subscription.id, status: 'open' })).data;
    expect(invoice).toMatchObject({ attempt_count: 1, attempted: true, amount_paid: 0 });
    expect(invoice.next_payment_attempt).not.toBeNull();
  });

  test('products and prices list and update', async () => {
    const { product, price } = await plan(900);
    const oneOff = await stripe.prices.create({ product: product.id, unit_amount: 5000, currency: 'usd' });
    expect(oneOff.type).toBe('one_time');
    expect(
      (await stripe.prices.list({ product: product.id, type: 'recurring' })).data.map((p) => p.id),
    ).toEqual([price.id]);
    const archived = await stripe.prices.update(price.id, { active: false });
    expect(archived.active).toBe(false);
    expect((await stripe.products.update(product.id, { default_price: oneOff.id })).default_price).toBe(
      oneOff.id,
    );
    expect(typesAfter(0)).toEqual([
      'product.created',
      'price.created',
      'price.created',
      'price.updated',
      'product.updated',
    ]);
  });

  test('an archived product: product.updated carries active and updated as they were, as Stripe sends it', async () => {
    const product = await stripe.products.create({ name: 'Lamp' });
    // Into the next second, so that the change moves `updated`.
    await new Promise((resolve) => setTimeout(resolve, 1005 - (Date.now() % 1000)));
    const from = emulator.events.length;
    await stripe.products.update(product.id, { active: false });
    await stripe.products.update(product.id, { active: false });
    const events = emulator.events.slice(from) as unknown as Stripe.Event[];
    expect(events.map((event) => event.type)).toEqual(['product.updated']);
    const data = events[0].data as { object: Stripe.Product; previous_attributes: Record<string, unknown> };
    expect(data.object).toMatchObject({ active: false });
    expect(data.previous_attributes).toEqual({ active: true, updated: product.updated });
    expect(data.object.updated).toBeGreaterThan(product.updated);
  });
});

describe('payouts and balance transactions', () => {
  test('an automatic payout sweeps the balance; its transactions list by ?payout= and sum to it', async () => {
    await confirmedPayment(stripe, 10_000);
    const second = await confirmedPayment(stripe, 5_000);
    await stripe.refunds.create({ payment_intent: second.id, amount: 1_000 });
    await confirmedPayment(stripe, 3_000, 'pm_card_createDispute');

    const before = emulator.events.length;
    const payout = emulator.testHelpers.createAutomaticPayout();
    // (10000-320) + (5000-175) - 1000 + (3000-117) - (3000+1500) = 11888
    expect(payout).toMatchObject({
      amount: 11_888,
      automatic: true,
      status: 'pending',
      reconciliation_status: 'in_progress',
    });
    emulator.testHelpers.payPayout(payout.id);
    expect(typesAfter(before)).toEqual(['payout.created', 'payout.paid', 'payout.reconciliation_completed']);
    expect(await stripe.payouts.retrieve(payout.id)).toMatchObject({
      status: 'paid',
      reconciliation_status: 'completed',
    });

    const transactions: Stripe.BalanceTransaction[] = [];
    for await (const t of stripe.balanceTransactions.list({
      payout: payout.id,
      limit: 2,
      expand: ['data.source'],
    }))
      transactions.push(t);
    expect(transactions.map((t) => t.reporting_category)).toEqual([
      'payout',
      'dispute',
      'charge',
      'refund',
      'charge',
      'charge',
    ]);
    const paidIn = transactions.filter((t) => t.type !== 'payout').reduce((sum, t) => sum + t.net, 0);
    expect(paidIn).toBe(payout.amount);
    expect(transactions[0]).toMatchObject({
      amount: -11_888,
      type: 'payout',
      source: expect.objectContaining({ id: payout.id }),
    });
    expect(transactions.every((t) => t.status === 'available')).toBe(true);

    // Everything was swept: the next automatic payout is empty, and new money starts a new one.
    await confirmedPayment(stripe, 2_000);
    const next = emulator.testHelpers.createAutomaticPayout();
    expect(next.amount).toBe(2_000 - 88);
    expect((await stripe.balanceTransactions.list({ payout: next.id })).data).toHaveLength(2);
  });

  test('a manual payout needs the balance, and lists and pages', async () => {
    await expect(stripe.payouts.create({ amount: 100, currency: 'usd' })).rejects.toMatchObject({
      statusCode: 400,
      code: 'balance_insufficient',
    });
    await confirmedPayment(stripe, 10_000);
    const a = await stripe.payouts.create({ amount: 1000, currency: 'usd', expand: ['balance_transaction'] });
    expect(a).toMatchObject({
      automatic: false,
      status: 'pending',
      balance_transaction: expect.objectContaining({ amount: -1000, type: 'payout' }),
    });
    const b = await stripe.payouts.create({ amount: 2000, currency: 'usd', metadata: { batch: '7' } });
    expect((await stripe.payouts.list({ limit: 1 })).data.map((p) => p.id)).toEqual([b.id]);
    expect((await stripe.payouts.list({ limit: 1, starting_after: b.id })).data.map((p) => p.id)).toEqual([
      a.id,
    ]);
    const arriving = await stripe.payouts.list({ arrival_date: { gte: b.arrival_date } });
    expect(arriving.data.map((p) => p.id).sort()).toEqual([a.id, b.id].sort());
    expect((await stripe.payouts.list({ arrival_date: { gt: b.arrival_date } })).data).toHaveLength(0);
    emulator.testHelpers.failPayout(b.id);
    expect((await stripe.payouts.retrieve(b.id)).status).toBe('failed');
    const balance = await stripe.balance.retrieve();
    expect(balance.pending[0]).toMatchObject({ currency: 'usd', amount: 10_000 - 320 - 1000 });
  });

  test("a manual payout's balance transactions are refused by ?payout=, as Stripe refuses them", async () => {
    await confirmedPayment(stripe, 10_000);
    const manual = await stripe.payouts.create({ amount: 1000, currency: 'usd' });
    expect(manual).toMatchObject({ automatic: false, reconciliation_status: 'not_applicable' });
    const refused = await fetch(`${emulator.url}/v1/balance_transactions?payout=${manual.id}`, {
      headers: { authorization: `Bearer ${emulator.apiKey}` },
    });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({
      error: {
        type: 'invalid_request_error',
        message: 'Balance transaction history can only be filtered on automatic transfers, not manual.',
      },
    });
    await expect(stripe.balanceTransactions.list({ payout: manual.id })).rejects.toMatchObject({
      statusCode: 400,
      type: 'StripeInvalidRequestError',
      message: 'Balance transaction history can only be filtered on automatic transfers, not manual.',
    });
    // The same account's automatic payout lists: the money left after the manual one, and its own transaction.
    const automatic = emulator.testHelpers.createAutomaticPayout();
    const listed = await stripe.balanceTransactions.list({ payout: automatic.id });
    expect(listed.data.map((t) => t.type)).toEqual(['payout', 'charge']);
  });

  test('reversing a paid payout: a negative manual payout brings the money back; each names the other', async () => {
    await confirmedPayment(stripe, 10_000);
    const payout = emulator.testHelpers.createAutomaticPayout();
    await expect(stripe.payouts.reverse(payout.id)).rejects.toMatchObject({
      statusCode: 400,
      message: `Payout ${payout.id} is pending; use /v1/payouts/${payout.id}/cancel to cancel it instead.`,
    });
    emulator.testHelpers.payPayout(payout.id);
    const before = emulator.events.length;
    const reversal = await stripe.payouts.reverse(payout.id, { metadata: { reason: 'wrong account' } });
    expect(reversal).toMatchObject({
      object: 'payout',
      amount: -payout.amount,
      automatic: false,
      original_payout: payout.id,
      reversed_by: null,
      reconciliation_status: 'not_applicable',
      status: 'pending',
      metadata: { reason: 'wrong account' },
    });
    expect(await stripe.payouts.retrieve(payout.id)).toMatchObject({
      status: 'paid',
      reversed_by: reversal.id,
    });
    expect(typesAfter(before)).toEqual(['payout.updated', 'payout.created']);
    const own = await stripe.balanceTransactions.retrieve(String(reversal.balance_transaction));
    expect(own).toMatchObject({ amount: payout.amount, type: 'payout', source: reversal.id });
    await expect(stripe.payouts.reverse(payout.id)).rejects.toMatchObject({
      statusCode: 400,
      message: `Payout ${payout.id} has already been reversed by ${reversal.id}.`,
    });
    await expect(stripe.payouts.reverse(reversal.id)).rejects.toMatchObject({ statusCode: 400 });
    // The money back in the balance goes out with the next automatic payout.
    emulator.testHelpers.payPayout(reversal.id);
    expect((await stripe.payouts.retrieve(reversal.id)).status).toBe('paid');
    expect(emulator.testHelpers.createAutomaticPayout().amount).toBe(payout.amount);
  });

  test('balance transactions list by type and page through many', async () => {
    for (let i = 0; i < 12; i++) {
      await confirmedPayment(stripe, 1000 + i);
    }
    const charges = await stripe.balanceTransactions.list({ type: 'charge', limit: 5 });
    expect(charges.data).toHaveLength(5);
    expect(charges.has_more).toBe(true);
    expect(charges.data[0].amount).toBe(1011);
    let count = 0;
    for await (const _t of stripe.balanceTransactions.list({ limit: 5 })) count++;
    expect(count).toBe(12);
  });
});

describe('bulk seeding for load tests', () => {
  test('seedPayments makes settled payments without events, ready for an automatic payout', async () => {
    const ids = emulator.testHelpers.seedPayments({ count: 250, amount: (i) => 1000 + i });
    expect(ids).toHaveLength(250);
    expect(emulator.events).toHaveLength(0);
    const payout = emulator.testHelpers.createAutomaticPayout();
    const fees = ids.reduce((sum, _id, i) => sum + Math.round((1000 + i) * 0.029) + 30, 0);
    const gross = ids.reduce((sum, _id, i) => sum + 1000 + i, 0);
    expect(payout.amount).toBe(gross - fees);
    let count = 0;
    for await (const _t of stripe.balanceTransactions.list({ payout: payout.id, limit: 100 })) count++;
    expect(count).toBe(251);
    expect((await stripe.paymentIntents.retrieve(ids[0])).status).toBe('succeeded');
  });
});

describe('refused updates change nothing', () => {
  test('a subscription update naming an unknown item leaves the subscription as it was', async () => {
    const customer = await stripe.customers.create({
      payment_method: 'pm_card_visa',
      invoice_settings: { default_payment_method: 'pm_card_visa' },
    });
    const product = await stripe.products.create({ name: 'Seat' });
    const price = await stripe.prices.create({
      product: product.id,
      unit_amount: 500,
      currency: 'usd',
      recurring: { interval: 'month' },
    });
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
    });
    await expect(
      stripe.subscriptions.update(subscription.id, {
        metadata: { plan: 'x' },
        items: [{ id: 'si_unknown', quantity: 3 }],
      }),
    ).rejects.toMatchObject({ statusCode: 400, param: 'items' });
    expect((await stripe.subscriptions.retrieve(subscription.id)).metadata).toEqual({});
    const updated = await stripe.subscriptions.update(subscription.id, {
      items: [{ id: subscription.items.data[0].id, quantity: 3 }],
    });
    expect(updated.items.data[0].quantity).toBe(3);
    // The quantity change is prorated (two pending invoice items follow the subscription's update).
    const updatedEvent = emulator.events.filter((e) => e.type === 'customer.subscription.updated').at(-1)!;
    expect(updatedEvent.data.previous_attributes).toMatchObject({ items: expect.anything() });
  });

  test('customer search pages with next_page', async () => {
    for (let i = 0; i < 5; i++) await stripe.customers.create({ email: `page${i}@example.com` });
    const first = await stripe.customers.search({ query: "email~'page'", limit: 2 });
    expect(first.data).toHaveLength(2);
    expect(first.has_more).toBe(true);
    const all: string[] = [];
    for await (const c of stripe.customers.search({ query: "email~'page'", limit: 2 })) all.push(c.email!);
    expect(all).toEqual([
      'page4@example.com',
      'page3@example.com',
      'page2@example.com',
      'page1@example.com',
      'page0@example.com',
    ]);
  });
});

test('an update refused halfway leaves the customer as it was', async () => {
  const customer = await stripe.customers.create({ name: 'Before', metadata: { a: '1' } });
  await expect(
    stripe.customers.update(customer.id, { name: 'After', metadata: { ['k'.repeat(41)]: 'too long a key' } }),
  ).rejects.toMatchObject({ statusCode: 400 });
  expect(await stripe.customers.retrieve(customer.id)).toMatchObject({
    name: 'Before',
    metadata: { a: '1' },
  });
  expect(emulator.events.map((e) => e.type)).toEqual(['customer.created']);
});
