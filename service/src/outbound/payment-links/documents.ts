/**
 * The Dataverse side of a payment link: the quote, order or invoice a request names, read with what its Stripe
 * payment page is made of (lines, currency, totals, customer), and where the page's URL is written back.
 */
import { Account, Contact, Invoice, Payment, Quote, QuoteDetail, SalesOrder } from '@stc/solution/tables';
import type { DataverseClient, Row } from '../../dataverse/types';
import { isGuid } from '../../config/outbound';
import { PAYMENT_LINK_METADATA, type DocumentKind } from '../../inbound/orders';
import { paymentStatusName } from '../../inbound/orders/documents';

export type { DocumentKind };

interface DocumentTable {
  kind: DocumentKind;
  entitySet: string;
  primaryId: string;
  /** The number Dynamics 365 gives it (QUO-…, ORD-…, INV-…): the session's client_reference_id. */
  number: string;
  lines: string;
  lineParent: string;
  /** The metadata key naming it on the Checkout Session and its PaymentIntent. */
  metadataKey: string;
  /**
   * It carries the connector's payment columns: Stripe payment status, mode, and the payment page's URL (an order
   * or invoice). A quote has none: it is paid through the order its page makes, and an Active quote is
   * read-only, so its page's URL stays on the request (the quote form's script shows it).
   */
  stripePayment: boolean;
}

export const DOCUMENT_TABLES: Record<DocumentKind, DocumentTable> = {
  quote: {
    kind: 'quote',
    entitySet: Quote.entitySetName,
    primaryId: Quote.primaryId,
    number: Quote.col.quoteNumber,
    lines: QuoteDetail.entitySetName,
    lineParent: QuoteDetail.lookup.quoteId.value,
    metadataKey: PAYMENT_LINK_METADATA.quote,
    stripePayment: false,
  },
  salesorder: {
    kind: 'salesorder',
    entitySet: SalesOrder.entitySetName,
    primaryId: SalesOrder.primaryId,
    number: 'ordernumber',
    lines: 'salesorderdetails',
    lineParent: '_salesorderid_value',
    metadataKey: PAYMENT_LINK_METADATA.salesorder,
    stripePayment: true,
  },
  invoice: {
    kind: 'invoice',
    entitySet: Invoice.entitySetName,
    primaryId: Invoice.primaryId,
    number: 'invoicenumber',
    lines: 'invoicedetails',
    lineParent: '_invoiceid_value',
    metadataKey: PAYMENT_LINK_METADATA.invoice,
    stripePayment: true,
  },
};

/** A line as Dynamics 365 holds it; amounts in major units as the Web API gives them. */
export interface DocumentLine {
  description: string;
  quantity: unknown;
  pricePerUnit: unknown;
  discount: unknown;
  tax: unknown;
  extendedAmount: unknown;
}

export interface PayableDocument {
  kind: DocumentKind;
  id: string;
  number: string | null;
  name: string | null;
  statecode: number | null;
  paymentStatus: number | null;
  /** Lower-case ISO code of the document's currency, or null when it has none. */
  currency: string | null;
  totalAmount: unknown;
  freightAmount: unknown;
  lines: DocumentLine[];
  customer: { stripeCustomerId: string | null; email: string | null } | null;
  livemode: boolean | null;
  /**
   * The status of the Stripe payment the document names, while that payment may still pay it (held for
   * capture, processing, waiting for the customer); null otherwise.
   */
  paymentInProgress: PaymentInProgress | null;
}

/** Statuses of a payment that may still pay its document. */
const IN_PROGRESS = [
  'requires_capture',
  'processing',
  'requires_action',
  'requires_confirmation',
  'pending',
] as const;
export type PaymentInProgress = (typeof IN_PROGRESS)[number];

const DOCUMENT_COLUMNS = [
  'name',
  'statecode',
  'totalamount',
  'freightamount',
  '_transactioncurrencyid_value',
  '_customerid_value',
];
const STRIPE_PAYMENT_COLUMNS = [
  SalesOrder.col.paymentStatus,
  SalesOrder.col.liveMode,
  SalesOrder.col.stripePaymentId,
];
const LINE_COLUMNS = [
  'quantity',
  'priceperunit',
  'manualdiscountamount',
  'volumediscountamount',
  'tax',
  'extendedamount',
  'productdescription',
  '_productid_value',
  'lineitemnumber',
];

const num = (value: unknown): number | null => (typeof value === 'number' ? value : null);
const str = (value: unknown): string | null => (typeof value === 'string' && value ? value : null);

