/**
 * The client against the Dataverse emulator over loopback HTTP: every operation, alternate keys a URL cannot
 * carry, $batch atomicity and continue-on-error, throttling under the service protection limits with every
 * write landing exactly once, transient faults, and typed errors.
 */
import type { DataverseEmulator } from '@stc/emulators';
import { dataverseEmulatorForFile } from '../../__tests__/support/dataverse-emulator';
import { createDataverseClient, createUpsertBatcher, DataverseError, type DataverseWebApiClient } from '..';

const PAYMENTS = 'stc_payments';
const SUCCEEDED = 100000000;
const payment = (amount: number, extra: Record<string, unknown> = {}) => ({
  stc_amount: amount,
  stc_currency: 'usd',
  stc_status: SUCCEEDED,
  ...extra,
});

let emulator: DataverseEmulator;
let client: DataverseWebApiClient;

dataverseEmulatorForFile((fixture) => ({ emulator, client } = fixture));

const rowsByStripeId = (stripeId: string) =>
  emulator.store.rows(PAYMENTS).filter((r) => r.stc_stripeid === stripeId);

describe('rows by id', () => {
  it('creates, reads, updates with an etag, refuses a stale etag, and deletes', async () => {
    const id = await client.create(PAYMENTS, payment(10, { stc_stripeid: 'pi_crud' }));
    expect(emulator.store.get(PAYMENTS, id)).toMatchObject({ stc_stripeid: 'pi_crud', stc_amount: 10 });

    const read = await client.retrieve(PAYMENTS, id, { select: ['stc_amount'] });
    expect(read).toMatchObject({ stc_amount: 10, stc_paymentid: id });
    const etag = String(read!['@odata.etag']);

    await client.update(PAYMENTS, id, { stc_amount: 11 }, { ifMatch: etag });
    expect(emulator.store.get(PAYMENTS, id)).toMatchObject({ stc_amount: 11 });

    const stale = await client
      .update(PAYMENTS, id, { stc_amount: 12 }, { ifMatch: etag })
      .catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(DataverseError);
    expect((stale as DataverseError).status).toBe(412);
    expect((stale as DataverseError).message).toMatch(/etag|changed since it was read/i);
    expect(emulator.store.get(PAYMENTS, id)).toMatchObject({ stc_amount: 11 });

    await client.delete(PAYMENTS, id);
    expect(emulator.store.count(PAYMENTS)).toBe(0);
    expect(await client.retrieve(PAYMENTS, id)).toBeNull();
  });

  it('does not create a row when updating an id that does not exist', async () => {
    const missing = '0b0b0b0b-0000-4000-8000-000000000001';
    const err = (await client
      .update(PAYMENTS, missing, { stc_amount: 1 })
      .catch((e: unknown) => e)) as DataverseError;
    expect(err.status).toBe(404);
    expect(err.code).toBe('0x80040217');
    expect(emulator.store.count(PAYMENTS)).toBe(0);
  });
});

