/**
 * The alert rules: what the service knows at one round (the facts) turned into conditions that hold or not.
 * Pure functions; the round (`round.ts`) gathers the facts and remembers what was already said.
 */

export const ALERT_NAMES = [
  'dead_letters',
  'backlog_age',
  'reconciliation_mismatch',
  'signature_failures',
  'dataverse_unavailable',
  'stripe_unavailable',
] as const;
export type AlertName = (typeof ALERT_NAMES)[number];

export type Dependency = 'dataverse' | 'stripe';

/** How one dependency answered this round. */
export interface DependencyCheck {
  /** Answered in time, and no request to it was throttled since the previous round. */
  ok: boolean;
  /** Why not, in words (an error message, "throttled 3 times"); empty when ok. */
  detail: string;
}

export interface AlertFacts {
  nowMs: number;
  /** Events in the dead-letter queue. */
  deadLetters: number;
  /** When the oldest event still waiting arrived, or null when none waits. */
  oldestWaitingMs: number | null;
  /** Payout journals that do not balance; null when Dataverse could not be read this round. */
  mismatchedJournals: number | null;
  /** Webhook requests refused for a missing or wrong signature or key within the signature window. */
  signatureFailures: number;
  dependencies: Record<Dependency, DependencyCheck>;
}

export interface AlertThresholds {
  /** Dead letters at which the alert starts. */
  deadLetters: number;
  /** Age of the oldest waiting event at which the alert starts. */
  backlogAgeMs: number;
  /** Mismatched payout journals at which the alert starts. */
  mismatchedJournals: number;
  /** Signature failures within `signatureWindowMs` at which the alert starts. */
  signatureFailures: number;
  signatureWindowMs: number;
  /** How long Dataverse or Stripe must be unreachable or throttled, round after round, before the alert. */
  unavailableMs: number;
}

export const DEFAULT_ALERT_THRESHOLDS: AlertThresholds = {
  deadLetters: 1,
  backlogAgeMs: 15 * 60_000,
  mismatchedJournals: 1,
  signatureFailures: 10,
  signatureWindowMs: 15 * 60_000,
  unavailableMs: 10 * 60_000,
};

/** One rule's verdict this round: `active` null means it could not be decided (the state stays as it was). */
export interface Condition {
  alert: AlertName;
  active: boolean | null;
  title: string;
  /** What is wrong now and what to do, in words. */
  summary: string;
}

const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;

/** Since when each dependency has failed round after round; cleared by one good round. */
export type DownSince = Partial<Record<Dependency, number>>;

function dependencyCondition(
  dependency: Dependency,
  facts: AlertFacts,
  downSince: DownSince,
  thresholds: AlertThresholds,
): Condition {
  const check = facts.dependencies[dependency];
  if (check.ok) delete downSince[dependency];
  else downSince[dependency] ??= facts.nowMs;
  const since = downSince[dependency];
  const name = dependency === 'dataverse' ? 'Dataverse' : 'Stripe';
  return {
    alert: `${dependency}_unavailable`,
    active: since !== undefined && facts.nowMs - since >= thresholds.unavailableMs,
    title: `${name} unreachable or throttled`,
    summary:
      since === undefined
        ? `${name} answers again.`
        : `${name} has been unreachable or throttled for ${minutes(facts.nowMs - since)}: ${check.detail}. Events wait and are retried; check the service's connection and limits.`,
  };
}

/** Every rule over this round's facts; `downSince` carries over between rounds. */
export function evaluateRules(
  facts: AlertFacts,
  thresholds: AlertThresholds,
  downSince: DownSince,
): Condition[] {
  const age = facts.oldestWaitingMs === null ? 0 : Math.max(0, facts.nowMs - facts.oldestWaitingMs);
  return [
    {
      alert: 'dead_letters',
      active: facts.deadLetters >= thresholds.deadLetters,
      title: 'Events in the dead-letter queue',
      summary: `${facts.deadLetters} event(s) in the dead-letter queue (alert at ${thresholds.deadLetters}). See Sync Issues in Dynamics 365 or GET /admin/dead-letters, fix the cause and retry them.`,
    },
    {
      alert: 'backlog_age',
      active: facts.oldestWaitingMs !== null && age >= thresholds.backlogAgeMs,
      title: 'Events waiting too long',
      summary: `The oldest waiting event arrived ${minutes(age)} ago (alert at ${minutes(thresholds.backlogAgeMs)}). Check that workers run and that Dataverse answers.`,
    },
    {
      alert: 'reconciliation_mismatch',
      active:
        facts.mismatchedJournals === null ? null : facts.mismatchedJournals >= thresholds.mismatchedJournals,
      title: 'Payout journals that do not balance',
      summary: `${facts.mismatchedJournals ?? 0} payout journal(s) do not balance (alert at ${thresholds.mismatchedJournals}). See the reconciliation mismatches in Sync Issues.`,
    },
    {
      alert: 'signature_failures',
      active: facts.signatureFailures >= thresholds.signatureFailures,
      title: 'Webhook signature failures',
      summary: `${facts.signatureFailures} webhook request(s) refused for a missing or wrong signature or key in the last ${minutes(thresholds.signatureWindowMs)} (alert at ${thresholds.signatureFailures}): possible tampering, or a rotated webhook secret the service does not have yet.`,
    },
    dependencyCondition('dataverse', facts, downSince, thresholds),
    dependencyCondition('stripe', facts, downSince, thresholds),
  ];
}
