import { createUpsertBatcher, withBatchedUpserts } from '../../dataverse';
import type { BatchOperation, BatchOperationResult, DataverseClient } from '../../dataverse/types';
import type { DataverseWriteRecord } from '../../store';
import { collectingLineage, recordingDataverse, underMapping } from '../lineage';

/** A Web API stand-in that answers each `$batch` operation with a row id made from its key, and counts batches. */
function batchingDataverse(refuse: string) {
  const batches: BatchOperation[][] = [];
  const client = {
    async executeBatch(operations: BatchOperation[]): Promise<BatchOperationResult[]> {
      batches.push(operations);
      return operations.map((op) => {
        const id = op.kind === 'upsert' ? String(Object.values(op.key)[0]) : '';
        return id === refuse
          ? {
              status: 400,
              error: { status: 400, code: '0x80040237', message: 'refused', transient: false },
            }
          : { status: 201, id: `00000000-0000-4000-8000-${id.replace(/\D/g, '').padStart(12, '0')}` };
      });
    },
  } as unknown as DataverseClient;
  return { client, batches };
}

describe('lineage of Dataverse requests', () => {
  it('attributes each row of a shared $batch to the event that asked for it, with its own answer', async () => {
    const { client, batches } = batchingDataverse('pi_3');
    // Long enough that the three calls, made one after the other, always meet in one batch on a loaded machine.
    const batcher = createUpsertBatcher(client, { maxDelayMs: 250, maxAttempts: 1 });
    const dataverse = recordingDataverse(withBatchedUpserts(client, batcher));
    const writes: DataverseWriteRecord[][] = [[], [], []];

    const results = await Promise.allSettled(
      [1, 2, 3].map((n) =>
        collectingLineage(writes[n - 1], () =>
          underMapping({ name: 'payment_intent', version: '7' }, () =>
            dataverse.upsertByKey('stc_payments', { stc_stripeid: `pi_${n}` }, { stc_amount: n }),
          ),
        ),
      ),
    );
    // One $batch carried the three events' rows.
    expect(batches).toHaveLength(1);
    expect(batches[0]).toHaveLength(3);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);

    expect(writes[0]).toEqual([
      expect.objectContaining({
        mapping: 'payment_intent',
        mappingVersion: '7',
        table: 'stc_payment',
        rowId: '00000000-0000-4000-8000-000000000001',
        operation: 'upsert',
        method: 'PATCH',
        path: "stc_payments(stc_stripeid='pi_1')",
        status: 201,
        error: null,
      }),
    ]);
    expect(writes[1].map((w) => w.rowId)).toEqual(['00000000-0000-4000-8000-000000000002']);
    expect(writes[2]).toEqual([
      expect.objectContaining({ rowId: null, status: 400, error: expect.stringContaining('refused') }),
    ]);
  });

  it('records nothing outside a scope and leaves the answers as they were', async () => {
    const { client } = batchingDataverse('none');
    const dataverse = recordingDataverse(client);
    const writes: DataverseWriteRecord[] = [];
    const outside = await dataverse.executeBatch([
      { kind: 'upsert', entitySet: 'stc_refunds', key: { stc_stripeid: 're_9' }, row: {} },
    ]);
    expect(outside[0].status).toBe(201);
    await collectingLineage(writes, () =>
      dataverse.executeBatch([
        { kind: 'upsert', entitySet: 'stc_refunds', key: { stc_stripeid: 're_8' }, row: {} },
      ]),
    );
    expect(writes.map((w) => [w.table, w.rowId, w.status, w.mapping])).toEqual([
      ['stc_refund', '00000000-0000-4000-8000-000000000008', 201, null],
    ]);
  });
});