describe('alternate keys', () => {
  it('upserts: creates when missing, updates when present, both on the same row', async () => {
    const first = await client.upsertByKey(PAYMENTS, { stc_stripeid: 'pi_1' }, payment(5));
    const second = await client.upsertByKey(PAYMENTS, { stc_stripeid: 'pi_1' }, payment(6));
    expect(first.created).toBe(true);
    expect(second).toEqual({ id: first.id, created: false });
    expect(rowsByStripeId('pi_1')).toEqual([expect.objectContaining({ stc_amount: 6 })]);
  });

  it('updateOnly (If-Match: *) refuses a missing row and createOnly (If-None-Match: *) an existing one', async () => {
    const missing = (await client
      .upsertByKey(PAYMENTS, { stc_stripeid: 'pi_none' }, payment(1), { mode: 'updateOnly' })
      .catch((e: unknown) => e)) as DataverseError;
    expect(missing).toBeInstanceOf(DataverseError);
    expect(missing.status).toBe(404);
    expect(emulator.store.count(PAYMENTS)).toBe(0);

    const made = await client.upsertByKey(PAYMENTS, { stc_stripeid: 'pi_2' }, payment(1), {
      mode: 'createOnly',
    });
    expect(made.created).toBe(true);
    const again = (await client
      .upsertByKey(PAYMENTS, { stc_stripeid: 'pi_2' }, payment(2), { mode: 'createOnly' })
      .catch((e: unknown) => e)) as DataverseError;
    expect(again.status).toBe(412);
    expect(again.code).toBe('0x80040237');
    expect(again.message).toMatch(/matching key values already exists/);
    expect(rowsByStripeId('pi_2')).toEqual([expect.objectContaining({ stc_amount: 1 })]);

    const updated = await client.upsertByKey(PAYMENTS, { stc_stripeid: 'pi_2' }, payment(3), {
      mode: 'updateOnly',
    });
    expect(updated).toEqual({ id: made.id, created: false });
    expect(rowsByStripeId('pi_2')).toEqual([expect.objectContaining({ stc_amount: 3 })]);
  });

  it('reads by key, and answers null for a key with no row', async () => {
    await client.upsertByKey(PAYMENTS, { stc_stripeid: "pi_o'brien" }, payment(7));
    expect(
      await client.retrieveByKey(PAYMENTS, { stc_stripeid: "pi_o'brien" }, { select: ['stc_amount'] }),
    ).toMatchObject({
      stc_amount: 7,
    });
    expect(await client.retrieveByKey(PAYMENTS, { stc_stripeid: 'pi_nobody' })).toBeNull();
  });

  const awkward = [
    'a/b',
    'x<y>z',
    'star*',
    '100%',
    'this&that',
    'ns:id',
    'back\\slash',
    'what?',
    'one+one',
    "it's/odd",
  ];

  it.each(awkward)('writes key %j, which a URL cannot carry, to its own row and no other', async (value) => {
    // Rows whose keys a wrong URL decoding could hit: the part before the awkward character, and a look-alike.
    const decoyA = await client.create(
      PAYMENTS,
      payment(1, { stc_stripeid: value.split(/[/<>*%&:\\?+]/)[0] || 'decoy' }),
    );
    const decoyB = await client.create(PAYMENTS, payment(1, { stc_stripeid: `${value}x` }));

    const first = await client.upsertByKey(PAYMENTS, { stc_stripeid: value }, payment(2));
    const second = await client.upsertByKey(PAYMENTS, { stc_stripeid: value }, payment(3));
    expect(first.created).toBe(true);
    expect(second).toEqual({ id: first.id, created: false });
    expect(rowsByStripeId(value)).toEqual([
      expect.objectContaining({ stc_amount: 3, stc_paymentid: first.id }),
    ]);
    expect(emulator.store.get(PAYMENTS, decoyA)).toMatchObject({ stc_amount: 1 });
    expect(emulator.store.get(PAYMENTS, decoyB)).toMatchObject({ stc_amount: 1 });
    expect(await client.retrieveByKey(PAYMENTS, { stc_stripeid: value })).toMatchObject({
      stc_paymentid: first.id,
    });

    const createOnly = (await client
      .upsertByKey(PAYMENTS, { stc_stripeid: value }, payment(9), { mode: 'createOnly' })
      .catch((e: unknown) => e)) as DataverseError;
    expect(createOnly).toMatchObject({ status: 412, code: '0x80040237' });
    const updateOnly = (await client
      .upsertByKey(PAYMENTS, { stc_stripeid: `${value}-missing` }, payment(9), { mode: 'updateOnly' })
      .catch((e: unknown) => e)) as DataverseError;
    expect(updateOnly.status).toBe(404);
    expect(emulator.store.count(PAYMENTS)).toBe(3);
  });

  it('settles a race between writers creating the same awkward key: one row, the last values', async () => {
    const key = { stc_stripeid: 'race/1' };
    // The first GET of every writer is held back so all of them see "no row" and try to create it.
    emulator.injectFault({ latencyMs: 50, count: 8, match: { method: 'GET', pathIncludes: PAYMENTS } });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => client.upsertByKey(PAYMENTS, key, payment(100 + i))),
    );
    const rows = rowsByStripeId('race/1');
    expect(rows).toHaveLength(1);
    expect(new Set(results.map((r) => r.id))).toEqual(new Set([rows[0].stc_paymentid]));
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });
});

