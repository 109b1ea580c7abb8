/**
 * A payment page made for a quote (a payment link request's Checkout Session whose metadata names
 * d365_quoteid) closes the loop on the quote. The session makes its order as any checkout does (one order per
 * session, by its key, whatever the deliveries), with the order's quote set and, when Dynamics 365 has no
 * account or contact of the session's Stripe customer or payer, the quote's customer. Once the session is
 * paid, the quote is won with the WinQuote action: Dataverse does not set a quote Won by an update, and an
 * Active or Won quote takes no edit (its payment page's URL stays on the request). A quote already won (by an
 * earlier delivery) is left as it is; one a user has closed or set back to Draft meanwhile is not won, which
 * is logged: its order still records the payment.
 */
import { Account, Contact, Quote, QuoteStatecode, QuoteStatuscode, SalesOrder } from '@stc/solution/tables';
import { isGuid } from '../../config/outbound';
import type { DataverseClient, Row } from '../../dataverse/types';
import type { SyncContext } from '../../pipeline/handler';
import type { StripeObject } from '../../write/stripe-objects';

/** What an order made from a quote's payment page takes from the quote. */
export interface QuoteSource {
  id: string;
  number: string | null;
  statecode: number | null;
  /** The quote's account or contact, as a lookup navigation per customer table and the row's path. */
  customer: { table: 'account' | 'contact'; path: string } | null;
}

/** The quote, or null when it is gone. */
export async function readQuote(dataverse: DataverseClient, id: string): Promise<QuoteSource | null> {
  const c = Quote.col;
  const row = await dataverse.retrieve(Quote.entitySetName, id, {
    select: [c.quoteNumber, c.statecode, Quote.lookup.customerId.value],
  });
  if (!row) return null;
  return {
    id,
    number: typeof row[c.quoteNumber] === 'string' ? String(row[c.quoteNumber]) : null,
    statecode: typeof row[c.statecode] === 'number' ? Number(row[c.statecode]) : null,
    customer: await customerOf(dataverse, row[Quote.lookup.customerId.value]),
  };
}

/** The account or contact a customer lookup holds (its GUID alone does not say which table). */
async function customerOf(dataverse: DataverseClient, id: unknown): Promise<QuoteSource['customer']> {
  if (!isGuid(id)) return null;
  for (const [table, meta] of [
    ['account', Account],
    ['contact', Contact],
  ] as const) {
    if (await dataverse.retrieve(meta.entitySetName, id, { select: [meta.primaryId] }))
      return { table, path: `/${meta.entitySetName}(${id.toLowerCase()})` };
  }
  return null;
}

/**
 * The quote on an order's row: its quote lookup (orders only; an invoice has none in the model), and the quote's
 * customer when the session's own did not bind one.
 */
export function fromQuote(row: Row, quote: QuoteSource, entitySet: string, customerFound: boolean): boolean {
  if (entitySet === SalesOrder.entitySetName)
    row[`${SalesOrder.lookup.quoteId.bind.quote}@odata.bind`] = `/${Quote.entitySetName}(${quote.id})`;
  if (customerFound || !quote.customer) return customerFound;
  row[`${SalesOrder.lookup.customerId.bind[quote.customer.table]}@odata.bind`] = quote.customer.path;
  return true;
}

/** Wins the paid quote with WinQuote; a won quote is left as it is. */
export async function winPaidQuote(
  quote: QuoteSource,
  session: StripeObject,
  { dataverse, log }: SyncContext,
): Promise<void> {
  const fields = { quote: quote.id, number: quote.number, session: session.id };
  if (quote.statecode === QuoteStatecode.Won) {
    log.info(fields, 'the quote paid through Stripe is won already');
    return;
  }
  if (quote.statecode !== QuoteStatecode.Active) {
    log.warn(
      { ...fields, statecode: quote.statecode },
      'the quote paid through Stripe is no longer Active, so it is not won; its order records the payment',
    );
    return;
  }
  try {
    await dataverse.executeAction('WinQuote', {
      QuoteClose: {
        subject: `Paid through Stripe (${session.id})`.slice(0, 200),
        'quoteid@odata.bind': `/${Quote.entitySetName}(${quote.id})`,
      },
      Status: QuoteStatuscode.Won,
    });
  } catch (error) {
    // Won meanwhile (a delivery worked at the same time): what was asked for is done.
    const now = await dataverse.retrieve(Quote.entitySetName, quote.id, { select: [Quote.col.statecode] });
    if (now?.[Quote.col.statecode] === QuoteStatecode.Won) return;
    throw error;
  }
  log.info(fields, 'quote won: paid through its Stripe payment page');
}
