/**
 * The whole service in one process: store (migrated), HTTP server, worker pool. `main.ts` runs it from the
 * environment; tests and the sandbox start it in-process with their own handlers or Dataverse client.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { model } from '@stc/solution';
import type { ServiceConfig } from './config';
import {
  createCredential,
  createDataverseClient,
  createUpsertBatcher,
  withBatchedUpserts,
} from './dataverse';
import type { DataverseClient } from './dataverse/types';
import { createApp } from './intake/app';
import { createMetrics, type Metrics } from './observability/metrics';
import { loadMappingFiles, readMappingFolder, type MappingSet } from './mapping';
import {
  createMappingVersionOps,
  startLiveMappings,
  type LiveMappings,
  type ShippedMappings,
} from './mapping-versions';
import { createLogger, endLogger, type Logger } from './observability/log';
import {
  createPayoutReconciler,
  createReconciliationMetrics,
  loadReconciliationConfig,
  startPayoutSweep,
  type PayoutReconciler,
  type SweepResult,
} from './reconciliation';
import { openStore, type Store } from './store';
import { createBudgetedStripeClients, withStripePriority, type StripeFor } from './stripe';
import { createSyncHandlers, DEFAULT_MAPPINGS_DIR, servingMode } from './handlers';
import type { EventHandler } from './pipeline/handler';
import { assertHandlerMayGoOn, createWorkerPool, type WorkerPool } from './pipeline';
import { startSchedule, type Schedule } from './pipeline/schedule';
import { reportStatus, syncIssues, type WrittenIssues } from './issues';
import type { StripeObject } from './write/stripe-objects';
import { createFeeFiller, type FeeFiller } from './inbound/payments';
import { createAlertMetrics, maskUrl, startAlerts, type OpenAlert } from './alerts';

export interface ServiceOverrides {
  /** Default: the registry in `sync/` (the real handlers). */
  handlers?: readonly EventHandler[];
  dataverse?: DataverseClient;
  stripeFor?: StripeFor;
  logger?: Logger;
  store?: Store;
}

export interface RunningService {
  url: string;
  port: number;
  store: Store;
  pool: WorkerPool;
  metrics: Metrics;
  logger: Logger;
  server: http.Server;
  /** Graceful stop: no new requests or claims, running work finishes or goes back, store closed. */
  stop(): Promise<void>;
}

export function dataverseClientFor(
  config: ServiceConfig['dataverse'],
  logger: Logger,
  onExchange?: (status: number, durationMs: number) => void,
): DataverseClient {
  const baseUrl = /\/api\/data\/v\d/.test(config.url)
    ? config.url
    : `${config.url.replace(/\/+$/, '')}/api/data/v9.2/`;
  if (config.auth === 'none')
    return createDataverseClient({ baseUrl, logger: logger.child({ component: 'dataverse' }), onExchange });
  const authorityHost = config.authorityHost;
  const credential = createCredential({
    kind: config.auth,
    tenantId: config.tenantId,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    certificatePath: config.clientCertificatePath,
    authorityHost,
    // Entra's instance discovery only knows Microsoft's own hosts; a private authority skips it.
    disableInstanceDiscovery: authorityHost
      ? !/login\.microsoftonline\.(com|us)|login\.partner\.microsoftonline\.cn/.test(authorityHost)
      : undefined,
  });
  return createDataverseClient({
    baseUrl,
    credential,
    logger: logger.child({ component: 'dataverse' }),
    onExchange,
  });
}

interface DefaultHandlers {
  handlers: EventHandler[];
  reconciler: PayoutReconciler;
  fees: FeeFiller;
}

/**
 * The real handlers over the store's active mapping version, and the GL accounts file. The shipped (or
 * MAPPINGS_DIR) mapping files and the GL accounts file are read and checked before anything is opened, so a
 * bad mapping file stops the start with the mapping engine's MappingError (file, mapping, column) and a bad
 * GL accounts file with a ReconciliationConfigError naming it, instead of failing every event; the files
 * then become a mapping version when the store has none like them (see mapping-versions/live.ts). The
 * payouts handler and the sweep share one reconciler, which counts on the service's /metrics registry once
 * that exists.
 */
