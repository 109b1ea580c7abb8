/**
 * One alert round: gather the facts, decide the rules, turn what changed into notifications, and send every
 * receiver what waits for it. Rounds run on a schedule; what was said and what waits carries over.
 */
import type { HandlerLogger } from '../pipeline/handler';
import { startSchedule, type Schedule } from '../pipeline/schedule';
import { flushOutbox, outboxesFor, type AlertReceiver, type Outbox } from './deliver';
import { gatherFacts, type FactMemory, type FactSources } from './facts';
import type { AlertMetrics } from './metrics';
import { notificationsFor, type ActiveAlerts, type AlertNotification } from './notifications';
import { evaluateRules, type AlertName, type AlertThresholds, type DownSince } from './rules';

export interface AlertSettings {
  receivers: AlertReceiver[];
  /** Between two rounds; 0: no alerting. */
  intervalMs: number;
  /** A condition that lasts is notified again after this; 0: only once. */
  renotifyMs: number;
  /** How long one receiver may take to answer. */
  timeoutMs: number;
  thresholds: AlertThresholds;
}

export interface AlertOptions extends Omit<FactSources, 'probeTimeoutMs' | 'signatureWindowMs'> {
  settings: AlertSettings;
  log: HandlerLogger;
  metrics?: AlertMetrics;
  now?: () => number;
  fetch?: typeof fetch;
}

export interface AlertRoundResult {
  notifications: AlertNotification[];
  delivered: number;
  /** Notifications still waiting for a receiver that did not take them. */
  waiting: number;
}

/** An alert firing now, with what its last round said and since when it fires. */
export interface OpenAlert {
  alert: AlertName;
  summary: string;
  sinceMs: number;
}

export interface Alerter {
  round(): Promise<AlertRoundResult>;
  /** The alerts firing now. */
  firing(): string[];
  /** The alerts firing now, with their summaries (for the operator console). */
  open(): OpenAlert[];
  /** Ends the checks and deliveries under way (they are tried again by a later round, if any). */
  abort(): void;
}

export function createAlerter(options: AlertOptions): Alerter {
  const { settings, log } = options;
  const memory: FactMemory = { signatureSamples: [] };
  const active: ActiveAlerts = new Map();
  const summaries = new Map<AlertName, string>();
  const downSince: DownSince = {};
  const outboxes: Outbox[] = outboxesFor(settings.receivers);
  const stopping = new AbortController();
  const sources: FactSources = {
    ...options,
    probeTimeoutMs: settings.timeoutMs,
    signatureWindowMs: settings.thresholds.signatureWindowMs,
    signal: stopping.signal,
  };
  return {
    firing: () => [...active.keys()],
    open: () =>
      [...active].map(([alert, { startedAtMs }]) => ({
        alert,
        summary: summaries.get(alert) ?? alert,
        sinceMs: startedAtMs,
      })),
    abort: () => stopping.abort(),
    async round() {
      const nowMs = (options.now ?? Date.now)();
      const facts = await gatherFacts(sources, memory, nowMs);
      const conditions = evaluateRules(facts, settings.thresholds, downSince);
      const notifications = notificationsFor(conditions, active, nowMs, settings.renotifyMs);
      for (const condition of conditions)
        if (condition.active) summaries.set(condition.alert, condition.summary);
      options.metrics?.observe(facts, new Set(active.keys()));
      for (const n of notifications)
        log[n.status === 'firing' ? 'warn' : 'info']({ alert: n.alert, status: n.status }, n.summary);
      for (const outbox of outboxes) outbox.waiting.push(...notifications);
      const sent = await Promise.all(
        outboxes.map((outbox) =>
          flushOutbox(outbox, {
            timeoutMs: settings.timeoutMs,
            log,
            fetch: options.fetch,
            signal: stopping.signal,
          }),
        ),
      );
      return {
        notifications,
        delivered: sent.reduce((a, b) => a + b, 0),
        waiting: outboxes.reduce((sum, outbox) => sum + outbox.waiting.length, 0),
      };
    },
  };
}

/**
 * Rounds every `settings.intervalMs`. Stopping ends a round under way at once rather than after a
 * receiver's or a dependency's timeout, so the service's shutdown does not wait for them.
 */
export function startAlerts(options: AlertOptions): Schedule & Pick<Alerter, 'open'> {
  const alerter = createAlerter(options);
  const schedule = startSchedule({
    what: 'alert round',
    intervalMs: options.settings.intervalMs,
    log: options.log,
    run: () => alerter.round(),
  });
  return {
    open: () => alerter.open(),
    async stop() {
      alerter.abort();
      await schedule.stop();
    },
  };
}
