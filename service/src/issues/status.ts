/**
 * The service's own row in stc_connectorstatus, written on each pass: where it runs, its health (dead
 * letters, how long the oldest event has waited), the last event received and the queue; and the answer to
 * a connection test a user asked for on the connection page (the store, Dataverse and Stripe each tried).
 */
import type Stripe from 'stripe';
import { ConnectorHealth, ConnectorStatus } from '@stc/solution/tables';
import type { DataverseClient, Row } from '../dataverse/types';
import type { HandlerLogger } from '../pipeline/handler';
import type { Store } from '../store/types';

export interface LatestEvent {
  eventId: string;
  type: string;
  receivedAtMs: number;
}

export interface StatusReportOptions {
  store: Store;
  dataverse: DataverseClient;
  log: HandlerLogger;
  liveMode: boolean;
  /** The platform account's Stripe client: the connection test asks it for the balance. */
  stripe?: Stripe;
  serviceUrl?: string;
  serviceVersion?: string;
  /** The newest event the service received, from the store. */
  latestEvent?: () => Promise<LatestEvent | null>;
  /** The oldest event waiting, from the store; its age makes the service degraded past `backlogWarnMs`. */
  oldestPendingMs?: () => Promise<number | null>;
  backlogWarnMs?: number;
  now?: () => number;
}

const c = ConnectorStatus.col;
const iso = (ms: number) => new Date(ms).toISOString();

export const statusKey = (liveMode: boolean) => `${liveMode ? 'live' : 'test'}:platform`;

async function health(options: StatusReportOptions, nowMs: number) {
  const depth = await options.store.queueDepth();
  const problems: string[] = [];
  if (depth.dead > 0) problems.push(`${depth.dead} event(s) in the dead-letter queue (see Sync Issues)`);
  const oldest = await options.oldestPendingMs?.();
  const warnMs = options.backlogWarnMs ?? 5 * 60_000;
  if (oldest !== null && oldest !== undefined && nowMs - oldest > warnMs) {
    problems.push(`the oldest waiting event arrived ${Math.round((nowMs - oldest) / 60_000)} min ago`);
  }
  return {
    [c.health]: problems.length ? ConnectorHealth.degraded : ConnectorHealth.healthy,
    [c.healthDetail]: problems.length ? `${problems.join('; ')}.` : null,
    [c.pendingEvents]: depth.pending + depth.processing,
    [c.deadLetters]: depth.dead,
  };
}

async function timed(name: string, check: () => Promise<unknown>): Promise<{ ok: boolean; line: string }> {
  const started = Date.now();
  try {
    await check();
    return { ok: true, line: `${name}: answered in ${Date.now() - started} ms.` };
  } catch (error) {
    return { ok: false, line: `${name}: ${(error as Error).message}` };
  }
}

/** Tries the store, Dataverse and Stripe, each on its own; the answer the connection page shows. */
export async function connectionTest(options: StatusReportOptions): Promise<{ ok: boolean; result: string }> {
  const checks = [
    await timed('Store', () => options.store.ping()),
    await timed('Dataverse', () =>
      options.dataverse.retrieveMultiple(ConnectorStatus.entitySetName, { select: [c.statusKey], top: 1 }),
    ),
    options.stripe
      ? await timed('Stripe', () => options.stripe!.balance.retrieve())
      : { ok: false, line: 'Stripe: this service has no Stripe client for the platform account.' },
  ];
  return { ok: checks.every((check) => check.ok), result: checks.map((check) => check.line).join('\n') };
}

/** Whether a user asked for a test the service has not answered yet. */
export function testAsked(row: Row | null): boolean {
  const asked = Date.parse(String(row?.[c.testRequestedOn] ?? ''));
  if (Number.isNaN(asked)) return false;
  const answered = Date.parse(String(row?.[c.lastTestedOn] ?? ''));
  return Number.isNaN(answered) || answered < asked;
}

/** Writes the status row, answering a pending connection test; true when it answered one. */
export async function reportStatus(options: StatusReportOptions): Promise<boolean> {
  const nowMs = (options.now ?? Date.now)();
  const key = { [c.statusKey]: statusKey(options.liveMode) };
  const current = await options.dataverse.retrieveByKey(ConnectorStatus.entitySetName, key, {
    select: [c.testRequestedOn, c.lastTestedOn],
  });
  const latest = await options.latestEvent?.();
  const row: Row = {
    ...key,
    [c.name]: `Stripe connector (${options.liveMode ? 'live' : 'test'} mode)`,
    [c.serviceUrl]: options.serviceUrl ?? null,
    [c.serviceVersion]: options.serviceVersion ?? null,
    [c.liveMode]: options.liveMode,
    [c.lastHeartbeat]: iso(nowMs),
    ...(await health(options, nowMs)),
    ...(latest
      ? {
          [c.lastEventReceived]: iso(latest.receivedAtMs),
          [c.lastEventId]: latest.eventId,
          [c.lastEventType]: latest.type.slice(0, 100),
        }
      : {}),
  };
  const answering = testAsked(current);
  if (answering) {
    const test = await connectionTest(options);
    Object.assign(row, {
      [c.lastTestedOn]: iso((options.now ?? Date.now)()),
      [c.lastTestSucceeded]: test.ok,
      [c.lastTestResult]: test.result.slice(0, 4000),
    });
    options.log.info({ ok: test.ok }, 'connection test answered');
  }
  await options.dataverse.upsertByKey(ConnectorStatus.entitySetName, key, row);
  return answering;
}
