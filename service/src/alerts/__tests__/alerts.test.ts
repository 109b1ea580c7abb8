/**
 * Alerts delivered to a local webhook receiver: a real SQLite store, the Dataverse and Stripe emulators and the
 * service's /metrics registry give the facts; the receiver (node:http) records what Teams, Slack and a
 * generic JSON endpoint would get. One message when a condition starts, none while it lasts, a reminder after
 * the re-notify interval, one "resolved" when it clears; a receiver that fails gets it next round.
 */
import { startStripeEmulator, type StripeEmulator } from '@stc/emulators';
import { JournalEntry, JournalStatus } from '@stc/solution/tables';
import { RecordingLogger } from '../../inbound/__tests__/harness';
import { dataverseEmulatorForFile } from '../../__tests__/support/dataverse-emulator';
import { sqliteEngine, type TestDatabase } from '../../__tests__/support/engines';
import { createMetrics, type Metrics } from '../../observability/metrics';
import { createStripeBudgetMetrics } from '../../stripe';
import {
  createAlerter,
  createAlertMetrics,
  DEFAULT_ALERT_THRESHOLDS,
  startAlerts,
  type AlertSettings,
} from '..';
import type { AlertReceiver } from '../deliver';
import { Receiver, type Received } from './receiver';

const dataverse = dataverseEmulatorForFile();
let database: TestDatabase;
let stripe: StripeEmulator;
let receiver: Receiver;
let metrics: Metrics;
let log: RecordingLogger;
let now: number;

beforeAll(async () => {
  stripe = await startStripeEmulator({ rateLimit: false });
});
afterAll(() => stripe.close());
beforeEach(async () => {
  database = await sqliteEngine.open();
  receiver = new Receiver();
  await receiver.start();
  metrics = createMetrics({ store: database.store });
  log = new RecordingLogger();
  now = Date.parse('2026-12-05T12:00:00Z');
});
afterEach(async () => {
  await receiver.close();
  await database.destroy();
});

const SECRET = 'sig=Zm9vYmFyc2VjcmV0';
const receivers = (): AlertReceiver[] => [
  { format: 'teams', url: `${receiver.url}/teams/workflows?${SECRET}` },
  { format: 'slack', url: `${receiver.url}/slack/T000/B000/${SECRET}` },
  { format: 'json', url: `${receiver.url}/json/${SECRET}` },
];

function alerter(settings: Partial<AlertSettings> = {}, thresholds = {}) {
  return createAlerter({
    store: database.store,
    dataverse: dataverse.client,
    stripe: stripe.client(),
    registry: metrics.registry,
    log,
    now: () => now,
    metrics: createAlertMetrics(metrics.registry, database.store, () => now),
    settings: {
      receivers: receivers(),
      intervalMs: 60_000,
      renotifyMs: 0,
      timeoutMs: 2000,
      thresholds: { ...DEFAULT_ALERT_THRESHOLDS, ...thresholds },
      ...settings,
    },
  });
}

async function deadEvent(eventId: string): Promise<number> {
  await database.store.insertEvent({
    source: 'stripe',
    account: '',
    eventId,
    type: 'payment_intent.succeeded',
    objectId: `pi_${eventId}`,
    eventCreatedMs: now - 60_000,
    payload: JSON.stringify({ id: eventId }),
    status: 'pending',
    receivedAtMs: now - 59_000,
  });
  const [claimed] = await database.store.claimEvents({ owner: 'w1', limit: 1, leaseMs: 60_000, nowMs: now });
  await database.store.completeEvent({
    event: claimed!,
    owner: 'w1',
    outcome: { kind: 'dead', error: 'Dataverse answered 400', code: '0x80040203' },
    startedAtMs: now,
    finishedAtMs: now + 5,
    stampObject: false,
  });
  const letters = await database.store.listDeadLetters();
  return letters.find((letter) => letter.eventId === eventId)!.id;
}

