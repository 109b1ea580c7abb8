/**
 * Test support: the service as its own process, configured from the environment like `npm start`, but with
 * the small payment test handler instead of the real registry. STC_TEST_HANDLER_DELAY_MS holds each handler
 * run before its Dataverse write, so a test can kill the process between the 2xx and the write.
 */
import { loadConfig } from '../../config';
import { startService, stopOnSignals } from '../../service';
import { createPaymentTestHandler } from './payment-handler';

async function main(): Promise<void> {
  const delayMs = Number(process.env.STC_TEST_HANDLER_DELAY_MS ?? 0);
  const handler = createPaymentTestHandler(() =>
    delayMs > 0 ? new Promise((r) => setTimeout(r, delayMs)) : undefined,
  );
  stopOnSignals(await startService(loadConfig(), { handlers: [handler] }));
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
