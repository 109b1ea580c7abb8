/**
 * The Stripe budget's ledger in the store, so every process sharing it counts in the same windows: a row per
 * (scope, second) whose `used` an upsert raises by at most what the window still takes, atomically (the row
 * is locked by the upsert on both engines). A take over several windows (the account's and an endpoint's)
 * counts in the first, then in the next up to what the first gave, and gives back what the last one refused.
 */
import type Database from 'better-sqlite3';
import type { Pool } from 'pg';
import type { BudgetGrant, BudgetShrink, BudgetWindow, ShrinkPolicy, StripeBudgetLedger } from './types';

/** What an engine runs for the ledger; each statement is atomic on its own. */
export interface BudgetStatements {
  /** Counts up to `want` in the current second by the store's clock; that second and the clock in ms. */
  takeNow(
    scope: string,
    want: number,
    limit: number,
  ): Promise<{ granted: number; second: number; nowMs: number }>;
  takeAt(scope: string, second: number, want: number, limit: number): Promise<number>;
  giveBack(scope: string, second: number, count: number): Promise<void>;
  prune(beforeSecond: number): Promise<void>;
  /** The new shrink, or null when the last one is younger than the policy's hold. */
  shrink(scope: string, policy: ShrinkPolicy, nowMs: number): Promise<BudgetShrink | null>;
  readShrink(scope: string): Promise<BudgetShrink | null>;
}

/** Windows older than this are deleted, at most once per this many seconds per process. */
const KEEP_SECONDS = 60;

export function budgetLedger(st: BudgetStatements): StripeBudgetLedger {
  let prunedAt = 0;
  return {
    async takeBudget(windows: BudgetWindow[], want: number): Promise<BudgetGrant> {
      if (windows.length === 0) throw new Error('takeBudget needs at least one window');
      const [first, ...rest] = windows;
      const head = await st.takeNow(first.scope, want, first.limit);
      const taken = [{ scope: first.scope, count: head.granted }];
      let granted = head.granted;
      let boundBy = granted < want ? first.scope : undefined;
      for (const w of rest) {
        if (granted === 0) break;
        const count = await st.takeAt(w.scope, head.second, granted, w.limit);
        taken.push({ scope: w.scope, count });
        if (count < granted) [granted, boundBy] = [count, w.scope];
      }
      for (const t of taken) {
        if (t.count > granted) await st.giveBack(t.scope, head.second, t.count - granted);
      }
      if (head.second - prunedAt >= KEEP_SECONDS) {
        prunedAt = head.second;
        await st.prune(head.second - KEEP_SECONDS);
      }
      return { granted, msLeft: Math.max(1, (head.second + 1) * 1000 - head.nowMs), boundBy };
    },
    async shrinkBudget(scope: string, policy: ShrinkPolicy, nowMs = Date.now()) {
      const shrunk = await st.shrink(scope, policy, nowMs);
      return shrunk ?? (await st.readShrink(scope)) ?? { factor: 1, atMs: nowMs };
    },
    readBudgetShrink: (scope: string) => st.readShrink(scope),
  };
}

const toShrink = (row: Record<string, unknown> | undefined): BudgetShrink | null =>
  row ? { factor: Number(row.factor), atMs: Number(row.at_ms) } : null;

/** SQLite: one machine's processes share the file; its clock is theirs. */
export function sqliteBudgetStatements(db: Database.Database): BudgetStatements {
  const prepared = new Map<string, Database.Statement>();
  const statement = (sql: string) => {
    let s = prepared.get(sql);
    if (!s) prepared.set(sql, (s = db.prepare(sql)));
    return s;
  };
  const take = `INSERT INTO stripe_budget (scope, second, used, last_grant)
      VALUES (@scope, @second, MIN(@want, @limit), MIN(@want, @limit))
    ON CONFLICT (scope, second) DO UPDATE SET
      last_grant = MAX(0, MIN(@want, @limit - used)),
      used = used + MAX(0, MIN(@want, @limit - used))
    RETURNING last_grant`;
  const takeAt = async (scope: string, second: number, want: number, limit: number) =>
    Number((statement(take).get({ scope, second, want, limit }) as { last_grant: number }).last_grant);
  return {
    async takeNow(scope, want, limit) {
      const nowMs = Date.now();
      const second = Math.floor(nowMs / 1000);
      return { granted: await takeAt(scope, second, want, limit), second, nowMs };
    },
    takeAt,
    async giveBack(scope, second, count) {
      statement('UPDATE stripe_budget SET used = MAX(0, used - ?) WHERE scope = ? AND second = ?').run(
        count,
        scope,
        second,
      );
    },
    async prune(beforeSecond) {
      statement('DELETE FROM stripe_budget WHERE second < ?').run(beforeSecond);
    },
    async shrink(scope, policy, nowMs) {
      const row = statement(
        `INSERT INTO stripe_budget_shrink (scope, factor, at_ms) VALUES (@scope, MAX(@floor, @decrease), @now)
        ON CONFLICT (scope) DO UPDATE SET
          factor = MAX(@floor, MIN(1.0, factor + (@now - at_ms) / 1000.0 * @recovery) * @decrease),
          at_ms = @now
        WHERE @now - stripe_budget_shrink.at_ms >= @hold
        RETURNING factor, at_ms`,
      ).get({ scope, now: nowMs, ...shrinkValues(policy) }) as Record<string, unknown> | undefined;
      return toShrink(row);
    },
    async readShrink(scope) {
      const row = statement('SELECT factor, at_ms FROM stripe_budget_shrink WHERE scope = ?').get(scope);
      return toShrink(row as Record<string, unknown> | undefined);
    },
  };
}