/** What each format says, reduced to the alert, its status and its heading. */
function read(message: Received): { format: string; alert: string; status: string; text: string } {
  const format = message.path.split('/')[1];
  if (format === 'teams') {
    const card = message.body.attachments[0].content;
    const facts = Object.fromEntries(card.body[2].facts.map((f) => [f.title, f.value]));
    return {
      format,
      alert: facts.Alert,
      status: facts.Status,
      text: `${card.body[0].text} ${card.body[1].text}`,
    };
  }
  if (format === 'slack') {
    const context: string = message.body.blocks[2].elements[0].text;
    const alert = /`([a-z_]+)`/.exec(context)![1];
    const status = String(message.body.text).startsWith('Resolved') ? 'resolved' : 'firing';
    return { format, alert, status, text: message.body.text };
  }
  return { format, alert: message.body.alert, status: message.body.status, text: message.body.summary };
}

const summary = (messages: Received[]) =>
  messages
    .map(read)
    .map(({ format, alert, status }) => `${format} ${alert} ${status}`)
    .sort();

describe('alerts to Teams, Slack and JSON receivers', () => {
  it('notifies once when the dead letters reach the threshold, stays quiet while they stay, and resolves', async () => {
    const alerts = alerter({}, { deadLetters: 2 });
    const first = await deadEvent('evt_1');
    await alerts.round();
    expect(receiver.take()).toEqual([]);

    const second = await deadEvent('evt_2');
    await alerts.round();
    const started = receiver.take();
    expect(summary(started)).toEqual([
      'json dead_letters firing',
      'slack dead_letters firing',
      'teams dead_letters firing',
    ]);
    const teams = started.find((m) => m.path.startsWith('/teams'))!.body;
    expect(teams).toMatchObject({
      type: 'message',
      attachments: [
        { contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard' } },
      ],
    });
    expect(read(started.find((m) => m.path.startsWith('/slack'))!).text).toContain(
      '2 event(s) in the dead-letter queue (alert at 2)',
    );
    expect(started.find((m) => m.path.startsWith('/json'))!.body).toMatchObject({
      alert: 'dead_letters',
      status: 'firing',
      startedAt: '2026-12-05T12:00:00.000Z',
    });
    // What the operator console shows as open.
    expect(alerts.open()).toEqual([
      {
        alert: 'dead_letters',
        summary: expect.stringContaining('2 event(s) in the dead-letter queue'),
        sinceMs: Date.parse('2026-12-05T12:00:00.000Z'),
      },
    ]);

    for (const minutes of [1, 2, 3]) {
      now += minutes * 60_000;
      await alerts.round();
    }
    expect(receiver.take()).toEqual([]);

    await database.store.retryDeadLetter(first, now);
    await database.store.retryDeadLetter(second, now);
    now += 60_000;
    await alerts.round();
    const resolved = receiver.take();
    expect(summary(resolved)).toEqual([
      'json dead_letters resolved',
      'slack dead_letters resolved',
      'teams dead_letters resolved',
    ]);
    expect(read(resolved[0]).text).toMatch(/Resolved/);
    expect(alerts.open()).toEqual([]);
  });

  it('reminds of a condition that lasts after the re-notify interval, not before', async () => {
    const alerts = alerter({ renotifyMs: 30 * 60_000 });
    await deadEvent('evt_1');
    await alerts.round();
    expect(receiver.take()).toHaveLength(3);
    now += 29 * 60_000;
    await alerts.round();
    expect(receiver.take()).toEqual([]);
    now += 60_000;
    await alerts.round();
    const reminders = receiver.take();
    expect(summary(reminders)).toEqual([
      'json dead_letters firing',
      'slack dead_letters firing',
      'teams dead_letters firing',
    ]);
    for (const message of reminders) {
      if (message.path.startsWith('/json')) expect(message.body.reminder).toBe(true);
      else expect(read(message).text).toMatch(/^Still firing: Events in the dead-letter queue/);
    }
  });

  it('notifies an event waiting longer than the backlog age, and resolves once it is worked on', async () => {
    const alerts = alerter({}, { backlogAgeMs: 15 * 60_000 });
    await database.store.insertEvent({
      source: 'stripe',
      account: '',
      eventId: 'evt_waiting',
      type: 'customer.updated',
      objectId: 'cus_1',
      eventCreatedMs: now,
      payload: '{}',
      status: 'pending',
      receivedAtMs: now,
    });
    now += 10 * 60_000;
    await alerts.round();
    expect(receiver.take()).toEqual([]);
    now += 6 * 60_000;
    await alerts.round();
    const started = receiver.take();
    expect(summary(started)).toEqual([
      'json backlog_age firing',
      'slack backlog_age firing',
      'teams backlog_age firing',
    ]);
    expect(read(started[0]).text).toContain('The oldest waiting event arrived 16 min ago');
    const metricsText = await metrics.registry.metrics();
    expect(metricsText).toMatch(/stc_oldest_waiting_age_seconds 960/);

    const [claimed] = await database.store.claimEvents({
      owner: 'w1',
      limit: 1,
      leaseMs: 60_000,
      nowMs: now,
    });
    await database.store.completeEvent({
      event: claimed!,
      owner: 'w1',
      outcome: { kind: 'applied' },
      startedAtMs: now,
      finishedAtMs: now + 5,
      stampObject: true,
    });
    now += 60_000;
    await alerts.round();
    expect(summary(receiver.take())).toEqual([
      'json backlog_age resolved',
      'slack backlog_age resolved',
      'teams backlog_age resolved',
    ]);
  });

  it('notifies webhook signature failures within the window, and resolves when the window has passed', async () => {
    const alerts = alerter({}, { signatureFailures: 3, signatureWindowMs: 15 * 60_000 });
    await alerts.round();
    metrics.rejected.inc({ source: 'stripe', reason: 'bad_signature' }, 2);
    metrics.rejected.inc({ source: 'stripe', reason: 'malformed_json' }, 5);
    now += 60_000;
    await alerts.round();
    expect(receiver.take()).toEqual([]);
    metrics.rejected.inc({ source: 'dataverse', reason: 'bad_key' });
    now += 60_000;
    await alerts.round();
    const started = receiver.take();
    expect(summary(started)).toEqual([
      'json signature_failures firing',
      'slack signature_failures firing',
      'teams signature_failures firing',
    ]);
    expect(read(started[0]).text).toContain('3 webhook request(s) refused');
    now += 10 * 60_000;
    await alerts.round();
    expect(receiver.take()).toEqual([]);
    now += 10 * 60_000;
    await alerts.round();
    expect(summary(receiver.take())).toEqual([
      'json signature_failures resolved',
      'slack signature_failures resolved',
      'teams signature_failures resolved',
    ]);
  });

  it('notifies payout journals that do not balance', async () => {
    const alerts = alerter();
    await dataverse.client.create(JournalEntry.entitySetName, {
      [JournalEntry.col.name]: 'Payout po_short',
      [JournalEntry.col.stripePayoutId]: 'po_short',
      [JournalEntry.col.date]: '2026-12-01',
      [JournalEntry.col.currency]: 'eur',
      [JournalEntry.col.difference]: -1.5,
      [JournalEntry.col.status]: JournalStatus.mismatch,
    });
    await alerts.round();
    expect(summary(receiver.take())).toEqual([
      'json reconciliation_mismatch firing',
      'slack reconciliation_mismatch firing',
      'teams reconciliation_mismatch firing',
    ]);
    expect(await metrics.registry.metrics()).toMatch(/stc_reconciliation_mismatched_journals 1/);
  });

  it('notifies Dataverse unreachable only once it has failed for the configured time', async () => {
    const alerts = alerter({ timeoutMs: 500 }, { unavailableMs: 5 * 60_000 });
    dataverse.emulator.injectFault({ status: 503, fraction: 1 });
    await alerts.round();
    now += 4 * 60_000;
    await alerts.round();
    expect(receiver.take()).toEqual([]);
    expect(await metrics.registry.metrics()).toMatch(/stc_dependency_healthy\{dependency="dataverse"\} 0/);
    now += 60_000;
    await alerts.round();
    const started = receiver.take().map(read);
    expect(started.map((m) => `${m.format} ${m.alert}`).sort()).toEqual([
      'json dataverse_unavailable',
      'slack dataverse_unavailable',
      'teams dataverse_unavailable',
    ]);
    expect(started[0].text).toContain('Dataverse has been unreachable or throttled for 5 min');
    dataverse.emulator.clearFaults();
    now += 60_000;
    await alerts.round();
    expect(summary(receiver.take())).toEqual([
      'json dataverse_unavailable resolved',
      'slack dataverse_unavailable resolved',
      'teams dataverse_unavailable resolved',
    ]);
  });

  it('notifies Stripe throttled round after round, and resolves after a round without a 429', async () => {
    const budget = createStripeBudgetMetrics(metrics.registry);
    const call = {
      account: '',
      mode: 'test' as const,
      endpoint: 'GET /v1/charges',
      priority: 'sync' as const,
    };
    const alerts = alerter({}, { unavailableMs: 3 * 60_000 });
    await alerts.round();
    for (let minute = 1; minute <= 4; minute++) {
      expect(receiver.take()).toEqual([]);
      budget.rateLimited!(call);
      now += 60_000;
      await alerts.round();
    }
    const started = receiver.take().map(read);
    expect(started.map((m) => `${m.format} ${m.alert} ${m.status}`).sort()).toEqual([
      'json stripe_unavailable firing',
      'slack stripe_unavailable firing',
      'teams stripe_unavailable firing',
    ]);
    expect(started[0].text).toContain(
      'Stripe has been unreachable or throttled for 3 min: 1 request(s) throttled (429) since the previous check',
    );
    now += 60_000;
    await alerts.round();
    expect(summary(receiver.take())).toEqual([
      'json stripe_unavailable resolved',
      'slack stripe_unavailable resolved',
      'teams stripe_unavailable resolved',
    ]);
  });
});

describe('a receiver that fails', () => {
  it.each([
    ['answers 500', 500 as const],
    ['never answers', 'hang' as const],
  ])('gets the notification next round when it %s; the others get theirs at once', async (_, answer) => {
    const alerts = alerter({ timeoutMs: 300 });
    receiver.answer.set(`/json/${SECRET}`, answer);
    await deadEvent('evt_1');
    const result = await alerts.round();
    expect(summary(receiver.take())).toEqual(['slack dead_letters firing', 'teams dead_letters firing']);
    expect(result.waiting).toBe(1);
    const warning = log.entries.find((e) => e.msg === 'alert not delivered; sent again next round');
    expect(warning?.obj).toMatchObject({
      receiver: `${receiver.url}/…`,
      format: 'json',
      alert: 'dead_letters',
    });
    expect(JSON.stringify(log.entries)).not.toContain(SECRET);

    now += 60_000;
    await alerts.round();
    expect(receiver.take()).toEqual([]);

    receiver.answer.delete(`/json/${SECRET}`);
    now += 60_000;
    const after = await alerts.round();
    expect(summary(receiver.take())).toEqual(['json dead_letters firing']);
    expect(after.waiting).toBe(0);
  });

  it('goes on when a receiver cannot be reached at all', async () => {
    const closed = new Receiver();
    await closed.start();
    const unreachable = `${closed.url}/json/${SECRET}`;
    await closed.close();
    const alerts = createAlerter({
      store: database.store,
      dataverse: dataverse.client,
      registry: metrics.registry,
      log,
      now: () => now,
      settings: {
        receivers: [{ format: 'json', url: unreachable }, ...receivers().slice(0, 1)],
        intervalMs: 60_000,
        renotifyMs: 0,
        timeoutMs: 1000,
        thresholds: DEFAULT_ALERT_THRESHOLDS,
      },
    });
    await deadEvent('evt_1');
    await expect(alerts.round()).resolves.toMatchObject({ delivered: 1, waiting: 1 });
    expect(summary(receiver.take())).toEqual(['teams dead_letters firing']);
    const warning = log.entries.find((e) => e.msg === 'alert not delivered; sent again next round');
    expect(warning?.obj).toMatchObject({ receiver: `${closed.url}/…`, reason: 'fetch failed' });
    expect(JSON.stringify(log.entries)).not.toContain(SECRET);
  });

  it('does not hold the service back when it stops while a receiver is not answering', async () => {
    receiver.answer.set(`/json/${SECRET}`, 'hang');
    await deadEvent('evt_1');
    const schedule = startAlerts({
      store: database.store,
      dataverse: dataverse.client,
      registry: metrics.registry,
      log,
      settings: {
        receivers: receivers(),
        intervalMs: 20,
        renotifyMs: 0,
        timeoutMs: 30_000,
        thresholds: DEFAULT_ALERT_THRESHOLDS,
      },
    });
    const deadline = Date.now() + 5000;
    while (receiver.hits < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(summary(receiver.take())).toEqual(['slack dead_letters firing', 'teams dead_letters firing']);
    const started = Date.now();
    await schedule.stop();
    // Waiting would take the hanging delivery's 30 s timeout.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(log.entries.filter((e) => e.msg === 'alert not delivered; sent again next round')).toEqual([]);
  });
});
