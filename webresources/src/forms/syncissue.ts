/**
 * The sync issue form and list: `StripeConnector.Forms.SyncIssue`. The form's buttons pass PrimaryControl, the
 * list's SelectedControlSelectedItemIds.
 */
import { requestOnFormIssue, requestOnIssues } from '../common/syncIssues';
import { platform } from '../common/record';

export function requestRetry(primaryControl: Xrm.FormContext): Promise<number> {
  return requestOnFormIssue(primaryControl, 'retry', platform());
}

export function requestDiscard(primaryControl: Xrm.FormContext): Promise<number> {
  return requestOnFormIssue(primaryControl, 'discard', platform());
}

export function requestRetrySelected(selectedIds: string[]): Promise<number> {
  return requestOnIssues(selectedIds, 'retry', platform());
}

export function requestDiscardSelected(selectedIds: string[]): Promise<number> {
  return requestOnIssues(selectedIds, 'discard', platform());
}
