/**
 * One operation of a `$batch` that cannot be made into its part (a lookup by a key a URL cannot carry that is
 * refused, a key value that is neither a string nor a number) fails alone: the batcher's other rows are written
 * and none is sent again for it; a change set it belongs to is not sent, and without continue-on-error nothing
 * after it is run. Against the Dataverse emulator.
 */
import type { DataverseEmulator } from '@stc/emulators';
import { dataverseEmulatorForFile } from '../../__tests__/support/dataverse-emulator';
import { classifyFailure } from '../../pipeline/failure';
import { createUpsertBatcher, DataverseError, type DataverseWebApiClient, type KeyValues } from '..';

const PAYMENTS = 'stc_payments';

let emulator: DataverseEmulator;
let client: DataverseWebApiClient;

dataverseEmulatorForFile((fixture) => ({ emulator, client } = fixture));

const stripeIds = () =>
  emulator.store
    .rows(PAYMENTS)
    .map((r) => r.stc_stripeid)
    .sort();

test('a refused lookup of a key a URL cannot carry fails that row only; the rows batched with it are written', async () => {
  const batcher = createUpsertBatcher(client, { maxDelayMs: 30 });
  // The application user may not read the table by $filter: the lookup of the key with '/' is refused.
  emulator.injectFault({ status: 403, count: 1, match: { method: 'GET' } });
  const settled = await Promise.allSettled([
    batcher.upsert(PAYMENTS, { stc_stripeid: 'pi_ok_1' }, { stc_amount: 1 }),
    batcher.upsert(PAYMENTS, { stc_stripeid: 'pi/slash' }, { stc_amount: 2 }),
    batcher.upsert(PAYMENTS, { stc_stripeid: 'pi_ok_2' }, { stc_amount: 3 }),
  ]);
  expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  const reason = (settled[1] as PromiseRejectedResult).reason as DataverseError;
  expect(reason).toBeInstanceOf(DataverseError);
  expect(reason).toMatchObject({ status: 403, transient: false });
  expect(stripeIds()).toEqual(['pi_ok_1', 'pi_ok_2']);
  expect(batcher.stats()).toMatchObject({ batches: 1, resent: 0, failed: 1 });
});

test('a key value that is not a string or a number fails its row for good, not as an outage', async () => {
  const batcher = createUpsertBatcher(client, { maxDelayMs: 30 });
  const settled = await Promise.allSettled([
    batcher.upsert(PAYMENTS, { stc_stripeid: 'pi_fine' }, { stc_amount: 1 }),
    batcher.upsert(PAYMENTS, { stc_stripeid: null } as unknown as KeyValues, { stc_amount: 2 }),
  ]);
  expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected']);
  const reason = (settled[1] as PromiseRejectedResult).reason as Error & { transient?: boolean };
  expect(reason.message).toMatch(/Key column 'stc_stripeid' must be a string or a finite number/);
  expect(reason.transient).toBe(false);
  // As the same upsert made on its own (a TypeError): permanent, and no outage.
  const direct = await client
    .upsertByKey(PAYMENTS, { stc_stripeid: null } as unknown as KeyValues, {})
    .catch((e: unknown) => e);
  expect(direct).toBeInstanceOf(TypeError);
  expect(classifyFailure(reason)).toMatchObject({ transient: false, unavailable: false });
  expect(classifyFailure(direct)).toMatchObject({ transient: false, unavailable: false });
  expect(stripeIds()).toEqual(['pi_fine']);
  expect(batcher.stats()).toMatchObject({ batches: 1, resent: 0, failed: 1 });
});

test('without continue-on-error: the change set of the refused operation is not sent, nor what follows it', async () => {
  emulator.injectFault({ status: 403, count: 1, match: { method: 'GET' } });
  const results = await client.executeBatch([
    { kind: 'upsert', entitySet: PAYMENTS, key: { stc_stripeid: 'pi_before' }, row: { stc_amount: 1 } },
    {
      kind: 'upsert',
      entitySet: PAYMENTS,
      key: { stc_stripeid: 'pi_in_set' },
      row: { stc_amount: 2 },
      changeSet: 'a',
    },
    {
      kind: 'upsert',
      entitySet: PAYMENTS,
      key: { stc_stripeid: 'pi/refused' },
      row: { stc_amount: 3 },
      changeSet: 'a',
    },
    { kind: 'upsert', entitySet: PAYMENTS, key: { stc_stripeid: 'pi_after' }, row: { stc_amount: 4 } },
  ]);
  expect(results.map((r) => r.status)).toEqual([201, 403, 403, 424]);
  expect(stripeIds()).toEqual(['pi_before']);
});

test('with continue-on-error: only the change set of the refused operation is left out', async () => {
  const results = await client.executeBatch(
    [
      {
        kind: 'upsert',
        entitySet: PAYMENTS,
        key: { stc_stripeid: 'pi_set_a' },
        row: { stc_amount: 1 },
        changeSet: 'a',
      },
      {
        kind: 'upsert',
        entitySet: PAYMENTS,
        key: { stc_stripeid: Number.POSITIVE_INFINITY },
        row: { stc_amount: 2 },
        changeSet: 'a',
      },
      { kind: 'upsert', entitySet: PAYMENTS, key: { stc_stripeid: 'pi_alone' }, row: { stc_amount: 3 } },
    ],
    { continueOnError: true },
  );
  expect(results.map((r) => r.status)).toEqual([400, 400, 201]);
  expect(results[0].error).toMatchObject({
    transient: false,
    message: expect.stringMatching(/finite number/),
  });
  expect(stripeIds()).toEqual(['pi_alone']);
});

test('a lookup that gets no answer at all fails the whole batch, as an outage, and sends none of it', async () => {
  emulator.injectFault({ drop: true, count: 100, match: { method: 'GET' } });
  const error = await client
    .executeBatch(
      [
        { kind: 'upsert', entitySet: PAYMENTS, key: { stc_stripeid: 'pi_other' }, row: { stc_amount: 1 } },
        { kind: 'upsert', entitySet: PAYMENTS, key: { stc_stripeid: 'pi/lost' }, row: { stc_amount: 2 } },
      ],
      { continueOnError: true },
    )
    .catch((e: unknown) => e);
  emulator.clearFaults();
  expect(error).toBeInstanceOf(DataverseError);
  expect(error).toMatchObject({ status: 0, transient: true });
  expect(stripeIds()).toEqual([]);
});
