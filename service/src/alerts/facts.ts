/**
 * What the alert rules are decided from, read at each round from what the service already has: the store
 * (dead letters, the oldest waiting event), the payout journals in Dataverse (the same query the sync issue
 * sweep makes), and the /metrics registry's counters (webhook requests refused, Stripe 429s). Reading the
 * journals doubles as the check that Dataverse answers; Stripe is asked for its balance, the cheapest read.
 */
import { JournalEntry, JournalStatus } from '@stc/solution/tables';
import type { Registry } from 'prom-client';
import type { DataverseClient } from '../dataverse/types';
import type { Store } from '../store/types';
import type { AlertFacts, DependencyCheck } from './rules';

/** Refusal reasons that mean a missing or wrong signature or key: `stc_events_rejected_total{reason}`. */
export const SIGNATURE_REASONS = [
  'missing_signature',
  'malformed_signature',
  'bad_signature',
  'stale_timestamp',
  'future_timestamp',
  'missing_key',
  'bad_key',
] as const;

export interface FactSources {
  store: Pick<Store, 'queueDepth' | 'oldestWaitingMs'>;
  dataverse: Pick<DataverseClient, 'retrieveMultiple'> & { stats?(): { throttled: number } };
  /** The platform account's Stripe client; absent, Stripe counts as answering. */
  stripe?: { balance: { retrieve(): Promise<unknown> } };
  registry: Registry;
  /** How long a dependency may take to answer its check. */
  probeTimeoutMs: number;
  signatureWindowMs: number;
  /** Aborted when the service stops: checks under way end at once. */
  signal?: AbortSignal;
}

/** Counter readings of earlier rounds, for what happened in between. */
export interface FactMemory {
  signatureSamples: { atMs: number; total: number }[];
  dataverseThrottled?: number;
  stripeRateLimited?: number;
}

async function counterTotal(
  registry: Registry,
  name: string,
  include: (labels: Record<string, unknown>) => boolean = () => true,
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.filter((v) => include(v.labels)).reduce((sum, v) => sum + v.value, 0);
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string, signal?: AbortSignal): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    onAbort = () => reject(new Error('the service is stopping'));
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, timeout]).finally(() => {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  });
}

const throttledDetail = (count: number) => `${count} request(s) throttled (429) since the previous check`;

/** The mismatched journals (null when Dataverse did not answer) and how Dataverse did. */
async function readDataverse(
  sources: FactSources,
  memory: FactMemory,
): Promise<{ mismatched: number | null; check: DependencyCheck }> {
  let mismatched: number | null = null;
  let check: DependencyCheck = { ok: true, detail: '' };
  try {
    const journals = await withTimeout(
      sources.dataverse.retrieveMultiple(JournalEntry.entitySetName, {
        select: [JournalEntry.col.stripePayoutId],
        filter: `${JournalEntry.col.status} eq ${JournalStatus.mismatch}`,
      }),
      sources.probeTimeoutMs,
      'Dataverse',
      sources.signal,
    );
    mismatched = journals.length;
  } catch (error) {
    check = { ok: false, detail: (error as Error).message };
  }
  const throttled = sources.dataverse.stats?.().throttled;
  if (throttled !== undefined) {
    const since = throttled - (memory.dataverseThrottled ?? throttled);
    memory.dataverseThrottled = throttled;
    if (since > 0 && check.ok) check = { ok: false, detail: throttledDetail(since) };
  }
  return { mismatched, check };
}

async function readStripe(sources: FactSources, memory: FactMemory): Promise<DependencyCheck> {
  let check: DependencyCheck = { ok: true, detail: '' };
  if (sources.stripe) {
    try {
      await withTimeout(sources.stripe.balance.retrieve(), sources.probeTimeoutMs, 'Stripe', sources.signal);
    } catch (error) {
      check = { ok: false, detail: (error as Error).message };
    }
  }
  const limited = await counterTotal(sources.registry, 'stc_stripe_rate_limited_total');
  const since = limited - (memory.stripeRateLimited ?? limited);
  memory.stripeRateLimited = limited;
  if (since > 0 && check.ok) check = { ok: false, detail: throttledDetail(since) };
  return check;
}

async function signatureFailures(sources: FactSources, memory: FactMemory, nowMs: number): Promise<number> {
  const reasons: readonly string[] = SIGNATURE_REASONS;
  const total = await counterTotal(sources.registry, 'stc_events_rejected_total', (labels) =>
    reasons.includes(String(labels.reason)),
  );
  const samples = memory.signatureSamples;
  // The counter starts at 0 with the process: the first reading counts from there.
  if (samples.length === 0) samples.push({ atMs: nowMs, total: 0 });
  samples.push({ atMs: nowMs, total });
  // Keep the newest sample at or before the window's start as the base, and everything after it.
  while (samples.length > 1 && samples[1].atMs <= nowMs - sources.signatureWindowMs) samples.shift();
  return total - samples[0].total;
}

export async function gatherFacts(
  sources: FactSources,
  memory: FactMemory,
  nowMs: number,
): Promise<AlertFacts> {
  const [depth, oldestWaitingMs, dataverse, stripe, signatures] = await Promise.all([
    sources.store.queueDepth(),
    sources.store.oldestWaitingMs(),
    readDataverse(sources, memory),
    readStripe(sources, memory),
    signatureFailures(sources, memory, nowMs),
  ]);
  return {
    nowMs,
    deadLetters: depth.dead,
    oldestWaitingMs,
    mismatchedJournals: dataverse.mismatched,
    signatureFailures: signatures,
    dependencies: { dataverse: dataverse.check, stripe },
  };
}
