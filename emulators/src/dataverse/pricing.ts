/**
 * What Dynamics 365 Sales computes on orders, invoices and quotes, so that a caller reads back the totals
 * Dynamics 365 would show: the document number when none is given (`ORD-01000-A1B2C3`), each line's amount
 * and extended amount, and the document's totals over its lines, recomputed whenever a line or the
 * document's discount or freight changes. Values a caller sends for calculated columns are replaced, as the
 * platform's system price calculation does. The "line item" discount method (the default) is used:
 *   line  baseamount     = priceperunit × quantity
 *         extendedamount = baseamount − volumediscountamount × quantity − manualdiscountamount + tax
 *   doc   totallineitemamount = Σ (extendedamount − tax)        totallineitemdiscountamount = Σ manual discounts
 *         totalamountlessfreight = totallineitemamount × (1 − discountpercentage / 100) − discountamount
 *         totaltax = Σ tax     totalamount = totalamountlessfreight + freightamount + totaltax
 *         totaldiscountamount = totallineitemdiscountamount + the document's own discounts
 * Amounts are exact decimals (decimal.js), kept to the money columns' four places.
 */
import { randomInt } from 'node:crypto';
import Decimal from 'decimal.js';
import type { TableMeta } from './metadata';
import { isLookupRef, type RowRecord } from './store';

interface DocumentKind {
  document: string;
  line: string;
  /** The line's lookup to its document. */
  parentColumn: string;
  numberColumn: string;
  prefix: string;
}

const KINDS: DocumentKind[] = [
  {
    document: 'salesorder',
    line: 'salesorderdetail',
    parentColumn: 'salesorderid',
    numberColumn: 'ordernumber',
    prefix: 'ORD',
  },
  {
    document: 'invoice',
    line: 'invoicedetail',
    parentColumn: 'invoiceid',
    numberColumn: 'invoicenumber',
    prefix: 'INV',
  },
  {
    document: 'quote',
    line: 'quotedetail',
    parentColumn: 'quoteid',
    numberColumn: 'quotenumber',
    prefix: 'QUO',
  },
];

const byDocument = new Map(KINDS.map((kind) => [kind.document, kind]));
const byLine = new Map(KINDS.map((kind) => [kind.line, kind]));

const LINE_CALCULATED = ['baseamount', 'extendedamount'];
const DOCUMENT_CALCULATED = [
  'totalamount',
  'totalamountlessfreight',
  'totaldiscountamount',
  'totallineitemamount',
  'totallineitemdiscountamount',
  'totaltax',
];
/** Document columns whose change moves its totals. */
const DOCUMENT_INPUTS = ['discountamount', 'discountpercentage', 'freightamount'];

const MONEY_PLACES = 4;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

const dec = (value: unknown): Decimal =>
  typeof value === 'number' || typeof value === 'string' ? new Decimal(value) : new Decimal(0);
const money = (value: Decimal): number => value.toDecimalPlaces(MONEY_PLACES).toNumber();

function present(meta: TableMeta, values: Record<string, unknown>, names: string[]): void {
  for (const name of names) if (!meta.columns.has(name)) delete values[name];
}

/** Reads and writes rows inside the write's transaction. */
export interface PricingRows {
  rows(table: string): Iterable<RowRecord>;
  get(table: string, id: string): RowRecord | undefined;
  put(table: string, values: Record<string, unknown>, existing: RowRecord): void;
}

export class SalesPricing {
  /** Each kind of document is numbered in its own sequence, as Dynamics 365 numbers them. */
  private readonly sequences = new Map<string, number>();

  /** Fills a new document's number and a line's amounts before the row is stored. */
  prepare(meta: TableMeta, values: Record<string, unknown>, creating: boolean): void {
    const document = byDocument.get(meta.logicalName);
    if (document) {
      if (
        creating &&
        (values[document.numberColumn] ?? null) === null &&
        meta.columns.has(document.numberColumn)
      )
        values[document.numberColumn] = this.nextNumber(document.prefix);
      return;
    }
    if (byLine.has(meta.logicalName)) {
      const quantity = dec(values.quantity);
      const base = dec(values.priceperunit).times(quantity);
      const extended = base
        .minus(dec(values.volumediscountamount).times(quantity))
        .minus(dec(values.manualdiscountamount))
        .plus(dec(values.tax));
      values.baseamount = money(base);
      values.extendedamount = money(extended);
      present(meta, values, LINE_CALCULATED);
    }
  }

