import { describeOnEachEngine, type TestDatabase } from '../../__tests__/support/engines';
import { paymentEvent } from '../../__tests__/support/inbox-event';
import type { DataverseWriteRecord, InboxEvent, NewInboxEvent, Store } from '..';

const T0 = Date.UTC(2026, 2, 1, 12, 0, 0);
const ROW_ID = '0F8FAD5B-D9CB-469F-A165-70867728950E';

const newEvent = (eventId: string, overrides: Partial<NewInboxEvent> = {}) =>
  paymentEvent(eventId, T0, overrides);

function paymentWrite(overrides: Partial<DataverseWriteRecord> = {}): DataverseWriteRecord {
  return {
    mapping: 'payment_intent',
    mappingVersion: '3',
    table: 'stc_payment',
    rowId: ROW_ID,
    operation: 'upsert',
    method: 'PATCH',
    path: "stc_payments(stc_stripeid='pi_1')",
    status: 201,
    durationMs: 12.4,
    error: null,
    atMs: T0 + 10,
    ...overrides,
  };
}

async function claimOne(store: Store, nowMs = T0 + 1000): Promise<InboxEvent> {
  const [event] = await store.claimEvents({ owner: 'w1', limit: 1, leaseMs: 30_000, nowMs });
  return event;
}

describeOnEachEngine('lineage ledger', (engine) => {
  let db: TestDatabase;
  let store: Store;
  beforeEach(async () => {
    db = await engine.open();
    store = db.store;
  });
  afterEach(() => db.destroy());

  it("records an attempt's Dataverse requests with its outcome and finds the event by the row id", async () => {
    await store.insertEvent(newEvent('evt_pay'));
    await store.insertEvent(newEvent('evt_other', { receivedAtMs: T0 + 1 }));
    const event = await claimOne(store);
    const read = paymentWrite({
      operation: 'read',
      method: 'GET',
      rowId: null,
      status: 200,
      path: 'accounts?$select=accountid',
      table: 'account',
    });
    expect(
      await store.completeEvent({
        event,
        owner: 'w1',
        outcome: { kind: 'applied' },
        startedAtMs: T0 + 1000,
        finishedAtMs: T0 + 1100,
        stampObject: true,
        writes: [read, paymentWrite()],
      }),
    ).toBe(true);

    const writes = await store.eventWrites(event.id);
    expect(writes).toEqual([
      { ...read, inboxId: event.id, attempt: 1, durationMs: 12 },
      { ...paymentWrite(), rowId: ROW_ID.toLowerCase(), inboxId: event.id, attempt: 1, durationMs: 12 },
    ]);

    // The GUID as Dynamics 365 shows it (upper case) or as the Web API gives it (lower case).
    for (const q of [ROW_ID, ROW_ID.toLowerCase()]) {
      const found = await store.searchEvents({ q, limit: 10 });
      expect(found.map((e) => e.eventId)).toEqual(['evt_pay']);
    }
  });

  it('writes nothing when the lease was lost', async () => {
    await store.insertEvent(newEvent('evt_lost'));
    const event = await claimOne(store);
    const recorded = await store.completeEvent({
      event,
      owner: 'someone-else',
      outcome: { kind: 'applied' },
      startedAtMs: T0,
      finishedAtMs: T0,
      stampObject: false,
      writes: [paymentWrite()],
    });
    expect(recorded).toBe(false);
    expect(await store.eventWrites(event.id)).toEqual([]);
  });

  it('searches newest first by event id, object id, type, status and time, in keyset pages', async () => {
    for (let i = 0; i < 5; i++)
      await store.insertEvent(
        newEvent(`evt_${i}`, {
          objectId: i < 3 ? 'pi_shared' : `pi_${i}`,
          type: i % 2 === 0 ? 'charge.succeeded' : 'payment_intent.succeeded',
          receivedAtMs: T0 + i * 1000,
        }),
      );
    const ids = async (search: Parameters<Store['searchEvents']>[0]) =>
      (await store.searchEvents(search)).map((e) => e.eventId);

    expect(await ids({ q: 'evt_3', limit: 10 })).toEqual(['evt_3']);
    expect(await ids({ q: 'pi_shared', limit: 10 })).toEqual(['evt_2', 'evt_1', 'evt_0']);
    expect(await ids({ type: 'charge.succeeded', limit: 10 })).toEqual(['evt_4', 'evt_2', 'evt_0']);
    expect(await ids({ status: 'pending', fromMs: T0 + 1000, toMs: T0 + 3000, limit: 10 })).toEqual([
      'evt_2',
      'evt_1',
    ]);
    const first = await store.searchEvents({ limit: 2 });
    expect(first.map((e) => e.eventId)).toEqual(['evt_4', 'evt_3']);
    expect(await ids({ beforeId: first[1].id, limit: 2 })).toEqual(['evt_2', 'evt_1']);
  });

  it('counts finished attempts per minute and outcome', async () => {
    await store.insertEvent(newEvent('evt_a'));
    await store.insertEvent(newEvent('evt_b'));
    const outcome = async (kind: 'applied' | 'dead', finishedAtMs: number) => {
      const event = await claimOne(store);
      const done = kind === 'dead' ? { kind, error: 'refused', code: '0x80040237' } : { kind };
      await store.completeEvent({
        event,
        owner: 'w1',
        outcome: done,
        startedAtMs: finishedAtMs,
        finishedAtMs,
        stampObject: false,
      });
    };
    await outcome('applied', T0 + 5_000);
    await outcome('dead', T0 + 65_000);
    expect(await store.outcomesPerMinute(T0)).toEqual([
      { minuteMs: T0, outcome: 'applied', count: 1 },
      { minuteMs: T0 + 60_000, outcome: 'dead', count: 1 },
    ]);
    expect(await store.outcomesPerMinute(T0 + 60_000)).toHaveLength(1);
    expect(await store.openDeadLetterCount()).toBe(1);
  });
});
