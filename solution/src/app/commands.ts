/**
 * Command bar buttons on the connector's own tables: Retry and Discard on sync issues, on the form (while
 * the issue is open) and on the list (for the selected issues), shown to users who may write sync issues;
 * Approve and Reject on a refund request awaiting approval, shown to users who may write refund requests
 * (the connector checks the approver's role and that it is not the requester before it refunds).
 */
import { RefundRequest, RefundRequestStatus, SyncIssue, SyncIssueStatus } from '../generated/tables';
import type { FormCommand, TableCommands } from './forms';

const NAMESPACE = 'StripeConnector.Forms.SyncIssue';

function issueCommand(
  name: string,
  rest: Omit<FormCommand, 'id' | 'functionName' | 'privilege' | 'privilegeTable'>,
): FormCommand {
  return {
    id: `stc.${SyncIssue.logicalName}.${name}`,
    functionName: `${NAMESPACE}.${name}`,
    privilege: 'Write',
    privilegeTable: SyncIssue.logicalName,
    ...rest,
  };
}

const whileOpen = { column: SyncIssue.col.status, value: SyncIssueStatus.open };

export const syncIssueCommands: TableCommands = {
  table: SyncIssue.logicalName,
  library: 'stc_/js/syncissue.js',
  commands: [
    issueCommand('requestRetry', {
      label: 'Retry',
      tooltip: 'Ask the connector to apply the event again, or to reconcile the payout again.',
      icon: 'Refresh',
      enabledWhen: whileOpen,
    }),
    issueCommand('requestDiscard', {
      label: 'Discard',
      tooltip: 'Drop the event without applying it, or accept the payout difference as it is.',
      icon: 'Delete',
      enabledWhen: whileOpen,
    }),
    issueCommand('requestRetrySelected', {
      label: 'Retry',
      tooltip: 'Ask the connector to try the selected issues again.',
      icon: 'Refresh',
      surface: 'grid',
    }),
    issueCommand('requestDiscardSelected', {
      label: 'Discard',
      tooltip: 'Discard the selected issues.',
      icon: 'Delete',
      surface: 'grid',
    }),
  ],
};

const REFUND_NAMESPACE = 'StripeConnector.Forms.RefundRequest';
const awaitingApproval = { column: RefundRequest.col.status, value: RefundRequestStatus.awaiting_approval };

function decisionCommand(name: string, rest: Pick<FormCommand, 'label' | 'tooltip' | 'icon'>): FormCommand {
  return {
    id: `stc.${RefundRequest.logicalName}.${name}`,
    functionName: `${REFUND_NAMESPACE}.${name}`,
    privilege: 'Write',
    privilegeTable: RefundRequest.logicalName,
    enabledWhen: awaitingApproval,
    ...rest,
  };
}

export const refundRequestCommands: TableCommands = {
  table: RefundRequest.logicalName,
  library: 'stc_/js/refundrequest.js',
  commands: [
    decisionCommand('approveRequest', {
      label: 'Approve',
      tooltip: 'Approve the refund: the connector checks policy, then refunds in Stripe.',
      icon: 'Accept',
    }),
    decisionCommand('rejectRequest', {
      label: 'Reject',
      tooltip: 'Reject the refund: nothing is refunded.',
      icon: 'Cancel',
    }),
  ],
};
