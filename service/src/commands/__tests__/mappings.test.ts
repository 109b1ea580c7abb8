/**
 * `cli mappings …` on both engines: the versions the service stored, a folder validated, stored, compared,
 * activated and rolled back, an invalid folder refused naming its column, a dry run of a recorded Stripe
 * event under two versions, and a replay queuing a dead-lettered event again.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { model } from '@stc/solution';
import { runCli } from '../../cli';
import { describeOnEachEngine, type TestDatabase } from '../../__tests__/support/engines';
import { collectingIo } from '../../__tests__/support/cli';
import { recordedEvent } from '../../mapping/__tests__/fixtures';
import { loadMappingFiles, readMappingFolder } from '../../mapping';
import { startLiveMappings } from '../../mapping-versions';
import { createLogger } from '../../observability/log';

const SHIPPED_DIR = path.join(__dirname, '../../../mappings');
const PAYMENT_DESCRIPTION = 'stc_description: { expr: description, truncate: true }';

describeOnEachEngine('cli mappings', (engine) => {
  let db: TestDatabase;
  let dir: string;
  beforeEach(async () => {
    db = await engine.open();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stc-cli-mappings-'));
    const files = readMappingFolder(SHIPPED_DIR);
    // As the service does at its first start: the shipped files become version 1.
    await startLiveMappings({
      store: db.store,
      model,
      shipped: { dir: SHIPPED_DIR, files, set: loadMappingFiles(files, { model }) },
      pollMs: 0,
      log: createLogger({ level: 'silent' }),
    });
  });
  afterEach(async () => {
    await db.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A copy of the shipped folder with the PaymentIntent mapping's description column as `line`. */
  const folderWith = (name: string, line: string) => {
    const folder = path.join(dir, name);
    fs.cpSync(SHIPPED_DIR, folder, { recursive: true });
    const file = path.join(folder, 'payments.yaml');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(PAYMENT_DESCRIPTION, line));
    return folder;
  };

  const cli = async (...argv: string[]) => {
    const { io, out, err } = collectingIo({}, db.store);
    const code = await runCli(['mappings', ...argv], io);
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  test('validate, create, diff, activate, roll back; an invalid folder is refused naming its column', async () => {
    expect(await cli('list')).toMatchObject({
      code: 0,
      out: expect.stringMatching(/^\* 1 .* service start/),
    });

    const invalid = folderWith('invalid', 'stc_colour: description');
    const refused = await cli('validate', invalid);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('mapping "payment_intent", column "stc_colour"');
    expect((await cli('create', invalid)).code).toBe(1);

    const prefixed = folderWith('prefixed', `stc_description: { expr: "'Shop: ' & description" }`);
    expect(await cli('validate', prefixed)).toMatchObject({ code: 0, out: expect.stringContaining('valid') });
    expect(await cli('create', prefixed, '--note', 'shop prefix')).toMatchObject({
      code: 0,
      out: expect.stringContaining('Stored as mapping version 2 (activate with: mappings activate 2)'),
    });
    const diff = await cli('diff', '1', '2');
    expect(diff.out).toContain(`-      ${PAYMENT_DESCRIPTION}`);
    expect(diff.out).toContain(`+      stc_description: { expr: "'Shop: ' & description" }`);
    expect((await cli('show', '2', '--file', 'payments.yaml')).out).toContain("'Shop: ' & description");

    expect(await cli('activate', '2')).toMatchObject({ code: 0, out: expect.stringContaining('(was 1)') });
    expect(await db.store.activeMappingVersion()).toBe(2);
    const listed = (await cli('list')).out.split('\n');
    expect(listed).toEqual([
      expect.stringMatching(/^ {2}1 /),
      expect.stringMatching(/^\* 2 .* cli .* shop prefix$/),
    ]);
    expect(await cli('rollback')).toMatchObject({
      code: 0,
      out: expect.stringContaining('version 1 is active again'),
    });
    expect(await db.store.activeMappingVersion()).toBe(1);
    expect(await cli('activate', '7')).toMatchObject({
      code: 1,
      err: expect.stringContaining('no mapping version 7'),
    });
  });

  test('a dry run shows an inbox event’s rows under a version beside the active one; replay queues it again', async () => {
    const prefixed = folderWith('prefixed', `stc_description: { expr: "'Shop: ' & description" }`);
    await cli('create', prefixed);
    const event = recordedEvent('payment_intent_succeeded');
    const intent = event.data.object as { id: string; description: string | null };
    await db.store.insertEvent({
      source: 'stripe',
      account: '',
      eventId: event.id,
      type: event.type,
      objectId: intent.id,
      eventCreatedMs: event.created * 1000,
      payload: JSON.stringify(event),
      status: 'pending',
      receivedAtMs: Date.now(),
    });
    const [claimed] = await db.store.claimEvents({ owner: 'test', limit: 1, leaseMs: 30_000 });
    await db.store.completeEvent({
      event: claimed,
      owner: 'test',
      outcome: { kind: 'dead', error: 'mapping failed', code: 'mapping_failed' },
      startedAtMs: Date.now(),
      finishedAtMs: Date.now(),
      stampObject: false,
    });

    const dryRun = await cli('dry-run', '2', '--event', String(claimed.id));
    expect(dryRun.code).toBe(0);
    const result = JSON.parse(dryRun.out);
    const description = (side: {
      mappings: Array<{ mapping: string; rows: Array<{ row: Record<string, unknown> }> }>;
    }) => side.mappings.find((m) => m.mapping === 'payment_intent')!.rows[0].row.stc_description;
    expect(result.version.version).toBe(2);
    expect(result.active.version).toBe(1);
    expect(description(result.version)).toBe(`Shop: ${intent.description ?? ''}`);
    expect(description(result.active)).toBe(intent.description);

    const created = new Date(event.created * 1000).toISOString().slice(0, 10);
    const dayBefore = new Date(event.created * 1000 - 24 * 60 * 60 * 1000).toISOString().slice(0, 10);
    // --to names a day it includes: the day before the event's holds nothing of it.
    expect(await cli('replay', '--from', dayBefore, '--to', dayBefore)).toMatchObject({
      out: expect.stringContaining('0 events queued'),
    });
    expect(await cli('replay', '--type', 'charge.*', '--from', created)).toMatchObject({
      out: expect.stringContaining('0 events queued'),
    });
    expect(
      await cli('replay', '--type', 'payment_intent.*', '--from', created, '--to', created),
    ).toMatchObject({
      code: 0,
      out: expect.stringContaining('1 events queued to be applied again under mapping version 1'),
    });
    expect(await db.store.getEvent(claimed.id)).toMatchObject({ status: 'pending', attempts: 0 });
    expect(await db.store.listDeadLetters()).toEqual([]);
    expect(await cli('replay', '--from', 'yesterday')).toMatchObject({ code: 2 });
  });
});