const shrinkValues = (p: ShrinkPolicy) => ({
  floor: p.floor,
  decrease: p.decrease,
  recovery: p.recoveryPerSecond,
  hold: p.holdMs,
});

// PostgreSQL: the window's second comes from the server's clock, so replicas whose clocks drift apart still
// count every call of one second in one row.
const PG_TAKE_NOW = `WITH clock AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms)
INSERT INTO stripe_budget AS b (scope, second, used, last_grant)
  SELECT $1, now_ms / 1000, LEAST($2::int, $3::int), LEAST($2::int, $3::int) FROM clock
ON CONFLICT (scope, second) DO UPDATE SET
  last_grant = GREATEST(0, LEAST($2::int, $3::int - b.used)),
  used = b.used + GREATEST(0, LEAST($2::int, $3::int - b.used))
RETURNING b.second, b.last_grant, (SELECT now_ms FROM clock) AS now_ms`;

const PG_TAKE_AT = `INSERT INTO stripe_budget AS b (scope, second, used, last_grant)
  VALUES ($1, $4::bigint, LEAST($2::int, $3::int), LEAST($2::int, $3::int))
ON CONFLICT (scope, second) DO UPDATE SET
  last_grant = GREATEST(0, LEAST($2::int, $3::int - b.used)),
  used = b.used + GREATEST(0, LEAST($2::int, $3::int - b.used))
RETURNING b.last_grant`;

const PG_SHRINK = `INSERT INTO stripe_budget_shrink AS s (scope, factor, at_ms)
  VALUES ($1, GREATEST($2::float8, $3::float8), $4::bigint)
ON CONFLICT (scope) DO UPDATE SET
  factor = GREATEST($2::float8, LEAST(1.0, s.factor + ($4::bigint - s.at_ms) / 1000.0 * $5::float8) * $3::float8),
  at_ms = $4::bigint
WHERE $4::bigint - s.at_ms >= $6::bigint
RETURNING s.factor, s.at_ms`;

export function postgresBudgetStatements(pool: Pool): BudgetStatements {
  const query = async (name: string, text: string, values: unknown[]) =>
    (await pool.query({ name, text, values })).rows as Record<string, unknown>[];
  return {
    async takeNow(scope, want, limit) {
      const [row] = await query('stc_budget_take_now', PG_TAKE_NOW, [scope, want, limit]);
      return { granted: Number(row.last_grant), second: Number(row.second), nowMs: Number(row.now_ms) };
    },
    async takeAt(scope, second, want, limit) {
      const [row] = await query('stc_budget_take_at', PG_TAKE_AT, [scope, want, limit, second]);
      return Number(row.last_grant);
    },
    async giveBack(scope, second, count) {
      await query(
        'stc_budget_give_back',
        'UPDATE stripe_budget SET used = GREATEST(0, used - $1) WHERE scope = $2 AND second = $3',
        [count, scope, second],
      );
    },
    async prune(beforeSecond) {
      await query('stc_budget_prune', 'DELETE FROM stripe_budget WHERE second < $1', [beforeSecond]);
    },
    async shrink(scope, policy, nowMs) {
      const [row] = await query('stc_budget_shrink', PG_SHRINK, [
        scope,
        policy.floor,
        policy.decrease,
        nowMs,
        policy.recoveryPerSecond,
        policy.holdMs,
      ]);
      return toShrink(row);
    },
    async readShrink(scope) {
      const [row] = await query(
        'stc_budget_read_shrink',
        'SELECT factor, at_ms FROM stripe_budget_shrink WHERE scope = $1',
        [scope],
      );
      return toShrink(row);
    },
  };
}