describe('queries', () => {
  it('selects, filters, orders, limits and follows @odata.nextLink across pages', async () => {
    for (let i = 0; i < 25; i += 1) {
      await client.create(PAYMENTS, payment(i, { stc_stripeid: `pi_q${String(i).padStart(2, '0')}` }));
    }
    const before = client.stats().requests;
    const all = await client.retrieveMultiple(PAYMENTS, {
      select: ['stc_stripeid', 'stc_amount'],
      orderBy: ['stc_amount desc'],
      pageSize: 10,
    });
    expect(client.stats().requests - before).toBe(3);
    expect(all.map((r) => r.stc_amount)).toEqual(Array.from({ length: 25 }, (_, i) => 24 - i));
    expect(Object.keys(all[0]).filter((k) => !k.startsWith('@'))).toEqual(
      expect.arrayContaining(['stc_stripeid', 'stc_amount']),
    );

    const some = await client.retrieveMultiple(PAYMENTS, {
      filter: "stc_amount ge 20 and startswith(stc_stripeid,'pi_q')",
      orderBy: ['stc_amount'],
      top: 3,
    });
    expect(some.map((r) => r.stc_amount)).toEqual([20, 21, 22]);
  });

  it('sets lookups with @odata.bind and expands them', async () => {
    const paymentId = await client.create(PAYMENTS, payment(50, { stc_stripeid: 'pi_parent' }));
    const refund = await client.upsertByKey(
      'stc_refunds',
      { stc_stripeid: 're_1' },
      {
        stc_amount: 5,
        stc_currency: 'usd',
        stc_status: 100000000,
        'stc_paymentid@odata.bind': `/stc_payments(${paymentId})`,
      },
    );
    const read = await client.retrieve('stc_refunds', refund.id, {
      select: ['stc_amount', '_stc_paymentid_value'],
      expand: 'stc_paymentid($select=stc_stripeid)',
    });
    expect(read).toMatchObject({
      _stc_paymentid_value: paymentId,
      stc_paymentid: { stc_stripeid: 'pi_parent' },
    });
  });
});

describe('$batch', () => {
  it('applies a change set atomically, with Content-ID references, and none of it when one part fails', async () => {
    const results = await client.executeBatch([
      {
        kind: 'create',
        entitySet: PAYMENTS,
        row: payment(1, { stc_stripeid: 'pi_b1' }),
        changeSet: 'ok',
        contentId: '1',
      },
      {
        kind: 'create',
        entitySet: 'stc_refunds',
        row: {
          stc_stripeid: 're_b1',
          stc_amount: 1,
          stc_currency: 'usd',
          stc_status: 100000000,
          'stc_paymentid@odata.bind': '$1',
        },
        changeSet: 'ok',
      },
    ]);
    for (const r of results) expect([201, 204]).toContain(r.status);
    expect(results.every((r) => r.id)).toBe(true);
    expect(emulator.store.get('stc_refunds', results[1].id!)).toMatchObject({
      _stc_paymentid_value: results[0].id,
    });

    const before = emulator.store.count(PAYMENTS);
    const failed = await client.executeBatch([
      { kind: 'create', entitySet: PAYMENTS, row: payment(1, { stc_stripeid: 'pi_b2' }), changeSet: 'bad' },
      {
        kind: 'create',
        entitySet: PAYMENTS,
        row: payment(1, { stc_stripeid: 'pi_b3', stc_nosuchcolumn: 1 }),
        changeSet: 'bad',
      },
    ]);
    expect(failed.every((r) => r.status >= 400 && r.error)).toBe(true);
    expect(failed[0].error?.message).toMatch(/stc_nosuchcolumn/);
    expect(emulator.store.count(PAYMENTS)).toBe(before);
  });

  it('with continue-on-error fails only the bad change set; without it stops at the first failure', async () => {
    const ops = (prefix: string) => [
      {
        kind: 'upsert' as const,
        entitySet: PAYMENTS,
        key: { stc_stripeid: `${prefix}1` },
        row: payment(1),
        changeSet: 'a',
      },
      {
        kind: 'upsert' as const,
        entitySet: PAYMENTS,
        key: { stc_stripeid: `${prefix}2` },
        row: payment(1, { stc_currency: 'x'.repeat(500) }),
        changeSet: 'b',
      },
      {
        kind: 'upsert' as const,
        entitySet: PAYMENTS,
        key: { stc_stripeid: `${prefix}3` },
        row: payment(1),
        changeSet: 'c',
      },
    ];
    const going = await client.executeBatch(ops('pi_go'), { continueOnError: true });
    expect(going.map((r) => r.status)).toEqual([201, 400, 201]);
    expect(going[1].error).toMatchObject({ status: 400, transient: false });
    expect(going[1].error?.code).toMatch(/^0x/);
    expect(rowsByStripeId('pi_go3')).toHaveLength(1);

    const stopping = await client.executeBatch(ops('pi_stop'));
    expect(stopping[0].status).toBe(201);
    expect(stopping[1].status).toBe(400);
    expect(stopping[2].status).toBeGreaterThanOrEqual(400);
    expect(rowsByStripeId('pi_stop3')).toHaveLength(0);
  });

  it('reads rows in a batch next to writes, and answers 404 for a missing one', async () => {
    const id = await client.create(PAYMENTS, payment(8, { stc_stripeid: 'pi_read' }));
    const results = await client.executeBatch(
      [
        { kind: 'retrieve', entitySet: PAYMENTS, id, query: { select: ['stc_amount'] } },
        { kind: 'update', entitySet: PAYMENTS, id, row: { stc_amount: 9 }, changeSet: 'w' },
        { kind: 'retrieve', entitySet: PAYMENTS, id: '0b0b0b0b-0000-4000-8000-00000000abcd' },
        { kind: 'delete', entitySet: PAYMENTS, id, changeSet: 'd' },
      ],
      { continueOnError: true },
    );
    expect(results.map((r) => r.status)).toEqual([200, 204, 404, 204]);
    expect(results[0].body).toMatchObject({ stc_amount: 8 });
    expect(results[2].error).toMatchObject({ code: '0x80040217', transient: false });
    expect(emulator.store.count(PAYMENTS)).toBe(0);
  });

  it('splits more than 1,000 operations into several $batch requests, results in order', async () => {
    const ops = Array.from({ length: 1500 }, (_, i) => ({
      kind: 'upsert' as const,
      entitySet: PAYMENTS,
      key: { stc_stripeid: `pi_big${i}` },
      row: payment(i),
    }));
    const before = client.stats();
    const results = await client.executeBatch(ops, { continueOnError: true });
    expect(client.stats().batches - before.batches).toBe(2);
    expect(results).toHaveLength(1500);
    expect(results.every((r) => r.status === 201)).toBe(true);
    expect(emulator.store.count(PAYMENTS)).toBe(1500);
    expect(emulator.store.get(PAYMENTS, results[1234].id!)).toMatchObject({
      stc_stripeid: 'pi_big1234',
      stc_amount: 1234,
    });
  }, 60_000);
});

