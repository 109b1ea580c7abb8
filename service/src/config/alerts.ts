/**
 * Alert settings, read once from the environment with the rest of the configuration: the receivers
 * (ALERT_WEBHOOK_URLS, each `format=url`), how often rules are checked, when a lasting condition is notified
 * again, and each rule's threshold. Webhook URLs hold their secret, so no problem message repeats one.
 */
import { z } from 'zod';
import {
  DEFAULT_ALERT_THRESHOLDS,
  RECEIVER_FORMATS,
  type AlertReceiver,
  type AlertSettings,
  type ReceiverFormat,
} from '../alerts';

export class AlertSettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'AlertSettingsError';
  }
}

const minutes = (ms: number) => ms / 60_000;
const number = (name: string, fallback: number, min: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.coerce
      .number({ error: `${name} must be a number` })
      .min(min, { error: `${name} must be at least ${min}` })
      .default(fallback),
  );

/** The variables read here (ALERT_WEBHOOK_URLS apart, parsed on its own). */
const envSchema = z.object({
  ALERT_INTERVAL_SECONDS: number('ALERT_INTERVAL_SECONDS', 60, 0),
  ALERT_RENOTIFY_MINUTES: number('ALERT_RENOTIFY_MINUTES', 240, 0),
  ALERT_TIMEOUT_SECONDS: number('ALERT_TIMEOUT_SECONDS', 10, 0.1),
  ALERT_DEAD_LETTERS: number('ALERT_DEAD_LETTERS', DEFAULT_ALERT_THRESHOLDS.deadLetters, 1),
  ALERT_BACKLOG_AGE_MINUTES: number(
    'ALERT_BACKLOG_AGE_MINUTES',
    minutes(DEFAULT_ALERT_THRESHOLDS.backlogAgeMs),
    0.1,
  ),
  ALERT_MISMATCHED_JOURNALS: number(
    'ALERT_MISMATCHED_JOURNALS',
    DEFAULT_ALERT_THRESHOLDS.mismatchedJournals,
    1,
  ),
  ALERT_SIGNATURE_FAILURES: number('ALERT_SIGNATURE_FAILURES', DEFAULT_ALERT_THRESHOLDS.signatureFailures, 1),
  ALERT_SIGNATURE_WINDOW_MINUTES: number(
    'ALERT_SIGNATURE_WINDOW_MINUTES',
    minutes(DEFAULT_ALERT_THRESHOLDS.signatureWindowMs),
    1,
  ),
  ALERT_UNAVAILABLE_MINUTES: number(
    'ALERT_UNAVAILABLE_MINUTES',
    minutes(DEFAULT_ALERT_THRESHOLDS.unavailableMs),
    0,
  ),
});

/** Every variable the alert settings read, for the documentation check. */
export const ALERT_VARIABLES: readonly string[] = ['ALERT_WEBHOOK_URLS', ...Object.keys(envSchema.shape)];

/** The receivers of ALERT_WEBHOOK_URLS: `teams=https://…`, `slack=https://…`, `json=https://…`, comma or space apart. */
export function parseAlertReceivers(text: string | undefined, problems: string[]): AlertReceiver[] {
  const entries = (text ?? '').split(/[\s,]+/).filter(Boolean);
  const receivers: AlertReceiver[] = [];
  entries.forEach((entry, index) => {
    const where = `ALERT_WEBHOOK_URLS entry ${index + 1} of ${entries.length}`;
    const split = entry.indexOf('=');
    const format = entry.slice(0, Math.max(split, 0)).toLowerCase();
    if (!(RECEIVER_FORMATS as readonly string[]).includes(format)) {
      problems.push(
        `${where} must start with its format: ${RECEIVER_FORMATS.map((f) => `${f}=https://…`).join(', ')}`,
      );
      return;
    }
    const url = entry.slice(split + 1);
    let protocol = '';
    try {
      protocol = new URL(url).protocol;
    } catch {
      // Reported below without the URL, which holds the webhook's secret.
    }
    if (protocol !== 'https:' && protocol !== 'http:') {
      problems.push(`${where} (${format}) is not an http(s) URL`);
      return;
    }
    receivers.push({ format: format as ReceiverFormat, url });
  });
  return receivers;
}

/** The alert settings; throws an AlertSettingsError naming every wrong variable. */
export function readAlertSettings(env: NodeJS.ProcessEnv): AlertSettings {
  const parsed = envSchema.safeParse(env);
  const problems = parsed.success ? [] : parsed.error.issues.map((issue) => issue.message);
  const receivers = parseAlertReceivers(env.ALERT_WEBHOOK_URLS, problems);
  if (!parsed.success || problems.length > 0) throw new AlertSettingsError(problems);
  const e = parsed.data;
  return {
    receivers,
    intervalMs: Math.round(e.ALERT_INTERVAL_SECONDS * 1000),
    renotifyMs: Math.round(e.ALERT_RENOTIFY_MINUTES * 60_000),
    timeoutMs: Math.round(e.ALERT_TIMEOUT_SECONDS * 1000),
    thresholds: {
      deadLetters: e.ALERT_DEAD_LETTERS,
      backlogAgeMs: Math.round(e.ALERT_BACKLOG_AGE_MINUTES * 60_000),
      mismatchedJournals: e.ALERT_MISMATCHED_JOURNALS,
      signatureFailures: e.ALERT_SIGNATURE_FAILURES,
      signatureWindowMs: Math.round(e.ALERT_SIGNATURE_WINDOW_MINUTES * 60_000),
      unavailableMs: Math.round(e.ALERT_UNAVAILABLE_MINUTES * 60_000),
    },
  };
}
