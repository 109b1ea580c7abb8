/**
 * Test support: the Dataverse emulator with synchronous Create and Update webhooks on stc_payment posting to a
 * local sink, so that a test counts the payment writes Dataverse saw (`emulator.webhookDeliveries()`).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startDataverseEmulator, type DataverseEmulator } from '@stc/emulators';

export interface WatchedDataverse {
  emulator: DataverseEmulator;
  /** Closes the emulator and the sink. */
  close(): Promise<void>;
}

export async function startEmulatorWatchingPayments(): Promise<WatchedDataverse> {
  const emulator = await startDataverseEmulator({});
  const sink = http.createServer((_req, res) => res.end());
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/`;
  emulator.registerWebhook({ table: 'stc_payment', message: 'Create', url: sinkUrl, mode: 'sync' });
  emulator.registerWebhook({ table: 'stc_payment', message: 'Update', url: sinkUrl, mode: 'sync' });
  return {
    emulator,
    async close() {
      await emulator.close();
      await new Promise((r) => sink.close(r));
    },
  };
}
