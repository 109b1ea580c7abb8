/**
 * Payment links: a user's `stc_paymentlinkrequest` row (created with Create payment link on a quote, an order
 * or an invoice) becomes a Stripe Checkout Session of the document's lines under policy. The handler re-reads the
 * row and acts from its current status only:
 *
 *   Pending ──policy──▶ Rejected | Processing ──Stripe──▶ Created (URL on the request and the document) | Failed
 *   Processing (a crash or a transient failure mid-way) ──▶ resumed: the session is asked for again under the
 *   same idempotency key, which gives the one already made
 *
 * One page of a document is payable at a time. A new request replaces the document's open page: before its
 * session is made, the sessions of the document's other Created requests are expired (Stripe's
 * `checkout.session.expired`) and those requests marked Expired, saying which request replaced them; a page
 * found paid meanwhile refuses the new request instead. A sales user asks again for a page because the one
 * sent is lost, about to lapse, or no longer matches the document (its lines or total changed): the newest
 * page is the one that counts, as the document's URL already said, and an open page at an old total is
 * never left payable. While another request for the document is still Processing (its page being made), a
 * new one is refused: it would not see that page. Two requests worked at the same moment are settled after
 * their sessions are made (keepOnePage): the newest open page stays, the others are expired, and none
 * stays open once the document is paid.
 *
 * The payment that follows closes the loop in the orders handler (inbound/orders/payment-links.ts): the
 * document is marked paid and the request Paid; an expired session marks it Expired. A quote's payment makes
 * the quote's order and wins the quote (inbound/orders/quotes.ts).
 */
import { PaymentLinkRequest } from '@stc/solution/tables';
import type { DataverseChangeHandler, SyncContext } from '../../pipeline/handler';
import { DEFAULT_OUTBOUND_SETTINGS, type OutboundSettings } from '../../config/outbound';
import { governedRequestHandler } from '../governed-requests';
import { userWithRoles } from '../refund-requests/requests';
import { readDocument, readPaymentUrl, writePaymentUrl, type PayableDocument } from './documents';
import { decidePaymentLink, type PaymentLinkRules } from './policy';
import {
  documentOf,
  finish,
  PAYMENT_LINK_REQUESTS,
  readRequest,
  Status,
  transition,
  type PaymentLinkRequestRow,
} from './requests';
import { createSession, findSession } from './stripe-session';
import { checkoutPlan, label, type CheckoutLine } from './lines';
import {
  expirePage,
  markRetired,
  paidElsewhere,
  requestPages,
  type RequestPage,
} from '../../inbound/orders/payment-links';
import type Stripe from 'stripe';

export { decidePaymentLink, type PaymentLinkDecision, type PaymentLinkFacts } from './policy';
export { checkoutPlan, type CheckoutLine } from './lines';
export { sessionParams, REQUEST_METADATA_KEY } from './stripe-session';
export { DOCUMENT_TABLES, type DocumentKind } from './documents';
export { createPaymentPageDocumentsHandler, retireStalePages } from './retire';

const R = PaymentLinkRequest.col;

export interface PaymentLinkRequestsHandlerOptions {
  /** From the service configuration (`config.outbound`); default: the documented defaults. */
  settings?: OutboundSettings;
  now?: () => Date;
}

interface Governance {
  rules: PaymentLinkRules;
  livemode: boolean;
  successUrl?: string;
  now: () => Date;
}

export function createPaymentLinkRequestsHandler(
  options: PaymentLinkRequestsHandlerOptions = {},
): DataverseChangeHandler {
  const settings = options.settings ?? DEFAULT_OUTBOUND_SETTINGS;
  const g: Governance = {
    rules: {
      requesterRoles:
        settings.paymentLinkRequesterRoles ?? DEFAULT_OUTBOUND_SETTINGS.paymentLinkRequesterRoles ?? [],
    },
    livemode: settings.stripeMode === 'live',
    successUrl: settings.paymentLinkSuccessUrl,
    now: options.now ?? (() => new Date()),
  };
  return governedRequestHandler({
    resource: 'payment-link-requests',
    table: PAYMENT_LINK_REQUESTS,
    settings,
    read: readRequest,
    decide: (request, context) => decide(g, request, context),
    resume: (request, context) => resume(g, request, context),
  });
}

