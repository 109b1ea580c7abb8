/**
 * What every request row a user makes in Dynamics 365 for Stripe to act on has in common (payment links,
 * subscriptions): the handler re-reads the row on each change and acts from its current status only,
 *
 *   Pending ──policy──▶ Rejected | Processing ──Stripe──▶ an outcome written by the table's own handler
 *   Processing (a crash or a transient failure mid-way) ──▶ resumed under the same idempotency key
 *
 * moving it out of Pending under the etag it was read with (of two workers holding deliveries of the same
 * change only one goes on; the other decides again on the fresh row), and dropping the service's own writes
 * to the row, which come back as update webhooks. The refund and charge requests, with statuses and an
 * approval of their own, share the last (requestChangeHandler), how a request a user set to Processing (or
 * Sent) is told from one the service moved there (setByUser), and the re-reading of a row whose transition
 * was lost to a concurrent writer (advanceWithRetries).
 */
import { SystemUser } from '@stc/solution/tables';
import { sameId, type DataverseChange } from '../dataverse/change';
import type { DataverseClient, Row } from '../dataverse/types';
import { PermanentError } from '../pipeline/failure';
import type { DataverseChangeHandler, SyncContext } from '../pipeline/handler';
import type { OutboundSettings } from '../config/outbound';
import { isConflict } from '../write/rows';
import { serviceUserResolver } from './refund-requests/directory';

/** Transitions lost to a concurrent writer are decided again on the fresh row, at most this often. */
const MAX_DECISION_ROUNDS = 3;

/** The columns and statuses a request table shares, as its generated table constants spell them. */
export interface RequestTable {
  logicalName: string;
  entitySetName: string;
  /** How the log and errors name a row: `payment link request`. */
  noun: string;
  status: { pending: number; processing: number; rejected: number };
  col: { status: string; failureReason: string; decidedOn: string; liveMode: string };
  /** Navigation property of the Requested By lookup to systemuser. */
  requestedBy: string;
}

/** What moving a request out of Pending needs of the row as read. */
export interface RequestState {
  id: string;
  status: number | null;
  createdBy: string | null;
  etag: string | null;
}

export type PendingOutcome =
  { status: 'processing'; livemode: boolean } | { status: 'rejected'; reason: string; at: Date };

/**
 * Moves a Pending request to Processing or Rejected, guarded by the etag read: a row changed meanwhile answers
 * 412 and is decided again. The requester is recorded from the row's creator, never from what the row says.
 */
export async function moveFromPending(
  dataverse: DataverseClient,
  table: RequestTable,
  request: RequestState,
  outcome: PendingOutcome,
): Promise<void> {
  const { col, status } = table;
  const row: Row =
    outcome.status === 'rejected'
      ? {
          [col.status]: status.rejected,
          [col.failureReason]: outcome.reason,
          [col.decidedOn]: outcome.at.toISOString(),
        }
      : { [col.status]: status.processing, [col.failureReason]: null, [col.liveMode]: outcome.livemode };
  if (request.createdBy)
    row[`${table.requestedBy}@odata.bind`] = `/${SystemUser.entitySetName}(${request.createdBy})`;
  if (!request.etag)
    throw new PermanentError(
      `Dataverse sent the ${table.noun} without an etag; its status cannot be moved safely`,
    );
  await dataverse.update(table.entitySetName, request.id, row, { ifMatch: request.etag });
}

/** The outcome, written by the worker that moved the request to Processing (or resumed it). */
export async function finishRequest(
  dataverse: DataverseClient,
  table: RequestTable,
  requestId: string,
  row: Row,
): Promise<void> {
  await dataverse.update(table.entitySetName, requestId, row);
}

export interface GovernedRequestSpec<R extends RequestState> {
  /** The handler's resource name in the registry and metrics: `payment-link-requests`. */
  resource: string;
  table: RequestTable;
  settings: OutboundSettings;
  read(dataverse: DataverseClient, requestId: string): Promise<R | null>;
  /** A Pending request: policy, then Rejected, or Processing and the Stripe call. */
  decide(request: R, context: SyncContext): Promise<void>;
  /** A request left in Processing: the Stripe call again under the same idempotency key. */
  resume(request: R, context: SyncContext): Promise<void>;
}

/**
 * The Dataverse change handler of a request table: Create and Update of its rows, handed to `handle` except the
 * service's own changes. Those come back as update webhooks of the service's own writes to the row, are
 * recognised by their user (the service's systemuserid) and dropped: acting on them would loop.
 */
