/**
 * The service's status row on the Dataverse emulator: heartbeat, health from the store's queue, the last
 * event received, and the connection test a user asks for, answered by trying the store, Dataverse and the
 * Stripe emulator.
 */
import { startStripeEmulator, type StripeEmulator } from '@stc/emulators';
import { ConnectorHealth, ConnectorStatus } from '@stc/solution/tables';
import { RecordingLogger } from '../../inbound/__tests__/harness';
import { dataverseEmulatorForFile } from '../../__tests__/support/dataverse-emulator';
import { sqliteEngine, type TestDatabase } from '../../__tests__/support/engines';
import { reportStatus, statusKey, type StatusReportOptions } from '..';

const dataverse = dataverseEmulatorForFile();
let database: TestDatabase;
let stripeEmulator: StripeEmulator;
let now: number;
const c = ConnectorStatus.col;

beforeEach(async () => {
  database = await sqliteEngine.open();
  stripeEmulator = await startStripeEmulator({ rateLimit: false });
  now = Date.parse('2026-12-05T12:00:00Z');
});
afterEach(async () => {
  await stripeEmulator.close();
  await database.destroy();
});

const options = (extra: Partial<StatusReportOptions> = {}): StatusReportOptions => ({
  store: database.store,
  dataverse: dataverse.client,
  log: new RecordingLogger(),
  liveMode: false,
  stripe: stripeEmulator.client(),
  serviceUrl: 'https://stripe-connector.contoso.com',
  serviceVersion: '0.1.0',
  latestEvent: async () => ({ eventId: 'evt_last', type: 'charge.refunded', receivedAtMs: now - 30_000 }),
  oldestPendingMs: async () => null,
  now: () => now,
  ...extra,
});

const statusRow = () =>
  dataverse.client.retrieveByKey(ConnectorStatus.entitySetName, { [c.statusKey]: 'test:platform' });

async function deadLetter(eventId: string): Promise<void> {
  const { store } = database;
  await store.insertEvent({
    source: 'stripe',
    account: '',
    eventId,
    type: 'charge.refunded',
    objectId: 'ch_1',
    eventCreatedMs: now,
    payload: '{}',
    status: 'pending',
    receivedAtMs: now,
  });
  const [event] = await store.claimEvents({ owner: 'w', limit: 1, leaseMs: 60_000, nowMs: now });
  await store.completeEvent({
    event: event!,
    owner: 'w',
    outcome: { kind: 'dead', error: 'no', code: null },
    startedAtMs: now,
    finishedAtMs: now,
    stampObject: false,
  });
}

describe("the service's status row", () => {
  it('reports where it runs, its heartbeat and the last event received, healthy with an empty queue', async () => {
    expect(statusKey(false)).toBe('test:platform');
    await reportStatus(options());
    expect(await statusRow()).toMatchObject({
      [c.serviceUrl]: 'https://stripe-connector.contoso.com',
      [c.serviceVersion]: '0.1.0',
      [c.liveMode]: false,
      [c.health]: ConnectorHealth.healthy,
      [c.lastHeartbeat]: '2026-12-05T12:00:00Z',
      [c.lastEventReceived]: '2026-12-05T11:59:30Z',
      [c.lastEventId]: 'evt_last',
      [c.lastEventType]: 'charge.refunded',
      [c.pendingEvents]: 0,
      [c.deadLetters]: 0,
    });
  });

  it('is degraded, and says why, with dead letters or a backlog older than the warning age', async () => {
    await deadLetter('evt_dead');
    await reportStatus(options({ oldestPendingMs: async () => now - 12 * 60_000 }));
    expect(await statusRow()).toMatchObject({
      [c.health]: ConnectorHealth.degraded,
      [c.healthDetail]:
        '1 event(s) in the dead-letter queue (see Sync Issues); the oldest waiting event arrived 12 min ago.',
      [c.deadLetters]: 1,
    });
  });

  it('answers a connection test a user asked for, once, trying the store, Dataverse and Stripe', async () => {
    await reportStatus(options());
    const row = await statusRow();
    await dataverse.client.update(ConnectorStatus.entitySetName, String(row![ConnectorStatus.primaryId]), {
      [c.testRequestedOn]: '2026-12-05T12:00:10Z',
    });
    now += 20_000;
    expect(await reportStatus(options())).toBe(true);
    const answered = await statusRow();
    expect(answered?.[c.lastTestSucceeded]).toBe(true);
    expect(answered?.[c.lastTestedOn]).toBe('2026-12-05T12:00:20Z');
    expect(
      String(answered?.[c.lastTestResult])
        .split('\n')
        .map((line) => line.split(':')[0]),
    ).toEqual(['Store', 'Dataverse', 'Stripe']);
    now += 20_000;
    expect(await reportStatus(options())).toBe(false);
  });

  it('says which part failed the test', async () => {
    await reportStatus(options());
    const row = await statusRow();
    await dataverse.client.update(ConnectorStatus.entitySetName, String(row![ConnectorStatus.primaryId]), {
      [c.testRequestedOn]: '2026-12-05T12:00:10Z',
    });
    await stripeEmulator.close();
    now += 20_000;
    await reportStatus(options());
    const answered = await statusRow();
    expect(answered?.[c.lastTestSucceeded]).toBe(false);
    expect(String(answered?.[c.lastTestResult])).toMatch(
      /^Store: answered in \d+ ms\.\nDataverse: answered in \d+ ms\.\nStripe: /,
    );
  });
});
