/**
 * Command bar buttons on the connector's own tables: Retry and Discard on sync issues, on the form (while
 * the issue is open) and on the list (for the selected issues), shown to users who may write sync issues;
 * Approve and Reject on a refund request awaiting approval, shown to users who may write refund requests
 * (the connector checks the approver's role and that it is not the requester before it refunds); Cancel at
 * period end, Cancel now, Pause collection and Resume collection on a Stripe subscription, shown to users who
 * may create subscription requests (the connector checks policy before Stripe is asked); Approve and Reject on
 * a charge request awaiting approval, shown to users who may write charge requests, as on refund requests.
 */
import {
  ChargeRequest,
  ChargeRequestStatus,
  RefundRequest,
  RefundRequestStatus,
  Subscription,
  SubscriptionRequest,
  SyncIssue,
  SyncIssueStatus,
} from '../generated/tables';
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

const SUBSCRIPTION_NAMESPACE = 'StripeConnector.Forms.Subscription';

function subscriptionCommand(
  name: string,
  rest: Pick<FormCommand, 'label' | 'tooltip' | 'icon'>,
): FormCommand {
  return {
    id: `stc.${Subscription.logicalName}.${name}`,
    functionName: `${SUBSCRIPTION_NAMESPACE}.${name}`,
    privilege: 'Create',
    privilegeTable: SubscriptionRequest.logicalName,
    ...rest,
  };
}

export const subscriptionCommands: TableCommands = {
  table: Subscription.logicalName,
  library: 'stc_/js/subscription.js',
  commands: [
    subscriptionCommand('cancelAtPeriodEnd', {
      label: 'Cancel at period end',
      tooltip: 'Ask the connector to cancel the subscription in Stripe at the end of the period paid for.',
      icon: 'Calendar',
    }),
    subscriptionCommand('cancelNow', {
      label: 'Cancel now',
      tooltip: 'Ask the connector to cancel the subscription in Stripe at once.',
      icon: 'Cancel',
    }),
    subscriptionCommand('pauseCollection', {
      label: 'Pause collection',
      tooltip: 'Ask the connector to pause collection of the subscription in Stripe.',
      icon: 'Pause',
    }),
    subscriptionCommand('resumeCollection', {
      label: 'Resume collection',
      tooltip: 'Ask the connector to resume collection of the subscription in Stripe.',
      icon: 'Play',
    }),
  ],
};

const CHARGE_NAMESPACE = 'StripeConnector.Forms.ChargeRequest';

function chargeDecisionCommand(
  name: string,
  rest: Pick<FormCommand, 'label' | 'tooltip' | 'icon'>,
): FormCommand {
  return {
    id: `stc.${ChargeRequest.logicalName}.${name}`,
    functionName: `${CHARGE_NAMESPACE}.${name}`,
    privilege: 'Write',
    privilegeTable: ChargeRequest.logicalName,
    enabledWhen: { column: ChargeRequest.col.status, value: ChargeRequestStatus.awaiting_approval },
    ...rest,
  };
}

export const chargeRequestCommands: TableCommands = {
  table: ChargeRequest.logicalName,
  library: 'stc_/js/chargerequest.js',
  commands: [
    chargeDecisionCommand('approveRequest', {
      label: 'Approve',
      tooltip:
        "Approve the charge: the connector checks policy, then charges the customer's saved payment method.",
      icon: 'Accept',
    }),
    chargeDecisionCommand('rejectRequest', {
      label: 'Reject',
      tooltip: 'Reject the charge: nothing is charged.',
      icon: 'Cancel',
    }),
  ],
};
