/**
 * Mapping versions in the running service, end to end on both engines: Stripe emulator webhooks → service →
 * Dataverse emulator rows. A version activated through the console API changes what the next payment
 * writes without a restart, rollback restores the one before, each applied event records its version, an
 * invalid version is refused naming the column, a replay after a fixed version re-applies a payment that
 * was dead-lettered under a broken one, and a second service on the same store switches by its poll.
 */
import { join } from 'node:path';
import { waitFor, waitForEmptyQueue } from '@stc/testkit';
import { describeOnEachEngine, type TestDatabase } from '../../__tests__/support/engines';
import { serviceOnEmulators } from '../../__tests__/support/service-on-emulators';
import { readMappingFolder, type MappingFiles } from '../../mapping';
import { startService, type RunningService } from '../../service';

const SHIPPED = readMappingFolder(join(__dirname, '../../../mappings'));
const PAYMENT_DESCRIPTION = 'stc_description: { expr: description, truncate: true }';

/** The shipped files with the PaymentIntent mapping's description column replaced by `line`. */
function withDescriptionLine(line: string): MappingFiles {
  const payments = SHIPPED['payments.yaml'].replace(PAYMENT_DESCRIPTION, line);
  expect(payments).not.toBe(SHIPPED['payments.yaml']);
  return { ...SHIPPED, 'payments.yaml': payments };
}

const fixture = serviceOnEmulators('mapping-versions');

