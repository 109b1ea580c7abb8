/**
 * The check before an approver's decision is written: the request's status and amount as Dataverse holds them
 * now, not as the form loaded them. Two approvers may have the same request open; the one who decides second
 * would otherwise write over the first decision (an approval over a rejection, which the connector then carries
 * out). And an approval is for the amount the approver saw: one changed since the form was loaded (the
 * connector then counts the approval for the new amount) is not approved unseen.
 */
import { labelOf, readNumber } from '@stc/pcf-controls';
import type { Platform } from './record';
import { message, type MessageKey } from './strings';

/** Where a request table keeps its status, and which value means "awaiting approval". */
export interface ApprovalStatus {
  table: string;
  column: string;
  awaitingApproval: number;
  /** The model's labels, for a row read without formatted values. */
  labels: Readonly<Record<number, string>>;
  /** The request's amount column. */
  amountColumn: string;
  /** What the user is told when the request no longer awaits approval (`{0}`: its status now). */
  notAwaitingMessage: MessageKey;
}

/** Why the decision is not written: the status moved on, or the amount is not the one the form showed. */
export type Undecidable = { status: string } | { amount: number };

/**
 * Undefined while the request still awaits approval; otherwise the label of its current status (in the user's
 * language, as Dataverse formats it), which says why no decision can be written.
 */
export async function notAwaitingApproval(
  host: Platform,
  id: string,
  status: ApprovalStatus,
  formAmount: number | null,
): Promise<Undecidable | undefined> {
  const row = await host.webApi.retrieveRecord(
    status.table,
    id,
    `?$select=${status.column},${status.amountColumn}`,
  );
  if (readNumber(row, status.column) !== status.awaitingApproval)
    return { status: labelOf(row, status.column, status.labels) || '—' };
  const amount = readNumber(row, status.amountColumn);
  if (amount !== undefined && formAmount !== null && amount !== formAmount) return { amount };
  return undefined;
}

/** The amount the form shows (as it was loaded, or as the user typed it unsaved); null when it has none. */
export function formAmount(formContext: Xrm.FormContext, column: string): number | null {
  const value = formContext.getAttribute(column)?.getValue() as unknown;
  return typeof value === 'number' ? value : null;
}

/**
 * Reads the request again just before a decision is written: true while it may still be decided (awaiting
 * approval, at the amount the form shows); otherwise the user is told why and the form shows the request as it
 * is now.
 */
export async function stillDecidable(
  host: Platform,
  formContext: Xrm.FormContext,
  id: string,
  status: ApprovalStatus,
): Promise<boolean> {
  const moved = await notAwaitingApproval(host, id, status, formAmount(formContext, status.amountColumn));
  if (moved === undefined) return true;
  await host.navigation.openAlertDialog({
    text:
      'status' in moved
        ? message(host.languageId, status.notAwaitingMessage, moved.status)
        : message(host.languageId, 'amountChanged', String(moved.amount)),
  });
  await formContext.data.refresh(false);
  return false;
}
