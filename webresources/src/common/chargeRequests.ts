/**
 * Charge saved card… on an account or contact: opens a new stc_chargerequest for it, for the user to enter the
 * amount, currency and what the charge is for (and the order or invoice it pays, if any). Saving the form
 * creates the row; the connector checks it against policy and charges the customer's saved Stripe payment
 * method off session. Approve and Reject on a request awaiting approval write the approver's decision as its
 * status, once a fresh read shows it still awaits approval; the connector checks the approver before it
 * charges. The browser calls nothing but Dataverse and never sees card data.
 */
import { ChargeRequest, ChargeRequestStatus, StcChargeRequestStatusLabels } from '@stc/solution/tables';
import { message } from './strings';
import { errorText, formRecord, type Platform } from './record';
import { stillDecidable, type ApprovalStatus } from './awaitingApproval';

export type ChargeDecision = 'approve' | 'reject';

export const CHARGE_DECISION_NOTIFICATION = 'stc_charge_decided';

const R = ChargeRequest.col;

const AWAITING: ApprovalStatus = {
  table: ChargeRequest.logicalName,
  column: R.status,
  awaitingApproval: ChargeRequestStatus.awaiting_approval,
  labels: StcChargeRequestStatusLabels,
  amountColumn: R.amount,
  notAwaitingMessage: 'chargeNotAwaiting',
};

/**
 * Opens a new Charge Request for the form's account or contact; on an order or invoice, for its customer, of
 * its total in its currency, naming it (the charge pays it).
 */
export async function chargeSavedCard(formContext: Xrm.FormContext, host: Platform): Promise<void> {
  const record = formRecord(formContext);
  if (!record.id) {
    await host.navigation.openAlertDialog({ text: message(host.languageId, 'saveFirst') });
    return;
  }
  const name = formContext.data.entity.getPrimaryAttributeValue() || record.id;
  if (record.entityTypeName === 'salesorder' || record.entityTypeName === 'invoice') {
    await chargeDocument(formContext, record.entityTypeName, record.id, name, host);
    return;
  }
  // A customer lookup is set through form parameters as its id, name and table.
  await host.navigation.openForm(
    { entityName: ChargeRequest.logicalName },
    {
      [R.name]: message(host.languageId, 'chargeRequestName', name).slice(0, 200),
      [R.customerid]: record.id,
      [`${R.customerid}name`]: name,
      [`${R.customerid}type`]: record.entityTypeName,
    },
  );
}

/**
 * Decides the form's charge request after the user confirms, if it still awaits approval; true when the
 * decision was saved. A request another approver decided meanwhile is not written: the user is told its
 * status, and the form is read again.
 */
export async function decideOnChargeRequest(
  formContext: Xrm.FormContext,
  decision: ChargeDecision,
  host: Platform,
): Promise<boolean> {
  const t = (key: Parameters<typeof message>[1]) => message(host.languageId, key);
  const record = formRecord(formContext);
  if (!record.id) {
    await host.navigation.openAlertDialog({ text: t('saveFirst') });
    return false;
  }
  const approve = decision === 'approve';
  const title = approve ? t('refundApproveTitle') : t('refundRejectTitle');
  const answer = await host.navigation.openConfirmDialog({
    title,
    text: t(approve ? 'chargeApproveConfirm' : 'chargeRejectConfirm'),
    confirmButtonLabel: title,
  });
  if (!answer.confirmed) return false;
  try {
    if (!(await stillDecidable(host, formContext, record.id, AWAITING))) return false;
    await host.webApi.updateRecord(ChargeRequest.logicalName, record.id, {
      [R.status]: approve ? ChargeRequestStatus.approved : ChargeRequestStatus.refused,
    });
  } catch (error) {
    await host.navigation.openAlertDialog({ text: message(host.languageId, 'failed', errorText(error)) });
    return false;
  }
  formContext.ui.setFormNotification(
    t(approve ? 'chargeApproved' : 'chargeRejected'),
    'INFO',
    CHARGE_DECISION_NOTIFICATION,
  );
  await formContext.data.refresh(false);
  return true;
}

/** The lookup's first value, its id without braces in lower case. */
function lookupOf(formContext: Xrm.FormContext, column: string): Xrm.LookupValue | null {
  const value = formContext.getAttribute(column)?.getValue() as Xrm.LookupValue[] | null | undefined;
  const first = value?.[0];
  return first ? { ...first, id: first.id.replace(/[{}]/g, '').toLowerCase() } : null;
}

async function chargeDocument(
  formContext: Xrm.FormContext,
  kind: 'salesorder' | 'invoice',
  id: string,
  name: string,
  host: Platform,
): Promise<void> {
  const customer = lookupOf(formContext, 'customerid');
  if (!customer) {
    await host.navigation.openAlertDialog({ text: message(host.languageId, 'chargeNoCustomer') });
    return;
  }
  const currency = lookupOf(formContext, 'transactioncurrencyid');
  const iso = currency
    ? await host.webApi
        .retrieveRecord('transactioncurrency', currency.id, '?$select=isocurrencycode')
        .then((row) => (typeof row.isocurrencycode === 'string' ? row.isocurrencycode.toLowerCase() : null))
        .catch(() => null)
    : null;
  const total = formContext.getAttribute('totalamount')?.getValue();
  const document = kind === 'salesorder' ? R.salesorderid : R.invoiceid;
  await host.navigation.openForm(
    { entityName: ChargeRequest.logicalName },
    {
      [R.name]: message(host.languageId, 'chargeRequestName', name).slice(0, 200),
      [R.customerid]: customer.id,
      [`${R.customerid}name`]: customer.name ?? '',
      [`${R.customerid}type`]: customer.entityType,
      [document]: id,
      [`${document}name`]: name,
      [`${document}type`]: kind,
      // Form parameters are text (Xrm's OpenParameters): the total in plain decimal notation.
      ...(typeof total === 'number' ? { [R.amount]: String(total) } : {}),
      ...(iso ? { [R.currency]: iso } : {}),
    },
  );
}
