/** Test support for payout reconciliation: what a reconciled payout's journal entry holds. */
import { JOURNAL_BALANCED } from '../../reconciliation';

/** The journal entry of a reconciled USD payout: balanced, for the payout's amount (in cents), linked to its row. */
export function balancedUsdEntry(payoutAmount: number, payoutRowId: unknown): Record<string, unknown> {
  return {
    stc_status: JOURNAL_BALANCED,
    stc_total: payoutAmount / 100,
    stc_difference: 0,
    stc_currency: 'usd',
    _stc_payoutid_value: payoutRowId,
  };
}
