/**
 * The sandbox's scenario: a day of business played through the emulators with the official `stripe` SDK and
 * the Dataverse Web API, each outcome read back from Dataverse (or Stripe) and reported as a check.
 * Customers, payments in USD, JPY and KWD and a declined one, a partial then a full refund, a dispute opened
 * and won, a customer edited in Dataverse going to Stripe, a refund asked for in Dataverse by a user, and what
 * the operator console and the alert receiver show (payouts, dead letters on purpose, alerts).
 */
import Stripe from 'stripe';
import { model } from '@stc/solution';
import type { StripeEmulator } from '@stc/emulators';
import type { RunningPart } from '../cli';
import type { SandboxRun, SANDBOX_USERS } from '../parts/run';
import { tokenSource } from '../parts/token';
import { readBack } from './readback';
import { SCENARIO_STEPS, type ScenarioContext } from './steps';
import { createWebApi, type WebApi } from './webapi';

export { createWebApi, odataString, WebApiError, type WebApi } from './webapi';
export { SCENARIO_PAYMENTS } from './steps';

export interface ScenarioEnvironment {
  stripe: Stripe;
  dataverse: WebApi;
  users: typeof SANDBOX_USERS;
  /** How long a row may take to appear (default 20 s). */
  timeoutMs?: number;
  /** Where a person opens a row (default: its Web API path). */
  recordUrl?: (table: string, id: string) => string;
  /** The Stripe emulator in this process, and the service: for the checks an operator's pages show. */
  emulator?: StripeEmulator;
  service?: { url: string; adminApiKey: string };
  /** The local receiver of the service's alerts. */
  alerts?: ScenarioContext['alerts'];
}

export interface ScenarioResult {
  passed: number;
  total: number;
  failed: string[];
}

/** Plays the scenario's checks in order, printing one line for each and a summary. */
export async function playScenario(
  env: ScenarioEnvironment,
  print: (line: string) => void,
): Promise<ScenarioResult> {
  const { stripe, dataverse, users } = env;
  const timeoutMs = env.timeoutMs ?? 20_000;
  const ctx: ScenarioContext = {
    stripe,
    dataverse,
    users,
    timeoutMs,
    rows: readBack(dataverse, timeoutMs),
    state: { paid: {} },
    recordUrl: env.recordUrl ?? ((table, id) => `${table}(${id})`),
    emulator: env.emulator,
    service: env.service,
    alerts: env.alerts,
  };
  const result: ScenarioResult = { passed: 0, total: 0, failed: [] };
  const say = (text: string) => print(`scenario: ${text}`);

  say(
    'playing: customers, payments (USD, JPY, KWD, a declined card), refunds, a dispute, a customer edit, a refund request, a checkout into an order, a payment link for an order and one for a quote, a subscription renewed by test clock, payouts into the journal (one mismatched on purpose), a live-mode event and a payment the shipped mapping cannot bind dead-lettered on purpose, their alerts at the local receiver',
  );
  for (const step of SCENARIO_STEPS) {
    result.total++;
    const started = Date.now();
    try {
      const line = await step.act(ctx);
      result.passed++;
      say(`✓ ${line} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    } catch (error) {
      result.failed.push(step.label);
      say(`✗ FAILED ${step.label}: ${(error as Error).message}`);
    }
  }
  say(
    result.failed.length === 0
      ? `${result.passed} of ${result.total} checks passed`
      : `${result.passed} of ${result.total} checks passed; FAILED: ${result.failed.join('; ')} (the sandbox keeps running: look around)`,
  );
  return result;
}

/** The scenario against the running parts: the SDK on the Stripe emulator, the Web API on the Dataverse one. */
export async function runScenario(
  started: ReadonlyMap<string, RunningPart>,
  run: SandboxRun,
  print: (line: string) => void,
): Promise<ScenarioResult> {
  const stripeEmulator = started.get('stripe')?.stripe;
  const dataverse = started.get('dataverse')?.dataverse;
  if (!stripeEmulator || !dataverse) throw new Error('the scenario needs the Stripe and Dataverse emulators');
  const url = new URL(stripeEmulator.url);
  const stripe = new Stripe(stripeEmulator.apiKey, {
    host: url.hostname,
    port: Number(url.port),
    protocol: 'http',
    // Test mode allows 25 requests a second; the SDK retries what Stripe marks retryable.
    maxNetworkRetries: 3,
    telemetry: false,
  });
  const credentials = started.get('token')?.entra?.credentials;
  const webApi = createWebApi(dataverse.url, credentials ? tokenSource(credentials) : undefined);
  const harness = started.get('harness')?.url;
  const recordUrl = (table: string, id: string) =>
    harness
      ? `${harness}/form?${new URLSearchParams({ entity: table, id })}`
      : new URL(
          `${model.tables.find((t) => t.logicalName === table)?.entitySetName ?? table}(${id})`,
          dataverse.url,
        ).href;
  const serviceUrl = started.get('service')?.url;
  return playScenario(
    {
      stripe,
      dataverse: webApi,
      users: run.users,
      recordUrl,
      emulator: stripeEmulator,
      service: serviceUrl ? { url: serviceUrl, adminApiKey: run.secrets.adminApiKey } : undefined,
      alerts: started.get('alerts')?.alerts,
    },
    print,
  );
}