describeOnEachEngine('mapping versions in the running service', (engine) => {
  let db: TestDatabase;
  let service: RunningService;
  beforeEach(async () => {
    db = await engine.open();
    service = await fixture.start(
      fixture.configFor({ ...db.env, WORKER_POLL_MS: '20', RETRY_BASE_MS: '20', RETRY_MAX_MS: '100' }),
    );
    fixture.stripeEmulator.setWebhook({
      url: `${service.url}/webhooks/stripe`,
      secret: 'whsec_mapping-versions',
    });
  });
  afterEach(async () => {
    await service.stop();
    await db.destroy();
  });

  const api = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const response = await fetch(`${service.url}/console/api/${path}`, {
      method,
      headers: { authorization: `Bearer ${fixture.adminKey}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  const pay = (description: string) =>
    fixture.stripeEmulator.client().paymentIntents.create({
      amount: 2500,
      currency: 'usd',
      description,
      payment_method: 'pm_card_visa',
      confirm: true,
    });

  const paymentRow = (id: string) =>
    fixture.client.retrieveByKey('stc_payments', { stc_stripeid: id }).catch(() => null);

  const descriptionOf = (id: string, expected: string) =>
    waitFor(
      async () => {
        const row = await paymentRow(id);
        return row?.stc_description === expected ? row : undefined;
      },
      `stc_payment ${id} described "${expected}"`,
      20_000,
      25,
    );

  /** The Stripe events about a PaymentIntent: its own and its charge's. */
  const eventsOf = (paymentIntentId: string) =>
    fixture.stripeEmulator.events.filter((event) => {
      const object = event.data.object as { id?: string; payment_intent?: string };
      return object.id === paymentIntentId || object.payment_intent === paymentIntentId;
    });

  /** The mapping versions the applied events of a PaymentIntent ran under, once every event is worked. */
  const appliedVersions = async (paymentIntentId: string) => {
    await fixture.stripeEmulator.waitForDeliveries(10_000);
    await waitForEmptyQueue(db.store, 'the inbox worked off', 20_000, 25);
    const versions = new Set<string | null>();
    for (const event of eventsOf(paymentIntentId)) {
      const inbox = await db.store.findEvent('stripe', '', event.id);
      if (inbox?.status !== 'applied') continue;
      const attempts = await db.store.eventAttempts(inbox.id);
      versions.add(attempts[attempts.length - 1].mappingVersion);
    }
    return [...versions];
  };

  /** The mapping versions the lineage names for the payment rows an applied event of a PaymentIntent wrote. */
  const writtenVersions = async (paymentIntentId: string) => {
    const versions = new Set<string | null>();
    for (const event of eventsOf(paymentIntentId)) {
      const inbox = await db.store.findEvent('stripe', '', event.id);
      if (inbox?.status !== 'applied') continue;
      for (const write of await db.store.eventWrites(inbox.id))
        if (write.table === 'stc_payment' && write.mapping === 'payment_intent')
          versions.add(write.mappingVersion);
    }
    return [...versions];
  };

  test('an activated version changes the next payment’s row without a restart; rollback restores', async () => {
    const anonymous = await fetch(`${service.url}/console/api/mappings`);
    expect(anonymous.status).toBe(401);
    const listed = await api('GET', 'mappings');
    expect(listed).toMatchObject({
      status: 200,
      body: { versions: [{ version: 1, active: true, createdBy: 'service start' }] },
    });
    const first = await pay('Blue widgets');
    await descriptionOf(first.id, 'Blue widgets');
    const unknown = await api('POST', 'mappings/dry-run', {
      version: 9,
      payload: fixture.stripeEmulator.events[0],
    });
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });

    const invalid = await api('POST', 'mappings', {
      files: withDescriptionLine('stc_colour: description'),
      note: 'a column the table does not have',
    });
    expect(invalid.status).toBe(422);
    expect((invalid.body.error as { message: string }).message).toContain(
      'payments.yaml: mapping "payment_intent", column "stc_colour"',
    );

    const created = await api('POST', 'mappings', {
      files: withDescriptionLine(`stc_description: { expr: "'Web shop: ' & description", truncate: true }`),
      note: 'payments say where they came from',
    });
    expect(created).toMatchObject({ status: 201, body: { version: 2, active: false } });
    const diff = await api('GET', 'mappings/diff?from=1&to=2');
    expect(diff.body.files).toEqual([expect.objectContaining({ file: 'payments.yaml', change: 'changed' })]);
    expect((diff.body.files as Array<{ patch: string }>)[0].patch).toContain(
      `+      stc_description: { expr: "'Web shop: ' & description", truncate: true }`,
    );

    expect(await api('POST', 'mappings/2/activate')).toMatchObject({
      status: 200,
      body: { active: 2, previous: 1 },
    });
    const second = await pay('Red widgets');
    await descriptionOf(second.id, 'Web shop: Red widgets');
    const metrics = await fetch(`${service.url}/metrics`, {
      headers: { authorization: `Bearer ${fixture.adminKey}` },
    });
    expect(await metrics.text()).toMatch(/^stc_mapping_version 2$/m);
    expect(await appliedVersions(first.id)).toEqual(['1']);
    expect(await appliedVersions(second.id)).toEqual(['2']);
    expect(await writtenVersions(second.id)).toEqual(['2']);

    expect(await api('POST', 'mappings/rollback')).toMatchObject({
      status: 200,
      body: { active: 1, previous: 2 },
    });
    const third = await pay('Green widgets');
    await descriptionOf(third.id, 'Green widgets');
    expect(await appliedVersions(third.id)).toEqual(['1']);
  }, 60_000);

  test('a payment dead-lettered under a broken version is written after a fixed one is activated and replayed', async () => {
    const broken = await api('POST', 'mappings', {
      files: withDescriptionLine('stc_description: { expr: metadata.never_set, required: true }'),
      note: 'requires a value payments do not have',
      activate: true,
    });
    expect(broken).toMatchObject({ status: 201, body: { version: 2, active: true } });
    const startedMs = Date.now() - 1000;
    const payment = await pay('Yellow widgets');
    const letter = await waitFor(
      async () => (await db.store.listDeadLetters()).find((d) => d.objectId === payment.id),
      'the payment’s events dead-lettered',
      20_000,
      25,
    );
    expect(letter!.error).toContain('column "stc_description"');
    expect(await paymentRow(payment.id)).toBeNull();

    const fixed = await api('POST', 'mappings', {
      files: withDescriptionLine(`stc_description: { expr: "'Fixed: ' & description", truncate: true }`),
      note: 'fixed',
    });
    expect(fixed).toMatchObject({ status: 201, body: { version: 3, active: false } });
    const succeeded = eventsOf(payment.id).find((e) => e.type === 'payment_intent.succeeded')!;
    const dryRun = await api('POST', 'mappings/dry-run', {
      version: 3,
      inboxId: (await db.store.findEvent('stripe', '', succeeded.id))!.id,
    });
    expect(dryRun.status).toBe(200);
    type Side = {
      version: number;
      mappings: Array<{
        mapping: string;
        error: string | null;
        rows: Array<{ row: Record<string, unknown> }>;
      }>;
    };
    const intentMapping = (side: unknown) =>
      (side as Side).mappings.find((m) => m.mapping === 'payment_intent')!;
    expect(dryRun.body).toMatchObject({ type: 'payment_intent.succeeded', objectType: 'payment_intent' });
    expect(intentMapping(dryRun.body.version).rows.map((r) => r.row.stc_description)).toEqual([
      'Fixed: Yellow widgets',
    ]);
    // Beside it, what the active (broken) version does with the same event.
    expect((dryRun.body.active as Side).version).toBe(2);
    expect(intentMapping(dryRun.body.active).error).toContain('column "stc_description"');
    expect(await api('POST', 'mappings/3/activate')).toMatchObject({ body: { active: 3, previous: 2 } });

    const replay = await api('POST', 'mappings/replay', { fromMs: startedMs });
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ activeVersion: 3 });
    expect(replay.body.queued).toBeGreaterThanOrEqual(1);
    await descriptionOf(payment.id, 'Fixed: Yellow widgets');
    expect(await appliedVersions(payment.id)).toEqual(['3']);
    expect((await db.store.listDeadLetters()).filter((d) => d.objectId === payment.id)).toEqual([]);
  }, 60_000);

  test('a replica sharing the store switches to a version activated through another within its poll interval', async () => {
    const replica = await startService(fixture.configFor({ ...db.env, MAPPINGS_POLL_SECONDS: '0.1' }));
    try {
      const versionOf = async (running: RunningService) => {
        const text = await (
          await fetch(`${running.url}/metrics`, { headers: { authorization: `Bearer ${fixture.adminKey}` } })
        ).text();
        return /^stc_mapping_version (\d+)$/m.exec(text)?.[1];
      };
      expect(await versionOf(replica)).toBe('1');
      const created = await api('POST', 'mappings', {
        files: withDescriptionLine(`stc_description: { expr: "'Replica: ' & description", truncate: true }`),
        activate: true,
      });
      expect(created).toMatchObject({ status: 201, body: { version: 2, active: true } });
      expect(await versionOf(service)).toBe('2');
      await waitFor(async () => (await versionOf(replica)) === '2', 'the replica on version 2', 10_000, 50);
    } finally {
      await replica.stop();
    }
  }, 60_000);
});
