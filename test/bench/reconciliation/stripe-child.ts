/**
 * The reconciliation bench's Stripe: the emulator in a process of its own, seeded in-process (no HTTP) with
 * BENCH_TRANSACTIONS card payments swept into one automatic payout, paid. Sends its address and the payout
 * to the parent over IPC and serves until the parent disconnects.
 */
import { startStripeEmulator } from '@stc/emulators';

async function main(): Promise<void> {
  const count = Number(process.env.BENCH_TRANSACTIONS ?? 50_000);
  // Stripe's live-mode read limit: 100 requests a second.
  const emulator = await startStripeEmulator({ rateLimit: { perSecond: 100, burst: 100 } });
  const started = Date.now();
  emulator.testHelpers.seedPayments({ count, amount: (i) => 500 + ((i * 7919) % 100_000) });
  const payout = emulator.testHelpers.createAutomaticPayout({ currency: 'usd' });
  emulator.testHelpers.payPayout(payout.id);
  const transactions = emulator.engine.scope(null).payoutTransactions.get(payout.id) ?? [];
  process.send!({
    url: emulator.url,
    apiKey: emulator.apiKey,
    payoutId: payout.id,
    amount: payout.amount,
    transactions: transactions.length,
    seedMs: Date.now() - started,
  });
  process.on('disconnect', () => void emulator.close().then(() => process.exit(0)));
}

void main();
