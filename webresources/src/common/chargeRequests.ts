/**
 * Charge saved card… on an account or contact: opens a new stc_chargerequest for it, for the user to enter the
 * amount, currency and what the charge is for (and the order or invoice it pays, if any). Saving the form
 * creates the row; the connector checks it against policy and charges the customer's saved Stripe payment
 * method off session. Approve and Reject on a request awaiting approval write the approver's decision as its
 * status; the connector checks the approver before it charges. The browser calls nothing but Dataverse and
 * never sees card data.
 */
import { ChargeRequest, ChargeRequestStatus } from '@stc/solution/tables';
import { message } from './strings';
import { errorText, formRecord, type Platform } from './record';

export type ChargeDecision = 'approve' | 'reject';

export const CHARGE_DECISION_NOTIFICATION = 'stc_charge_decided';

const R = ChargeRequest.col;

/** Opens a new Charge Request for the form's account or contact. */
export async function chargeSavedCard(formContext: Xrm.FormContext, host: Platform): Promise<void> {
  const record = formRecord(formContext);
  if (!record.id) {
    await host.navigation.openAlertDialog({ text: message(host.languageId, 'saveFirst') });
    return;
  }
  const name = formContext.data.entity.getPrimaryAttributeValue() || record.id;
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

/** Decides the form's charge request after the user confirms; true when the decision was saved. */
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
