/**
 * The check before an approver's decision is written: the request's status as Dataverse holds it now, not as
 * the form loaded it. Two approvers may have the same request open; the one who decides second would
 * otherwise write over the first decision (an approval over a rejection, which the connector then carries out).
 */
import { labelOf, readNumber } from '@stc/pcf-controls';
import type { Platform } from './record';

/** Where a request table keeps its status, and which value means "awaiting approval". */
export interface ApprovalStatus {
  table: string;
  column: string;
  awaitingApproval: number;
  /** The model's labels, for a row read without formatted values. */
  labels: Readonly<Record<number, string>>;
}

/**
 * Undefined while the request still awaits approval; otherwise the label of its current status (in the user's
 * language, as Dataverse formats it), which says why no decision can be written.
 */
export async function notAwaitingApproval(
  host: Platform,
  id: string,
  status: ApprovalStatus,
): Promise<string | undefined> {
  const row = await host.webApi.retrieveRecord(status.table, id, `?$select=${status.column}`);
  if (readNumber(row, status.column) === status.awaitingApproval) return undefined;
  return labelOf(row, status.column, status.labels) || '—';
}