export function requestChangeHandler(
  options: {
    resource: string;
    table: Pick<RequestTable, 'logicalName' | 'noun'>;
    settings: Pick<OutboundSettings, 'serviceUserId' | 'serviceApplicationId'>;
    /** Where a request whose change was dead-lettered says so, while it is in one of `open` statuses. */
    stuck?: StuckNote;
  },
  handle: (change: DataverseChange, context: SyncContext) => Promise<void>,
): DataverseChangeHandler {
  const serviceUser = serviceUserResolver(options.settings);
  const { table, stuck } = options;
  return {
    source: 'dataverse',
    resource: options.resource,
    changes: [{ table: table.logicalName, messages: ['Create', 'Update'] }],
    ...(stuck
      ? {
          onDeadLettered: (change, reason, context) =>
            noteStuck(stuck, table.noun, change.rowId, reason, context),
        }
      : {}),
    async handle(change, context) {
      const self = await serviceUser(context.dataverse, context.log);
      if (self && sameId(change.userId, self)) {
        context.log.info(
          { requestId: change.rowId, message: change.message },
          `the service's own change to a ${table.noun}; nothing to do`,
        );
        return;
      }
      await handle(change, context);
    },
  };
}

/** A request table's columns and statuses for saying, on the row, that its change was dead-lettered. */
export interface StuckNote {
  entitySetName: string;
  statusColumn: string;
  failureReasonColumn: string;
  /** Statuses of a request not finished yet: only such a row is noted (a finished one keeps its outcome). */
  open: number[];
}

/**
 * A request whose change went to the dead-letter queue stays in its status (a retry of the dead letter takes it
 * up from there; a final status would end it, even when Stripe had acted), and says why on the row.
 */
async function noteStuck(
  stuck: StuckNote,
  noun: string,
  requestId: string,
  reason: string,
  { dataverse, log }: SyncContext,
): Promise<void> {
  const row = await dataverse.retrieve(stuck.entitySetName, requestId, { select: [stuck.statusColumn] });
  if (!row || !stuck.open.includes(Number(row[stuck.statusColumn]))) return;
  await dataverse.update(stuck.entitySetName, requestId, {
    [stuck.failureReasonColumn]:
      `The service could not finish this ${noun} (${reason}). It is held in the service's dead-letter queue: an administrator can retry it from the operator console, and it goes on from where it stopped.`.slice(
        0,
        2000,
      ),
  });
  log.warn({ requestId }, `the ${noun}'s change was dead-lettered; noted on the row`);
}

/**
 * Whether this change (a user's: the service's own never reach the handlers) itself set the request's status
 * to `status`, the one only the service moves a request to after its checks (Processing; a charge's Sent).
 * Read from the change's own columns, not from the row: a user who only edits other columns of a request the
 * service moved there leaves it to be resumed.
 */
export function setByUser(change: DataverseChange, statusColumn: string, status: number): boolean {
  return change.attributes[statusColumn] === status;
}

/** How a request handler reads its row and acts on it, for advanceWithRetries. */
export interface RequestRounds<Q> {
  /** How the log names the row: `charge request`. */
  noun: string;
  read(dataverse: DataverseClient, requestId: string): Promise<Q | null>;
  /** Acts on the row as read, from its current status; a 412 it lets through has the row read and acted on again. */
  advance(request: Q): Promise<void>;
}

/**
 * Acts on the request's current row; a transition lost to a concurrent writer (412) is decided again on the
 * row read afresh, in at most MAX_DECISION_ROUNDS rounds (the last conflict is thrown). A row that no longer
 * exists is left.
 */
export async function advanceWithRetries<Q>(
  requestId: string,
  context: SyncContext,
  rounds: RequestRounds<Q>,
): Promise<void> {
  for (let round = 1; ; round++) {
    const request = await rounds.read(context.dataverse, requestId);
    if (!request) {
      context.log.warn({ requestId }, `the ${rounds.noun} no longer exists; nothing to do`);
      return;
    }
    try {
      await rounds.advance(request);
      return;
    } catch (error) {
      if (!isConflict(error) || round >= MAX_DECISION_ROUNDS) throw error;
      context.log.info(
        { requestId, round },
        `the ${rounds.noun} changed while it was being decided; deciding again on the new row`,
      );
    }
  }
}

/** The Dataverse change handler of a request table: Create and Update of its rows, acted on from their status. */
export function governedRequestHandler<R extends RequestState>(
  spec: GovernedRequestSpec<R>,
): DataverseChangeHandler {
  const { table } = spec;
  const stuck: StuckNote = {
    entitySetName: table.entitySetName,
    statusColumn: table.col.status,
    failureReasonColumn: table.col.failureReason,
    open: [table.status.pending, table.status.processing],
  };
  return requestChangeHandler({ ...spec, stuck }, async (change, context) => {
    const userSetProcessing = setByUser(change, table.col.status, table.status.processing);
    const requestId = change.rowId;
    await advanceWithRetries(requestId, context, {
      noun: table.noun,
      read: (dataverse, id) => spec.read(dataverse, id),
      advance: (request) => advance(spec, request, requestId, context, userSetProcessing),
    });
  });
}

