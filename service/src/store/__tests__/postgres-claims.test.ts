/**
 * Claims of several processes on one PostgreSQL database: each object goes to one claim whole, with its newest
 * event and the older ones it supersedes, whatever the interleaving.
 */
import crypto from 'node:crypto';
import { Client } from 'pg';
import { describeWhen, postgresRequirement } from '@stc/testkit';
import { paymentEvent } from '../../__tests__/support/inbox-event';
import { createPostgresStore, type InboxEvent, type Store } from '../index';

const databaseUrl = process.env.STC_TEST_DATABASE_URL ?? '';
const T0 = 1_700_000_000_000;
const NOW = T0 + 60_000;

/** Event `n` of PaymentIntent `objectId`, created `n` seconds after T0. */
const burstEvent = (objectId: string, n: number) =>
  paymentEvent(`evt_${objectId}_${n}`, T0 + n * 1000, { objectId });

const claim = (store: Store, owner: string, limit: number) =>
  store.claimEvents({ owner, limit, leaseMs: 60_000, nowMs: NOW });

const complete = (store: Store, event: InboxEvent, owner: string) =>
  store.completeEvent({
    event,
    owner,
    outcome: { kind: 'applied' },
    startedAtMs: NOW,
    finishedAtMs: NOW,
    stampObject: true,
  });

describeWhen(postgresRequirement(), 'PostgreSQL claims across processes', () => {
  const schema = `stc_claims_${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
  const stores: Store[] = [];
  let admin: Client;

  beforeAll(async () => {
    admin = new Client({ connectionString: databaseUrl });
    await admin.connect();
  });
  afterAll(async () => {
    await admin.end();
  });
  beforeEach(async () => {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    for (let n = 0; n < 4; n++) stores.push(createPostgresStore({ connectionString: databaseUrl, schema }));
    await stores[0].migrate();
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  });

  const statusOf = async (eventId: string) => (await stores[0].findEvent('stripe', '', eventId))?.status;

  test('an object whose newest event another transaction holds is left whole for a later claim', async () => {
    for (const objectId of ['pi_a', 'pi_b'])
      for (let n = 0; n < 4; n++) await stores[0].insertEvent(burstEvent(objectId, n));
    // Another writer holds the row of pi_a's newest event: the claim cannot take it, and must not apply
    // pi_a's older state instead.
    const holder = new Client({ connectionString: databaseUrl, options: `-c search_path=${schema}` });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT id FROM inbox WHERE event_id = 'evt_pi_a_3' FOR UPDATE`);
      const first = await claim(stores[0], 'w1', 4);
      expect(first.map((e) => e.eventId)).toEqual(['evt_pi_b_3']);
      for (let n = 0; n < 4; n++) expect(await statusOf(`evt_pi_a_${n}`)).toBe('pending');
      await holder.query('COMMIT');
    } finally {
      await holder.end();
    }
    const second = await claim(stores[0], 'w1', 4);
    expect(second.map((e) => e.eventId)).toEqual(['evt_pi_a_3']);
    for (let n = 0; n < 3; n++) expect(await statusOf(`evt_pi_a_${n}`)).toBe('superseded');
  });

  test('four processes claiming and completing together apply each object once, from its newest event', async () => {
    const objects = Array.from({ length: 40 }, (_, i) => `pi_${i}`);
    for (const objectId of objects)
      for (let n = 0; n < 4; n++) await stores[0].insertEvent(burstEvent(objectId, n));
    const applied: string[] = [];
    // Each process claims one event at a time and completes it, until the queue is empty for all of them.
    await Promise.all(
      stores.map(async (store, p) => {
        for (let idle = 0; idle < 3;) {
          const taken = await claim(store, `w${p}`, 1 + (p % 2));
          if (taken.length === 0) idle++;
          for (const event of taken) {
            applied.push(event.eventId);
            await complete(store, event, `w${p}`);
          }
        }
      }),
    );
    expect([...applied].sort()).toEqual(objects.map((o) => `evt_${o}_3`).sort());
    for (const objectId of objects)
      for (let n = 0; n < 3; n++) expect(await statusOf(`evt_${objectId}_${n}`)).toBe('superseded');
    expect(await stores[0].queueDepth()).toMatchObject({ pending: 0, processing: 0 });
  });
});
