/**
 * The running service reports to Dataverse: started from its configuration on the emulators, it writes the
 * sync issue of a dead-lettered event and its status row, carries out a retry a user asked for on the issue,
 * and answers a connection test a user asked for on the connection page.
 */
import { ConnectorHealth, ConnectorStatus, SyncIssue, SyncIssueStatus } from '@stc/solution/tables';
import { waitFor } from '@stc/testkit';
import type { RunningService } from '../service';
import { serviceOnEmulators } from './support/service-on-emulators';

jest.setTimeout(60_000);

const world = serviceOnEmulators('report');
const start = (extra: Record<string, string> = {}) =>
  world.start(
    world.configFor({
      // Intake only: the test plays the worker, so the event waits where the test leaves it.
      WORKER_CONCURRENCY: '0',
      PAYOUT_SWEEP_INTERVAL_MINUTES: '0',
      REPORT_INTERVAL_SECONDS: '0.1',
      SERVICE_PUBLIC_URL: 'https://stripe-connector.contoso.com',
      ...extra,
    }),
  );

/** An event taken through one attempt that dead-letters it, as a worker would. */
async function deadLettered(running: RunningService, eventId: string): Promise<void> {
  const now = Date.now();
  await running.store.insertEvent({
    source: 'stripe',
    account: '',
    eventId,
    type: 'payment_intent.succeeded',
    objectId: 'pi_report',
    eventCreatedMs: now,
    payload: JSON.stringify({ id: eventId }),
    status: 'pending',
    receivedAtMs: now,
  });
  const [event] = await running.store.claimEvents({ owner: 'test', limit: 1, leaseMs: 60_000, nowMs: now });
  await running.store.completeEvent({
    event: event!,
    owner: 'test',
    outcome: { kind: 'dead', error: 'Dataverse refused the row', code: '0x80040203' },
    startedAtMs: now,
    finishedAtMs: now,
    stampObject: false,
  });
}

test('the service writes the sync issue of a dead letter and its status, and carries out a retry asked in Dataverse', async () => {
  const service = await start();
  await deadLettered(service, 'evt_report_1');
  const key = { [SyncIssue.col.issueKey]: 'event:stripe:evt_report_1' };
  const issue = await waitFor(
    () => world.client.retrieveByKey(SyncIssue.entitySetName, key).then((row) => row ?? undefined),
    'the sync issue',
  );
  expect(issue).toMatchObject({
    [SyncIssue.col.status]: SyncIssueStatus.open,
    [SyncIssue.col.errorCode]: '0x80040203',
  });

  const status = await waitFor(async () => {
    const row = await world.client.retrieveByKey(ConnectorStatus.entitySetName, {
      [ConnectorStatus.col.statusKey]: 'test:platform',
    });
    return row?.[ConnectorStatus.col.deadLetters] === 1 ? row : undefined;
  }, 'the status row to count the dead letter');
  expect(status).toMatchObject({
    [ConnectorStatus.col.serviceUrl]: 'https://stripe-connector.contoso.com',
    [ConnectorStatus.col.serviceVersion]: '0.1.0',
    [ConnectorStatus.col.liveMode]: false,
    [ConnectorStatus.col.health]: ConnectorHealth.degraded,
    [ConnectorStatus.col.lastEventId]: 'evt_report_1',
  });

  await world.client.update(SyncIssue.entitySetName, String(issue![SyncIssue.primaryId]), {
    [SyncIssue.col.status]: SyncIssueStatus.retry_requested,
  });
  await waitFor(
    async () => ((await service.store.queueDepth()).pending === 1 ? true : undefined),
    'the event queued again',
  );
  expect((await service.store.queueDepth()).dead).toBe(0);
});

test('the service answers a connection test asked on the connection page', async () => {
  await start();
  const statusKey = { [ConnectorStatus.col.statusKey]: 'test:platform' };
  const row = await waitFor(
    () => world.client.retrieveByKey(ConnectorStatus.entitySetName, statusKey).then((r) => r ?? undefined),
    'the status row',
  );
  await world.client.update(ConnectorStatus.entitySetName, String(row![ConnectorStatus.primaryId]), {
    [ConnectorStatus.col.testRequestedOn]: new Date().toISOString(),
  });
  const answered = await waitFor(async () => {
    const current = await world.client.retrieveByKey(ConnectorStatus.entitySetName, statusKey);
    return current?.[ConnectorStatus.col.lastTestedOn] ? current : undefined;
  }, 'the test answered');
  expect(answered![ConnectorStatus.col.lastTestSucceeded]).toBe(true);
  expect(String(answered![ConnectorStatus.col.lastTestResult])).toMatch(
    /^Store: answered in \d+ ms\.\nDataverse: answered in \d+ ms\.\nStripe: answered in \d+ ms\.$/,
  );
});

test('REPORT_INTERVAL_SECONDS=0: nothing is written to Dataverse', async () => {
  const service = await start({ REPORT_INTERVAL_SECONDS: '0' });
  await deadLettered(service, 'evt_report_quiet');
  await new Promise((resolve) => setTimeout(resolve, 400));
  expect(world.dataverse.store.count(SyncIssue.entitySetName)).toBe(0);
  expect(world.dataverse.store.count(ConnectorStatus.entitySetName)).toBe(0);
});
