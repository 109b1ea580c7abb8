/**
 * The service as a real process against the Dataverse emulator: killed with SIGKILL between the 2xx and the
 * Dataverse write, restarted, the event applied exactly once; stopped with SIGTERM, running work finished.
 * Writes are counted by the emulator's own Dataverse webhooks on stc_payment (one Create, no Update = once).
 */
import { describeOnEachEngine } from './support/engines';
import { databaseAndEmulator } from './support/database-and-emulator';
import { serviceEnv, ServiceProcesses } from './support/service-child';
import { eventPayload, postSignedEvent, waitFor } from '@stc/testkit';

const SECRET = 'whsec_process_test_0123456789';

const postEvent = (url: string, payload: string) => postSignedEvent(url, payload, SECRET);

jest.setTimeout(240_000);

describeOnEachEngine('service process', (engine) => {
  const services = new ServiceProcesses();
  const world = databaseAndEmulator(engine, 'test', () => services.stopAll());

  const start = (extra: Record<string, string> = {}) =>
    services.start(
      serviceEnv({
        database: world.db.env,
        dataverseUrl: world.emulator.url,
        webhookSecret: SECRET,
        name: 'process',
        extra: { WORKER_POLL_MS: '50', WORKER_LEASE_MS: '1500', RETRY_BASE_MS: '50', ...extra },
      }),
    );
  /** Starts a service held in its handler (`extra`), posts a charge event and waits until it is claimed. */
  const startWithClaimedEvent = async (extra: Record<string, string>) => {
    const child = await start(extra);
    const { event, payload } = eventPayload('charge_succeeded');
    expect(await postEvent(child.url, payload)).toBe(200);
    await waitFor(
      async () => (await world.db.store.findEvent('stripe', '', event.id))?.status === 'processing',
      'the worker to claim the event',
    );
    return { child, event, payload };
  };
  const writes = () => {
    const deliveries = world.emulator.webhookDeliveries();
    return {
      creates: deliveries.filter((d) => d.message === 'Create').length,
      updates: deliveries.filter((d) => d.message === 'Update').length,
    };
  };

  test('SIGKILL between the 2xx and the Dataverse write: after a restart the event is applied exactly once', async () => {
    const { child: first, event } = await startWithClaimedEvent({ STC_TEST_HANDLER_DELAY_MS: '600000' });
    first.process.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    expect(world.emulator.store.count('stc_payments')).toBe(0);

    const second = await start();
    await waitFor(
      async () => (await world.db.store.findEvent('stripe', '', event.id))?.status === 'applied',
      'the restarted service to apply the event',
      30_000,
    );
    await world.emulator.webhooksIdle();
    const rows = world.emulator.store.rows('stc_payments');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      stc_stripeid: 'ch_3KtQThJDPojXS6LN0YmgbxGj',
      stc_amount: 30,
      stc_lasteventid: event.id,
    });
    expect(writes()).toEqual({ creates: 1, updates: 0 });
    expect((await world.db.store.findEvent('stripe', '', event.id))?.attempts).toBe(2);

    second.process.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
  });

  test('SIGTERM: intake stops, the running handler finishes and its event is applied, the process exits 0', async () => {
    const { child, event, payload } = await startWithClaimedEvent({ STC_TEST_HANDLER_DELAY_MS: '1500' });
    child.process.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect((await world.db.store.findEvent('stripe', '', event.id))?.status).toBe('applied');
    expect(world.emulator.store.count('stc_payments')).toBe(1);
    await expect(postEvent(child.url, payload)).rejects.toThrow();
    const log = child.lines.join('\n');
    expect(log).toContain('"msg":"shutdown requested"');
    expect(log).toContain('"msg":"stopped"');
    expect(log).not.toContain(SECRET);
  });

  test('SIGTERM with a handler outlasting the grace period: the event is given back, then applied by the next process', async () => {
    const { child, event } = await startWithClaimedEvent({
      STC_TEST_HANDLER_DELAY_MS: '600000',
      SHUTDOWN_GRACE_MS: '200',
    });
    child.process.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(await world.db.store.findEvent('stripe', '', event.id)).toMatchObject({
      status: 'pending',
      attempts: 0,
    });
    await start();
    await waitFor(
      async () => (await world.db.store.findEvent('stripe', '', event.id))?.status === 'applied',
      'the next process to apply it',
      30_000,
    );
    await world.emulator.webhooksIdle();
    expect(writes()).toEqual({ creates: 1, updates: 0 });
  });
});