describe('limits and failures', () => {
  it('under throttling lands every write exactly once, honouring Retry-After', async () => {
    // Concurrency 3 and 40 requests per 2 s: the batcher's 12 parallel batches are sure to be refused.
    emulator.setLimits({ enabled: true, concurrent: 3, requests: 40, windowMs: 2000 });
    const batcher = createUpsertBatcher(client, { maxBatchSize: 10, maxDelayMs: 1, maxInFlight: 12 });
    const n = 600;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        batcher.upsert(PAYMENTS, { stc_stripeid: `pi_t${i}` }, payment(i, { stc_description: `row ${i}` })),
      ),
    );
    expect(client.stats().throttled).toBeGreaterThan(0);
    expect(new Set(results.map((r) => r.id)).size).toBe(n);
    const rows = emulator.store.rows(PAYMENTS);
    expect(rows).toHaveLength(n);
    for (const row of rows) {
      const i = Number(String(row.stc_stripeid).slice(4));
      expect(row).toMatchObject({ stc_amount: i, stc_description: `row ${i}` });
    }
  }, 120_000);

  it('retries a 503 and a dropped connection for idempotent requests', async () => {
    emulator.injectFault({ status: 503, count: 2 });
    const made = await client.upsertByKey(PAYMENTS, { stc_stripeid: 'pi_f1' }, payment(1));
    expect(made.created).toBe(true);
    emulator.injectFault({ drop: true, count: 1 });
    expect(await client.retrieveByKey(PAYMENTS, { stc_stripeid: 'pi_f1' })).toMatchObject({
      stc_paymentid: made.id,
    });
    expect(client.stats().retries).toBe(3);
  });

  it('retries a read that gets no answer within the timeout', async () => {
    const quick = createDataverseClient({
      baseUrl: emulator.url,
      timeoutMs: 500,
      retry: { baseDelayMs: 1, maxDelayMs: 5 },
    });
    await client.upsertByKey(PAYMENTS, { stc_stripeid: 'pi_slow' }, payment(4));
    emulator.injectFault({ latencyMs: 2500, count: 1, match: { method: 'GET' } });
    expect(await quick.retrieveByKey(PAYMENTS, { stc_stripeid: 'pi_slow' })).toMatchObject({ stc_amount: 4 });
    expect(quick.stats().retries).toBeGreaterThanOrEqual(1);
  });

  it('gives up after the bounded retries with a transient DataverseError', async () => {
    const impatient = createDataverseClient({
      baseUrl: emulator.url,
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    });
    emulator.injectFault({ status: 503, count: 10 });
    const err = (await impatient.retrieveMultiple(PAYMENTS).catch((e: unknown) => e)) as DataverseError;
    expect(err).toBeInstanceOf(DataverseError);
    expect(err).toMatchObject({ status: 503, transient: true, attempts: 3 });
  });

  it('does not resend a create after a dropped connection (it may have been applied), and says so', async () => {
    emulator.injectFault({ drop: true, count: 1, match: { method: 'POST' } });
    const err = (await client
      .create(PAYMENTS, payment(1, { stc_stripeid: 'pi_once' }))
      .catch((e: unknown) => e)) as DataverseError;
    expect(err).toMatchObject({ status: 0, transient: true, attempts: 1 });
    expect(rowsByStripeId('pi_once').length).toBeLessThanOrEqual(1);
  });

  it('reports an unknown column as a permanent error naming it, with the platform code', async () => {
    const err = (await client
      .create(PAYMENTS, { stc_stripeid: 'pi_bad', stc_colour: 'red' })
      .catch((e: unknown) => e)) as DataverseError;
    expect(err).toBeInstanceOf(DataverseError);
    expect(err).toMatchObject({ status: 400, transient: false });
    expect(err.message).toMatch(/stc_colour/);
    expect(err.code).toMatch(/^0x/);
  });
});