async function decide(g: Governance, request: PaymentLinkRequestRow, context: SyncContext): Promise<void> {
  const { dataverse, log } = context;
  const target = documentOf(request);
  const [requester, document, beingMade] = await Promise.all([
    userWithRoles(dataverse, request.createdBy),
    'problem' in target ? Promise.resolve(null) : readDocument(dataverse, target.kind, target.id),
    'problem' in target
      ? Promise.resolve([])
      : requestPages(dataverse, target, [Status.processing]).then((pages) =>
          pages.filter((page) => page.requestId !== request.id),
        ),
  ]);
  const decision = decidePaymentLink(
    {
      requester,
      document,
      documentProblem:
        'problem' in target
          ? target.problem
          : document
            ? undefined
            : `The ${label(target)} no longer exists.`,
      pagesBeingMade: beingMade.length,
    },
    g.rules,
  );
  log.info({ requestId: request.id, decision: decision.kind }, 'payment link request decided');
  if (decision.kind === 'reject') {
    await transition(dataverse, request, { status: 'rejected', reason: decision.reason, at: g.now() });
    return;
  }
  await transition(dataverse, request, { status: 'processing', livemode: g.livemode });
  await createPage(g, request.id, document!, decision.lines, context);
}

/**
 * A request left in Processing: the session it made, when Stripe has one, is recorded (even when the
 * document changed since, so that the page is known and a newer request expires it); otherwise it is asked
 * for again with the same idempotency key.
 */
async function resume(g: Governance, request: PaymentLinkRequestRow, context: SyncContext): Promise<void> {
  const target = documentOf(request);
  const document = 'problem' in target ? null : await readDocument(context.dataverse, target.kind, target.id);
  const stripe = context.stripeFor(null);
  const made = await findSession(stripe, request);
  if (made && made.status !== 'expired' && document) {
    context.log.info(
      { requestId: request.id, session: made.id },
      'payment link request resumed: its page was made',
    );
    await recordPage(g, request.id, document, made, context);
    return;
  }
  const plan = document
    ? checkoutPlan(document)
    : { problem: 'problem' in target ? target.problem : `The ${label(target)} no longer exists.` };
  if ('problem' in plan) {
    await fail(g, request.id, plan.problem, context);
    return;
  }
  await createPage(g, request.id, document!, plan.lines, context);
}

/**
 * The request's page: the document's open pages expired first (a page found paid refuses the request), the
 * session made under the request id, its URL written to the request and the document, then the document's
 * pages settled to one (keepOnePage).
 */
async function createPage(
  g: Governance,
  requestId: string,
  document: PayableDocument,
  lines: CheckoutLine[],
  context: SyncContext,
): Promise<void> {
  const { dataverse, log } = context;
  const stripe = context.stripeFor(null);
  const paidOn = await replaceOpenPages(requestId, document, stripe, context);
  if (paidOn) {
    const reason = `${documentName(document)} was paid on the payment page of request ${paidOn} already.`;
    log.warn({ requestId, document: document.id, paidOn }, 'payment link request refused: paid already');
    await finish(dataverse, requestId, {
      [R.status]: Status.rejected,
      [R.failureReason]: reason,
      [R.decidedOn]: g.now().toISOString(),
    });
    return;
  }
  const created = await createSession(stripe, { requestId, document, lines, successUrl: g.successUrl });
  if ('refusal' in created) {
    await fail(g, requestId, created.refusal, context);
    return;
  }
  await recordPage(g, requestId, document, created.session, context);
}

/** The page made: its URL on the request and the document, then the document's pages settled to one. */
async function recordPage(
  g: Governance,
  requestId: string,
  document: PayableDocument,
  session: Stripe.Checkout.Session,
  context: SyncContext,
): Promise<void> {
  const { dataverse, log } = context;
  const stripe = context.stripeFor(null);
  await writePaymentUrl(dataverse, document.kind, document.id, session.url);
  await finish(dataverse, requestId, {
    [R.status]: Status.created,
    [R.url]: session.url,
    [R.stripeSessionId]: session.id,
    [R.expiresAt]: new Date(session.expires_at * 1000).toISOString(),
    [R.failureReason]: null,
    [R.decidedOn]: g.now().toISOString(),
    [R.liveMode]: session.livemode,
  });
  log.info(
    { requestId, session: session.id, document: document.id, total: session.amount_total },
    'payment link created',
  );
  await keepOnePage(document, stripe, context);
}