  /** Caller values for calculated columns are not taken. */
  dropCalculated(meta: TableMeta, payload: Record<string, unknown>): void {
    if (byDocument.has(meta.logicalName)) for (const name of DOCUMENT_CALCULATED) delete payload[name];
    if (byLine.has(meta.logicalName)) for (const name of LINE_CALCULATED) delete payload[name];
  }

  /**
   * The documents whose totals a write to this row moves: the document itself when its discount or freight
   * changed, or a line's document (before and after the write, should the line have moved).
   */
  affected(
    meta: TableMeta,
    before: RowRecord | undefined,
    after: Record<string, unknown> | undefined,
  ): Array<{ table: string; id: string }> {
    const document = byDocument.get(meta.logicalName);
    if (document) {
      const id = after?.[meta.primaryId];
      if (typeof id !== 'string') return [];
      const moved = !before || DOCUMENT_INPUTS.some((name) => before.values[name] !== after?.[name]);
      return moved ? [{ table: document.document, id }] : [];
    }
    const line = byLine.get(meta.logicalName);
    if (!line) return [];
    const ids = new Set<string>();
    for (const values of [before?.values, after]) {
      const parent = values?.[line.parentColumn];
      if (isLookupRef(parent)) ids.add(parent.id);
    }
    return [...ids].map((id) => ({ table: line.document, id }));
  }

  /** Recomputes a document's totals from its lines; writes the document only when a total changed. */
  total(documentMeta: TableMeta, documentId: string, rows: PricingRows): void {
    const kind = byDocument.get(documentMeta.logicalName);
    const existing = kind && rows.get(kind.document, documentId);
    if (!kind || !existing) return;
    let lineAmount = new Decimal(0);
    let lineDiscount = new Decimal(0);
    let tax = new Decimal(0);
    for (const line of rows.rows(kind.line)) {
      const parent = line.values[kind.parentColumn];
      if (!isLookupRef(parent) || parent.id !== documentId) continue;
      const lineTax = dec(line.values.tax);
      lineAmount = lineAmount.plus(dec(line.values.extendedamount).minus(lineTax));
      lineDiscount = lineDiscount.plus(dec(line.values.manualdiscountamount));
      tax = tax.plus(lineTax);
    }
    const v = existing.values;
    const percentOff = lineAmount.times(dec(v.discountpercentage)).dividedBy(100);
    const lessFreight = lineAmount.minus(percentOff).minus(dec(v.discountamount));
    const totals: Record<string, unknown> = {
      totallineitemamount: money(lineAmount),
      totallineitemdiscountamount: money(lineDiscount),
      totaldiscountamount: money(lineDiscount.plus(percentOff).plus(dec(v.discountamount))),
      totalamountlessfreight: money(lessFreight),
      totaltax: money(tax),
      totalamount: money(lessFreight.plus(dec(v.freightamount)).plus(tax)),
    };
    present(documentMeta, totals, DOCUMENT_CALCULATED);
    if (Object.entries(totals).every(([name, value]) => v[name] === value)) return;
    rows.put(kind.document, { ...v, ...totals }, existing);
  }

  /** `ORD-01001-K3Q8ZP`: a sequence and six random characters, as Dynamics 365's auto-numbering gives. */
  private nextNumber(prefix: string): string {
    const sequence = (this.sequences.get(prefix) ?? 1000) + 1;
    this.sequences.set(prefix, sequence);
    let suffix = '';
    for (let i = 0; i < 6; i++) suffix += ALPHABET[randomInt(ALPHABET.length)];
    return `${prefix}-${String(sequence).padStart(5, '0')}-${suffix}`;
  }
}
