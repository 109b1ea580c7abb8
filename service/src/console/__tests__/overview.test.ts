import { createDataverseClient } from '../../dataverse';
import { createMetrics } from '../../observability/metrics';
import { describeOnEachEngine, type TestDatabase } from '../../__tests__/support/engines';
import type { Overview } from '../contract';
import { consoleHarness } from './support';

describeOnEachEngine('console overview', (engine) => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await engine.open();
  });
  afterEach(() => db.destroy());

  it('counts the outcomes of the last minutes, the backlog, the last event, Dataverse throttling and alerts', async () => {
    const metrics = createMetrics({ store: db.store });
    const console_ = consoleHarness(db.store, {
      metrics,
      console: {
        openAlerts: () => [
          { alert: 'dead_letters', summary: '1 event in the dead-letter queue', sinceMs: 1_000 },
        ],
      },
    });
    await console_.deliver('ch_ok_1');
    await console_.deliver('ch_ok_2');
    await console_.deliver('ch_fail_3');
    await console_.work();
    const { eventId: waiting } = await console_.deliver('ch_waiting_4');

    // The service's Dataverse client reports every exchange: here one 429, then the answer.
    let calls = 0;
    const dataverse = createDataverseClient({
      baseUrl: 'https://contoso.crm.dynamics.com/api/data/v9.2/',
      getToken: async () => 'token',
      retry: { baseDelayMs: 1, maxDelayMs: 5 },
      onExchange: (status, ms) => metrics.dependencies.observe('dataverse', status, ms),
      fetch: async () => {
        calls += 1;
        return calls === 1
          ? new Response('{"error":{"code":"0x80072322","message":"Too many requests"}}', {
              status: 429,
              headers: { 'Retry-After': '0' },
            })
          : new Response('{"value":[]}', { status: 200 });
      },
    });
    await dataverse.retrieveMultiple('stc_payments', { top: 1 });

    const overview = (await console_.get('/console/api/overview?minutes=5').expect(200)).body as Overview;
    expect(overview.perMinute).toHaveLength(5);
    expect(overview.perMinute[0].minuteMs + 4 * 60_000).toBe(overview.perMinute[4].minuteMs);
    const total = (name: 'applied' | 'dead' | 'retried') =>
      overview.perMinute.reduce((sum, minute) => sum + minute[name], 0);
    expect([total('applied'), total('dead'), total('retried')]).toEqual([2, 1, 0]);
    expect(overview.backlog).toEqual({ pending: 1, processing: 0, dead: 1 });
    expect(overview.oldestPendingAgeMs).toBeGreaterThanOrEqual(0);
    expect(overview.lastEvent?.eventId).toBe(waiting);
    expect(overview.dataverse).toEqual(expect.objectContaining({ requests: 2, throttled: 1, failed: 0 }));
    expect(overview.dataverse.p95Ms).not.toBeNull();
    expect(overview.stripe).toEqual({ requests: 0, p50Ms: null, p95Ms: null, throttled: 0, failed: 0 });
    expect(overview.alerts).toEqual([
      { rule: 'dead_letters', summary: '1 event in the dead-letter queue', sinceMs: 1_000 },
    ]);
  });
});
