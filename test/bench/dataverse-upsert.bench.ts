/**
 * Dataverse upsert throughput: 10,000 `stc_payment` rows through the client's upsert batcher into the
 * emulator, each time twice: with the service protection limits off (the baseline: what the emulator on this
 * machine takes) and on. Every phase checks that each row landed exactly once with its values (read back
 * through the Web API); the bench reports requests per row, 429s, wall time and the ratio to the least time
 * the limits allow, and fails when a row is lost or duplicated or batching goes over 0.1 requests per row.
 *
 * Scenarios:
 * - real limits: 6,000 requests, 52 concurrent and 1,200 s of execution per window, the 5-minute window
 *   divided by BENCH_TIME_FACTOR (30: 10 s);
 * - throttled: window and request budget both divided by BENCH_THROTTLE_FACTOR (50: 120 requests per 6 s,
 *   Dataverse's own rate of 20 a second) with batches of 25, so that the request limit binds and the client
 *   has to wait out Retry-After.
 *
 * Environment: BENCH_ROWS (10000), BENCH_RUNS (3), BENCH_TIME_FACTOR (30), BENCH_THROTTLE_FACTOR (50),
 * BENCH_SCENARIO (run only the scenarios whose name contains it).
 */
import { model } from '@stc/solution';
import { startDataverseEmulator, DATAVERSE_LIMITS } from '@stc/emulators';
import { compressedLimits, median, secs } from './support';
import { createDataverseClient, createUpsertBatcher } from '@stc/service';

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const FACTOR = Number(process.env.BENCH_TIME_FACTOR ?? 30);
const THROTTLE_FACTOR = Number(process.env.BENCH_THROTTLE_FACTOR ?? 50);
const SUCCEEDED = 100000000;

interface Limits {
  enabled: true;
  requests: number;
  concurrent: number;
  windowMs: number;
  executionMs: number;
}

interface Scenario {
  name: string;
  limits: Limits;
  batcher: { maxBatchSize: number; maxDelayMs: number; maxInFlight: number };
}

const SCENARIOS: Scenario[] = [
  {
    name: `real limits, window / ${FACTOR}`,
    limits: compressedLimits(FACTOR),
    batcher: { maxBatchSize: 100, maxDelayMs: 10, maxInFlight: 16 },
  },
  {
    name: `throttled, window and request budget / ${THROTTLE_FACTOR}`,
    limits: {
      ...compressedLimits(THROTTLE_FACTOR),
      requests: DATAVERSE_LIMITS.requests / THROTTLE_FACTOR,
    },
    batcher: { maxBatchSize: 25, maxDelayMs: 10, maxInFlight: 16 },
  },
];

interface PhaseResult {
  rows: number;
  requests: number;
  throttled: number;
  wallMs: number;
  /** The quickest write request: no request can take less. */
  fastestMs: number;
  failures: string[];
}

const paymentRow = (i: number) => ({
  stc_amount: Math.round(i * 137) / 100,
  stc_currency: i % 3 === 0 ? 'eur' : 'usd',
  stc_status: SUCCEEDED,
  stc_livemode: false,
  stc_description: `Order ${i}`,
});

async function phase(scenario: Scenario, limited: boolean, rowCount = ROWS): Promise<PhaseResult> {
  const emulator = await startDataverseEmulator({
    model,
    limits: limited ? scenario.limits : { enabled: false },
  });
  let throttled = 0;
  let fastest = Infinity;
  const timedFetch: typeof fetch = async (input, init) => {
    const started = performance.now();
    const res = await fetch(input, init);
    if (res.status === 429) throttled += 1;
    else if (init?.method === 'POST') fastest = Math.min(fastest, performance.now() - started);
    return res;
  };
  try {
    const client = createDataverseClient({ baseUrl: emulator.url, fetch: timedFetch });
    const batcher = createUpsertBatcher(client, scenario.batcher);
    const failures: string[] = [];
    const started = performance.now();
    await Promise.all(
      Array.from({ length: rowCount }, (_, i) =>
        batcher
          .upsert('stc_payments', { stc_stripeid: `pi_bench_${i}` }, paymentRow(i))
          .catch((err: Error) => void failures.push(`row ${i}: ${err.message}`)),
      ),
    );
    const wallMs = performance.now() - started;
    const requests = client.stats().requests;

    // Read back through the Web API (not counted above): every row once, with its values.
    emulator.setLimits({ enabled: false });
    const rows = await client.retrieveMultiple('stc_payments', {
      select: ['stc_stripeid', 'stc_amount', 'stc_description'],
      pageSize: 5000,
    });
    const seen = new Set<string>();
    for (const row of rows) {
      const id = String(row.stc_stripeid);
      const i = Number(id.replace('pi_bench_', ''));
      if (seen.has(id)) failures.push(`row ${i} is there twice`);
      seen.add(id);
      const expected = paymentRow(i);
      if (row.stc_amount !== expected.stc_amount || row.stc_description !== expected.stc_description) {
        failures.push(`row ${i} has ${JSON.stringify(row)}`);
      }
    }
    if (seen.size !== rowCount) failures.push(`${seen.size} rows read back, ${rowCount} written`);
    return { rows: seen.size, requests, throttled, wallMs, fastestMs: fastest, failures };
  } finally {
    await emulator.close();
  }
}

