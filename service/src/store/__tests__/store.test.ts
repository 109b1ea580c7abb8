/** The same suite on both engines: SQLite always, PostgreSQL when STC_TEST_DATABASE_URL is set. */
import { describeOnEachEngine, type TestDatabase } from '../../__tests__/support/engines';
import { FRESH_WRITE_ABANDONED_MS } from '../rows';
import type { InboxEvent, NewInboxEvent, Store } from '../types';

const T0 = 1_700_000_000_000;

function newEvent(overrides: Partial<NewInboxEvent> = {}): NewInboxEvent {
  const eventId = overrides.eventId ?? `evt_${Math.random().toString(36).slice(2)}`;
  return {
    source: 'stripe',
    account: '',
    eventId,
    type: 'charge.succeeded',
    objectId: 'ch_1',
    eventCreatedMs: T0,
    payload: JSON.stringify({ id: eventId, object: 'event' }),
    status: 'pending',
    receivedAtMs: T0,
    ...overrides,
  };
}

const claim = (store: Store, owner = 'w1', limit = 10, nowMs = T0 + 1000, leaseMs = 30_000) =>
  store.claimEvents({ owner, limit, leaseMs, nowMs });

const applied = (event: InboxEvent, owner = 'w1') => ({
  event,
  owner,
  outcome: { kind: 'applied' } as const,
  startedAtMs: T0 + 1000,
  finishedAtMs: T0 + 1100,
  stampObject: true,
});