/**
 * A request a user (not the service, whose own changes never get here) set to Processing: only the service
 * moves a request there, after its role and policy checks, so nothing is asked of Stripe for it.
 */
async function refuseSetByUser<R extends RequestState>(
  spec: GovernedRequestSpec<R>,
  request: R,
  context: SyncContext,
): Promise<void> {
  const { table } = spec;
  context.log.warn({ requestId: request.id }, `a ${table.noun} set to Processing by a user; refused`);
  await context.dataverse.update(table.entitySetName, request.id, {
    [table.col.status]: table.status.rejected,
    [table.col.failureReason]:
      'The request was set to Processing by a user, not by the connector after its role and policy checks: nothing is asked of Stripe. Ask again with a new request.',
    [table.col.decidedOn]: new Date().toISOString(),
  });
}

/** One round: the request acted on from its status as read. */
async function advance<R extends RequestState>(
  spec: GovernedRequestSpec<R>,
  request: R,
  requestId: string,
  context: SyncContext,
  userSetProcessing: boolean,
): Promise<void> {
  const { table } = spec;
  if (request.status === table.status.pending) await spec.decide(request, context);
  else if (request.status === table.status.processing && userSetProcessing)
    await refuseSetByUser(spec, request, context);
  else if (request.status === table.status.processing) await spec.resume(request, context);
  else
    context.log.info(
      { requestId, status: request.status },
      `the ${table.noun} is already decided; nothing to do`,
    );
}

/** A finished request as it was before the change that set it back (its pre-image). */
export interface Reopened {
  status: number;
  reason: unknown;
}

/** What the change being worked knew of the request it concerns (refund and charge requests). */
export interface SeenByChange {
  /** The user whose change set the request to Approved, when this change did. */
  approverId: string | null;
  /** The amount the change saw (its own, else its post-image); undefined when it carries none. */
  amount: unknown;
  /** The finished request this change set back to Pending or Approved, as it was before (its pre-image). */
  reopened: Reopened | null;
}

/** Where a request table keeps what `reopenedFrom` and `keepFinished` read and write. */
export interface FinishedRequests {
  entitySetName: string;
  statusColumn: string;
  failureReasonColumn: string;
  /** Statuses a request ends in without Stripe having acted; the connector never takes one up again. */
  finished: number[];
  /** Statuses a user may set that would have the connector decide the request (Pending, Approved). */
  reopening: number[];
  noun: string;
}

/**
 * The request as it was when this change set a finished one back to one of `reopening`, read from the change's
 * pre-image (the Update step registers it); null for any other change.
 */
export function reopenedFrom(change: DataverseChange, table: FinishedRequests): Reopened | null {
  const set = change.attributes[table.statusColumn];
  if (typeof set !== 'number' || !table.reopening.includes(set)) return null;
  const before = change.preImage?.[table.statusColumn];
  if (typeof before !== 'number' || !table.finished.includes(before)) return null;
  return { status: before, reason: change.preImage?.[table.failureReasonColumn] ?? null };
}

/**
 * A finished request a user set back is written back as it was, with a note to make a new request: an approval
 * given over a rejection (a form left open, another approver's decision) acts on nothing, and what was decided
 * stays on the row.
 */
export async function keepFinished(
  table: FinishedRequests,
  requestId: string,
  before: Reopened,
  { dataverse, log }: SyncContext,
): Promise<void> {
  const reason = typeof before.reason === 'string' && before.reason.trim() ? `${before.reason.trim()} ` : '';
  await dataverse.update(table.entitySetName, requestId, {
    [table.statusColumn]: before.status,
    [table.failureReasonColumn]:
      `${reason}This request is finished and cannot be approved or asked again: make a new request.`.slice(
        0,
        2000,
      ),
  });
  log.warn(
    { requestId, from: before.status },
    `a finished ${table.noun} was set back by a user; kept as it was`,
  );
}

/**
 * The amount a change to a request saw: the one a Create set or an update set, else the row's amount after the
 * change (the post-image the update step registers); undefined when the change carries none. An update that
 * itself set the amount of a request already past its decision (`decided`, in the status column) saw no amount
 * a decision was made on: the amount changed after it.
 */
export function amountSeenBy(
  change: DataverseChange,
  col: { amount: string; status: string },
  decided: number,
): unknown {
  if (col.amount in change.attributes) {
    const decidedBefore =
      change.message === 'Update' &&
      !(col.status in change.attributes) &&
      change.postImage?.[col.status] === decided;
    return decidedBefore ? undefined : change.attributes[col.amount];
  }
  return change.postImage?.[col.amount];
}

/** Whether the request's amount is other than `seen` (an amount not known counts as changed). */
export function changedSince(seen: unknown, amount: unknown): boolean {
  const before = Number(seen);
  return seen === undefined || seen === null || !Number.isFinite(before) || before !== Number(amount);
}
