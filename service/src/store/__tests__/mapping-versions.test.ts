/** Mapping versions and replay in the store, on both engines (PostgreSQL with STC_TEST_DATABASE_URL). */
import { describeOnEachEngine, type TestDatabase } from '../../__tests__/support/engines';
import { paymentEvent } from '../../__tests__/support/inbox-event';
import type { NewInboxEvent, NewMappingVersion, Store } from '../types';

const T0 = 1_700_000_000_000;

const files = (description: string) => ({
  'payments.yaml': `version: 1\ndescription: ${description}\n`,
  'lookups/products.yaml': 'prod_1: Widget\n',
});

const version = (hash: string, createdBy = 'repository'): NewMappingVersion => ({
  files: files(hash),
  hash,
  createdBy,
  note: null,
  nowMs: T0,
});

const newEvent = (eventId: string, overrides: Partial<NewInboxEvent> = {}) =>
  paymentEvent(eventId, T0, overrides);

describeOnEachEngine('mapping versions', (engine) => {
  let db: TestDatabase;
  let store: Store;
  beforeEach(async () => {
    db = await engine.open();
    store = db.store;
  });
  afterEach(() => db.destroy());

  test('the first files adopted become version 1, active; the same files again change nothing', async () => {
    expect(await store.activeMappingVersion()).toBeNull();
    const { created } = await store.adoptMappingFiles(version('h1'));
    expect(created).toMatchObject({ version: 1, active: true, hash: 'h1', createdBy: 'repository' });
    expect(await store.adoptMappingFiles(version('h1'))).toEqual({ created: null });
    expect(await store.activeMappingVersion()).toBe(1);
    expect(await store.getMappingVersion(1)).toMatchObject({ version: 1, files: files('h1'), active: true });
    expect(await store.getMappingVersion(2)).toBeNull();
  });

  test('versions are numbered in turn; an activated version is not replaced by files already stored', async () => {
    await store.adoptMappingFiles(version('h1'));
    const second = await store.createMappingVersion(
      { ...version('h2', 'admin'), note: 'new description' },
      { activate: false },
    );
    expect(second).toMatchObject({ version: 2, active: false, note: 'new description' });
    expect(await store.activeMappingVersion()).toBe(1);
    expect(await store.activateMappingVersion(2, 'admin', T0 + 1)).toBe(true);
    expect(await store.activateMappingVersion(9, 'admin')).toBe(false);
    // The service restarts with the repository's files (version 1's): the operator's choice stays.
    expect(await store.adoptMappingFiles(version('h1'))).toEqual({ created: null });
    expect(await store.activeMappingVersion()).toBe(2);
    // An upgrade ships new files: they become version 3, active.
    expect((await store.adoptMappingFiles(version('h3'))).created).toMatchObject({
      version: 3,
      active: true,
    });
    const list = await store.listMappingVersions();
    expect(list.map((v) => [v.version, v.active])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
    expect((await store.mappingActivations(2)).map((a) => [a.version, a.activatedBy])).toEqual([
      [3, 'repository'],
      [2, 'admin'],
    ]);
  });

  test('two processes storing versions at once take different numbers', async () => {
    const other = await db.connect();
    const made = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        (i % 2 ? other : store).createMappingVersion(version(`h${i}`), { activate: true }),
      ),
    );
    expect(made.map((v) => v.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  test('an attempt records the mapping version it ran under', async () => {
    await store.insertEvent(newEvent('evt_v'));
    const [event] = await store.claimEvents({ owner: 'w1', limit: 1, leaseMs: 30_000, nowMs: T0 + 1000 });
    const done = {
      event,
      owner: 'w1',
      outcome: { kind: 'applied' } as const,
      startedAtMs: T0 + 1000,
      finishedAtMs: T0 + 1100,
      stampObject: true,
      mappingVersion: '3',
    };
    expect(await store.completeEvent(done)).toBe(true);
    expect(await store.eventAttempts(event.id)).toMatchObject([{ outcome: 'applied', mappingVersion: '3' }]);
  });

  test('replay queues applied, skipped and dead Stripe events of the filter again and resolves their dead letters', async () => {
    const finish = async (eventId: string, outcome: 'applied' | 'dead' | 'skipped') => {
      const event = (await store.findEvent('stripe', '', eventId))!;
      const [claimed] = await store.claimEvents({ owner: 'w1', limit: 1, leaseMs: 30_000, nowMs: T0 + 1000 });
      expect(claimed.id).toBe(event.id);
      await store.completeEvent({
        event: claimed,
        owner: 'w1',
        outcome:
          outcome === 'dead'
            ? { kind: 'dead', error: 'mapping "payment_intent": column "stc_x"', code: 'mapping_failed' }
            : outcome === 'skipped'
              ? { kind: 'skipped', reason: 'no mapping applies' }
              : { kind: 'applied' },
        startedAtMs: T0 + 1000,
        finishedAtMs: T0 + 1100,
        stampObject: true,
      });
    };
    await store.insertEvent(newEvent('evt_dead', { eventCreatedMs: T0 + 10 }));
    await finish('evt_dead', 'dead');
    await store.insertEvent(newEvent('evt_applied', { eventCreatedMs: T0 + 20 }));
    await finish('evt_applied', 'applied');
    await store.insertEvent(newEvent('evt_skipped', { eventCreatedMs: T0 + 30 }));
    await finish('evt_skipped', 'skipped');
    await store.insertEvent(newEvent('evt_late', { eventCreatedMs: T0 + 5000 }));
    await finish('evt_late', 'applied');
    await store.insertEvent(newEvent('evt_charge', { type: 'charge.succeeded', eventCreatedMs: T0 + 40 }));
    await finish('evt_charge', 'applied');
    await store.insertEvent(
      newEvent('evt_dataverse', {
        source: 'dataverse',
        type: 'stc_refundrequest.Create',
        eventCreatedMs: T0 + 50,
      }),
    );

    const ids = await store.requeueEvents(
      { type: 'payment_intent.*', fromMs: T0, toMs: T0 + 1000 },
      T0 + 2000,
    );
    const queued = await Promise.all(ids.map((id) => store.getEvent(id)));
    expect(queued.map((e) => e!.eventId).sort()).toEqual(['evt_applied', 'evt_dead', 'evt_skipped']);
    expect(queued.every((e) => e!.status === 'pending' && e!.attempts === 0 && e!.lastError === null)).toBe(
      true,
    );
    expect(await store.listDeadLetters()).toEqual([]);
    expect((await store.listDeadLetters({ includeResolved: true }))[0]).toMatchObject({
      eventId: 'evt_dead',
      resolution: 'retried',
    });
    expect((await store.findEvent('stripe', '', 'evt_late'))!.status).toBe('applied');
    expect((await store.findEvent('stripe', '', 'evt_charge'))!.status).toBe('applied');
    // Exact types too; Dataverse changes are never replayed.
    expect(await store.requeueEvents({ type: 'charge.succeeded' }, T0 + 3000)).toHaveLength(1);
    expect(await store.requeueEvents({ type: 'stc_refundrequest.Create' }, T0 + 3000)).toEqual([]);
  });
});
