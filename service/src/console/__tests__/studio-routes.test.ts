/**
 * The mapping studio's routes over a store (supertest on createApp): the table model's columns, a sample
 * object's fields from the inbox or the recorded example, suggestions, and the preview of an edited file
 * beside the active version (422 with the engine's message when the edit does not load).
 */
import request from 'supertest';
import { model } from '@stc/solution';
import { describeOnEachEngine, type TestDatabase } from '../../__tests__/support/engines';
import { recordedEvent } from '../../mapping/__tests__/fixtures';
import { hashMappingFiles, readMappingFolder } from '../../mapping';
import { createMappingVersionOps } from '../../mapping-versions';
import { consoleHarness, type ConsoleHarness } from './support';

const SHIPPED = readMappingFolder(`${__dirname}/../../../mappings`);
const BRACES_OFF = "$replace(metadata.d365_salesorderid, /[{}]/, '')";
/** A preview compiles the whole mapping set twice (the edit, the active version). */
const COMPILING_MS = 60_000;

interface Mapped {
  mapping: string;
  rows: Array<{ row: Record<string, unknown> }>;
}
const rowOf = (mappings: Mapped[], name: string) => mappings.find((m) => m.mapping === name)?.rows[0]?.row;

describeOnEachEngine('console mapping studio routes', (engine) => {
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

  test("a table's columns: type, required, max length, option values; 404 for a table not in the model", async () => {
    expect((await request(api.server).get('/console/api/studio/tables/stc_payment')).status).toBe(401);
    const table = await api.get('/console/api/studio/tables/stc_payment');
    expect(table.status).toBe(200);
    const column = (name: string) => table.body.columns.find((c: { name: string }) => c.name === name);
    expect(column('stc_name')).toMatchObject({ type: 'string', mappable: true });
    expect(column('stc_name').maxLength).toBeGreaterThan(0);
    expect(column('stc_stripeid')).toMatchObject({ mappable: false });
    expect(column('stc_lasteventid')).toMatchObject({ mappable: false });
    expect(column('stc_status').options).toEqual(
      expect.arrayContaining([expect.objectContaining({ externalValue: 'succeeded' })]),
    );
    expect((await api.get('/console/api/studio/tables/stc_nothing')).status).toBe(404);
  });

  test("a sample's fields: the recorded example until an event of the type arrives, then the newest event", async () => {
    const before = await api.get('/console/api/studio/sample?object=charge');
    expect(before.status).toBe(200);
    expect(before.body.source).toBe('fixture');
    expect(before.body.fields).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'amount' })]));

    await api.deliver('ch_studio_sample_1');
    const after = await api.get('/console/api/studio/sample?object=charge');
    expect(after.body.source).toBe('inbox');
    expect(after.body.fields).toEqual(expect.arrayContaining([{ path: 'id', value: 'ch_studio_sample_1' }]));
    expect(after.body.events[0]).toMatchObject({ objectId: 'ch_studio_sample_1' });
    expect(after.body.events[0].inboxId).toEqual(expect.any(Number));
    expect(after.body.events.at(-1).inboxId).toBeNull();
    expect((await api.get('/console/api/studio/sample?object=Robert%27);')).status).toBe(400);
  });

  test("a dead-lettered object's newest event comes first among the sample's events, and is the sample", async () => {
    const failed = await api.deliver('ch_fail_studio_1');
    await api.work();
    const later = await api.deliver('ch_fail_studio_1', { type: 'charge.updated' });
    await api.deliver('ch_studio_newer_2');
    const sample = await api.get('/console/api/studio/sample?object=charge');
    expect(sample.body.events.slice(0, 2)).toEqual([
      expect.objectContaining({ eventId: later.eventId, objectId: 'ch_fail_studio_1', deadLettered: true }),
      expect.objectContaining({ objectId: 'ch_studio_newer_2' }),
    ]);
    expect(sample.body.events[1].deadLettered).toBeUndefined();
    expect(sample.body.fields).toEqual(expect.arrayContaining([{ path: 'id', value: 'ch_fail_studio_1' }]));
    const ids = sample.body.events.map((e: { eventId: string }) => e.eventId);
    expect(ids.filter((id: string) => id === later.eventId)).toHaveLength(1);
    expect(ids).toContain(failed.eventId);
    // Nothing dead-lettered once the letter is discarded: the newest event is first again.
    const [letter] = (await api.get('/console/api/dead-letters')).body.deadLetters;
    await api.post(`/console/api/dead-letters/${letter.id}/discard`);
    const after = await api.get('/console/api/studio/sample?object=charge');
    expect(after.body.events[0]).toMatchObject({ objectId: 'ch_studio_newer_2' });
    expect(after.body.events.some((e: { deadLettered?: boolean }) => e.deadLettered)).toBe(false);
  });

  test('suggestions leave the mapped columns out and say why', async () => {
    const sample = recordedEvent('customer_updated');
    const all = await api.post('/console/api/studio/suggest', { table: 'contact', sample });
    expect(all.status).toBe(200);
    const email = all.body.columns.find((c: { column: string }) => c.column === 'emailaddress1');
    expect(email.suggestions[0]).toMatchObject({ source: 'email', expression: '$normalizeEmail(email)' });
    expect(email.suggestions[0].reason).toContain('emailaddress1 ← email');
    const rest = await api.post('/console/api/studio/suggest', {
      table: 'contact',
      sample,
      mapped: ['emailaddress1'],
    });
    expect(rest.body.columns.map((c: { column: string }) => c.column)).not.toContain('emailaddress1');
    expect((await api.post('/console/api/studio/suggest', { table: 'nope', sample })).status).toBe(400);
  });

  test(
    'preview: the edited file maps the event beside the active version; an invalid edit is 422',
    async () => {
      const event = recordedEvent('payment_intent_succeeded');
      const id = (event.data.object as { id: string }).id;
      const text = SHIPPED['payments.yaml'].replace(
        /stc_name:\n\s+expr: "[^"]*"\n\s+truncate: true/,
        `stc_name: "'Studio ' & id"`,
      );
      expect(text).not.toBe(SHIPPED['payments.yaml']);
      const preview = await api.post('/console/api/studio/preview', {
        file: 'payments.yaml',
        text,
        payload: event,
      });
      expect(preview.status).toBe(200);
      expect(rowOf(preview.body.edited.mappings, 'payment_intent')).toMatchObject({
        stc_name: `Studio ${id}`,
      });
      expect(rowOf(preview.body.active.mappings, 'payment_intent')?.stc_name).toMatch(/ · /);
      expect(preview.body.active.version).toBe(1);

      const invalid = await api.post('/console/api/studio/preview', {
        file: 'payments.yaml',
        text: text.replace(`stc_name: "'Studio ' & id"`, `stc_nosuchcolumn: "'Studio ' & id"`),
        payload: event,
      });
      expect(invalid.status).toBe(422);
      expect(invalid.body.error.message).toMatch(/^payments\.yaml: /);
      expect(invalid.body.error.message).toContain('stc_nosuchcolumn');

      const { eventId } = await api.deliver('ch_studio_preview_1');
      const inbox = (await api.get('/console/api/studio/sample?object=charge')).body.events[0];
      const byInbox = await api.post('/console/api/studio/preview', {
        file: 'payments.yaml',
        text,
        inboxId: inbox.inboxId,
      });
      expect(byInbox.body).toMatchObject({ eventId, objectType: 'charge' });
      expect((await api.post('/console/api/studio/preview', { file: 'payments.yaml', text })).status).toBe(
        400,
      );
    },
    COMPILING_MS,
  );

  test('edit: one column set in the text, every other byte kept; a text that is not YAML is 422', async () => {
    const text = SHIPPED['customers.yaml'];
    const read = await api.post('/console/api/studio/edit', { text });
    expect(read.status).toBe(200);
    expect(read.body.text).toBe(text);
    expect(read.body.mappings[0]).toMatchObject({
      name: 'customer_contact',
      source: 'customer',
      table: 'contact',
    });
    const edited = await api.post('/console/api/studio/edit', {
      text,
      set: { mapping: 'customer_contact', column: 'description', expression: 'email' },
    });
    expect(edited.body.text).toBe(
      text.replace(
        "description: { expr: 'description ? description', truncate: true }",
        'description: { expr: email, truncate: true }',
      ),
    );
    expect(edited.body.mappings[0].columns.description).toBe('email');
    expect(edited.body.mappings[1].columns.description).toBe('description ? description');
    const broken = await api.post('/console/api/studio/edit', { text: 'mappings: [unclosed' });
    expect(broken.status).toBe(422);
    expect(broken.body.error.code).toBe('invalid_mapping_file');
  });

  test(
    "edit of a link: only the order link's id changes in the saved version; a refused expression and an unknown link are 422",
    async () => {
      const text = SHIPPED['payments.yaml'];
      const read = await api.post('/console/api/studio/edit', { text });
      expect(read.body.mappings[0].linkSpecs.stc_salesorderid).toMatchObject({
        id: 'metadata.d365_salesorderid',
        match: 'ordernumber',
      });
      const setLink = {
        file: 'payments.yaml',
        mapping: 'payment_intent',
        link: 'stc_salesorderid',
        field: 'id',
        expression: BRACES_OFF,
      };
      const edited = await api.post('/console/api/studio/edit', { text, setLink });
      expect(edited.status).toBe(200);
      expect(edited.body.mappings[0].linkSpecs.stc_salesorderid.id).toBe(BRACES_OFF);
      expect(edited.body.mappings[1].linkSpecs.stc_salesorderid.id).toBe('metadata.d365_salesorderid');

      const saved = await api.post('/console/api/mappings', {
        files: { ...SHIPPED, 'payments.yaml': edited.body.text },
        note: 'order ids with braces',
      });
      expect(saved.status).toBe(201);
      const version = await api.get(`/console/api/mappings/${saved.body.version}`);
      const stored: Record<string, string> = version.body.files;
      expect(Object.keys(stored).filter((name) => stored[name] !== SHIPPED[name])).toEqual(['payments.yaml']);
      const before = text.split('\n');
      const after = stored['payments.yaml'].split('\n');
      expect(after).toHaveLength(before.length);
      const changedLines = after.filter((line, i) => line !== before[i]);
      expect(changedLines).toEqual([`        id: "$replace(metadata.d365_salesorderid, /[{}]/, '')"`]);

      // The order named as the order form gives it ({GUID}): the active version refuses it, the edit binds it.
      const orderId = '7a3c5e10-1b2c-4d5e-8f90-a1b2c3d4e5f6';
      const event = recordedEvent('payment_intent_succeeded');
      (event.data.object as { metadata: Record<string, string> }).metadata = {
        d365_salesorderid: `{${orderId.toUpperCase()}}`,
      };
      const preview = await api.post('/console/api/studio/preview', {
        file: 'payments.yaml',
        text: edited.body.text,
        payload: event,
      });
      expect(preview.status).toBe(200);
      const intentOf = (mappings: Array<{ mapping: string }>) =>
        mappings.find((m) => m.mapping === 'payment_intent') as unknown as {
          error: string | null;
          rows: Array<{ links: Array<{ column: string; id: string | null; tables: string[] }> }>;
        };
      expect(intentOf(preview.body.active.mappings).error).toContain('is not a GUID');
      expect(intentOf(preview.body.edited.mappings).rows[0].links).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            column: 'stc_salesorderid',
            id: orderId.toUpperCase(),
            tables: ['salesorder'],
          }),
        ]),
      );

      const refused = await api.post('/console/api/studio/edit', {
        text,
        setLink: { ...setLink, expression: '$replace(metadata.d365_salesorderid, /[{}]/' },
      });
      expect(refused.status).toBe(422);
      expect(refused.body.error.code).toBe('mapping_invalid');
      expect(refused.body.error.message).toMatch(
        /^payments\.yaml: mapping "payment_intent", column "stc_salesorderid": expression .* does not parse/,
      );
      const unknown = await api.post('/console/api/studio/edit', {
        text,
        setLink: { ...setLink, link: 'stc_quoteid' },
      });
      expect(unknown.status).toBe(422);
      expect(unknown.body.error.message).toBe('Mapping payment_intent has no link stc_quoteid');
      const badField = await api.post('/console/api/studio/edit', {
        text,
        setLink: { ...setLink, field: 'match' },
      });
      expect(badField.status).toBe(400);
    },
    COMPILING_MS,
  );
});