describe('actions', () => {
  it('calls an unbound action (WinQuote) once, and a refusal is a permanent error with its reason', async () => {
    const quote = await client.create('quotes', { name: 'Offer' });
    await client.update('quotes', quote, { statecode: 1, statuscode: 2 });
    const win = () =>
      client.executeAction('WinQuote', {
        QuoteClose: { subject: 'Signed', 'quoteid@odata.bind': `/quotes(${quote})` },
        Status: 4,
      });
    expect(await win()).toBeNull();
    expect(emulator.store.get('quotes', quote)).toMatchObject({ statecode: 2, statuscode: 4 });
    const again = (await win().catch((e: unknown) => e)) as DataverseError;
    expect(again).toBeInstanceOf(DataverseError);
    expect(again).toMatchObject({ status: 400, transient: false });
    expect(again.message).toContain('it is Won, and only an Active quote can be won');
    await expect(client.executeAction('../quotes', {})).rejects.toThrow(/not an action name/);
  });
});

describe('upsert batcher', () => {
  it('coalesces concurrent upserts into few requests; a bad row fails only its own promise', async () => {
    const batcher = createUpsertBatcher(client, { maxBatchSize: 100, maxDelayMs: 5, maxInFlight: 4 });
    const before = client.stats().requests;
    const settled = await Promise.allSettled(
      Array.from({ length: 500 }, (_, i) =>
        batcher.upsert(
          PAYMENTS,
          { stc_stripeid: `pi_c${i}` },
          i === 123 ? payment(i, { stc_amount: 'not a number' }) : payment(i),
        ),
      ),
    );
    const requests = client.stats().requests - before;
    expect(requests / 500).toBeLessThanOrEqual(0.1);
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(499);
    const failure = settled[123] as PromiseRejectedResult;
    expect(failure.reason).toBeInstanceOf(DataverseError);
    expect(failure.reason).toMatchObject({ status: 400, transient: false });
    expect(emulator.store.count(PAYMENTS)).toBe(499);
    await batcher.flush();
    expect(batcher.stats()).toMatchObject({ pending: 0, inFlight: 0, failed: 1 });
  });

  it('writes the same key twice in one batch to one row, the later values winning', async () => {
    const batcher = createUpsertBatcher(client, { maxBatchSize: 10, maxDelayMs: 50, maxInFlight: 1 });
    const [a, b] = await Promise.all([
      batcher.upsert(PAYMENTS, { stc_stripeid: 'pi_twice' }, payment(1)),
      batcher.upsert(PAYMENTS, { stc_stripeid: 'pi_twice' }, payment(2)),
    ]);
    expect(batcher.stats().batches).toBe(1);
    expect(a.created).toBe(true);
    expect(b).toEqual({ id: a.id, created: false });
    expect(rowsByStripeId('pi_twice')).toEqual([expect.objectContaining({ stc_amount: 2 })]);
  });
});