function loadDefaultHandlers(config: ServiceConfig): {
  shipped: ShippedMappings;
  build(metrics: Metrics, mappings: () => MappingSet): DefaultHandlers;
} {
  const dir = config.mappingsDir ?? DEFAULT_MAPPINGS_DIR;
  const files = readMappingFolder(dir);
  const shipped = { dir, files, set: loadMappingFiles(files, { model, at: dir }) };
  const glAccounts = loadReconciliationConfig(config.reconciliation.glAccountsPath);
  const build = (metrics: Metrics, mappingSet: () => MappingSet): DefaultHandlers => {
    const reconciler = createPayoutReconciler({
      mappings: mappingSet,
      config: glAccounts,
      metrics: createReconciliationMetrics(metrics.registry),
    });
    const fees = createFeeFiller();
    return {
      handlers: createSyncHandlers({
        mappings: mappingSet,
        payouts: { reconciler },
        outbound: config.outbound,
        fees,
        ordersFromPayments: config.orders.fromPayments,
      }),
      reconciler,
      fees,
    };
  };
  return { shipped, build };
}

/** The store's active mapping version for the default handlers; the store is closed when this fails. */
async function liveMappingsFor(
  config: ServiceConfig,
  shipped: ShippedMappings,
  store: Store,
  parts: { logger: Logger; ownStore: boolean; metrics: Metrics },
): Promise<LiveMappings> {
  try {
    return await startLiveMappings({
      store,
      model,
      shipped,
      pollMs: config.mappingsPollMs,
      log: parts.logger.child({ component: 'mappings' }),
      registry: parts.metrics.registry,
    });
  } catch (error) {
    if (parts.ownStore) await store.close().catch(() => undefined);
    throw error;
  }
}

/** The version in the service's package.json (shipped beside the compiled service), when readable. */
function serviceVersion(): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version?: string })
      .version;
  } catch {
    return undefined;
  }
}

interface ScheduleParts {
  defaults: { reconciler: PayoutReconciler; fees: FeeFiller } | undefined;
  store: Store;
  dataverse: DataverseClient;
  stripeFor: StripeFor;
  logger: Logger;
  metrics: Metrics;
  /** Where the alert rounds, once started, show the alerts firing. */
  alerts?: { open(): OpenAlert[] };
}

/**
 * The work on intervals, written through the plain client (the reconciler sends its own `$batch`
 * requests): the payout sweep reconciles paid payouts whose event never arrived or whose run failed; the
 * report keeps the sync issues and the service's status row in Dataverse and carries out what users asked
 * there (retries, discards, connection tests).
 */
function startSchedules(config: ServiceConfig, parts: ScheduleParts): Schedule[] {
  const { defaults, store, dataverse, stripeFor, logger } = parts;
  const schedules: Schedule[] = [];
  const sweepLog = logger.child({ component: 'payout-sweep' });
  // The platform's payouts, and those of the connected accounts named to the sweep: one schedule each.
  for (const account of [null, ...config.reconciliation.sweepAccounts]) {
    if (!defaults || config.reconciliation.sweepIntervalMs <= 0) break;
    const log = account ? sweepLog.child({ account }) : sweepLog;
    // The sweep's timers are made in this context, so every run of it reads Stripe at reconciliation priority.
    schedules.push(
      withStripePriority('reconcile', () =>
        startPayoutSweep({
          reconciler: defaults.reconciler,
          stripe: stripeFor(null),
          dataverse,
          log,
          account,
          intervalMs: config.reconciliation.sweepIntervalMs,
          lookbackMs: config.reconciliation.sweepLookbackMs,
          onSweep: logPayoutSweep(log),
        }),
      ),
    );
  }
  if (defaults && config.reconciliation.feesIntervalMs > 0)
    schedules.push(startFeeSchedule(config.reconciliation.feesIntervalMs, defaults.fees, parts));
  if (config.alerts.intervalMs > 0) schedules.push(startAlertSchedule(config.alerts, parts));
  if (config.reporting.intervalMs > 0) {
    const reportLog = logger.child({ component: 'report' });
    const liveMode = /^(sk|rk)_live_/.test(config.stripe.apiKey);
    const written: WrittenIssues = new Map();
    const stripe = stripeFor(null);
    const reconcilePayout = defaults
      ? async (payoutId: string, account: string | null) => {
          const client = stripeFor(account);
          const payout = (await client.payouts.retrieve(
            payoutId,
            undefined,
            account ? { stripeAccount: account } : undefined,
          )) as unknown as StripeObject;
          await defaults.reconciler.reconcile({ stripe: client, dataverse, log: reportLog, payout, account });
        }
      : undefined;
    schedules.push(
      startSchedule({
        what: 'report to Dataverse',
        intervalMs: config.reporting.intervalMs,
        log: reportLog,
        run: async () => {
          const issues = await syncIssues(
            { store, dataverse, log: reportLog, liveMode, reconcilePayout },
            written,
          );
          await reportStatus({
            store,
            dataverse,
            log: reportLog,
            liveMode,
            stripe,
            serviceUrl: config.reporting.publicUrl,
            serviceVersion: serviceVersion(),
            latestEvent: () => store.latestEvent(),
            oldestPendingMs: () => store.oldestWaitingMs(),
          });
          return issues;
        },
        onRun: (issues) => {
          if (issues.written > 0 || issues.retried > 0 || issues.discarded > 0)
            reportLog.info(issues, 'sync issues written');
        },
      }),
    );
  }
  return schedules;
}

