/**
 * The upsert batcher and its callers' signals: an upsert whose caller is stopped while it waits for a batch is
 * never sent (alone, or merged with another caller's upsert of the same row), and a batch the client would send
 * again after a 503 is not once one of its callers is stopped. Its waits follow the monotonic clock, not the
 * wall clock.
 */
import type { DataverseEmulator } from '@stc/emulators';
import { waitFor } from '@stc/testkit';
import { dataverseEmulatorForFile } from '../../__tests__/support/dataverse-emulator';
import { heldClient, idOf } from '../../__tests__/support/held-batch-client';
import {
  createDataverseClient,
  createUpsertBatcher,
  type BatchOperation,
  type BatchOperationResult,
  type DataverseClient,
} from '..';

const PAYMENTS = 'stc_payments';

/** Resolves with `value` after `ms`, without keeping the process alive. */
const after = <T>(ms: number, value: T) =>
  new Promise<T>((resolve) => setTimeout(() => resolve(value), ms).unref());

const stopped = () => Object.assign(new Error('the handler was stopped'), { name: 'HandlerStoppedError' });

const rowsSent = (batch: BatchOperation[]) =>
  batch.map((op) => (op.kind === 'upsert' ? { key: op.key, row: op.row } : op));

describe('upserts of a stopped caller', () => {
  test('one waiting behind a full slot is never sent and fails with the reason; the others queued are sent', async () => {
    const { client, batches, open } = heldClient();
    const batcher = createUpsertBatcher(client, { maxDelayMs: 0, maxInFlight: 1 });
    const first = batcher.upsert(PAYMENTS, { stc_stripeid: 'pi_first' }, { stc_amount: 1 });
    const controller = new AbortController();
    const late = batcher
      .upsert(PAYMENTS, { stc_stripeid: 'pi_late' }, { stc_amount: 2 }, 'upsert', {
        signal: controller.signal,
      })
      .catch((err: unknown) => err);
    const other = batcher.upsert(PAYMENTS, { stc_stripeid: 'pi_other' }, { stc_amount: 3 });
    expect(batches).toHaveLength(1);

    const reason = stopped();
    controller.abort(reason);
    open();
    await Promise.all([first, other]);
    expect(await late).toBe(reason);
    expect(batches.map(rowsSent)).toEqual([
      [{ key: { stc_stripeid: 'pi_first' }, row: { stc_amount: 1 } }],
      [{ key: { stc_stripeid: 'pi_other' }, row: { stc_amount: 3 } }],
    ]);
    expect(batcher.stats()).toMatchObject({ rows: 3, batches: 2, stopped: 1, failed: 0 });
  });

  test("merged with a later caller's upsert of the same row: only the later caller's columns are sent", async () => {
    const { client, batches, open } = heldClient();
    const batcher = createUpsertBatcher(client, { maxDelayMs: 0, maxInFlight: 1, coalesce: true });
    const first = batcher.upsert(PAYMENTS, { stc_stripeid: 'pi_busy' }, { stc_amount: 1 });
    const controller = new AbortController();
    const key = { stc_stripeid: 'pi_merged' };
    const stale = batcher
      .upsert(PAYMENTS, key, { stc_amount: 10, stc_description: 'stale' }, 'upsert', {
        signal: controller.signal,
      })
      .catch((err: unknown) => err);
    const fresh = batcher.upsert(PAYMENTS, key, { stc_amount: 20 });
    expect(batcher.stats().coalesced).toBe(1);

    const reason = stopped();
    controller.abort(reason);
    open();
    await first;
    expect(await fresh).toEqual({ id: idOf(2), created: false });
    expect(await stale).toBe(reason);
    expect(batches.map(rowsSent)[1]).toEqual([{ key, row: { stc_amount: 20 } }]);
  });

  test('a signal aborted before the upsert queues nothing', async () => {
    const { client, batches } = heldClient();
    const batcher = createUpsertBatcher(client, { maxDelayMs: 0 });
    const reason = stopped();
    await expect(
      batcher.upsert(PAYMENTS, { stc_stripeid: 'pi_never' }, {}, 'upsert', {
        signal: AbortSignal.abort(reason),
      }),
    ).rejects.toBe(reason);
    await batcher.flush();
    expect(batches).toHaveLength(0);
  });
});

describe('a batch the client sends again after a 503', () => {
  let emulator: DataverseEmulator;
  dataverseEmulatorForFile((fixture) => ({ emulator } = fixture));

  test('is not sent again once one of its callers is stopped; its other rows go in the next batch', async () => {
    // Backoff of 5 to 10 s after the 503: a stopped caller does not wait it out.
    const client = createDataverseClient({
      baseUrl: emulator.url,
      retry: { baseDelayMs: 10_000, maxDelayMs: 10_000 },
    });
    const batcher = createUpsertBatcher(client, { maxDelayMs: 30 });
    emulator.injectFault({ status: 503, count: 1, match: { method: 'POST', pathIncludes: '$batch' } });
    const controller = new AbortController();
    const stale = batcher
      .upsert(PAYMENTS, { stc_stripeid: 'pi_stopped' }, { stc_amount: 1 }, 'upsert', {
        signal: controller.signal,
      })
      .catch((err: unknown) => err);
    const kept = batcher.upsert(PAYMENTS, { stc_stripeid: 'pi_kept' }, { stc_amount: 2 });
    await waitFor(() => client.stats().requests === 1, 'the first $batch answered 503');

    const reason = stopped();
    controller.abort(reason);
    expect(await Promise.race([stale, after(3_000, 'still waiting')])).toBe(reason);
    expect(await Promise.race([kept, after(3_000, 'still waiting')])).toMatchObject({ created: true });
    expect(emulator.store.rows(PAYMENTS).map((r) => r.stc_stripeid)).toEqual(['pi_kept']);
    expect(batcher.stats()).toMatchObject({ batches: 2, stopped: 1, failed: 0 });
  });
});

