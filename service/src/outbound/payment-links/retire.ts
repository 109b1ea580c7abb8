/**
 * A payment page follows its document: when a user closes the quote, order or invoice a page was made for, or
 * its total changes (a line added or repriced), the page no longer charges what the document asks, so its
 * Stripe session is expired and its request marked Expired with the reason. A page paid meanwhile stays paid
 * (its events write the payment). Changes made by the service's own user (a payment written, an invoice
 * closed as Paid) are not looked at.
 */
import type Stripe from 'stripe';
import { PaymentLinkRequestStatus, QuoteStatecode, SalesOrder } from '@stc/solution/tables';
import { sameId } from '../../dataverse/change';
import type { DataverseClient, Row } from '../../dataverse/types';
import { minorToMajor } from '../../mapping';
import type { DataverseChangeHandler, SyncContext } from '../../pipeline/handler';
import { DEFAULT_OUTBOUND_SETTINGS, type OutboundSettings } from '../../config/outbound';
import {
  expirePage,
  markRetired,
  NOUNS,
  requestPages,
  type RequestPage,
} from '../../inbound/orders/payment-links';
import { serviceUserResolver } from '../refund-requests/directory';
import { DOCUMENT_TABLES, readPaymentUrl, writePaymentUrl, type DocumentKind } from './documents';

/** The states in which a document can still be paid on its page: an Active quote, an open order or invoice. */
const PAYABLE_STATE: Record<DocumentKind, (statecode: unknown) => boolean> = {
  quote: (statecode) => statecode === QuoteStatecode.Active,
  // Active or Submitted: a canceled (2), fulfilled (3) or invoiced (4) order is done with.
  salesorder: (statecode) => statecode === 0 || statecode === 1,
  invoice: (statecode) => statecode === 0,
};

export interface PaymentPageDocumentsHandlerOptions {
  settings?: Pick<OutboundSettings, 'serviceUserId' | 'serviceApplicationId'>;
}

export function createPaymentPageDocumentsHandler(
  options: PaymentPageDocumentsHandlerOptions = {},
): DataverseChangeHandler {
  const serviceUser = serviceUserResolver(options.settings ?? DEFAULT_OUTBOUND_SETTINGS);
  return {
    source: 'dataverse',
    resource: 'payment-page-documents',
    changes: (Object.keys(DOCUMENT_TABLES) as DocumentKind[]).map((table) => ({
      table,
      messages: ['Update'],
    })),
    async handle(change, context) {
      const kind = change.table as DocumentKind;
      if (!DOCUMENT_TABLES[kind]) return;
      const self = await serviceUser(context.dataverse, context.log);
      if (self && sameId(change.userId, self)) {
        context.nothingWritten?.("the service's own change of the document");
        return;
      }
      const retired = await retireStalePages(kind, change.rowId, context);
      if (retired === 0) context.nothingWritten?.('no open payment page to retire');
    },
  };
}

/** Expires the document's open pages that no longer charge what it asks; returns how many were retired. */
export async function retireStalePages(
  kind: DocumentKind,
  id: string,
  context: SyncContext,
): Promise<number> {
  const { dataverse, log } = context;
  const pages = (await requestPages(dataverse, { kind, id }, [PaymentLinkRequestStatus.created])).filter(
    (page) => page.sessionId,
  );
  if (pages.length === 0) return 0;
  const document = await dataverse.retrieve(DOCUMENT_TABLES[kind].entitySet, id, {
    select: [SalesOrder.col.statecode, 'totalamount'],
  });
  const stripe = context.stripeFor(null);
  let retired = 0;
  for (const page of pages) {
    const reason = await staleBecause(kind, document, page, stripe);
    if (!reason) continue;
    if ((await expirePage(stripe, page.sessionId!)) === 'complete') continue;
    await markRetired(dataverse, page.requestId, reason);
    // A closed document takes no edit in Dynamics 365; an open one loses the page's URL.
    if (document && PAYABLE_STATE[kind](document[SalesOrder.col.statecode]))
      await takeOffUrl(dataverse, kind, id, page);
    retired++;
    log.info({ kind, document: id, requestId: page.requestId, session: page.sessionId }, reason);
  }
  return retired;
}

/** Why the page no longer fits its document, or null while it does. */
async function staleBecause(
  kind: DocumentKind,
  document: Row | null,
  page: RequestPage,
  stripe: Stripe,
): Promise<string | null> {
  const noun = NOUNS[kind];
  if (!document) return `The ${noun} was deleted: its payment page was expired.`;
  if (!PAYABLE_STATE[kind](document[SalesOrder.col.statecode]))
    return `The ${noun} was closed after its payment page was made: the page was expired so that it cannot be paid.`;
  const session = await stripe.checkout.sessions.retrieve(page.sessionId!);
  const total = document.totalamount;
  const charged = minorToMajor(session.amount_total, session.currency ?? '');
  if (typeof total === 'number' && total !== charged)
    return `The ${noun}'s total changed after its payment page was made (${charged} on the page, ${total} now): the page was expired. Ask again for a page of the ${noun} as it is.`;
  return null;
}

/** The document's URL goes with its page, unless it shows another one. */
async function takeOffUrl(dataverse: DataverseClient, kind: DocumentKind, id: string, page: RequestPage) {
  const shown = await readPaymentUrl(dataverse, kind, id);
  if (shown && shown === page.url) await writePaymentUrl(dataverse, kind, id, null);
}
