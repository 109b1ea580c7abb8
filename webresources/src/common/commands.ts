/**
 * Command bar handlers: Refund in Stripe, Create payment link, Open in Stripe Dashboard, Sync from Stripe. They
 * read and write Dataverse only (no call to Stripe or to the service from the browser): a refund is a
 * stc_refundrequest row the service acts on, a payment link a stc_paymentlinkrequest row, a sync is a timestamp in stc_syncrequestedon that the service's Dataverse webhook step
 * filters on, and the Dashboard is a link the user opens.
 */
import {
  Account,
  Contact,
  Invoice,
  Payment,
  PaymentLinkRequest,
  PaymentLinkRequestStatus,
  Quote,
  RefundRequest,
  SalesOrder,
} from '@stc/solution/tables';
import {
  dashboardUrl,
  formatMoney,
  lookupFor,
  newGuid,
  paymentFromRow,
  paymentsQuery,
  readBoolean,
  readString,
  refundRequestPayload,
  type PaymentView,
} from '@stc/pcf-controls';
import { message } from './strings';
import { errorText, formRecord, moneyFormatter, type Platform } from './record';

const CUSTOMERS: Record<
  string,
  { customerId: string; liveMode: string; stripeAccount: string; syncRequestedOn: string }
> = {
  [Account.logicalName]: {
    customerId: Account.col.stripeCustomerId,
    liveMode: Account.col.liveMode,
    stripeAccount: Account.col.stripeAccount,
    syncRequestedOn: Account.col.syncRequestedOn,
  },
  [Contact.logicalName]: {
    customerId: Contact.col.stripeCustomerId,
    liveMode: Contact.col.liveMode,
    stripeAccount: Contact.col.stripeAccount,
    syncRequestedOn: Contact.col.syncRequestedOn,
  },
};

export const REFUND_NOTIFICATION = 'stc_refund_requested';
export const SYNC_NOTIFICATION = 'stc_sync_requested';
export const PAYMENT_LINK_NOTIFICATION = 'stc_payment_link_requested';

/** The request's lookup to the document, by the form's table: a quote, an order or an invoice. */
const PAYMENT_LINK_DOCUMENTS: Record<string, { bind: string; entitySet: string }> = {
  [Quote.logicalName]: {
    bind: PaymentLinkRequest.lookup.quoteid.bind.quote,
    entitySet: Quote.entitySetName,
  },
  [SalesOrder.logicalName]: {
    bind: PaymentLinkRequest.lookup.salesorderid.bind.salesorder,
    entitySet: SalesOrder.entitySetName,
  },
  [Invoice.logicalName]: {
    bind: PaymentLinkRequest.lookup.invoiceid.bind.invoice,
    entitySet: Invoice.entitySetName,
  },
};

async function linkedPayments(
  formContext: Xrm.FormContext,
  host: Platform,
): Promise<PaymentView[] | undefined> {
  const record = formRecord(formContext);
  const lookup = lookupFor(Payment.lookup, record.entityTypeName);
  if (!lookup) return undefined;
  if (!record.id) {
    await host.navigation.openAlertDialog({ text: message(host.languageId, 'saveFirst') });
    return undefined;
  }
  const response = await host.webApi.retrieveMultipleRecords(
    Payment.logicalName,
    paymentsQuery(lookup.value, record.id),
  );
  return response.entities.map(paymentFromRow);
}

/**
 * Refunds the one refundable payment of an order or invoice in full, after the user confirms: what the service
 * would still refund of it (captured, less refunded or succeeded requests, less open requests; see the panel's
 * paymentFromRow). Partial refunds and choosing among several payments are the Stripe payments panel's work.
 */
export async function refundInStripe(
  formContext: Xrm.FormContext,
  host: Platform,
): Promise<string | undefined> {
  const t = (key: Parameters<typeof message>[1], ...args: (string | number)[]) =>
    message(host.languageId, key, ...args);
  try {
    const payments = await linkedPayments(formContext, host);
    if (!payments) return undefined;
    const refundable = payments.filter((p) => p.refundable > 0);
    if (refundable.length === 0) {
      await host.navigation.openAlertDialog({ text: t('noRefundable') });
      return undefined;
    }
    if (refundable.length > 1) {
      await host.navigation.openAlertDialog({ text: t('severalRefundable', refundable.length) });
      return undefined;
    }
    const payment = refundable[0];
    const amount = formatMoney(moneyFormatter(host.languageId), payment.refundable, payment.currency);
    const answer = await host.navigation.openConfirmDialog({
      title: t('refundTitle'),
      text: t('refundConfirm', amount, payment.stripeId),
      confirmButtonLabel: t('refundConfirmButton'),
    });
    if (!answer.confirmed) return undefined;
    const payload = refundRequestPayload(
      {
        requestId: newGuid(),
        payment,
        amount: payment.refundable,
        reason: 'requested_by_customer',
        note: '',
      },
      t('refundRequestName', payment.stripeId),
    );
    const created = await host.webApi.createRecord(RefundRequest.logicalName, payload);
    formContext.ui.setFormNotification(
      t('refundRequested', amount, payment.stripeId),
      'INFO',
      REFUND_NOTIFICATION,
    );
    return created.id;
  } catch (error) {
    await host.navigation.openAlertDialog({ text: t('failed', errorText(error)) });
    return undefined;
  }
}

