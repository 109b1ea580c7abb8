/**
 * The console's mapping-version routes over a store (supertest on createApp): what each answers, and how a
 * wrong request is told apart from files that do not load (422 with the mapping error).
 */
import request from 'supertest';
import { model } from '@stc/solution';
import { describeOnEachEngine, type TestDatabase } from '../../__tests__/support/engines';
import { recordedEvent } from '../../mapping/__tests__/fixtures';
import { hashMappingFiles, readMappingFolder } from '../../mapping';
import { createMappingVersionOps } from '../../mapping-versions';
import { consoleHarness, type ConsoleHarness } from './support';

const SHIPPED = readMappingFolder(`${__dirname}/../../../mappings`);

describeOnEachEngine('console mapping routes', (engine) => {
  let db: TestDatabase;
  let api: ConsoleHarness;
  beforeEach(async () => {
    db = await engine.open();
    await db.store.adoptMappingFiles({
      files: SHIPPED,
      hash: hashMappingFiles(SHIPPED),
      createdBy: 'service start',
      note: null,
    });
    api = consoleHarness(db.store, { mappingVersions: createMappingVersionOps({ store: db.store, model }) });
  });
  afterEach(() => db.destroy());

  test('read: list, files, diff; 401 without sign-in, 404 for an unknown version, 400 for a wrong one', async () => {
    expect((await request(api.server).get('/console/api/mappings')).status).toBe(401);
    const list = await api.get('/console/api/mappings');
    expect(list.status).toBe(200);
    expect(list.body.versions).toEqual([
      expect.objectContaining({ version: 1, active: true, hash: hashMappingFiles(SHIPPED) }),
    ]);
    const one = await api.get('/console/api/mappings/1');
    expect(one.body.files['lookups/products.yaml']).toBe(SHIPPED['lookups/products.yaml']);
    expect((await api.get('/console/api/mappings/diff?from=1&to=1')).body).toEqual({
      from: 1,
      to: 1,
      files: [],
    });
    const missing = await api.get('/console/api/mappings/9');
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toContain('no mapping version 9');
    expect((await api.get('/console/api/mappings/diff?from=1&to=x')).status).toBe(400);
  });

  test('change: files that do not load are 422 with the mapping error; rollback without a previous is 409', async () => {
    const invalid = await api.post('/console/api/mappings', {
      files: { ...SHIPPED, 'customers.yaml': SHIPPED['customers.yaml'].replace('mappings:', 'mapings:') },
    });
    expect(invalid.status).toBe(422);
    expect(invalid.body.error.message).toMatch(/^customers\.yaml: /);
    expect((await api.post('/console/api/mappings', { files: 'payments.yaml' })).status).toBe(400);
    expect((await api.post('/console/api/mappings', { files: { 'a.yaml': 1 } })).status).toBe(400);
    const rollback = await api.post('/console/api/mappings/rollback');
    expect(rollback.status).toBe(409);
    expect(rollback.body.error.code).toBe('no_previous_version');
    expect((await api.post('/console/api/mappings/1/activate')).body).toEqual({ active: 1, previous: 1 });
    expect((await db.store.listMappingVersions()).map((v) => v.version)).toEqual([1]);
  });

  test('dry-run of a payload under a version; replay and dry-run refuse what they cannot take', async () => {
    const event = recordedEvent('payment_intent_succeeded');
    const dryRun = await api.post('/console/api/mappings/dry-run', { version: 1, payload: event });
    expect(dryRun.status).toBe(200);
    const intent = dryRun.body.version.mappings.find(
      (m: { mapping: string }) => m.mapping === 'payment_intent',
    );
    expect(intent.rows[0].row).toMatchObject({
      stc_stripeid: (event.data.object as { id: string }).id,
    });
    expect(dryRun.body.active.version).toBe(1);
    expect((await api.post('/console/api/mappings/dry-run', { version: 1 })).status).toBe(400);
    expect((await api.post('/console/api/mappings/dry-run', { version: 1, inboxId: 77 })).status).toBe(404);
    expect((await api.post('/console/api/mappings/replay', { type: '' })).status).toBe(400);
    expect((await api.post('/console/api/mappings/replay', { fromMs: 'today' })).status).toBe(400);
    expect((await api.post('/console/api/mappings/replay', {})).body).toEqual({
      queued: 0,
      activeVersion: 1,
    });
  });
});
