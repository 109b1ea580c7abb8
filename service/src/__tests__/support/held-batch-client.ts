/**
 * A Dataverse client for batcher tests whose first `$batch` is answered only when `open()` is called (a batch
 * in flight filling the only slot); every operation is answered as written, with the row id of its batch's
 * number, and every batch is kept.
 */
import type { BatchOperation, BatchOperationResult, DataverseClient } from '../../dataverse/types';

/** The row id a test answers for batch (or row) `n`. */
export const idOf = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

export function heldClient() {
  const batches: BatchOperation[][] = [];
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const client = {
    async executeBatch(operations: BatchOperation[]): Promise<BatchOperationResult[]> {
      batches.push(operations);
      if (batches.length === 1) await gate;
      return operations.map(() => ({ status: 204, id: idOf(batches.length) }));
    },
  } as unknown as DataverseClient;
  return { client, batches, open };
}
