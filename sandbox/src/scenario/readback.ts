/**
 * How the scenario reads its outcomes back: polling until a row (or a Stripe object) is what a check expects,
 * and failing with what was last seen when it never is.
 */
import { odataString, type WebApi } from './webapi';

export interface Row extends Record<string, unknown> {
  '@odata.etag'?: string;
}

/** A check that did not hold; its message is what the scenario reports. */
export class CheckFailed extends Error {}

/** Polls until `probe` gives a value, or fails with what was last seen. */
export async function until<T>(
  what: string,
  probe: () => Promise<{ value?: T; seen?: string }>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let seen = 'nothing yet';
  for (;;) {
    const result = await probe();
    if (result.value !== undefined) return result.value;
    seen = result.seen ?? seen;
    if (Date.now() > deadline)
      throw new CheckFailed(`${what}: not within ${timeoutMs / 1000} s (last seen: ${seen})`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** The value, or a failure saying the earlier step it came from did not happen. */
export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new CheckFailed(`skipped: ${what} did not happen`);
  return value;
}

/** A row without its OData annotations, as the scenario shows what it last saw. */
export function strip(row: Row): Row {
  const {
    ['@odata.etag']: _etag,
    ['@odata.context']: _context,
    ...rest
  } = row as Row & { '@odata.context'?: string };
  return rest;
}

/** The name of an option value, or the value itself when no option has it. */
export function statusName(options: Record<string, number>, value: unknown): string {
  return Object.entries(options).find(([, v]) => v === value)?.[0] ?? String(value);
}

/** Reads of Dataverse rows, each polled until `accept` holds. */
export interface ReadBack {
  /** The stc_payment row of a payment intent. */
  paymentRow(intentId: string, accept: (row: Row) => boolean, describe: string): Promise<Row>;
  /** A row of `entitySet` by its Stripe id key. */
  rowByKey(entitySet: string, stripeId: string, select: string, accept: (row: Row) => boolean): Promise<Row>;
  /** The account or contact row of a Stripe customer. */
  customerRow(
    entitySet: 'accounts' | 'contacts',
    customerId: string,
    select: string,
    accept: (row: Row) => boolean,
  ): Promise<Row>;
}

const PAYMENT_COLUMNS =
  'stc_paymentid,stc_amount,stc_currency,stc_status,stc_amountrefunded,stc_failurecode,stc_disputed';

export function readBack(dataverse: WebApi, timeoutMs: number): ReadBack {
  /** Polls `read` until it gives a row that `accept` takes. */
  const acceptedRow = (what: string, read: () => Promise<Row | undefined>, accept: (row: Row) => boolean) =>
    until(
      what,
      async () => {
        const row = await read();
        if (!row) return { seen: 'no row' };
        return accept(row) ? { value: row } : { seen: JSON.stringify(strip(row)) };
      },
      timeoutMs,
    );
  return {
    paymentRow: (intentId, accept, describe) =>
      acceptedRow(
        `stc_payment row for ${intentId} ${describe}`,
        () =>
          dataverse.get<Row>(
            `stc_payments(stc_stripeid=${odataString(intentId)})?$select=${PAYMENT_COLUMNS}`,
          ),
        accept,
      ),
    rowByKey: (entitySet, stripeId, select, accept) =>
      acceptedRow(
        `${entitySet} row for ${stripeId}`,
        () => dataverse.get<Row>(`${entitySet}(stc_stripeid=${odataString(stripeId)})?$select=${select}`),
        accept,
      ),
    customerRow: (entitySet, customerId, select, accept) =>
      acceptedRow(
        `${entitySet} row for ${customerId}`,
        async () =>
          (
            await dataverse.list<Row>(
              `${entitySet}?$filter=stc_stripecustomerid eq ${odataString(customerId)}&$select=${select}`,
            )
          )[0],
        accept,
      ),
  };
}