describe('waits', () => {
  test('a row answered 429 inside a $batch is sent again after its Retry-After, and no batch goes before', async () => {
    const sentAt: number[] = [];
    const batches: BatchOperation[][] = [];
    const client = {
      async executeBatch(operations: BatchOperation[]): Promise<BatchOperationResult[]> {
        sentAt.push(performance.now());
        batches.push(operations);
        return operations.map((op, i) =>
          batches.length === 1 && op.kind === 'upsert' && op.key.stc_stripeid === 'pi_b'
            ? {
                status: 429,
                error: {
                  status: 429,
                  code: '0x80072321',
                  message: 'Number of requests exceeded the limit of 6000 over time window of 300 seconds.',
                  transient: true,
                  retryAfterMs: 400,
                },
              }
            : { status: 204, id: idOf(batches.length * 10 + i) },
        );
      },
    } as unknown as DataverseClient;
    // Both rows go in one batch: they queue together within its wait for company.
    const batcher = createUpsertBatcher(client, { maxDelayMs: 10 });
    const first = batcher.upsert(PAYMENTS, { stc_stripeid: 'pi_a' }, { stc_amount: 1 });
    const throttled = batcher.upsert(PAYMENTS, { stc_stripeid: 'pi_b' }, { stc_amount: 2 });
    expect(await first).toEqual({ id: idOf(10), created: false });
    // A row queued during the pause waits for it too: the limit is the user's.
    const later = batcher.upsert(PAYMENTS, { stc_stripeid: 'pi_c' }, { stc_amount: 3 });
    expect(await throttled).toEqual({ id: idOf(20), created: false });
    expect(await later).toMatchObject({ created: false });
    expect(sentAt).toHaveLength(2);
    expect(sentAt[1] - sentAt[0]).toBeGreaterThanOrEqual(395);
    expect(batches[1].map((op) => (op.kind === 'upsert' ? op.key : op))).toEqual([
      { stc_stripeid: 'pi_b' },
      { stc_stripeid: 'pi_c' },
    ]);
  });

  test('a row answered 429 without a Retry-After waits for a backoff before it and the others are sent', async () => {
    const sentAt: number[] = [];
    const client = {
      async executeBatch(operations: BatchOperation[]): Promise<BatchOperationResult[]> {
        sentAt.push(performance.now());
        return operations.map((op, i) =>
          sentAt.length <= 2 && op.kind === 'upsert' && op.key.stc_stripeid === 'pi_b'
            ? {
                status: 429,
                error: { status: 429, code: '0x80072322', message: 'Too many requests', transient: true },
              }
            : { status: 204, id: idOf(sentAt.length * 10 + i) },
        );
      },
    } as unknown as DataverseClient;
    const batcher = createUpsertBatcher(client, { maxDelayMs: 10 });
    const first = batcher.upsert(PAYMENTS, { stc_stripeid: 'pi_a' }, { stc_amount: 1 });
    const throttled = batcher.upsert(PAYMENTS, { stc_stripeid: 'pi_b' }, { stc_amount: 2 });
    await first;
    expect(await throttled).toEqual({ id: idOf(30), created: false });
    // Answered 429 on its first and second tries: half of 250 ms at least, then half of 500 ms.
    expect(sentAt).toHaveLength(3);
    expect(sentAt[1] - sentAt[0]).toBeGreaterThanOrEqual(120);
    expect(sentAt[2] - sentAt[1]).toBeGreaterThanOrEqual(245);
    expect(batcher.stats()).toMatchObject({ resent: 2, failed: 0 });
  });

  test('a wall clock set back while a row waits for company does not hold it back', async () => {
    const client = {
      executeBatch: async (operations: BatchOperation[]) =>
        operations.map((_, i) => ({ status: 204, id: idOf(i + 1) })),
    } as unknown as DataverseClient;
    const wall = Date.now.bind(Date);
    let offset = 0;
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => wall() + offset);
    try {
      const batcher = createUpsertBatcher(client, { maxDelayMs: 50 });
      const written = batcher.upsert(PAYMENTS, { stc_stripeid: 'pi_clock' }, { stc_amount: 1 });
      // NTP or a resumed virtual machine sets the wall clock back an hour while the row waits.
      offset = -3_600_000;
      expect(await Promise.race([written, after(2_000, 'still waiting')])).toEqual({
        id: idOf(1),
        created: false,
      });
    } finally {
      clock.mockRestore();
    }
  });
});
