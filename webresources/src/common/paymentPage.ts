/**
 * On load of a quote: the Stripe payment page its newest payment link request made (Created, and not yet
 * expired), as a form notification to copy or send to the customer. An Active quote is read-only in Dynamics
 * 365, so the page's URL stays on the request rather than on the quote.
 */
import { PaymentLinkRequest, PaymentLinkRequestStatus } from '@stc/solution/tables';
import { readString } from '@stc/pcf-controls';
import { message } from './strings';
import { errorText, formRecord, type Platform } from './record';

const R = PaymentLinkRequest.col;
export const PAYMENT_PAGE_NOTIFICATION = 'stc_payment_page';

export function paymentPageQuery(quoteId: string): string {
  return (
    `?$select=${R.url},${R.expiresAt}` +
    `&$filter=${PaymentLinkRequest.lookup.quoteid.value} eq ${quoteId} and ${R.status} eq ${PaymentLinkRequestStatus.created}` +
    `&$orderby=createdon desc&$top=1`
  );
}

/** Shows the quote's open payment page; its URL, or undefined when it has none. Errors are shown, never thrown. */
export async function showPaymentPage(
  formContext: Xrm.FormContext,
  host: Platform,
  now: () => Date = () => new Date(),
): Promise<string | undefined> {
  const record = formRecord(formContext);
  if (!record.id) return undefined;
  const error = `${PAYMENT_PAGE_NOTIFICATION}_error`;
  try {
    const response = await host.webApi.retrieveMultipleRecords(
      PaymentLinkRequest.logicalName,
      paymentPageQuery(record.id),
    );
    formContext.ui.clearFormNotification(error);
    formContext.ui.clearFormNotification(PAYMENT_PAGE_NOTIFICATION);
    const row = response.entities[0];
    const url = row ? readString(row, R.url) : undefined;
    if (!url) return undefined;
    const expires = readString(row, R.expiresAt);
    const until = expires ? new Date(expires) : undefined;
    if (until && until.getTime() <= now().getTime()) return undefined;
    const when = until
      ? new Intl.DateTimeFormat(host.languageId === 1031 ? 'de-DE' : 'en-US', {
          dateStyle: 'medium',
          timeStyle: 'short',
        }).format(until)
      : '—';
    formContext.ui.setFormNotification(
      message(host.languageId, 'paymentPageOpen', url, when),
      'INFO',
      PAYMENT_PAGE_NOTIFICATION,
    );
    return url;
  } catch (failure) {
    formContext.ui.setFormNotification(
      message(host.languageId, 'paymentPageReadFailed', errorText(failure)),
      'WARNING',
      error,
    );
    return undefined;
  }
}