/**
 * The least time the limits allow for the limited phase's N admitted requests (429s excluded): the largest of these bounds, each from
 * one limit, and of the baseline (the same work with the limits off: the limits cannot make it faster).
 * - requests: the first R go at once, each further R a window later, and the last one still takes its share
 *   of the baseline: ⌊(N−1)/R⌋ × window + baseline/N;
 * - execution time: the emulator serves one request at a time, so the work needs at most the baseline's wall
 *   time of execution; under one window's budget this bound is 0, else ⌈baseline/budget − 1⌉ × window
 *   (an upper estimate);
 * - concurrency: at most 52 at once, none quicker than the quickest request seen: ⌈N/52⌉ × quickest.
 */
function leastTime(limits: Limits, baseline: PhaseResult, limited: PhaseResult) {
  // Refused requests do not count toward the limit.
  const n = limited.requests - limited.throttled;
  const share = baseline.wallMs / Math.max(1, baseline.requests);
  const byRequests = Math.floor((n - 1) / limits.requests) * limits.windowMs + share;
  const byExecution =
    baseline.wallMs < limits.executionMs
      ? 0
      : (Math.ceil(baseline.wallMs / limits.executionMs) - 1) * limits.windowMs;
  const byConcurrency = Math.ceil(n / limits.concurrent) * baseline.fastestMs;
  const leastMs = Math.max(baseline.wallMs, byRequests, byExecution, byConcurrency);
  return { byRequests, byExecution, byConcurrency, leastMs };
}

interface RunFigures {
  ratio: number;
  rpr: number;
  wall: number;
  base: number;
  least: number;
  throttled: number;
  requests: number;
}

async function main(): Promise<void> {
  console.log(
    `dataverse-upsert: ${ROWS} stc_payment rows, ${RUNS} runs per scenario (baseline and limited phase alternating)`,
  );
  // Warm the JIT and module caches so that the first measured phase is not the slowest.
  await phase(SCENARIOS[0], false, Math.min(ROWS, 2000));
  let broken = false;
  const only = process.env.BENCH_SCENARIO;
  for (const scenario of SCENARIOS.filter((sc) => !only || sc.name.includes(only))) {
    const l = scenario.limits;
    console.log(
      `\n-- ${scenario.name}: ${l.requests} requests, ${l.concurrent} concurrent, ${l.executionMs / 1000} s execution ` +
        `per ${l.windowMs / 1000} s window; batcher ${JSON.stringify(scenario.batcher)}`,
    );
    const runs: RunFigures[] = [];
    for (let run = 1; run <= RUNS; run += 1) {
      // Alternate which phase goes first, so that drift in the machine's load favours neither.
      const limitedFirst = run % 2 === 0;
      const first = await phase(scenario, limitedFirst);
      const second = await phase(scenario, !limitedFirst);
      const [baseline, limited] = limitedFirst ? [second, first] : [first, second];
      const least = leastTime(l, baseline, limited);
      const rpr = limited.requests / ROWS;
      const ratio = limited.wallMs / least.leastMs;
      console.log(
        `run ${run}: rows ${limited.rows}/${ROWS}, requests ${limited.requests} (${rpr.toFixed(3)}/row), 429s ${limited.throttled}, ` +
          `wall ${secs(limited.wallMs)}; baseline ${secs(baseline.wallMs)}; least ${secs(least.leastMs)} ` +
          `[requests ${secs(least.byRequests)}, execution ${secs(least.byExecution)}, concurrency ${secs(least.byConcurrency)}]; ` +
          `ratio ${ratio.toFixed(2)}`,
      );
      for (const [name, result] of [
        ['baseline', baseline],
        ['limited', limited],
      ] as const) {
        if (result.failures.length > 0) {
          broken = true;
          console.error(
            `  ${name}: ${result.failures.length} failures: ${result.failures.slice(0, 5).join('; ')}`,
          );
        }
      }
      runs.push({
        ratio,
        rpr,
        wall: limited.wallMs,
        base: baseline.wallMs,
        least: least.leastMs,
        throttled: limited.throttled,
        requests: limited.requests,
      });
    }
    const m = (key: keyof RunFigures) => median(runs.map((r) => r[key]));
    console.log(
      `median of ${RUNS} (${scenario.name}): rows written ${ROWS}, requests ${m('requests')} ` +
        `(${m('rpr').toFixed(3)}/row, target ≤ 0.1), 429s ${m('throttled')}, wall ${secs(m('wall'))}, ` +
        `baseline ${secs(m('base'))}, least time ${secs(m('least'))}, ratio ${m('ratio').toFixed(2)} ` +
        `(target ≤ 1.2: ${m('ratio') <= 1.2 ? 'met' : 'MISSED'})`,
    );
    if (m('rpr') > 0.1) {
      broken = true;
      console.error(`requests per row ${m('rpr').toFixed(3)} is over 0.1`);
    }
  }
  if (broken) process.exit(1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
