/**
 * Checkout Sessions and Payment Links through the SDK, paid on the hosted page with plain HTTP as a payer's
 * browser would post the form.
 */
import type Stripe from 'stripe';
import type { StripeEmulator } from '..';
import { formatAmount } from '../hosted';
import { emulatorForEachTest, emulatorWithClient } from './harness';

let emulator: StripeEmulator;
let stripe: Stripe;
const typesAfter = emulatorForEachTest((started) => ({ emulator, stripe } = started));

/** The payer submits the hosted form with a card number; redirects are not followed. */
function pay(url: string, cardNumber: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ card_number: cardNumber }),
    redirect: 'manual',
  });
}

function session(
  currency: string,
  lines: { amount: number; quantity: number; name: string }[],
  extra: Partial<Stripe.Checkout.SessionCreateParams> = {},
) {
  return stripe.checkout.sessions.create({
    mode: 'payment',
    success_url: 'https://shop.example/done?session={CHECKOUT_SESSION_ID}',
    cancel_url: 'https://shop.example/cart',
    line_items: lines.map(({ amount, quantity, name }) => ({
      price_data: { currency, unit_amount: amount, product_data: { name } },
      quantity,
    })),
    ...extra,
  });
}

describe('Checkout Sessions', () => {
  test('a three-line USD session paid with 4242 completes with exact amounts and Stripe’s events', async () => {
    const product = await stripe.products.create({ name: 'Gadget' });
    const price = await stripe.prices.create({ product: product.id, unit_amount: 1999, currency: 'usd' });
    const from = emulator.events.length;
    const created = await stripe.checkout.sessions.create({
      mode: 'payment',
      success_url: 'https://shop.example/done?session={CHECKOUT_SESSION_ID}',
      customer_email: 'payer@example.com',
      client_reference_id: 'order-17',
      metadata: { order: '17' },
      line_items: [
        { price: price.id, quantity: 3 },
        { price_data: { currency: 'usd', unit_amount: 250, product_data: { name: 'Cable' } }, quantity: 2 },
        { price_data: { currency: 'usd', unit_amount: 1, product_data: { name: 'Sticker' } }, quantity: 7 },
      ],
    });
    expect(created).toMatchObject({
      status: 'open',
      payment_status: 'unpaid',
      currency: 'usd',
      amount_subtotal: 6504,
      amount_total: 6504,
      payment_intent: null,
      client_reference_id: 'order-17',
      customer_email: 'payer@example.com',
    });
    expect(created.id).toMatch(/^cs_test_/);
    expect(typesAfter(from)).toEqual([]);

    const shown = await fetch(created.url!);
    const html = await shown.text();
    expect(shown.headers.get('content-type')).toMatch(/text\/html/);
    expect(html).toContain('Gadget');
    expect(html).toContain('65.04 USD');
    expect(html).toContain('name="card_number"');

    const paid = await pay(created.url!, '4242 4242 4242 4242');
    expect(paid.status).toBe(303);
    expect(paid.headers.get('location')).toBe(`https://shop.example/done?session=${created.id}`);
    expect(typesAfter(from)).toEqual([
      'payment_intent.created',
      'charge.succeeded',
      'payment_intent.succeeded',
      'charge.updated',
      'checkout.session.completed',
    ]);

    const done = await stripe.checkout.sessions.retrieve(created.id, {
      expand: ['payment_intent', 'line_items'],
    });
    expect(done).toMatchObject({ status: 'complete', payment_status: 'paid', url: null });
    const paymentIntent = done.payment_intent as Stripe.PaymentIntent;
    expect(paymentIntent).toMatchObject({ status: 'succeeded', amount: 6504, currency: 'usd' });
    expect(done.line_items!.data.map((item) => item.amount_total)).toEqual([5997, 500, 7]);
    const completed = emulator.events.at(-1)!;
    expect(completed.data.object).toMatchObject({ id: created.id, payment_intent: paymentIntent.id });

    const items = await stripe.checkout.sessions.listLineItems(created.id, {
      expand: ['data.price.product'],
    });
    expect(
      items.data.map((item) => ({
        description: item.description,
        quantity: item.quantity,
        amount_subtotal: item.amount_subtotal,
        amount_total: item.amount_total,
        amount_discount: item.amount_discount,
        amount_tax: item.amount_tax,
        currency: item.currency,
        product: (item.price!.product as Stripe.Product).name,
      })),
    ).toEqual([
      {
        description: 'Gadget',
        quantity: 3,
        amount_subtotal: 5997,
        amount_total: 5997,
        amount_discount: 0,
        amount_tax: 0,
        currency: 'usd',
        product: 'Gadget',
      },
      {
        description: 'Cable',
        quantity: 2,
        amount_subtotal: 500,
        amount_total: 500,
        amount_discount: 0,
        amount_tax: 0,
        currency: 'usd',
        product: 'Cable',
      },
      {
        description: 'Sticker',
        quantity: 7,
        amount_subtotal: 7,
        amount_total: 7,
        amount_discount: 0,
        amount_tax: 0,
        currency: 'usd',
        product: 'Sticker',
      },
    ]);
    expect(items.data[0].price!.id).toBe(price.id);
  });

  test('JPY (zero-decimal) and KWD (three-decimal) amounts are exact in minor units', async () => {
    const yen = await session('jpy', [
      { amount: 1200, quantity: 3, name: 'Tea' },
      { amount: 55, quantity: 1, name: 'Bag' },
    ]);
    expect(yen).toMatchObject({ currency: 'jpy', amount_subtotal: 3655, amount_total: 3655 });
    expect(await (await fetch(yen.url!)).text()).toContain('3655 JPY');
    expect((await pay(yen.url!, '4242424242424242')).status).toBe(303);
    const yenIntent = (await stripe.checkout.sessions.retrieve(yen.id)).payment_intent as string;
    expect(await stripe.paymentIntents.retrieve(yenIntent)).toMatchObject({ amount: 3655, currency: 'jpy' });

    const dinar = await session('kwd', [
      { amount: 1005, quantity: 2, name: 'Dates' },
      { amount: 3, quantity: 1, name: 'Card' },
    ]);
    expect(dinar).toMatchObject({ currency: 'kwd', amount_subtotal: 2013, amount_total: 2013 });
    expect(await (await fetch(dinar.url!)).text()).toContain('2.013 KWD');
    expect(formatAmount(7, 'kwd')).toBe('0.007 KWD');
    expect(formatAmount(5, 'usd')).toBe('0.05 USD');
  });

  test('catalog: prices list by product, active and lookup key; archived prices and products; inactive prices refused', async () => {
    const product = await stripe.products.create({ name: 'Mug' });
    const price = await stripe.prices.create({
      product: product.id,
      unit_amount: 1200,
      currency: 'usd',
      lookup_key: 'mug_standard',
      nickname: 'Standard',
    });
    const old = await stripe.prices.create({ product: product.id, unit_amount: 900, currency: 'usd' });
    const from = emulator.events.length;
    await stripe.prices.update(old.id, { active: false });
    await stripe.products.update(product.id, { active: false });
    expect(typesAfter(from)).toEqual(['price.updated', 'product.updated']);
    const ids = (list: { data: { id: string }[] }) => list.data.map((item) => item.id);
    expect(ids(await stripe.prices.list({ product: product.id, active: true }))).toEqual([price.id]);
    expect(ids(await stripe.prices.list({ lookup_keys: ['mug_standard'] }))).toEqual([price.id]);
    expect(ids(await stripe.products.list({ active: false }))).toEqual([product.id]);
    expect(price).toMatchObject({ nickname: 'Standard', lookup_key: 'mug_standard', type: 'one_time' });
    await expect(
      stripe.checkout.sessions.create({ mode: 'payment', line_items: [{ price: old.id, quantity: 1 }] }),
    ).rejects.toMatchObject({ statusCode: 400, param: 'line_items[0][price]' });
  });

  test('payment_intent_data gives the PaymentIntent its description and metadata', async () => {
    const created = await session('usd', [{ amount: 800, quantity: 1, name: 'Book' }], {
      payment_intent_data: { description: 'Order 42', metadata: { order: '42' } },
    });
    await pay(created.url!, '4242424242424242');
    const done = await stripe.checkout.sessions.retrieve(created.id, { expand: ['payment_intent'] });
    expect(done.payment_intent).toMatchObject({ description: 'Order 42', metadata: { order: '42' } });
  });

  test('payment_intent_data.capture_method=manual: the session completes unpaid on a hold, captured later', async () => {
    const created = await session('usd', [{ amount: 1200, quantity: 1, name: 'Tent hire' }], {
      payment_intent_data: { capture_method: 'manual' },
    });
    await pay(created.url!, '4242424242424242');
    const done = await stripe.checkout.sessions.retrieve(created.id, { expand: ['payment_intent'] });
    expect(done).toMatchObject({ status: 'complete', payment_status: 'unpaid' });
    expect(done.payment_intent).toMatchObject({
      capture_method: 'manual',
      status: 'requires_capture',
      amount_capturable: 1200,
    });
    const captured = await stripe.paymentIntents.capture((done.payment_intent as { id: string }).id);
    expect(captured).toMatchObject({ status: 'succeeded', amount_received: 1200 });
  });

  test('prices in more than one currency are refused', async () => {
    await expect(
      stripe.checkout.sessions.create({
        mode: 'payment',
        line_items: [
          { price_data: { currency: 'usd', unit_amount: 100, product_data: { name: 'A' } }, quantity: 1 },
          { price_data: { currency: 'eur', unit_amount: 100, product_data: { name: 'B' } }, quantity: 1 },
        ],
      }),
    ).rejects.toMatchObject({ statusCode: 400, param: 'line_items' });
  });

  test('a declined card leaves the session open with the error on the page; a later card pays it', async () => {
    const created = await session('usd', [{ amount: 5000, quantity: 1, name: 'Lamp' }]);
    const from = emulator.events.length;
    const declined = await pay(created.url!, '4000000000000002');
    expect(declined.status).toBe(402);
    expect(await declined.text()).toContain('Your card was declined.');
    const insufficient = await pay(created.url!, '4000000000009995');
    expect(await insufficient.text()).toContain('Your card has insufficient funds.');
    const open = await stripe.checkout.sessions.retrieve(created.id);
    expect(open).toMatchObject({ status: 'open', payment_status: 'unpaid' });
    expect(typesAfter(from)).toEqual([
      'payment_intent.created',
      'charge.failed',
      'payment_intent.payment_failed',
      'charge.failed',
      'payment_intent.payment_failed',
    ]);

    expect((await pay(created.url!, '4242424242424242')).status).toBe(303);
    const done = await stripe.checkout.sessions.retrieve(created.id);
    expect(done).toMatchObject({ status: 'complete', payment_intent: open.payment_intent });
    expect(typesAfter(from).slice(5)).toEqual([
      'charge.succeeded',
      'payment_intent.succeeded',
      'charge.updated',
      'checkout.session.completed',
    ]);
  });

  test('expire closes an open session (checkout.session.expired); the page no longer takes payment', async () => {
    const created = await session('usd', [{ amount: 700, quantity: 1, name: 'Pen' }]);
    const from = emulator.events.length;
    const expired = await stripe.checkout.sessions.expire(created.id);
    expect(expired).toMatchObject({ status: 'expired', url: null });
    expect(typesAfter(from)).toEqual(['checkout.session.expired']);
    await expect(stripe.checkout.sessions.expire(created.id)).rejects.toMatchObject({ statusCode: 400 });
    const page = await pay(created.url!, '4242424242424242');
    expect(await page.text()).toContain('expired');
    expect(typesAfter(from)).toEqual(['checkout.session.expired']);
    const listed = await stripe.checkout.sessions.list({ status: 'expired' });
    expect(listed.data.map((s) => s.id)).toEqual([created.id]);
  });
});