/** The document with its lines, currency and customer; null when it is gone. */
export async function readDocument(
  dataverse: DataverseClient,
  kind: DocumentKind,
  id: string,
): Promise<PayableDocument | null> {
  const table = DOCUMENT_TABLES[kind];
  const row = await dataverse.retrieve(table.entitySet, id, {
    select: [
      table.primaryId,
      table.number,
      ...DOCUMENT_COLUMNS,
      ...(table.stripePayment ? STRIPE_PAYMENT_COLUMNS : []),
    ],
  });
  if (!row) return null;
  const [lines, currency, customer, paymentInProgress] = await Promise.all([
    readLines(dataverse, table, id),
    readCurrency(dataverse, row._transactioncurrencyid_value),
    readCustomer(dataverse, row._customerid_value),
    readPaymentInProgress(dataverse, str(row[SalesOrder.col.stripePaymentId])),
  ]);
  return {
    kind,
    id,
    number: str(row[table.number]),
    name: str(row.name),
    statecode: num(row.statecode),
    paymentStatus: num(row[SalesOrder.col.paymentStatus]),
    currency,
    totalAmount: row.totalamount,
    freightAmount: row.freightamount,
    lines,
    customer,
    livemode:
      typeof row[SalesOrder.col.liveMode] === 'boolean' ? Boolean(row[SalesOrder.col.liveMode]) : null,
    paymentInProgress,
  };
}

/** The named payment's status when it may still pay the document (a shop checkout's hold, a debit on its way). */
async function readPaymentInProgress(
  dataverse: DataverseClient,
  paymentId: string | null,
): Promise<PaymentInProgress | null> {
  if (!paymentId) return null;
  const payment = await dataverse.retrieveByKey(
    Payment.entitySetName,
    { [Payment.col.stripeId]: paymentId },
    { select: [Payment.col.status] },
  );
  const status = paymentStatusName(payment?.[Payment.col.status]);
  return (IN_PROGRESS as readonly string[]).includes(status ?? '') ? (status as PaymentInProgress) : null;
}

async function readLines(dataverse: DataverseClient, table: DocumentTable, id: string) {
  const rows = await dataverse.retrieveMultiple(table.lines, {
    select: LINE_COLUMNS,
    filter: `${table.lineParent} eq ${id}`,
    orderBy: ['lineitemnumber asc'],
  });
  const productIds = [...new Set(rows.map((r) => r._productid_value).filter(isGuid))];
  const names = new Map<string, string>();
  if (productIds.length) {
    const products = await dataverse.retrieveMultiple('products', {
      select: ['productid', 'name'],
      filter: productIds.map((p) => `productid eq ${p}`).join(' or '),
    });
    for (const p of products) names.set(String(p.productid).toLowerCase(), String(p.name ?? ''));
  }
  return rows.map((r: Row): DocumentLine => ({
    description:
      (isGuid(r._productid_value) ? names.get(r._productid_value.toLowerCase()) : undefined) ||
      str(r.productdescription) ||
      'Item',
    quantity: r.quantity,
    pricePerUnit: r.priceperunit,
    discount: (num(r.manualdiscountamount) ?? 0) + (num(r.volumediscountamount) ?? 0),
    tax: r.tax,
    extendedAmount: r.extendedamount,
  }));
}

async function readCurrency(dataverse: DataverseClient, id: unknown): Promise<string | null> {
  if (!isGuid(id)) return null;
  const row = await dataverse.retrieve('transactioncurrencies', id, { select: ['isocurrencycode'] });
  return str(row?.isocurrencycode)?.toLowerCase() ?? null;
}

/** The account or contact the document is for: its Stripe customer and e-mail. */
async function readCustomer(dataverse: DataverseClient, id: unknown) {
  if (!isGuid(id)) return null;
  for (const table of [Account, Contact]) {
    const row = await dataverse.retrieve(table.entitySetName, id, {
      select: [table.col.stripeCustomerId, table.col.eMailAddress1],
    });
    if (row)
      return {
        stripeCustomerId: str(row[table.col.stripeCustomerId]),
        email: str(row[table.col.eMailAddress1]),
      };
  }
  return null;
}

/** Shows the payment page on an order or invoice (the Stripe tab's Stripe Payment Page); a quote takes no edit. */
export async function writePaymentUrl(
  dataverse: DataverseClient,
  kind: DocumentKind,
  id: string,
  url: string | null,
): Promise<void> {
  if (!DOCUMENT_TABLES[kind].stripePayment) return;
  await dataverse.update(DOCUMENT_TABLES[kind].entitySet, id, { [SalesOrder.col.paymentUrl]: url });
}

/** The payment page's URL an order or invoice shows; null for a quote (it shows none) or a document that is gone. */
export async function readPaymentUrl(
  dataverse: DataverseClient,
  kind: DocumentKind,
  id: string,
): Promise<string | null> {
  if (!DOCUMENT_TABLES[kind].stripePayment) return null;
  const row = await dataverse.retrieve(DOCUMENT_TABLES[kind].entitySet, id, {
    select: [SalesOrder.col.paymentUrl],
  });
  return str(row?.[SalesOrder.col.paymentUrl]);
}