describeOnEachEngine('store', (engine) => {
  let db: TestDatabase;
  let store: Store;
  beforeEach(async () => {
    db = await engine.open();
    store = db.store;
  });
  afterEach(async () => {
    await db.destroy();
  });

  test('migrations are recorded once and can run again', async () => {
    await store.migrate();
    const other = await db.connect();
    await other.ping();
    expect(await store.insertEvent(newEvent())).toBe(true);
  });

  test('tells the newest event received and when the oldest still waiting arrived', async () => {
    expect(await store.latestEvent()).toBeNull();
    expect(await store.oldestWaitingMs()).toBeNull();
    await store.insertEvent(newEvent({ eventId: 'evt_first', receivedAtMs: T0 }));
    await store.insertEvent(newEvent({ eventId: 'evt_second', objectId: 'ch_2', receivedAtMs: T0 + 500 }));
    await store.insertEvent(newEvent({ eventId: 'evt_ignored', status: 'ignored', receivedAtMs: T0 + 900 }));
    expect(await store.latestEvent()).toMatchObject({ eventId: 'evt_ignored', receivedAtMs: T0 + 900 });
    expect(await store.oldestWaitingMs()).toBe(T0);
    const claimed = await claim(store);
    const [first] = claimed.filter((event) => event.eventId === 'evt_first');
    expect(await store.oldestWaitingMs()).toBe(T0); // being processed still waits
    await store.completeEvent(applied(first!));
    expect(await store.oldestWaitingMs()).toBe(T0 + 500);

    // A replay an hour later makes the applied event due again: it waits since then, not since it arrived.
    await store.requeueEvents({ type: 'charge.*' }, T0 + 3_600_000);
    const [second] = claimed.filter((event) => event.eventId === 'evt_second');
    await store.completeEvent(applied(second!));
    expect(await store.findEvent('stripe', '', 'evt_first')).toMatchObject({ status: 'pending' });
    expect(await store.oldestWaitingMs()).toBe(T0 + 3_600_000);
  });

  test('an event is stored once per (source, account, event id)', async () => {
    const event = newEvent({ eventId: 'evt_dup' });
    expect(await store.insertEvent(event)).toBe(true);
    expect(await store.insertEvent({ ...event, payload: '{"changed":true}' })).toBe(false);
    expect(await store.insertEvent({ ...event, account: 'acct_1' })).toBe(true);
    const stored = await store.findEvent('stripe', '', 'evt_dup');
    expect(stored).toMatchObject({
      eventId: 'evt_dup',
      status: 'pending',
      attempts: 0,
      payload: event.payload,
    });
    expect((await store.findEvent('stripe', 'acct_1', 'evt_dup'))?.account).toBe('acct_1');
  });

  test('concurrent inserts share commits; each caller learns its own outcome', async () => {
    const events = Array.from({ length: 300 }, (_, i) =>
      newEvent({ eventId: `evt_group_${i % 150}`, objectId: `ch_${i}` }),
    );
    const results = await Promise.all(events.map((e) => store.insertEvent(e)));
    expect(results.filter(Boolean)).toHaveLength(150);
    // Of each pair exactly one was stored, the other reported as a duplicate (groups commit concurrently).
    expect(results.slice(0, 150).map((first, i) => Number(first) + Number(results[150 + i]))).toEqual(
      Array(150).fill(1),
    );
    expect((await store.queueDepth()).pending).toBe(150);
  });

  test('a group of any size stores each event whole, its last one too', async () => {
    // Five events commit together; PostgreSQL pads the group to a prepared size with copies of the last key.
    const events = Array.from({ length: 5 }, (_, i) =>
      newEvent({
        eventId: `evt_five_${i}`,
        objectId: `ch_five_${i}`,
        type: i === 4 ? 'charge.refunded' : 'charge.succeeded',
        eventCreatedMs: T0 + i,
      }),
    );
    expect(await Promise.all(events.map((e) => store.insertEvent(e)))).toEqual(Array(5).fill(true));
    for (const e of events) {
      expect(await store.findEvent('stripe', '', e.eventId)).toMatchObject({
        type: e.type,
        objectId: e.objectId,
        eventCreatedMs: e.eventCreatedMs,
        payload: e.payload,
        status: 'pending',
      });
    }
    expect((await store.queueDepth()).pending).toBe(5);
  });

  test('one bad event in a group does not fail the others', async () => {
    const good = newEvent({ eventId: 'evt_good' });
    const bad = { ...newEvent({ eventId: 'evt_bad' }), payload: null as unknown as string };
    const [a, b] = await Promise.allSettled([store.insertEvent(good), store.insertEvent(bad)]);
    expect(a).toEqual({ status: 'fulfilled', value: true });
    expect(b.status).toBe('rejected');
    expect((await store.findEvent('stripe', '', 'evt_good'))?.eventId).toBe('evt_good');
    expect(await store.findEvent('stripe', '', 'evt_bad')).toBeNull();
  });

  test('claims due pending events in arrival order, never ignored or future ones', async () => {
    await store.insertEvent(newEvent({ eventId: 'evt_a', objectId: 'ch_a' }));
    await store.insertEvent(newEvent({ eventId: 'evt_ignored', objectId: 'ch_b', status: 'ignored' }));
    await store.insertEvent(newEvent({ eventId: 'evt_c', objectId: 'ch_c' }));
    const claimed = await claim(store);
    expect(claimed.map((e) => e.eventId)).toEqual(['evt_a', 'evt_c']);
    expect(claimed[0]).toMatchObject({ status: 'processing', leaseOwner: 'w1', attempts: 1 });
    expect(await claim(store, 'w2')).toEqual([]);
  });

  test('a burst of one Stripe object: the newest is claimed, the older ones superseded by it', async () => {
    await store.insertEvent(newEvent({ eventId: 'evt_new', objectId: 'ch_1', eventCreatedMs: T0 + 5000 }));
    await store.insertEvent(newEvent({ eventId: 'evt_old', objectId: 'ch_1', eventCreatedMs: T0 }));
    await store.insertEvent(newEvent({ eventId: 'evt_mid', objectId: 'ch_1', eventCreatedMs: T0 + 2000 }));
    await store.insertEvent(newEvent({ eventId: 'evt_other', objectId: 'ch_2' }));
    const first = await claim(store);
    expect(first.map((e) => e.eventId).sort()).toEqual(['evt_new', 'evt_other']);
    for (const older of ['evt_old', 'evt_mid'])
      expect(await store.findEvent('stripe', '', older)).toMatchObject({ status: 'superseded', attempts: 1 });
    // The object carries the newest superseded event's stamp: evt_new's payload is newer than it.
    expect(await store.getObjectStamp('stripe', '', 'ch_1')).toEqual({
      eventCreatedMs: T0 + 2000,
      eventId: 'evt_mid',
    });
    expect(await claim(store, 'w2')).toEqual([]);
    expect(await store.completeEvent(applied(first.find((e) => e.eventId === 'evt_new')!))).toBe(true);
    expect(await store.getObjectStamp('stripe', '', 'ch_1')).toMatchObject({ eventId: 'evt_new' });
    expect(await store.queueDepth()).toMatchObject({ pending: 0 });
  });

  test('a burst is coalesced only as far as one handler takes its events; the rest follow in order', async () => {
    // charge.refunded goes to another handler (it writes the refunds): never coalesced into a payment event.
    const coalesces = (older: string, newer: string) =>
      (older === 'charge.refunded') === (newer === 'charge.refunded');
    const ev = (eventId: string, type: string, eventCreatedMs: number) =>
      newEvent({ eventId, type, objectId: 'pi_1', eventCreatedMs });
    await store.insertEvent(ev('evt_created', 'payment_intent.created', T0));
    await store.insertEvent(ev('evt_succeeded', 'charge.succeeded', T0 + 1000));
    await store.insertEvent(ev('evt_refunded', 'charge.refunded', T0 + 2000));
    await store.insertEvent(ev('evt_updated', 'charge.updated', T0 + 3000));
    const claimWith = async () => {
      const claimed = await store.claimEvents({
        owner: 'w1',
        limit: 10,
        leaseMs: 30_000,
        nowMs: T0 + 5000,
        coalesces,
      });
      for (const event of claimed) await store.completeEvent(applied(event));
      return claimed.map((e) => e.eventId);
    };
    expect(await claimWith()).toEqual(['evt_succeeded']);
    expect((await store.findEvent('stripe', '', 'evt_created'))?.status).toBe('superseded');
    expect(await claimWith()).toEqual(['evt_refunded']);
    expect(await claimWith()).toEqual(['evt_updated']);
    expect(await store.queueDepth()).toMatchObject({ pending: 0, processing: 0 });
  });

  test('a Stripe event of an object is first claimed once gathered; others at once', async () => {
    await store.insertEvent(newEvent({ eventId: 'evt_young', objectId: 'pi_1', receivedAtMs: T0 }));
    await store.insertEvent(newEvent({ eventId: 'evt_noobject', objectId: '', receivedAtMs: T0 }));
    await store.insertEvent(
      newEvent({ source: 'dataverse', eventId: 'chg_1', objectId: 'stc_refundrequest(1)', receivedAtMs: T0 }),
    );
    const claimAt = (nowMs: number) =>
      store.claimEvents({ owner: 'w1', limit: 10, leaseMs: 30_000, nowMs, gatherMs: 250 });
    expect((await claimAt(T0 + 100)).map((e) => e.eventId).sort()).toEqual(['chg_1', 'evt_noobject']);
    // The rest of the burst arrives meanwhile and is coalesced with it.
    await store.insertEvent(
      newEvent({ eventId: 'evt_later', objectId: 'pi_1', eventCreatedMs: T0 + 1000, receivedAtMs: T0 + 150 }),
    );
    // Gathered from its first event: everything of the object received by then is one burst.
    expect((await claimAt(T0 + 260)).map((e) => e.eventId)).toEqual(['evt_later']);
    expect((await store.findEvent('stripe', '', 'evt_young'))?.status).toBe('superseded');
  });

  test('while its only due burst gathers a claim takes nothing, and the burst whole once gathered', async () => {
    await store.insertEvent(newEvent({ eventId: 'evt_first', objectId: 'pi_1', receivedAtMs: T0 }));
    const claimAt = (nowMs: number) =>
      store.claimEvents({ owner: 'w1', limit: 10, leaseMs: 30_000, nowMs, gatherMs: 250 });
    expect(await claimAt(T0 + 249)).toEqual([]);
    await store.insertEvent(
      newEvent({
        eventId: 'evt_second',
        objectId: 'pi_1',
        eventCreatedMs: T0 + 1000,
        receivedAtMs: T0 + 200,
      }),
    );
    expect(await claimAt(T0 + 249)).toEqual([]);
    expect((await claimAt(T0 + 250)).map((e) => e.eventId)).toEqual(['evt_second']);
    expect((await store.findEvent('stripe', '', 'evt_first'))?.status).toBe('superseded');
  });

  test('an event arriving while its object is in flight waits, and is not coalesced into it', async () => {
    await store.insertEvent(newEvent({ eventId: 'evt_first', objectId: 'ch_1', eventCreatedMs: T0 }));
    const [first] = await claim(store);
    await store.insertEvent(newEvent({ eventId: 'evt_later', objectId: 'ch_1', eventCreatedMs: T0 + 1000 }));
    expect(await claim(store, 'w2')).toEqual([]);
    await store.completeEvent(applied(first));
    expect((await claim(store, 'w2')).map((e) => e.eventId)).toEqual(['evt_later']);
  });

  test('changes of one Dataverse row are never coalesced: oldest first, one at a time', async () => {
    const change = (eventId: string, eventCreatedMs: number) =>
      newEvent({ source: 'dataverse', eventId, objectId: 'stc_refundrequest(1)', eventCreatedMs });
    await store.insertEvent(change('chg_new', T0 + 5));
    await store.insertEvent(change('chg_old', T0));
    const first = await claim(store);
    expect(first.map((e) => e.eventId)).toEqual(['chg_old']);
    expect((await store.findEvent('dataverse', '', 'chg_new'))?.status).toBe('pending');
    await store.completeEvent({ ...applied(first[0]), stampObject: false });
    expect((await claim(store, 'w2')).map((e) => e.eventId)).toEqual(['chg_new']);
  });

  test('processes claiming one burst together take each object once and lose no event', async () => {
    const other = await db.connect();
    const objects = Array.from({ length: 12 }, (_, i) => `pi_${i}`);
    // Delivered as bursts: each payment's four events one after the other.
    for (const objectId of objects)
      for (let n = 0; n < 4; n++)
        await store.insertEvent(
          newEvent({ eventId: `evt_${objectId}_${n}`, objectId, eventCreatedMs: T0 + n * 1000 }),
        );
    const claims: InboxEvent[][] = [];
    for (let round = 0; round < 4; round++)
      claims.push(
        ...(await Promise.all([
          claim(store, 'w1', 4),
          claim(other, 'w2', 4),
          claim(store, 'w3', 4),
          claim(other, 'w4', 4),
        ])),
      );
    const taken = claims.flat();
    expect(taken.map((e) => e.objectId).sort()).toEqual([...objects].sort());
    // Each object's newest event (n = 3) is the one taken; its three older ones are superseded.
    expect(taken.every((e) => e.eventId.endsWith('_3'))).toBe(true);
    for (const objectId of objects)
      for (let n = 0; n < 3; n++)
        expect((await store.findEvent('stripe', '', `evt_${objectId}_${n}`))?.status).toBe('superseded');
    expect(await store.queueDepth()).toMatchObject({ pending: 0, processing: 12 });
  });

  test('events of an object in flight do not fill the claim window ahead of other objects', async () => {
    await store.insertEvent(newEvent({ eventId: 'evt_hot_0', objectId: 'pi_hot', eventCreatedMs: T0 }));
    const [hot] = await claim(store, 'w1', 1);
    // The busy object's later events arrive first, more than a claim of one event looks at.
    for (let n = 1; n <= 40; n++)
      await store.insertEvent(
        newEvent({ eventId: `evt_hot_${n}`, objectId: 'pi_hot', eventCreatedMs: T0 + n }),
      );
    await store.insertEvent(newEvent({ eventId: 'evt_cold', objectId: 'pi_cold' }));
    expect((await claim(store, 'w2', 1)).map((e) => e.eventId)).toEqual(['evt_cold']);
    await store.completeEvent(applied(hot));
    // Its burst then goes as one, within the window of a claim of ten.
    expect((await claim(store, 'w2', 10)).map((e) => e.eventId)).toEqual(['evt_hot_40']);
  });

  test('events without an object are not serialised', async () => {
    await store.insertEvent(newEvent({ eventId: 'evt_1', objectId: '' }));
    await store.insertEvent(newEvent({ eventId: 'evt_2', objectId: '' }));
    expect(await claim(store)).toHaveLength(2);
  });

  test('an expired lease is reclaimed and the first owner can no longer complete', async () => {
    await store.insertEvent(newEvent({ eventId: 'evt_lease' }));
    const [event] = await claim(store, 'dead-worker', 1, T0 + 1000, 1000);
    expect(await claim(store, 'w2', 1, T0 + 1500)).toEqual([]);
    const [again] = await claim(store, 'w2', 1, T0 + 2500);
    expect(again).toMatchObject({ eventId: 'evt_lease', leaseOwner: 'w2', attempts: 2 });
    expect(await store.completeEvent(applied(event, 'dead-worker'))).toBe(false);
    expect(await store.completeEvent(applied(again, 'w2'))).toBe(true);
    expect((await store.findEvent('stripe', '', 'evt_lease'))?.status).toBe('applied');
  });

  test('a worker that claims its own expired event again completes it once: the stale run is refused', async () => {
    await store.insertEvent(newEvent({ eventId: 'evt_stalled' }));
    // The run stalled past its lease (no heartbeat); the same worker claims the event again.
    const [stale] = await claim(store, 'w1', 1, T0 + 1000, 1000);
    const [fresh] = await claim(store, 'w1', 1, T0 + 2500, 30_000);
    expect(fresh).toMatchObject({ eventId: 'evt_stalled', leaseOwner: 'w1', attempts: 2 });
    const staleOutcome = {
      ...applied(stale, 'w1'),
      outcome: { kind: 'dead', error: 'Handler timed out', code: 'handler_timeout' } as const,
    };
    expect(await store.completeEvent(staleOutcome)).toBe(false);
    // The stale outcome wrote nothing: still in flight for the second run, one attempt recorded so far.
    expect(await store.findEvent('stripe', '', 'evt_stalled')).toMatchObject({
      status: 'processing',
      attempts: 2,
    });
    expect(await store.completeEvent(applied(fresh, 'w1'))).toBe(true);
    expect((await store.findEvent('stripe', '', 'evt_stalled'))?.status).toBe('applied');
    const history = await store.eventAttempts(fresh.id);
    expect(history.map((a) => [a.attempt, a.outcome])).toEqual([[2, 'applied']]);
  });

  test('a completion records its outcome, attempt, writes and stamps together, or nothing when the lease is lost', async () => {
    await store.insertEvent(newEvent({ eventId: 'evt_all', objectId: 'pi_1', eventCreatedMs: T0 + 5 }));
    const [lost] = await claim(store, 'slow-worker', 1, T0 + 1000, 1000);
    const [event] = await claim(store, 'w2', 1, T0 + 2500);
    const write = (path: string, rowId: string | null) => ({
      mapping: 'payment',
      mappingVersion: '2',
      table: 'stc_payment',
      rowId,
      operation: 'upsert' as const,
      method: 'PATCH',
      path,
      status: rowId ? 204 : 412,
      durationMs: 3.4,
      error: rowId ? null : 'precondition failed',
      atMs: T0 + 1050,
    });
    const completion = (e: InboxEvent, owner: string) => ({
      ...applied(e, owner),
      freshWrites: ['ch_1'],
      writes: [
        write('/stc_payments(1)', '0A6F0000-0000-0000-0000-000000000001'),
        write('/stc_payments(2)', null),
      ],
      mappingVersion: '2',
    });

    expect(await store.completeEvent(completion(lost, 'slow-worker'))).toBe(false);
    expect(await store.eventAttempts(event.id)).toEqual([]);
    expect(await store.eventWrites(event.id)).toEqual([]);
    expect(await store.getObjectStamp('stripe', '', 'pi_1')).toBeNull();
    expect(await store.getObjectStamp('stripe', '', 'ch_1')).toBeNull();

    expect(await store.completeEvent(completion(event, 'w2'))).toBe(true);
    expect(await store.findEvent('stripe', '', 'evt_all')).toMatchObject({
      status: 'applied',
      leaseOwner: null,
    });
    expect(await store.eventAttempts(event.id)).toEqual([
      expect.objectContaining({ attempt: 2, worker: 'w2', outcome: 'applied', mappingVersion: '2' }),
    ]);
    expect((await store.eventWrites(event.id)).map((w) => [w.path, w.rowId, w.status, w.durationMs])).toEqual(
      [
        ['/stc_payments(1)', '0a6f0000-0000-0000-0000-000000000001', 204, 3],
        ['/stc_payments(2)', null, 412, 3],
      ],
    );
    for (const objectId of ['pi_1', 'ch_1'])
      expect(await store.getObjectStamp('stripe', '', objectId)).toEqual({
        eventCreatedMs: T0 + 5,
        eventId: 'evt_all',
      });
  });

  test('a dead outcome leaves one open dead letter with the error, and stamps nothing', async () => {
    await store.insertEvent(newEvent({ eventId: 'evt_dead_one' }));
    const [event] = await claim(store);
    const outcome = { kind: 'dead', error: 'mapping refused the amount', code: 'mapping_error' } as const;
    expect(await store.completeEvent({ ...applied(event), outcome })).toBe(true);
    expect(await store.listDeadLetters()).toEqual([
      expect.objectContaining({
        inboxId: event.id,
        error: 'mapping refused the amount',
        errorCode: 'mapping_error',
        attempts: 1,
      }),
    ]);
    expect(await store.getObjectStamp('stripe', '', 'ch_1')).toBeNull();
  });

  test('extending a lease keeps the event from being reclaimed', async () => {
    await store.insertEvent(newEvent({ eventId: 'evt_long' }));
    const [event] = await claim(store, 'w1', 1, T0 + 1000, 1000);
    await store.extendLeases('w1', [event.id], T0 + 10_000);
    expect(await claim(store, 'w2', 1, T0 + 5000)).toEqual([]);
  });

  test('released events go back to pending without counting an attempt', async () => {
    await store.insertEvent(newEvent({ eventId: 'evt_rel' }));
    const [event] = await claim(store);
    await store.releaseEvents('w1', [event.id]);
    expect(await store.findEvent('stripe', '', 'evt_rel')).toMatchObject({
      status: 'pending',
      attempts: 0,
      leaseOwner: null,
    });
  });

  test('the object stamp only moves forward (created, then event id)', async () => {
    // Each event of ch_1 (all created at the same time) applied in turn, and the stamp it leaves.
    const steps = [
      { applied: 'evt_b', stamp: 'evt_b' },
      { applied: 'evt_a', stamp: 'evt_b' },
      { applied: 'evt_c', stamp: 'evt_c' },
    ];
    for (const step of steps) {
      await store.insertEvent(newEvent({ eventId: step.applied, eventCreatedMs: T0 + 10 }));
      const [event] = await claim(store);
      await store.completeEvent(applied(event));
      expect(await store.getObjectStamp('stripe', '', 'ch_1')).toEqual({
        eventCreatedMs: T0 + 10,
        eventId: step.stamp,
      });
    }
    expect(await store.getObjectStamp('stripe', 'acct_x', 'ch_1')).toBeNull();
  });

  test('writes of other objects from Stripe: begun at once, ended with the attempt whatever its outcome, stamped when applied', async () => {
    const nothing = { stamp: null, freshWritesBegun: 0, freshWritesEnded: 0 };
    expect(await store.getObjectState('stripe', '', 'pi_9')).toEqual(nothing);
    const dispute = (eventId: string) => newEvent({ eventId, objectId: 'du_9', eventCreatedMs: T0 + 20 });
    // A first attempt begins two writes of pi_9 and is retried: they end, nothing is stamped.
    await store.insertEvent(dispute('evt_du'));
    const [first] = await claim(store);
    await store.beginFreshWrite(first, 'pi_9');
    await store.beginFreshWrite(first, 'pi_9');
    expect(await store.getObjectState('stripe', '', 'pi_9')).toEqual({ ...nothing, freshWritesBegun: 2 });
    await store.completeEvent({
      ...applied(first),
      outcome: { kind: 'retry', error: 'Dataverse answered 503', code: '503', nextAttemptAtMs: T0 },
      freshWrites: ['pi_9', 'pi_9'],
    });
    expect(await store.getObjectState('stripe', '', 'pi_9')).toEqual({
      ...nothing,
      freshWritesBegun: 2,
      freshWritesEnded: 2,
    });
    // The next attempt begins one, is applied: it ends, and pi_9 is stamped with the dispute's event.
    const [second] = await claim(store, 'w1', 1, T0 + 10_000);
    await store.beginFreshWrite(second, 'pi_9');
    expect(await store.completeEvent({ ...applied(second), freshWrites: ['pi_9'] })).toBe(true);
    expect(await store.getObjectState('stripe', '', 'pi_9')).toEqual({
      stamp: { eventCreatedMs: T0 + 20, eventId: 'evt_du' },
      freshWritesBegun: 3,
      freshWritesEnded: 3,
    });
    expect(await store.getObjectState('stripe', 'acct_x', 'pi_9')).toEqual(nothing);
  });

  test('a write from Stripe its killed attempt never ended is under way for FRESH_WRITE_ABANDONED_MS, then ended', async () => {
    await store.insertEvent(newEvent({ eventId: 'evt_du', objectId: 'du_9', eventCreatedMs: T0 + 20 }));
    // Its lease outlasts the test: the late end below is still its own.
    const [killed] = await claim(store, 'w1', 10, T0 + 1000, 2 * FRESH_WRITE_ABANDONED_MS);
    const began = T0 + 2000;
    await store.beginFreshWrite(killed, 'pi_9', began);
    const state = (nowMs: number) => store.getObjectState('stripe', '', 'pi_9', nowMs);
    const open = { stamp: null, freshWritesBegun: 1, freshWritesEnded: 0 };
    expect(await state(began + FRESH_WRITE_ABANDONED_MS - 1)).toEqual(open);
    expect(await state(began + FRESH_WRITE_ABANDONED_MS)).toEqual({ ...open, freshWritesEnded: 1 });

    // A write begun later counts the abandoned one as ended: the new one alone is under way, and its end
    // closes the count.
    const later = began + FRESH_WRITE_ABANDONED_MS + 1000;
    await store.insertEvent(newEvent({ eventId: 'evt_re', objectId: 're_9', eventCreatedMs: T0 + 30 }));
    const [refund] = await claim(store, 'w2', 10, later);
    expect(refund.eventId).toBe('evt_re');
    await store.beginFreshWrite(refund, 'pi_9', later);
    expect(await state(later)).toEqual({ stamp: null, freshWritesBegun: 2, freshWritesEnded: 1 });
    await store.completeEvent({
      ...applied(refund, 'w2'),
      finishedAtMs: later,
      stampObject: false,
      freshWrites: ['pi_9'],
    });
    const closed = { stamp: null, freshWritesBegun: 2, freshWritesEnded: 2 };
    expect(await state(later)).toEqual(closed);

    // Should the first attempt end its write after all, the count does not pass the writes begun, which
    // would leave a write under way for good.
    await store.completeEvent({
      ...applied(killed),
      finishedAtMs: later,
      stampObject: false,
      freshWrites: ['pi_9'],
    });
    expect(await state(later)).toEqual(closed);
    await store.endFreshWrites(killed, ['pi_9', 'pi_9']);
    expect(await state(later)).toEqual(closed);
  });

  test("a Dataverse row's change waits while an earlier change of the row waits for its retry", async () => {
    const change = (eventId: string, objectId: string, at: number) =>
      newEvent({
        source: 'dataverse',
        eventId,
        objectId,
        type: 'dataverse.account.update',
        eventCreatedMs: at,
      });
    const row = 'account(6c1d8b22-0000-4000-8000-00000000a001)';
    await store.insertEvent(change('op-1', row, T0 + 10));
    const [first] = await claim(store, 'w1', 10, T0 + 1000);
    expect(first.eventId).toBe('op-1');
    // Stripe answered 429: the change waits a minute.
    const retryAt = T0 + 61_000;
    await store.completeEvent({
      ...applied(first),
      stampObject: false,
      outcome: { kind: 'retry', error: 'Stripe answered 429', code: 'rate_limit', nextAttemptAtMs: retryAt },
    });
    await store.insertEvent(change('op-2', row, T0 + 20));
    await store.insertEvent(change('op-other', 'account(6c1d8b22-0000-4000-8000-00000000a002)', T0 + 30));
    // The later change of the row waits; another row's change does not.
    expect((await claim(store, 'w1', 10, T0 + 2000)).map((e) => e.eventId)).toEqual(['op-other']);
    const [retried] = await claim(store, 'w1', 10, retryAt);
    expect(retried.eventId).toBe('op-1');
    await store.completeEvent({ ...applied(retried), stampObject: false });
    expect((await claim(store, 'w1', 10, retryAt)).map((e) => e.eventId)).toEqual(['op-2']);
  });

  test('a retry waits for its time', async () => {
    await store.insertEvent(newEvent({ eventId: 'evt_retry' }));
    const [event] = await claim(store);
    await store.completeEvent({
      ...applied(event),
      outcome: {
        kind: 'retry',
        error: 'Dataverse answered 503',
        code: '0x80040216',
        nextAttemptAtMs: T0 + 60_000,
      },
    });
    expect(await store.findEvent('stripe', '', 'evt_retry')).toMatchObject({
      status: 'pending',
      lastError: 'Dataverse answered 503',
      lastErrorCode: '0x80040216',
      nextAttemptAtMs: T0 + 60_000,
    });
    expect(await claim(store, 'w1', 10, T0 + 59_000)).toEqual([]);
    expect(await claim(store, 'w1', 10, T0 + 60_000)).toHaveLength(1);
  });

  test('dead letters: list, show with history, retry and discard', async () => {
    await store.insertEvent(newEvent({ eventId: 'evt_dead', objectId: 'ch_d' }));
    await store.insertEvent(newEvent({ eventId: 'evt_dead2', objectId: 'ch_e' }));
    const claimed = await claim(store);
    for (const event of claimed) {
      await store.completeEvent({
        ...applied(event),
        outcome: { kind: 'dead', error: 'Column stc_amount: value too long', code: '0x80044331' },
      });
    }
    const letters = await store.listDeadLetters();
    expect(letters.map((l) => [l.eventId, l.error, l.errorCode, l.attempts])).toEqual([
      ['evt_dead', 'Column stc_amount: value too long', '0x80044331', 1],
      ['evt_dead2', 'Column stc_amount: value too long', '0x80044331', 1],
    ]);
    const detail = await store.getDeadLetter(letters[0].id);
    expect(detail?.payload).toContain('evt_dead');
    expect(detail?.history).toEqual([
      expect.objectContaining({ attempt: 1, outcome: 'dead', errorCode: '0x80044331' }),
    ]);
    expect(await store.queueDepth()).toEqual({ pending: 0, processing: 0, dead: 2 });

    expect(await store.retryDeadLetter(letters[0].id)).toBe(true);
    expect(await store.retryDeadLetter(letters[0].id)).toBe(false);
    expect(await store.findEvent('stripe', '', 'evt_dead')).toMatchObject({
      status: 'pending',
      attempts: 0,
    });
    expect(await store.discardDeadLetter(letters[1].id)).toBe(true);
    expect((await store.findEvent('stripe', '', 'evt_dead2'))?.status).toBe('discarded');
    expect(await store.listDeadLetters()).toEqual([]);
    expect(await store.listDeadLetters({ includeResolved: true })).toHaveLength(2);
    expect(await store.getDeadLetter(9999)).toBeNull();
    expect(await store.queueDepth()).toEqual({ pending: 1, processing: 0, dead: 0 });
  });

  test('cursors keep the last value', async () => {
    expect(await store.getCursor('backfill:charges')).toBeNull();
    await store.setCursor('backfill:charges', 'ch_100');
    await store.setCursor('backfill:charges', 'ch_200');
    expect(await store.getCursor('backfill:charges')).toBe('ch_200');
  });

  test('two stores on one database claim concurrently without sharing an event or an object', async () => {
    const other = await db.connect();
    const objects = 20;
    for (let i = 0; i < 200; i++) {
      await store.insertEvent(
        newEvent({ eventId: `evt_${i}`, objectId: `ch_${i % objects}`, eventCreatedMs: T0 + i }),
      );
    }
    const seen = new Map<string, string>();
    const inFlight = new Set<string>();
    let violations = 0;
    const run = async (s: Store, owner: string) => {
      for (let round = 0; round < 400; round++) {
        const batch = await s.claimEvents({ owner, limit: 5, leaseMs: 60_000 });
        if (batch.length === 0 && (await s.queueDepth()).pending === 0) break;
        for (const e of batch) {
          if (seen.has(e.eventId) || inFlight.has(e.objectId)) violations++;
          seen.set(e.eventId, owner);
          inFlight.add(e.objectId);
        }
        await new Promise((r) => setImmediate(r));
        for (const e of batch) {
          inFlight.delete(e.objectId);
          await s.completeEvent({
            event: e,
            owner,
            outcome: { kind: 'applied' },
            startedAtMs: Date.now(),
            finishedAtMs: Date.now(),
            stampObject: true,
          });
        }
      }
    };
    await Promise.all([run(store, 'p1'), run(other, 'p2')]);
    expect(violations).toBe(0);
    // Every event was applied or, waiting behind a newer one of its object, coalesced into it.
    const statuses = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => (await store.findEvent('stripe', '', `evt_${i}`))?.status),
    );
    expect(statuses.filter((st) => st === 'applied')).toHaveLength(seen.size);
    expect(statuses.filter((st) => st === 'superseded')).toHaveLength(200 - seen.size);
    // Each object's newest event is applied, whatever was coalesced before it.
    for (let i = 180; i < 200; i++) expect(statuses[i]).toBe('applied');
    expect(await store.queueDepth()).toEqual({ pending: 0, processing: 0, dead: 0 });
  });
});
