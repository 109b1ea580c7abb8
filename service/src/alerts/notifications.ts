/**
 * Deduplication: one notification when a condition starts, none while it lasts (a reminder after
 * `renotifyMs` at most), one "resolved" when it clears. The state lives in memory; after a restart a
 * condition that still holds is notified once more.
 */
import type { AlertName, Condition } from './rules';

export interface AlertNotification {
  alert: AlertName;
  status: 'firing' | 'resolved';
  /** A firing condition notified again after the re-notify interval. */
  reminder: boolean;
  title: string;
  summary: string;
  startedAtMs: number;
  atMs: number;
}

interface Active {
  startedAtMs: number;
  notifiedAtMs: number;
}

export type ActiveAlerts = Map<AlertName, Active>;

/** The notifications this round's conditions call for; `active` carries over between rounds. */
export function notificationsFor(
  conditions: readonly Condition[],
  active: ActiveAlerts,
  nowMs: number,
  renotifyMs: number,
): AlertNotification[] {
  const out: AlertNotification[] = [];
  for (const condition of conditions) {
    const { alert, title, summary } = condition;
    const known = active.get(alert);
    if (condition.active === null) continue;
    if (condition.active && !known) {
      active.set(alert, { startedAtMs: nowMs, notifiedAtMs: nowMs });
      out.push({ alert, status: 'firing', reminder: false, title, summary, startedAtMs: nowMs, atMs: nowMs });
    } else if (condition.active && known && renotifyMs > 0 && nowMs - known.notifiedAtMs >= renotifyMs) {
      known.notifiedAtMs = nowMs;
      out.push({ alert, status: 'firing', reminder: true, title, summary, ...times(known, nowMs) });
    } else if (!condition.active && known) {
      active.delete(alert);
      out.push({ alert, status: 'resolved', reminder: false, title, summary, ...times(known, nowMs) });
    }
  }
  return out;
}

const times = (known: Active, nowMs: number) => ({ startedAtMs: known.startedAtMs, atMs: nowMs });