/** "The order ORD-01001", as the requester reads it. */
function documentName(document: PayableDocument): string {
  return `The ${label(document)}${document.number ? ` ${document.number}` : ''}`;
}

function replacedBy(document: PayableDocument, requestId: string): string {
  return `Replaced by a newer payment page for ${documentName(document).replace(/^The /, 'the ')} (request ${requestId}): this page was expired so that only one can be paid.`;
}

/**
 * Before the request's page is made: the sessions of the document's other Created requests are expired and
 * those requests marked Expired. Returns the request whose page was paid, when one was (paid before, or found
 * paid while being expired): then no page is made.
 */
async function replaceOpenPages(
  requestId: string,
  document: PayableDocument,
  stripe: Stripe,
  context: SyncContext,
): Promise<string | null> {
  const { dataverse, log } = context;
  const pages = await requestPages(dataverse, document, [Status.created, Status.paid]);
  const others = pages.filter((page) => page.requestId !== requestId);
  let paidOn = others.find((page) => page.status === Status.paid)?.requestId ?? null;
  const expired: RequestPage[] = [];
  for (const page of others) {
    if (page.status !== Status.created || !page.sessionId) continue;
    if ((await expirePage(stripe, page.sessionId)) === 'complete') paidOn = page.requestId;
    else expired.push(page);
  }
  for (const page of expired) {
    await markRetired(
      dataverse,
      page.requestId,
      paidOn ? paidElsewhere(document.kind, paidOn) : replacedBy(document, requestId),
    );
    log.info(
      { requestId, replaced: page.requestId, session: page.sessionId, document: document.id },
      'the payment page of an earlier request for the document expired',
    );
  }
  return paidOn;
}

/**
 * After a page is made: of the document's open pages (Created requests with a session), the newest stays and
 * the others are expired, or all of them are once one is paid. Needed only when two requests were worked at
 * the same moment and neither saw the other's page before making its own; whichever settles last sees both.
 * The document's URL is set to the page kept when it showed one expired here.
 */
async function keepOnePage(document: PayableDocument, stripe: Stripe, context: SyncContext): Promise<void> {
  const { dataverse, log } = context;
  const pages = await requestPages(dataverse, document, [Status.created, Status.paid]);
  const open = pages.filter((page) => page.status === Status.created && page.sessionId);
  let paidOn = pages.find((page) => page.status === Status.paid)?.requestId ?? null;
  if (open.length === 0 || (!paidOn && open.length === 1)) return;
  let kept: RequestPage | null = paidOn ? null : open[open.length - 1];
  const expired: RequestPage[] = [];
  for (const page of open) {
    if (page === kept) continue;
    if ((await expirePage(stripe, page.sessionId!)) === 'complete') paidOn = page.requestId;
    else expired.push(page);
  }
  if (paidOn && kept) {
    if ((await expirePage(stripe, kept.sessionId!)) === 'expired') expired.push(kept);
    kept = null;
  }
  for (const page of expired)
    await markRetired(
      dataverse,
      page.requestId,
      paidOn ? paidElsewhere(document.kind, paidOn) : replacedBy(document, kept!.requestId),
    );
  log.info(
    { document: document.id, kept: kept?.requestId ?? null, expired: expired.map((page) => page.requestId) },
    'payment pages of one document made at once; one is kept',
  );
  const shown = await readPaymentUrl(dataverse, document.kind, document.id);
  if (shown && expired.some((page) => page.url === shown))
    await writePaymentUrl(dataverse, document.kind, document.id, kept?.url ?? null);
}

async function fail(g: Governance, requestId: string, reason: string, context: SyncContext): Promise<void> {
  context.log.warn({ requestId, reason }, 'payment link request failed');
  await finish(context.dataverse, requestId, {
    [R.status]: Status.failed,
    [R.failureReason]: reason,
    [R.decidedOn]: g.now().toISOString(),
  });
}