/**
 * The alert rounds: the rules over the store, the payout journals and the /metrics counters, notifying the
 * configured webhooks. They run without receivers too, for the gauges the Prometheus rules read. Stripe is
 * checked at user priority, so the service's own backlog in the budget is not taken for Stripe being down.
 */
function startAlertSchedule(settings: ServiceConfig['alerts'], parts: ScheduleParts): Schedule {
  const log = parts.logger.child({ component: 'alerts' });
  log.info(
    {
      receivers: settings.receivers.map((r) => `${r.format} ${maskUrl(r.url)}`),
      intervalMs: settings.intervalMs,
    },
    'alert rules checked on a schedule',
  );
  const alerts = withStripePriority('user', () =>
    startAlerts({
      store: parts.store,
      dataverse: parts.dataverse,
      stripe: parts.stripeFor(null),
      registry: parts.metrics.registry,
      metrics: createAlertMetrics(parts.metrics.registry, parts.store),
      settings,
      log,
    }),
  );
  if (parts.alerts) parts.alerts.open = () => alerts.open();
  return alerts;
}

/**
 * Every Stripe call of the process, in the budget the replicas share through the store; none is sent for a
 * handler the pipeline has stopped (timed out, or given back at shutdown).
 */
function processStripeClients(
  config: ServiceConfig,
  store: Store,
  metrics: Metrics,
  logger: Logger,
): StripeFor {
  return createBudgetedStripeClients(config.stripe, store, {
    registry: metrics.registry,
    log: logger.child({ component: 'stripe-budget' }),
    onResponse: (status, ms) => metrics.dependencies.observe('stripe', status, ms),
    beforeRequest: assertHandlerMayGoOn,
  }).stripeFor;
}

/**
 * Payments written without their fee get it from balance transactions listed in bulk, at live sync's place in
 * the Stripe budget; a run with no such payment sends nothing.
 */
function startFeeSchedule(intervalMs: number, fees: FeeFiller, parts: ScheduleParts): Schedule {
  const log = parts.logger.child({ component: 'payment-fees' });
  return withStripePriority('sync', () =>
    startSchedule({
      what: 'payment fees',
      intervalMs,
      log,
      run: async () =>
        fees.pending() > 0
          ? fees.fill({ stripeFor: parts.stripeFor, dataverse: parts.dataverse, log })
          : null,
      onRun: (result) => {
        if (result && (result.filled > 0 || result.otherCurrency > 0))
          log.info(result, 'payment fees filled from balance transactions');
      },
    }),
  );
}

