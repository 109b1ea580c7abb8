/**
 * Test support: the store engines every store-backed suite runs against. PostgreSQL needs
 * STC_TEST_DATABASE_URL; without it its suites are skipped with a clear reason, unless STC_REQUIRE_POSTGRES=1
 * (CI), where a missing database fails the run instead.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { checkRequired, describeWhen, postgresRequirement, type Requirement } from '@stc/testkit';
import { createPostgresStore, createSqliteStore, type Store } from '../../store';

export interface TestEngine {
  name: 'sqlite' | 'postgres';
  /** Why the engine is unavailable, or null. */
  skipReason: string | null;
  /** A fresh, migrated, empty store, plus a factory for more connections to the same database. */
  open(): Promise<TestDatabase>;
}

export interface TestDatabase {
  store: Store;
  /** Another store (separate connections) on the same database, as a second process would have. */
  connect(): Promise<Store>;
  /** Environment variables that point a child service process at this database. */
  env: Record<string, string>;
  destroy(): Promise<void>;
}

const postgresUrl = process.env.STC_TEST_DATABASE_URL;
const postgres = postgresRequirement();
checkRequired(postgres);

export const sqliteEngine: TestEngine = {
  name: 'sqlite',
  skipReason: null,
  async open() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stc-store-'));
    const file = path.join(dir, 'connector.db');
    const store = createSqliteStore({ path: file });
    await store.migrate();
    const extra: Store[] = [];
    return {
      store,
      env: { SQLITE_PATH: file },
      async connect() {
        const other = createSqliteStore({ path: file });
        await other.migrate();
        extra.push(other);
        return other;
      },
      async destroy() {
        for (const s of [store, ...extra]) await s.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

export const postgresEngine: TestEngine = {
  name: 'postgres',
  skipReason: postgres.missing,
  async open() {
    if (!postgresUrl) throw new Error(this.skipReason ?? 'no database');
    const schema = `stc_test_${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
    const store = createPostgresStore({ connectionString: postgresUrl, schema });
    await store.migrate();
    const extra: Store[] = [];
    return {
      store,
      env: { DATABASE_URL: postgresUrl, DATABASE_SCHEMA: schema },
      async connect() {
        const other = createPostgresStore({ connectionString: postgresUrl, schema });
        await other.migrate();
        extra.push(other);
        return other;
      },
      async destroy() {
        for (const s of [store, ...extra]) await s.close();
        const admin = new Client({ connectionString: postgresUrl });
        await admin.connect();
        try {
          await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        } finally {
          await admin.end();
        }
      },
    };
  },
};

export const testEngines: TestEngine[] = [sqliteEngine, postgresEngine];

/**
 * A `describe` per engine, titled `<title> on <engine>`: an engine that cannot run here is skipped with its
 * reason in the title (as `npm test` then reports it), never silently.
 */
export function describeOnEachEngine(title: string, body: (engine: TestEngine) => void): void {
  for (const engine of testEngines)
    describeWhen(engineRequirement(engine), `${title} on ${engine.name}`, () => body(engine));
}

/** What an engine's suites need: nothing for SQLite, a server for PostgreSQL. */
export function engineRequirement(engine: TestEngine): Requirement {
  return engine.name === 'postgres' ? postgres : { ...postgres, missing: null };
}
