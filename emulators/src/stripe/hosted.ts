/**
 * The pages a payer sees, reached without an API key: a Checkout Session's `url` (`/c/pay/:id`) and a
 * Payment Link's `url` (`/b/:id`, which opens a new session of the link). The page lists the lines and the
 * total and takes a test card number (`card_number`); paying redirects to the session's `success_url`, a
 * decline shows the card's message on the page again.
 */
import type Koa from 'koa';
import qs from 'qs';
import getRawBody from 'raw-body';
import type { RequestContext, StripeEngine } from './engine';
import { type Attempt, hostedLines, payCheckoutSession, sessionForLink } from './resources/checkout';
import { exponentOf } from './currencies';
import type { StripeObject } from './store';

/** An amount in minor units as the payer reads it: `12.34 USD`, `1200 JPY`, `1.234 KWD`. */
export function formatAmount(amount: number, currency: string): string {
  const digits = exponentOf(currency);
  const sign = amount < 0 ? '-' : '';
  const text = String(Math.abs(amount)).padStart(digits + 1, '0');
  const whole = digits ? `${text.slice(0, -digits)}.${text.slice(-digits)}` : text;
  return `${sign}${whole} ${currency.toUpperCase()}`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(session: StripeObject, error: string | null): string {
  const rows = hostedLines(session)
    .map(
      (item) =>
        `<tr><td>${escapeHtml(String(item.description ?? ''))}</td><td class="quantity">${item.quantity}</td>` +
        `<td class="amount">${formatAmount(item.amount_total, item.currency)}</td></tr>`,
    )
    .join('\n');
  const form =
    session.status === 'open'
      ? `<form method="post" action="/c/pay/${session.id}">
<label>Card number <input name="card_number" autocomplete="cc-number" inputmode="numeric"></label>
<button type="submit">Pay ${formatAmount(session.amount_total, session.currency)}</button>
</form>`
      : `<p class="status">${session.status === 'complete' ? 'Payment complete.' : 'This Checkout Session has expired.'}</p>`;
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Checkout</title></head>
<body data-session="${session.id}" data-status="${session.status}">
<table class="lines">
${rows}
</table>
<p class="total">Total <span class="amount">${formatAmount(session.amount_total, session.currency)}</span></p>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
${form}
</body></html>`;
}

function show(ctx: Koa.Context, session: StripeObject, error: string | null, status = 200): void {
  ctx.status = status;
  ctx.type = 'text/html';
  ctx.body = page(session, error);
}

function notFound(ctx: Koa.Context): void {
  ctx.status = 404;
  ctx.type = 'text/html';
  ctx.body =
    '<!doctype html><html><body><p>Something went wrong: this page does not exist.</p></body></html>';
}

/** The object a hosted path names, with the context of the account it belongs to. */
function locate(
  engine: StripeEngine,
  id: string,
  type: string,
): { ctx: RequestContext; object: StripeObject } | null {
  const scope = engine.scopeOf(id);
  const object = scope?.find(id);
  if (!scope || !object || object.object !== type) return null;
  return { ctx: engine.background(scope.account, scope.livemode), object };
}

/** After a successful payment the payer goes to `success_url` (`{CHECKOUT_SESSION_ID}` filled in). */
function afterPayment(ctx: Koa.Context, { session, error }: Attempt): void {
  if (error || !session.success_url) {
    show(ctx, session, error, error ? 402 : 200);
    return;
  }
  ctx.status = 303;
  ctx.redirect(String(session.success_url).replace('{CHECKOUT_SESSION_ID}', session.id));
}

async function cardNumber(ctx: Koa.Context): Promise<string> {
  const raw = await getRawBody(ctx.req, { limit: '64kb', encoding: 'utf8' });
  const value = (qs.parse(raw) as Record<string, unknown>).card_number;
  return typeof value === 'string' ? value : '';
}

/** Serves the hosted pages; every other request goes on to the API. */
export function hostedPages(engine: StripeEngine): Koa.Middleware {
  return async (ctx, next) => {
    const match = /^\/(c\/pay|b)\/([A-Za-z0-9_]+)$/.exec(ctx.path);
    if (!match || !['GET', 'POST'].includes(ctx.method)) return next();
    const [, kind, id] = match;
    const found = locate(engine, id, kind === 'b' ? 'payment_link' : 'checkout.session');
    if (!found) return notFound(ctx);
    if (kind === 'b') {
      if (!found.object.active || ctx.method !== 'GET') return notFound(ctx);
      return show(ctx, sessionForLink(engine, found.ctx, found.object), null);
    }
    if (ctx.method === 'GET') return show(ctx, found.object, null);
    afterPayment(ctx, payCheckoutSession(engine, found.ctx, found.object, await cardNumber(ctx)));
  };
}
