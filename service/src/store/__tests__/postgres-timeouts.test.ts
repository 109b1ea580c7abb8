/**
 * PostgreSQL whose network goes silent: a query gets no answer and the socket stays open. The store's queries
 * must fail after its query timeout (so a webhook is answered with an error Stripe retries, and a worker's claim
 * gives up) rather than wait as long as the operating system keeps the socket, and the store must work again
 * once the network does, on new connections.
 */
import crypto from 'node:crypto';
import net from 'node:net';
import { Client } from 'pg';
import { describeWhen, postgresRequirement } from '@stc/testkit';
import { paymentEvent } from '../../__tests__/support/inbox-event';
import { createPostgresStore, type Store } from '../index';

const databaseUrl = process.env.STC_TEST_DATABASE_URL ?? '';
const T0 = 1_700_000_000_000;

/**
 * A TCP relay to the database that can hold every byte either way while keeping each socket open. Restored,
 * it either delivers what it held (a network that stalled, then answered late) or keeps the connections of
 * the stall silent for good while new ones pass (a firewall or NAT that forgot them).
 */
async function silentableRelay(target: URL) {
  let silent = false;
  const pairs: Array<{ sockets: net.Socket[]; silent: boolean; held: Array<() => void> }> = [];
  const server = net.createServer((inbound) => {
    const outbound = net.connect(Number(target.port || 5432), target.hostname);
    const pair = { sockets: [inbound, outbound], silent, held: [] as Array<() => void> };
    pairs.push(pair);
    for (const [from, to] of [
      [inbound, outbound],
      [outbound, inbound],
    ]) {
      from.on('data', (chunk) => {
        if (pair.silent) pair.held.push(() => to.destroyed || to.write(chunk));
        else to.write(chunk);
      });
      from.on('error', () => to.destroy());
      from.on('close', () => to.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(target.href);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as net.AddressInfo).port);
  return {
    url: url.href,
    silence() {
      silent = true;
      for (const pair of pairs) pair.silent = true;
    },
    restore(stalled: 'deliver' | 'lose') {
      silent = false;
      if (stalled === 'lose') return;
      for (const pair of pairs) {
        pair.silent = false;
        for (const pass of pair.held.splice(0)) pass();
      }
    },
    async close() {
      for (const pair of pairs) for (const socket of pair.sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const event = (eventId: string) => paymentEvent(eventId, T0);

/**
 * The store's query and connect timeouts here: short beside the silence they cut (for ever), long beside a
 * query that does get an answer while the test suites load the machine and its PostgreSQL (a commit's fsync
 * took more than half a second in a CI run).
 */
const TIMEOUT_MS = 4_000;
/** A test's own limit: its silent waits plus room. */
const TEST_MS = 60_000;

describeWhen(postgresRequirement(), 'PostgreSQL store when the network goes silent', () => {
  const schema = `stc_test_silent_${process.pid}_${crypto.randomBytes(3).toString('hex')}`;
  let relay: Awaited<ReturnType<typeof silentableRelay>>;
  let store: Store;

  beforeEach(async () => {
    relay = await silentableRelay(new URL(databaseUrl));
    store = createPostgresStore({
      connectionString: relay.url,
      schema,
      queryTimeoutMs: TIMEOUT_MS,
      connectTimeoutMs: TIMEOUT_MS,
    });
    await store.migrate();
  });

  afterEach(async () => {
    relay.restore('deliver');
    await store.close();
    await relay.close();
    const admin = new Client({ connectionString: databaseUrl });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  test(
    'queries fail after the timeout instead of waiting, and the store works again afterwards',
    async () => {
      expect(await store.insertEvent(event('evt_before'))).toBe(true);

      relay.silence();
      const started = Date.now();
      await expect(store.insertEvent(event('evt_during'))).rejects.toThrow(/timeout/i);
      await expect(store.claimEvents({ owner: 'w1', limit: 10, leaseMs: 30_000 })).rejects.toThrow(
        /timeout/i,
      );
      // Each waited about its timeout, not for the socket to give up.
      expect(Date.now() - started).toBeLessThan(4 * TIMEOUT_MS);

      relay.restore('deliver');
      // Stripe delivers the refused webhook again: it is stored once, beside the one before.
      expect(await store.insertEvent(event('evt_during'))).toBe(true);
      const claimed = await store.claimEvents({ owner: 'w1', limit: 10, leaseMs: 30_000 });
      expect(claimed.map((e) => e.eventId).sort()).toEqual(['evt_before', 'evt_during']);
    },
    TEST_MS,
  );

  test(
    'a connection that timed out in a transaction is closed, not lent to the next query',
    async () => {
      await store.insertEvent(event('evt_one'));
      relay.silence();
      // Retrying a dead letter is one transaction: its BEGIN gets no answer. It fails after one timeout, not
      // a second one spent on a ROLLBACK queued behind the BEGIN.
      const started = Date.now();
      await expect(store.retryDeadLetter(1)).rejects.toThrow(/timeout/i);
      expect(Date.now() - started).toBeLessThan(1.75 * TIMEOUT_MS);
      // The stalled connection stays silent for good; new ones pass.
      relay.restore('lose');
      const claimed = await store.claimEvents({ owner: 'w1', limit: 10, leaseMs: 30_000 });
      expect(claimed.map((e) => e.eventId)).toEqual(['evt_one']);
      expect(await store.retryDeadLetter(1)).toBe(false);
    },
    TEST_MS,
  );
});
