/**
 * The upsert batcher with `coalesce` (as the service wires it for the handlers), against the Dataverse
 * emulator: upserts of one row waiting for the same batch become one write, later columns winning, and a
 * refusal still fails only the upsert whose columns caused it. `withBatchedUpserts` sends only upserts through.
 */
import type { DataverseEmulator } from '@stc/emulators';
import { dataverseEmulatorForFile } from '../../__tests__/support/dataverse-emulator';
import { createUpsertBatcher, DataverseError, withBatchedUpserts, type DataverseWebApiClient } from '..';

const PAYMENTS = 'stc_payments';

let emulator: DataverseEmulator;
let client: DataverseWebApiClient;

dataverseEmulatorForFile((fixture) => ({ emulator, client } = fixture));

const rowsOf = (stripeId: string) => emulator.store.rows(PAYMENTS).filter((r) => r.stc_stripeid === stripeId);

test('upserts of one row in one window: one write, later columns over earlier, every caller gets its result', async () => {
  const batcher = createUpsertBatcher(client, { maxDelayMs: 30, coalesce: true });
  const before = client.stats().requests;
  const key = { stc_stripeid: 'pi_merge' };
  const results = await Promise.all([
    batcher.upsert(PAYMENTS, key, { stc_amount: 10, stc_currency: 'usd' }),
    batcher.upsert(PAYMENTS, key, { stc_amount: 20, stc_description: 'second' }),
    batcher.upsert(PAYMENTS, key, { stc_description: 'third' }),
    batcher.upsert(PAYMENTS, { stc_stripeid: 'pi_other' }, { stc_amount: 5 }),
  ]);
  expect(client.stats().requests - before).toBe(1);
  expect(batcher.stats()).toMatchObject({ rows: 4, batches: 1, coalesced: 2, failed: 0 });
  expect(rowsOf('pi_merge')).toEqual([
    expect.objectContaining({ stc_amount: 20, stc_currency: 'usd', stc_description: 'third' }),
  ]);
  expect(results[1]).toEqual(results[0]);
  expect(results[2]).toEqual(results[0]);
  expect(results[0].created).toBe(true);
  expect(results[3].id).not.toBe(results[0].id);
});

test("a merged write refused for one caller's column: only that caller fails, the others are written", async () => {
  const batcher = createUpsertBatcher(client, { maxDelayMs: 30, coalesce: true });
  const key = { stc_stripeid: 'pi_bad_part' };
  const settled = await Promise.allSettled([
    batcher.upsert(PAYMENTS, key, { stc_amount: 10, stc_currency: 'usd' }),
    batcher.upsert(PAYMENTS, key, { stc_colour: 'red' }),
    batcher.upsert(PAYMENTS, key, { stc_description: 'kept' }),
  ]);
  expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  const reason = (settled[1] as PromiseRejectedResult).reason as DataverseError;
  expect(reason).toBeInstanceOf(DataverseError);
  expect(reason).toMatchObject({ status: 400, transient: false });
  expect(reason.message).toMatch(/stc_colour/);
  expect(rowsOf('pi_bad_part')).toEqual([
    expect.objectContaining({ stc_amount: 10, stc_currency: 'usd', stc_description: 'kept' }),
  ]);
});

test('create-only upserts are never merged: the second of one key is refused as a duplicate', async () => {
  const batcher = createUpsertBatcher(client, { maxDelayMs: 30, coalesce: true });
  const key = { stc_stripeid: 'pi_create_once' };
  const settled = await Promise.allSettled([
    batcher.upsert(PAYMENTS, key, { stc_amount: 1 }, 'createOnly'),
    batcher.upsert(PAYMENTS, key, { stc_amount: 2 }, 'createOnly'),
  ]);
  expect(settled[0].status).toBe('fulfilled');
  expect((settled[1] as PromiseRejectedResult).reason).toMatchObject({ status: 412 });
  expect(rowsOf('pi_create_once')).toEqual([expect.objectContaining({ stc_amount: 1 })]);
});

test('a transient refusal that outlasts the attempts stays transient for every merged caller', async () => {
  const batcher = createUpsertBatcher(client, { maxDelayMs: 30, coalesce: true, maxAttempts: 1 });
  emulator.injectFault({ status: 503, count: 100 });
  const key = { stc_stripeid: 'pi_unavailable' };
  const settled = await Promise.allSettled([
    batcher.upsert(PAYMENTS, key, { stc_amount: 1 }),
    batcher.upsert(PAYMENTS, key, { stc_description: 'later' }),
  ]);
  emulator.clearFaults();
  for (const s of settled) {
    expect(s.status).toBe('rejected');
    expect((s as PromiseRejectedResult).reason).toMatchObject({ transient: true });
  }
  expect(rowsOf('pi_unavailable')).toEqual([]);
});

test('withBatchedUpserts: upserts go through the batcher, other operations straight to the client', async () => {
  const batcher = createUpsertBatcher(client, { maxDelayMs: 30, coalesce: true });
  const dataverse = withBatchedUpserts(client, batcher);
  await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      dataverse.upsertByKey(PAYMENTS, { stc_stripeid: `pi_w${i}` }, { stc_amount: i }),
    ),
  );
  expect(batcher.stats()).toMatchObject({ rows: 20, batches: 1 });
  const found = await dataverse.retrieveMultiple(PAYMENTS, { select: ['stc_stripeid'] });
  expect(found).toHaveLength(20);
  expect(batcher.stats().rows).toBe(20);
});
