/**
 * Stripe subscriptions from a form: each asks through a stc_subscriptionrequest row, which the connector checks
 * against policy and carries out in Stripe (the browser calls nothing but Dataverse). On an account or contact,
 * **Stripe subscription…** opens a new request for it (action Create) for the user to name the price or product
 * and the quantity; on an order, **Start subscription** asks, once the user confirms, for a subscription of
 * the order's recurring lines (enabled while the order has lines and is not canceled); on a Stripe
 * subscription, Cancel at period end, Cancel now, Pause and Resume collection write the request at once after
 * the user confirms.
 */
import {
  SalesOrder,
  SalesOrderDetail,
  SalesorderStatecode,
  Subscription,
  SubscriptionAction,
  SubscriptionRequest,
} from '@stc/solution/tables';
import { message, type MessageKey } from './strings';
import { errorText, formRecord, type Platform } from './record';

export type SubscriptionChange = 'cancel_at_period_end' | 'cancel_now' | 'pause' | 'resume';

export const SUBSCRIPTION_NOTIFICATION = 'stc_subscription_requested';

const R = SubscriptionRequest.col;
const CUSTOMER_BIND = SubscriptionRequest.lookup.customerid.bind;

const CHANGE_MESSAGES: Record<SubscriptionChange, { title: MessageKey; confirm: MessageKey }> = {
  cancel_at_period_end: {
    title: 'subscriptionCancelAtPeriodEndTitle',
    confirm: 'subscriptionCancelAtPeriodEndConfirm',
  },
  cancel_now: { title: 'subscriptionCancelNowTitle', confirm: 'subscriptionCancelNowConfirm' },
  pause: { title: 'subscriptionPauseTitle', confirm: 'subscriptionPauseConfirm' },
  resume: { title: 'subscriptionResumeTitle', confirm: 'subscriptionResumeConfirm' },
};

/** Opens a new Subscription Request for the form's account or contact, its action Create. */
export async function requestSubscription(formContext: Xrm.FormContext, host: Platform): Promise<void> {
  const record = formRecord(formContext);
  if (!record.id) {
    await host.navigation.openAlertDialog({ text: message(host.languageId, 'saveFirst') });
    return;
  }
  const name = formContext.data.entity.getPrimaryAttributeValue() || record.id;
  // A customer lookup is set through form parameters as its id, name and table.
  await host.navigation.openForm(
    { entityName: SubscriptionRequest.logicalName },
    {
      [R.name]: message(host.languageId, 'subscriptionRequestName', name).slice(0, 200),
      [R.action]: String(SubscriptionAction.create),
      [R.customerid]: record.id,
      [`${R.customerid}name`]: name,
      [`${R.customerid}type`]: record.entityTypeName,
    },
  );
}

/** Asks, once the user confirms, for a change of the form's Stripe subscription; the request's id, or undefined. */
export async function requestSubscriptionChange(
  formContext: Xrm.FormContext,
  change: SubscriptionChange,
  host: Platform,
): Promise<string | undefined> {
  const t = (key: MessageKey, ...args: (string | number)[]) => message(host.languageId, key, ...args);
  const record = formRecord(formContext);
  if (!record.id) {
    await host.navigation.openAlertDialog({ text: t('saveFirst') });
    return undefined;
  }
  const words = CHANGE_MESSAGES[change];
  const answer = await host.navigation.openConfirmDialog({
    title: t(words.title),
    text: t(words.confirm),
    confirmButtonLabel: t(words.title),
  });
  if (!answer.confirmed) return undefined;
  const title = formContext.data.entity.getPrimaryAttributeValue() || record.id;
  const customer = formContext.getAttribute(Subscription.col.customerid)?.getValue() as
    Xrm.LookupValue[] | null | undefined;
  const bind = customer?.[0]
    ? CUSTOMER_BIND[customer[0].entityType as keyof typeof CUSTOMER_BIND]
    : undefined;
  try {
    const created = await host.webApi.createRecord(SubscriptionRequest.logicalName, {
      [R.name]: `${t(words.title)}: ${title}`.slice(0, 200),
      [R.action]: SubscriptionAction[change],
      [`${SubscriptionRequest.lookup.subscriptionid.bind.stc_subscription}@odata.bind`]: `/${Subscription.entitySetName}(${record.id})`,
      ...(bind && customer?.[0]
        ? {
            [`${bind}@odata.bind`]: `/${customer[0].entityType}s(${customer[0].id.replace(/[{}]/g, '').toLowerCase()})`,
          }
        : {}),
    });
    formContext.ui.setFormNotification(t('subscriptionRequested'), 'INFO', SUBSCRIPTION_NOTIFICATION);
    return created.id;
  } catch (error) {
    await host.navigation.openAlertDialog({ text: t('failed', errorText(error)) });
    return undefined;
  }
}

/**
 * Whether Start subscription is enabled on the order form (its enable rule): the order is saved, not
 * canceled, and has at least one line. Read from Dataverse, since the form need not show either.
 */
export async function orderMaySubscribe(formContext: Xrm.FormContext, host: Platform): Promise<boolean> {
  const record = formRecord(formContext);
  if (!record.id) return false;
  try {
    const [order, lines] = await Promise.all([
      host.webApi.retrieveRecord(SalesOrder.logicalName, record.id, `?$select=${SalesOrder.col.statecode}`),
      host.webApi.retrieveMultipleRecords(
        SalesOrderDetail.logicalName,
        `?$select=${SalesOrderDetail.primaryId}&$filter=${SalesOrderDetail.lookup.salesOrderId.value} eq ${record.id}&$top=1`,
      ),
    ]);
    return order[SalesOrder.col.statecode] !== SalesorderStatecode.Canceled && lines.entities.length > 0;
  } catch {
    // A rule that cannot tell leaves the button disabled; the form shows nothing else.
    return false;
  }
}

/** Asks, once the user confirms, for a Stripe subscription of the form's order; the request's id, or undefined. */
export async function requestSubscriptionFromOrder(
  formContext: Xrm.FormContext,
  host: Platform,
): Promise<string | undefined> {
  const t = (key: MessageKey, ...args: (string | number)[]) => message(host.languageId, key, ...args);
  const record = formRecord(formContext);
  if (!record.id) {
    await host.navigation.openAlertDialog({ text: t('saveFirst') });
    return undefined;
  }
  const answer = await host.navigation.openConfirmDialog({
    title: t('orderSubscriptionTitle'),
    text: t('orderSubscriptionConfirm'),
    confirmButtonLabel: t('orderSubscriptionTitle'),
  });
  if (!answer.confirmed) return undefined;
  const title = formContext.data.entity.getPrimaryAttributeValue() || record.id;
  try {
    const created = await host.webApi.createRecord(SubscriptionRequest.logicalName, {
      [R.name]: t('orderSubscriptionRequestName', title).slice(0, 200),
      [R.action]: SubscriptionAction.create,
      [`${SubscriptionRequest.lookup.salesorderid.bind.salesorder}@odata.bind`]: `/${SalesOrder.entitySetName}(${record.id})`,
    });
    formContext.ui.setFormNotification(t('orderSubscriptionRequested'), 'INFO', SUBSCRIPTION_NOTIFICATION);
    return created.id;
  } catch (error) {
    await host.navigation.openAlertDialog({ text: t('failed', errorText(error)) });
    return undefined;
  }
}
