/**
 * A handler's fence reaches the Dataverse calls it made before it was stopped: the client handlers get passes
 * the fence on, so an upsert still waiting for a `$batch` (behind a full in-flight slot) when the pipeline lets
 * go of the event is never sent, not even merged into a newer event's upsert of the same row.
 */
import { createUpsertBatcher, withBatchedUpserts } from '../../dataverse';
import type { BatchOperation, DataverseClient } from '../../dataverse/types';
import { createFence, HandlerStoppedError, runFenced } from '../fence';
import { recordingDataverse } from '../lineage';
import { heldClient } from '../../__tests__/support/held-batch-client';

const PAYMENTS = 'stc_payments';

test("an upsert waiting for a batch when its handler is stopped is not sent, nor merged into a newer event's", async () => {
  const { client, batches, open } = heldClient();
  const batcher = createUpsertBatcher(client, { maxDelayMs: 0, maxInFlight: 1, coalesce: true });
  const dataverse = recordingDataverse(withBatchedUpserts(client, batcher));
  const key = { stc_stripeid: 'pi_fenced' };

  // Another event's batch fills the only slot.
  const busy = runFenced(createFence(), () =>
    dataverse.upsertByKey(PAYMENTS, { stc_stripeid: 'pi_busy' }, { stc_amount: 0 }),
  );
  const fence = createFence();
  const older = runFenced(fence, () =>
    dataverse.upsertByKey(PAYMENTS, key, { stc_amount: 1, stc_description: 'event 1' }),
  ).catch((error: unknown) => error);
  // The handler ran past its time: the pipeline lets go of the event, and the next one writes the row.
  const reason = new HandlerStoppedError('Handler did not finish within 55000 ms', 'handler_timeout');
  fence.stop(reason);
  const newer = runFenced(createFence(), () => dataverse.upsertByKey(PAYMENTS, key, { stc_amount: 2 }));

  open();
  await Promise.all([busy, newer]);
  expect(await older).toBe(reason);
  expect(batches).toHaveLength(2);
  expect(batches[1]).toEqual([expect.objectContaining({ kind: 'upsert', key, row: { stc_amount: 2 } })]);
});

test('outside a handler the calls carry no signal and are sent as they are', async () => {
  const { client, batches, open } = heldClient();
  open();
  const seen: unknown[] = [];
  const spying = {
    ...client,
    executeBatch: (operations: BatchOperation[], options?: unknown) => {
      seen.push(options);
      return client.executeBatch(operations);
    },
  } as unknown as DataverseClient;
  await recordingDataverse(spying).executeBatch([
    { kind: 'upsert', entitySet: PAYMENTS, key: { stc_stripeid: 'pi_outside' }, row: {} },
  ]);
  const fence = createFence();
  await runFenced(fence, () =>
    recordingDataverse(spying).executeBatch(
      [{ kind: 'upsert', entitySet: PAYMENTS, key: { stc_stripeid: 'pi_inside' }, row: {} }],
      { continueOnError: true },
    ),
  );
  expect(batches).toHaveLength(2);
  expect(seen).toEqual([undefined, { continueOnError: true, signal: fence.signal }]);
});
