/**
 * Retry and Discard on sync issues: the user's request is the issue's status (Retry requested, Discard
 * requested), which the connector's sync issue sweep reads and carries out; the browser calls nothing but
 * Dataverse.
 */
import { SyncIssue, SyncIssueStatus } from '@stc/solution/tables';
import { message } from './strings';
import { errorText, formRecord, type Platform } from './record';

export type IssueRequest = 'retry' | 'discard';

export const ISSUE_NOTIFICATION = 'stc_issue_requested';

const STATUS: Record<IssueRequest, number> = {
  retry: SyncIssueStatus.retry_requested,
  discard: SyncIssueStatus.discard_requested,
};

/** Asks for `request` on the issues after the user confirms; the number of issues asked for. */
export async function requestOnIssues(ids: string[], request: IssueRequest, host: Platform): Promise<number> {
  const clean = ids.map((id) => id.replace(/[{}]/g, '').toLowerCase()).filter(Boolean);
  if (clean.length === 0) return 0;
  const retry = request === 'retry';
  const answer = await host.navigation.openConfirmDialog({
    title: message(host.languageId, retry ? 'issueRetryTitle' : 'issueDiscardTitle'),
    text: message(host.languageId, retry ? 'issueRetryConfirm' : 'issueDiscardConfirm', clean.length),
    confirmButtonLabel: message(host.languageId, retry ? 'issueRetryTitle' : 'issueDiscardTitle'),
  });
  if (!answer.confirmed) return 0;
  try {
    for (const id of clean) {
      await host.webApi.updateRecord(SyncIssue.logicalName, id, { [SyncIssue.col.status]: STATUS[request] });
    }
    return clean.length;
  } catch (error) {
    await host.navigation.openAlertDialog({ text: message(host.languageId, 'failed', errorText(error)) });
    return 0;
  }
}

/** The form's issue: asks, then shows the request on the form and reloads the row. */
export async function requestOnFormIssue(
  formContext: Xrm.FormContext,
  request: IssueRequest,
  host: Platform,
): Promise<number> {
  const record = formRecord(formContext);
  if (!record.id) {
    await host.navigation.openAlertDialog({ text: message(host.languageId, 'saveFirst') });
    return 0;
  }
  const count = await requestOnIssues([record.id], request, host);
  if (count > 0) {
    formContext.ui.setFormNotification(
      message(host.languageId, 'issueRequested', count),
      'INFO',
      ISSUE_NOTIFICATION,
    );
    await formContext.data.refresh(false);
  }
  return count;
}