test('an open session past expires_at expires when next looked at', async () => {
  let now = Date.UTC(2026, 0, 1);
  const started = await emulatorWithClient({ clock: () => now });
  try {
    const created = await started.stripe.checkout.sessions.create({
      mode: 'payment',
      line_items: [
        { price_data: { currency: 'usd', unit_amount: 300, product_data: { name: 'Pin' } }, quantity: 1 },
      ],
    });
    expect(created.expires_at).toBe(now / 1000 + 24 * 60 * 60);
    now += 24 * 60 * 60 * 1000;
    expect(await started.stripe.checkout.sessions.retrieve(created.id)).toMatchObject({ status: 'expired' });
    expect(started.emulator.events.at(-1)).toMatchObject({
      type: 'checkout.session.expired',
      request: { id: null, idempotency_key: null },
    });
  } finally {
    await started.emulator.close();
  }
});

describe('Payment Links', () => {
  test('the link’s page opens a session with payment_link set; paying completes it', async () => {
    const product = await stripe.products.create({ name: 'Ticket' });
    const price = await stripe.prices.create({ product: product.id, unit_amount: 2500, currency: 'usd' });
    const link = await stripe.paymentLinks.create({ line_items: [{ price: price.id, quantity: 2 }] });
    expect(link).toMatchObject({ active: true, currency: 'usd' });
    expect(link.id).toMatch(/^plink_/);
    const lines = await stripe.paymentLinks.listLineItems(link.id);
    expect(lines.data).toMatchObject([{ quantity: 2, amount_total: 5000, description: 'Ticket' }]);

    const from = emulator.events.length;
    const html = await (await fetch(link.url)).text();
    expect(html).toContain('50.00 USD');
    const sessionId = /data-session="([^"]+)"/.exec(html)![1];
    const opened = await stripe.checkout.sessions.retrieve(sessionId);
    expect(opened).toMatchObject({ payment_link: link.id, amount_total: 5000, status: 'open' });

    const paid = await pay(opened.url!, '4242424242424242');
    expect(paid.status).toBe(200);
    expect(await paid.text()).toContain('Payment complete.');
    const completed = emulator.events.at(-1)!;
    expect(completed.type).toBe('checkout.session.completed');
    expect(completed.data.object).toMatchObject({ payment_link: link.id, payment_status: 'paid' });
    expect(typesAfter(from)).toContain('payment_intent.succeeded');
    expect((await stripe.checkout.sessions.list({ payment_link: link.id })).data).toHaveLength(1);

    await stripe.paymentLinks.update(link.id, { active: false });
    expect((await fetch(link.url)).status).toBe(404);
  });
});
