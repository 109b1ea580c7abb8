/**
 * What the scenario leaves for the operator console to show: payouts reconciled into the journal (one balanced,
 * one mismatched on purpose) and one event in the dead-letter queue on purpose (a live-mode payment sent to a
 * service that serves test mode), each read back from where an operator would see it.
 */
import Stripe from 'stripe';
import { StcJournalStatus } from '@stc/solution';
import { CheckFailed, need, statusName, until, type Row } from './readback';
import type { ScenarioContext } from './steps';
import { odataString } from './webapi';

const JOURNAL_SELECT = 'stc_journalentryid,stc_status,stc_difference,stc_stripepayoutid';

/** The journal entry of a payout, once it has the status `accept` wants. */
function journalEntry(ctx: ScenarioContext, payoutId: string, accept: (row: Row) => boolean): Promise<Row> {
  return until(
    `journal entry of payout ${payoutId}`,
    async () => {
      const [row] = await ctx.dataverse.list<Row>(
        `stc_journalentries?$select=${JOURNAL_SELECT}&$filter=stc_stripepayoutid eq ${odataString(payoutId)}`,
      );
      if (!row) return {};
      return accept(row)
        ? { value: row }
        : {
            seen: `status ${statusName(StcJournalStatus, row.stc_status)}, difference ${row.stc_difference}`,
          };
    },
    ctx.timeoutMs,
  );
}

/**
 * The day's USD balance paid out and reconciled (Balanced); then a payment, and a payout of it that the bank
 * was told 0.07 more than its transactions add up to, which reconciliation marks Mismatch with the difference.
 */
export async function payoutsReconciled(ctx: ScenarioContext): Promise<string> {
  const emulator = need(ctx.emulator, 'the Stripe emulator in this process');
  const balanced = emulator.testHelpers.createAutomaticPayout({ currency: 'usd' });
  emulator.testHelpers.payPayout(String(balanced.id));
  const good = await journalEntry(
    ctx,
    String(balanced.id),
    (r) => r.stc_status === StcJournalStatus.Balanced,
  );

  await ctx.stripe.paymentIntents.create({
    amount: 5000,
    currency: 'usd',
    payment_method: 'pm_card_visa',
    confirm: true,
  });
  const skewed = emulator.testHelpers.createAutomaticPayout({ currency: 'usd' });
  // On purpose: the payout states 0.07 more than its balance transactions, as a bank file gone wrong would.
  skewed.amount = Number(skewed.amount) + 7;
  emulator.testHelpers.payPayout(String(skewed.id));
  const bad = await journalEntry(ctx, String(skewed.id), (r) => r.stc_status === StcJournalStatus.Mismatch);
  if (Number(bad.stc_difference) !== 0.07)
    throw new CheckFailed(`payout ${skewed.id}: difference ${bad.stc_difference}, not 0.07`);
  return (
    `payout ${balanced.id} (USD ${(Number(balanced.amount) / 100).toFixed(2)}) → journal Balanced: ` +
    `${ctx.recordUrl('stc_journalentry', String(good.stc_journalentryid))}; payout ${skewed.id} stated 0.07 ` +
    `more than its transactions (on purpose) → journal Mismatch, difference 0.07: ` +
    ctx.recordUrl('stc_journalentry', String(bad.stc_journalentryid))
  );
}

interface DeadLetterList {
  deadLetters: Array<{ id: number; eventId: string; errorCode: string | null; error: string }>;
}

/**
 * A payment made with a live-mode key reaches the service, which serves test mode: its event is refused into
 * the dead-letter queue with the reason (on purpose, for the console's dead-letter page), and no row is written.
 */
export async function liveEventDeadLettered(ctx: ScenarioContext): Promise<string> {
  const emulator = need(ctx.emulator, 'the Stripe emulator in this process');
  const service = need(ctx.service, 'the service');
  const live = new Stripe('sk_live_sandbox_on_purpose', {
    host: new URL(emulator.url).hostname,
    port: emulator.port,
    protocol: 'http',
    telemetry: false,
  });
  const intent = await live.paymentIntents.create({
    amount: 1234,
    currency: 'usd',
    payment_method: 'pm_card_visa',
    confirm: true,
  });
  const liveEvents = new Set(emulator.events.filter((e) => e.livemode).map((e) => e.id));
  const letter = await until(
    `a dead letter for live payment ${intent.id}`,
    async () => {
      const answer = await fetch(`${service.url}/admin/dead-letters`, {
        headers: { authorization: `Bearer ${service.adminApiKey}` },
      });
      if (!answer.ok) return { seen: `dead-letter API answered ${answer.status}` };
      const { deadLetters } = (await answer.json()) as DeadLetterList;
      const found = deadLetters.find((d) => liveEvents.has(d.eventId));
      return found ? { value: found } : { seen: `${deadLetters.length} dead letters, none of it` };
    },
    ctx.timeoutMs,
  );
  if (letter.errorCode !== 'stripe_mode_mismatch')
    throw new CheckFailed(`dead letter ${letter.id}: ${letter.errorCode}: ${letter.error}`);
  const rows = await ctx.dataverse.list(
    `stc_payments?$select=stc_paymentid&$filter=stc_stripeid eq ${odataString(intent.id)}`,
  );
  if (rows.length > 0) throw new CheckFailed(`live payment ${intent.id} was written to Dataverse`);
  return `live-mode payment ${intent.id} sent to this test-mode service → dead letter ${letter.id} (${letter.errorCode}, on purpose), no row: ${service.url}/console/#/dead-letters`;
}
