/**
 * The live mapping set over a store, on both engines: the shipped files seeded as version 1, an upgrade's
 * files adopted once, an operator's version kept across restarts, a version activated by another process
 * picked up on the next read, and an event in flight kept on the set it began with.
 */
import { join } from 'node:path';
import { model } from '@stc/solution';
import { describeOnEachEngine, type TestDatabase } from '../../__tests__/support/engines';
import { hashMappingFiles, loadMappingFiles, readMappingFolder, type MappingFiles } from '../../mapping';
import { createLogger } from '../../observability/log';
import type { Store } from '../../store';
import { createMappingVersionOps, startLiveMappings, type ShippedMappings } from '..';

const DIR = join(__dirname, '../../../mappings');
const SHIPPED = readMappingFolder(DIR);
const log = createLogger({ level: 'silent' });

const PAYMENT_DESCRIPTION = 'stc_description: { expr: description, truncate: true }';

/** The shipped files with the PaymentIntent mapping's description written as `expr`. */
function withDescription(expr: string): MappingFiles {
  const payments = SHIPPED['payments.yaml'].replace(
    PAYMENT_DESCRIPTION,
    `stc_description: { expr: ${JSON.stringify(expr)}, truncate: true }`,
  );
  expect(payments).not.toBe(SHIPPED['payments.yaml']);
  return { ...SHIPPED, 'payments.yaml': payments };
}

const shipped = (files: MappingFiles): ShippedMappings => ({
  dir: DIR,
  files,
  set: loadMappingFiles(files, { model }),
});

const start = (store: Store, files: MappingFiles = SHIPPED) =>
  startLiveMappings({ store, model, shipped: shipped(files), pollMs: 0, log });

describeOnEachEngine('live mappings', (engine) => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await engine.open();
  });
  afterEach(() => db.destroy());

  test('the shipped files become version 1, and an upgrade’s changed files the next version, once', async () => {
    const live = await start(db.store);
    expect(live.currentVersion()).toBe(1);
    expect(await db.store.getMappingVersion(1)).toMatchObject({
      files: SHIPPED,
      hash: hashMappingFiles(SHIPPED),
      createdBy: 'service start',
      active: true,
    });
    expect(live.current().names).toContain('payment_intent');

    const upgraded = withDescription("'Upgraded: ' & description");
    expect((await start(db.store, upgraded)).currentVersion()).toBe(2);
    expect((await start(db.store, upgraded)).currentVersion()).toBe(2);
    expect((await db.store.listMappingVersions()).map((v) => v.version)).toEqual([1, 2]);
  });

  test('a version an operator activated stays active when the service starts again with the same files', async () => {
    await start(db.store);
    const ops = createMappingVersionOps({ store: db.store, model });
    const mine = await ops.create(withDescription("'Mine: ' & description"), {
      createdBy: 'operator',
      note: 'prefix',
    });
    await ops.activate(mine.version, 'operator');
    const restarted = await start(db.store);
    expect(restarted.currentVersion()).toBe(mine.version);
    expect((await ops.rollback('operator')).active).toBe(1);
    expect((await start(db.store)).currentVersion()).toBe(1);
  });

  test('another process’s activation is picked up on the next read; an event in flight keeps its set', async () => {
    const live = await start(db.store);
    const other = await db.connect();
    const ops = createMappingVersionOps({ store: other, model });
    const second = await ops.create(withDescription("'Second: ' & description"), {
      createdBy: 'operator',
      note: null,
    });

    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const inFlight = live.pin(async (version) => {
      const before = live.current();
      await gate;
      return { version, same: live.current() === before, seen: live.currentVersion() };
    });

    await ops.activate(second.version, 'operator');
    expect(live.currentVersion()).toBe(1);
    expect(await live.refresh()).toBe(true);
    expect(live.currentVersion()).toBe(2);
    expect(await live.refresh()).toBe(false);
    release();
    expect(await inFlight).toEqual({ version: '1', same: true, seen: 1 });
    expect(await live.pin(async (version) => version)).toBe('2');
    // Compiled once per version: the same set object each time it is asked for.
    expect(await live.compiled(2)).toBe(live.current());
  });

  test('an invalid candidate is refused with the loader’s message and stores nothing', async () => {
    await start(db.store);
    const ops = createMappingVersionOps({ store: db.store, model });
    const files = {
      ...SHIPPED,
      'payments.yaml': SHIPPED['payments.yaml'].replace(PAYMENT_DESCRIPTION, 'stc_colour: description'),
    };
    await expect(ops.create(files, { createdBy: 'operator', note: null })).rejects.toThrow(
      'payments.yaml: mapping "payment_intent", column "stc_colour"',
    );
    expect((await db.store.listMappingVersions()).map((v) => v.version)).toEqual([1]);
  });
});