export async function startService(
  config: ServiceConfig,
  overrides: ServiceOverrides = {},
): Promise<RunningService> {
  const logger = overrides.logger ?? createLogger({ level: config.logLevel });
  // Before anything is opened: a bad mapping or GL accounts file stops the start with nothing to clean up.
  const buildDefaults = overrides.handlers ? undefined : loadDefaultHandlers(config);
  const store =
    overrides.store ??
    (await openStore(config.store, {
      onError: (message) => logger.error({ error: message }, 'SQLite checkpoint failed; will try again'),
      onRestart: (restart) => logger.debug(restart, 'SQLite WAL checkpointed and started over'),
    }));
  const metrics = createMetrics({ store, defaultMetrics: true });
  const live = buildDefaults
    ? await liveMappingsFor(config, buildDefaults.shipped, store, {
        logger,
        ownStore: !overrides.store,
        metrics,
      })
    : undefined;
  const defaults = live ? buildDefaults?.build(metrics, () => live.current()) : undefined;
  const handlers = servingMode(config.stripe.mode, overrides.handlers ?? defaults!.handlers);
  // One batcher for every handler: the rows of events worked on together share `$batch` requests.
  const dataverse =
    overrides.dataverse ??
    dataverseClientFor(config.dataverse, logger, (status, ms) =>
      metrics.dependencies.observe('dataverse', status, ms),
    );
  const stripeFor = overrides.stripeFor ?? processStripeClients(config, store, metrics, logger);
  const batcher = createUpsertBatcher(dataverse, { ...config.dataverse.batch, coalesce: true });
  const pool = createWorkerPool({
    store,
    handlers,
    dataverse: withBatchedUpserts(dataverse, batcher),
    stripeFor,
    logger,
    metrics,
    settings: config.worker,
    mappings: live,
  });
  // The alerts firing, once the alert rounds run; the console shows them.
  const alertsView = { open: (): OpenAlert[] => [] };
  const app = createApp({
    store,
    logger,
    takes: pool.takes,
    metrics,
    stripeWebhookSecrets: config.stripe.webhookSecrets,
    dataverseWebhook: { key: config.dataverse.webhookKey, header: config.dataverse.webhookHeader },
    adminApiKey: config.http.adminApiKey,
    maxBodyBytes: config.http.maxBodyBytes,
    onEventQueued: (queued) => pool.notify(queued),
    console: {
      dataverseUrl: config.dataverse.url,
      openAlerts: () => alertsView.open(),
      config,
      dataverse,
      entraSignIn: config.consoleEntra && { settings: config.consoleEntra },
    },
    mappingVersions: createMappingVersionOps({ store, model, live, onQueued: () => pool.notify() }),
  });
  const server = http.createServer(app.callback());
  const { url, port } = await listen(server, config.http);
  pool.start();
  const schedules = startSchedules(config, {
    defaults,
    store,
    dataverse,
    stripeFor,
    logger,
    metrics,
    alerts: alertsView,
  });
  if (live) {
    // Other processes sharing the store activate versions too: the active one is read every few seconds.
    live.start();
    schedules.push({ stop: async () => live.stop() });
  }
  logger.info({ url, store: store.engine, workers: config.worker.concurrency }, 'service listening');
  // A store handed in belongs to the caller, who closes it.
  const stop = stopper({ logger, server, pool, schedules, store: overrides.store ? undefined : store });
  return { url, port, store, pool, metrics, logger, server, stop };
}

/** Listens on the configured address; the URL names 127.0.0.1 when bound to every interface. */
async function listen(
  server: http.Server,
  address: ServiceConfig['http'],
): Promise<{ url: string; port: number }> {
  // Longer than common load balancers' idle timeout, so they close first and never hit a closed socket.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = address.host === '0.0.0.0' || address.host === '::' ? '127.0.0.1' : address.host;
  return { url: `http://${host}:${port}`, port };
}

/**
 * The service's stop, once however often called: no new requests or claims, the workers and schedules
 * stopped, open requests finished (cut after 5 s), then the store closed when given (the service's own).
 */
function stopper(parts: {
  logger: Logger;
  server: http.Server;
  pool: WorkerPool;
  schedules: Schedule[];
  store: Store | undefined;
}): () => Promise<void> {
  const { logger, server, pool, schedules, store } = parts;
  let stopping: Promise<void> | undefined;
  return () =>
    (stopping ??= (async () => {
      logger.info('stopping: no new requests or claims');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await Promise.all([pool.stop(), ...schedules.map((schedule) => schedule.stop())]);
      // Requests already inside finish their insert and answer; then anything still open is cut.
      const timer = setTimeout(() => server.closeAllConnections(), 5000);
      await closed;
      clearTimeout(timer);
      if (store) await store.close();
      logger.info('stopped');
      logger.flush();
    })());
}

/**
 * Stops the service gracefully on SIGTERM or SIGINT and exits 0 (1 when stopping fails); a second signal
 * exits at once, leaving claimed events to come back when their lease expires.
 */
export function stopOnSignals(service: RunningService): void {
  let signals = 0;
  // Exit only once the log lines are written: an asynchronous write still in flight at exit is lost.
  const exit = (code: number, waitMs?: number) =>
    void endLogger(service.logger, waitMs).then(() => process.exit(code));
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      try {
        service.logger.warn(
          { signal },
          'second signal: exiting now; claimed events come back when their lease expires',
        );
      } catch {
        // The log destination is already closing for the first signal's exit.
      }
      exit(1, 1000);
      return;
    }
    service.logger.info({ signal }, 'shutdown requested');
    service.stop().then(
      () => exit(0),
      (error) => {
        service.logger.error({ err: error }, 'shutdown failed');
        exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** Logs a payout sweep that found something to do: the payouts it reconciled, found mismatched or failed on. */
function logPayoutSweep(log: Logger) {
  return (result: SweepResult) => {
    if (result.reconciled.length === 0 && result.mismatched.length === 0 && result.failed.length === 0)
      return;
    log.info(
      {
        checked: result.checked,
        reconciled: result.reconciled,
        mismatched: result.mismatched,
        failed: result.failed.length,
      },
      'payout sweep done',
    );
  };
}
