/** Payout reconciliation: balance transactions and a balanced journal entry per payout, and the sweep. */
export {
  createPayoutReconciler,
  JOURNAL_BALANCED,
  JOURNAL_MISMATCH,
  JOURNAL_FAILED,
  JOURNAL_REVERSED,
  JOURNAL_NOT_RECONCILABLE,
  PAYOUT_MAPPING,
  BALANCE_TRANSACTION_MAPPING,
  type PayoutReconciler,
  type PayoutReconcilerOptions,
  type ReconcileRequest,
  type ReconcileOutcome,
  type ReconciliationMetrics,
} from './reconcile';
export {
  loadReconciliationConfig,
  parseReconciliationConfig,
  reconciliationConfigSchema,
  ReconciliationConfigError,
  DEFAULT_GL_ACCOUNTS_FILE,
  JOURNAL_GROUPS,
  type JournalGroup,
  type ReconciliationConfig,
} from './config';
export {
  PayoutJournalBuilder,
  isPayoutTransaction,
  type PayoutJournal,
  type PayoutReturn,
  type ReversalUndone,
  type JournalLine,
} from './journal';
export {
  exportJournals,
  readJournals,
  journalCsv,
  documentNumber,
  JOURNAL_EXPORT_FORMATS,
  FINANCE_COLUMNS,
  BUSINESS_CENTRAL_COLUMNS,
  JournalExportError,
  UnbalancedJournalError,
  type JournalExportFormat,
  type JournalSelection,
  type ExportJournal,
} from './export';
export { sweepPayouts, startPayoutSweep, type PayoutSweepOptions, type SweepResult } from './sweep';
export { createReconciliationMetrics } from './metrics';
