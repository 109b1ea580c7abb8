/**
 * The inbox keeps every event, so it only grows; what is asked of it on every metrics scrape and alert round
 * (how many events wait, since when) must read the waiting rows through the partial indexes, never the whole
 * table. Checked on each engine's query plan.
 */
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { describeOnEachEngine, type TestDatabase } from '../../__tests__/support/engines';
import { numbered, SQL } from '../sql';

describeOnEachEngine('questions about waiting events', (engine) => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await engine.open();
  });
  afterEach(async () => {
    await db.destroy();
  });

  /** The lines of the statement's plan that read the inbox table without an index. */
  async function wholeInboxReads(sql: string): Promise<string[]> {
    if (engine.name === 'sqlite') {
      const raw = new Database(db.env.SQLITE_PATH, { readonly: true });
      try {
        const plan = raw.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as Array<{ detail: string }>;
        return plan.map((r) => r.detail).filter((d) => /\binbox\b/.test(d) && !/USING .*INDEX/.test(d));
      } finally {
        raw.close();
      }
    }
    const client = new Client({
      connectionString: db.env.DATABASE_URL,
      options: `-c search_path=${db.env.DATABASE_SCHEMA}`,
    });
    await client.connect();
    try {
      // The test's inbox is empty, and reading an empty table whole is the cheapest plan: this leaves the
      // planner a sequential scan only where no index can answer.
      await client.query('SET enable_seqscan = off');
      const { rows } = await client.query(`EXPLAIN ${numbered(sql)}`);
      return rows.map((r) => String(r['QUERY PLAN'])).filter((line) => /Seq Scan on inbox\b/.test(line));
    } finally {
      await client.end();
    }
  }

  test.each(['oldestWaiting', 'queueDepth'] as const)('%s reads only the waiting events', async (name) => {
    expect(await wholeInboxReads(SQL[name])).toEqual([]);
  });

  test('the plan check sees a statement that reads the whole inbox', async () => {
    const whole = `SELECT MIN(received_at) FROM inbox WHERE status IN ('pending', 'processing')`;
    expect((await wholeInboxReads(whole)).length).toBeGreaterThan(0);
  });
});
