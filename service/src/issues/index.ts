/** Sync issues in Dataverse: dead letters and payouts that do not reconcile, kept in step with the service. */
export {
  syncIssues,
  startIssueSweep,
  type IssueSweepOptions,
  type IssueSweepResult,
  type WrittenIssues,
} from './sweep';
export { deadLetterKey, payoutKey, deadLetterStatus } from './rows';
export {
  reportStatus,
  connectionTest,
  statusKey,
  type StatusReportOptions,
  type LatestEvent,
} from './status';
