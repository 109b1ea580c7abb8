/**
 * Two service processes on one PostgreSQL database (as two replicas behind a load balancer): webhooks go to
 * either, both work the shared inbox, no event is processed twice, each applied event is written once.
 */
import { Client } from 'pg';
import { engineRequirement, postgresEngine } from './support/engines';
import { databaseAndEmulator } from './support/database-and-emulator';
import { serviceEnv, ServiceProcesses } from './support/service-child';
import { describeWhen, eventPayload, postSignedEvent, waitForEmptyQueue } from '@stc/testkit';

const SECRET = 'whsec_replica_test_0123456789';
const CHARGES = 20;

jest.setTimeout(240_000);

describeWhen(engineRequirement(postgresEngine), 'two service processes on one PostgreSQL database', () => {
  const services = new ServiceProcesses();
  const world = databaseAndEmulator(postgresEngine, 'suite', () => services.stopAll());

  test('the work is shared and nothing is processed twice', async () => {
    const env = serviceEnv({
      database: world.db.env,
      dataverseUrl: world.emulator.url,
      webhookSecret: SECRET,
      name: 'replica',
      extra: {
        WORKER_POLL_MS: '20',
        WORKER_CONCURRENCY: '4',
        // Each handler run takes a moment, so that both processes have claims in flight at once.
        STC_TEST_HANDLER_DELAY_MS: '20',
      },
    });
    // One after the other: two compilations at once on a busy machine only slow both.
    const replicas = [await services.start(env), await services.start(env)];

    const sent: string[] = [];
    for (let i = 0; i < CHARGES * 2; i++) {
      const base = eventPayload('charge_succeeded').event;
      const { event, payload } = eventPayload('charge_succeeded', {
        created: 1_700_000_000 + i,
        // Each charge its own payment: the charges of one PaymentIntent are one object, coalesced.
        data: {
          object: {
            ...base.data.object,
            id: `ch_replica_${i % CHARGES}`,
            payment_intent: `pi_replica_${i % CHARGES}`,
          },
        },
      });
      sent.push(event.id);
      expect(await postSignedEvent(replicas[i % 2].url, payload, SECRET)).toBe(200);
    }
    await waitForEmptyQueue(world.db.store, 'the replicas to drain the inbox', 60_000, 50);
    await world.emulator.webhooksIdle();

    const client = new Client({
      connectionString: world.db.env.DATABASE_URL,
      options: `-c search_path=${world.db.env.DATABASE_SCHEMA}`,
    });
    await client.connect();
    try {
      const perEvent = await client.query(
        `SELECT i.event_id, i.status, count(a.id)::int AS attempts FROM inbox i JOIN attempts a ON a.inbox_id = i.id GROUP BY i.event_id, i.status`,
      );
      expect(perEvent.rows).toHaveLength(sent.length);
      expect(perEvent.rows.filter((r) => r.attempts !== 1)).toEqual([]);
      const workers = await client.query(`SELECT DISTINCT split_part(worker, ':', 2) AS pid FROM attempts`);
      expect(workers.rows.map((r) => Number(r.pid)).sort()).toEqual(
        replicas.map((r) => r.process.pid).sort(),
      );
      const applied = perEvent.rows.filter((r) => r.status === 'applied').length;
      expect(perEvent.rows.every((r) => r.status === 'applied' || r.status === 'superseded')).toBe(true);
      const deliveries = world.emulator.webhookDeliveries();
      expect(deliveries.filter((d) => d.message === 'Create')).toHaveLength(CHARGES);
      expect(deliveries.length).toBe(applied);
      for (const row of world.emulator.store.rows('stc_payments')) {
        // The newest event of each charge (created last) is the one the row carries.
        const index = Number(String(row.stc_stripeid).split('_').pop());
        expect(row.stc_lasteventid).toBe(sent[index + CHARGES]);
      }
    } finally {
      await client.end();
    }
  });
});