/**
 * Asks for a Stripe payment page of the quote, order or invoice with its lines: a stc_paymentlinkrequest row the
 * service checks and turns into a Checkout Session. Its URL then shows in the form's Stripe tab.
 */
export async function createPaymentLink(
  formContext: Xrm.FormContext,
  host: Platform,
): Promise<string | undefined> {
  const t = (key: Parameters<typeof message>[1], ...args: (string | number)[]) =>
    message(host.languageId, key, ...args);
  const record = formRecord(formContext);
  const document = PAYMENT_LINK_DOCUMENTS[record.entityTypeName];
  if (!document) return undefined;
  if (!record.id) {
    await host.navigation.openAlertDialog({ text: t('saveFirst') });
    return undefined;
  }
  try {
    const title = formContext.data.entity.getPrimaryAttributeValue() || record.id;
    const created = await host.webApi.createRecord(PaymentLinkRequest.logicalName, {
      [PaymentLinkRequest.col.name]: t('paymentLinkRequestName', title).slice(0, 200),
      [`${document.bind}@odata.bind`]: `/${document.entitySet}(${record.id})`,
      [PaymentLinkRequest.col.status]: PaymentLinkRequestStatus.pending,
    });
    // A quote is read-only once Active: its page shows as a notification on the form, not in its Stripe tab.
    formContext.ui.setFormNotification(
      t(record.entityTypeName === Quote.logicalName ? 'paymentLinkRequestedQuote' : 'paymentLinkRequested'),
      'INFO',
      PAYMENT_LINK_NOTIFICATION,
    );
    return created.id;
  } catch (error) {
    await host.navigation.openAlertDialog({ text: t('failed', errorText(error)) });
    return undefined;
  }
}

/** The Stripe Dashboard page of the record: the customer of an account or contact, the latest payment of an order or invoice. */
export async function openInStripeDashboard(
  formContext: Xrm.FormContext,
  host: Platform,
): Promise<string | undefined> {
  const record = formRecord(formContext);
  try {
    let url: string | undefined;
    const customer = CUSTOMERS[record.entityTypeName];
    if (customer) {
      const row = record.id
        ? await host.webApi.retrieveRecord(
            record.entityTypeName,
            record.id,
            `?$select=${customer.customerId},${customer.liveMode},${customer.stripeAccount}`,
          )
        : {};
      const customerId = readString(row, customer.customerId);
      if (!customerId) {
        await host.navigation.openAlertDialog({ text: message(host.languageId, 'notLinkedCustomer') });
        return undefined;
      }
      url = dashboardUrl(
        'customers',
        customerId,
        readBoolean(row, customer.liveMode),
        readString(row, customer.stripeAccount),
      );
    } else {
      const payments = await linkedPayments(formContext, host);
      if (!payments) return undefined;
      const latest = payments[0];
      if (!latest) {
        await host.navigation.openAlertDialog({ text: message(host.languageId, 'noPayments') });
        return undefined;
      }
      url = dashboardUrl('payments', latest.stripeId, latest.livemode, latest.stripeAccount);
    }
    host.navigation.openUrl(url);
    return url;
  } catch (error) {
    await host.navigation.openAlertDialog({ text: message(host.languageId, 'failed', errorText(error)) });
    return undefined;
  }
}

/** Asks the service to re-read the record's Stripe data: the customer row itself, or each payment of an order or invoice. */
export async function syncFromStripe(
  formContext: Xrm.FormContext,
  host: Platform,
  now = new Date(),
): Promise<number> {
  const record = formRecord(formContext);
  const stamp = now.toISOString();
  try {
    const customer = CUSTOMERS[record.entityTypeName];
    let count = 0;
    if (customer) {
      if (!record.id) {
        await host.navigation.openAlertDialog({ text: message(host.languageId, 'saveFirst') });
        return 0;
      }
      await host.webApi.updateRecord(record.entityTypeName, record.id, { [customer.syncRequestedOn]: stamp });
      count = 1;
    } else {
      const payments = await linkedPayments(formContext, host);
      if (!payments) return 0;
      if (payments.length === 0) {
        await host.navigation.openAlertDialog({ text: message(host.languageId, 'noPayments') });
        return 0;
      }
      for (const payment of payments) {
        await host.webApi.updateRecord(Payment.logicalName, payment.id, {
          [Payment.col.syncRequestedOn]: stamp,
        });
      }
      count = payments.length;
    }
    formContext.ui.setFormNotification(
      message(host.languageId, 'syncRequested', count),
      'INFO',
      SYNC_NOTIFICATION,
    );
    return count;
  } catch (error) {
    await host.navigation.openAlertDialog({ text: message(host.languageId, 'failed', errorText(error)) });
    return 0;
  }
}
