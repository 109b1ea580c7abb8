/**
 * Versioned schema migrations, one list for both engines (each step in its two dialects). A step is never
 * edited once released: add a new one. Applied versions are recorded in `schema_migrations`.
 */
import { dataverseWritesTable } from './lineage';

export interface Migration {
  version: number;
  name: string;
  sqlite: string;
  postgres: string;
}

const inbox = (dialect: 'sqlite' | 'postgres') => {
  const id =
    dialect === 'sqlite'
      ? 'INTEGER PRIMARY KEY AUTOINCREMENT'
      : 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY';
  const ref = dialect === 'sqlite' ? 'INTEGER' : 'BIGINT';
  return `
CREATE TABLE inbox (
  id ${id},
  source TEXT NOT NULL,
  account TEXT NOT NULL DEFAULT '',
  event_id TEXT NOT NULL,
  type TEXT NOT NULL,
  object_id TEXT NOT NULL DEFAULT '',
  event_created BIGINT NOT NULL,
  payload TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  lease_owner TEXT,
  lease_expires_at BIGINT,
  last_error TEXT,
  last_error_code TEXT,
  received_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  CONSTRAINT inbox_event_unique UNIQUE (source, account, event_id)
);
CREATE INDEX inbox_pending ON inbox (id) WHERE status = 'pending';
CREATE INDEX inbox_lease ON inbox (lease_expires_at) WHERE status = 'processing';
-- The invariant behind per-object ordering: one event of an object in flight, whatever the claim logic does.
CREATE UNIQUE INDEX inbox_one_in_flight_per_object ON inbox (source, account, object_id)
  WHERE status = 'processing' AND object_id <> '';

CREATE TABLE attempts (
  id ${id},
  inbox_id ${ref} NOT NULL REFERENCES inbox (id),
  attempt INTEGER NOT NULL,
  worker TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  finished_at BIGINT NOT NULL,
  outcome TEXT NOT NULL,
  error TEXT,
  error_code TEXT
);
CREATE INDEX attempts_inbox ON attempts (inbox_id);

CREATE TABLE dead_letters (
  id ${id},
  inbox_id ${ref} NOT NULL REFERENCES inbox (id),
  error TEXT NOT NULL,
  error_code TEXT,
  attempts INTEGER NOT NULL,
  created_at BIGINT NOT NULL,
  resolved_at BIGINT,
  resolution TEXT
);
CREATE INDEX dead_letters_open ON dead_letters (id) WHERE resolved_at IS NULL;

CREATE TABLE cursors (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE object_versions (
  source TEXT NOT NULL,
  account TEXT NOT NULL,
  object_id TEXT NOT NULL,
  event_created BIGINT NOT NULL,
  event_id TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (source, account, object_id)
);
`;
};

/**
 * The Stripe budget every process shares: a scope (account, mode and endpoint or '*') counts the calls of a
 * second (`second` since the epoch); `last_grant` is what the latest take counted. A 429 leaves the scope's
 * shrink factor and when it was set.
 */
function stripeBudgetTables(dialect: 'sqlite' | 'postgres'): string {
  // PostgreSQL: unlogged, so counting a call writes no WAL and waits for no fsync; after a server crash the
  // table comes back empty, which only forgets seconds that are over.
  const unlogged = dialect === 'postgres' ? 'UNLOGGED ' : '';
  const real = dialect === 'postgres' ? 'DOUBLE PRECISION' : 'REAL';
  return `
CREATE ${unlogged}TABLE stripe_budget (
  scope TEXT NOT NULL,
  second BIGINT NOT NULL,
  used INTEGER NOT NULL,
  last_grant INTEGER NOT NULL,
  PRIMARY KEY (scope, second)
);
CREATE INDEX stripe_budget_second ON stripe_budget (second);

CREATE TABLE stripe_budget_shrink (
  scope TEXT PRIMARY KEY,
  factor ${real} NOT NULL,
  at_ms BIGINT NOT NULL
);
`;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'inbox, attempts, dead letters, cursors, object versions',
    sqlite: inbox('sqlite'),
    postgres: inbox('postgres'),
  },
];

MIGRATIONS.push({
  version: 2,
  name: 'inbox payload compressed with lz4 where the server has it',
  // SQLite stores the payload as it is.
  sqlite: 'SELECT 1',
  // A 3 KB event payload is compressed on insert; lz4 costs the server a fraction of pglz's CPU on the
  // intake hot path. Servers built without lz4 keep the default.
  postgres: `DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
    ALTER TABLE inbox ALTER COLUMN payload SET COMPRESSION lz4;
  END IF;
END $$;`,
});

MIGRATIONS.push({
  version: 3,
  name: 'Stripe budget: calls counted per scope and second, and the 429 shrink per scope',
  sqlite: stripeBudgetTables('sqlite'),
  postgres: stripeBudgetTables('postgres'),
});

/**
 * Mapping versions: the whole set of mapping and lookup files (JSON, path → text) per version; the active one
 * is the latest activation. Each attempt records the mapping version it ran under.
 */
function mappingVersionTables(dialect: 'sqlite' | 'postgres'): string {
  const id =
    dialect === 'sqlite'
      ? 'INTEGER PRIMARY KEY AUTOINCREMENT'
      : 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY';
  return `
CREATE TABLE mapping_versions (
  version INTEGER PRIMARY KEY,
  files TEXT NOT NULL,
  hash TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  created_by TEXT NOT NULL,
  note TEXT
);
CREATE INDEX mapping_versions_hash ON mapping_versions (hash);

CREATE TABLE mapping_activations (
  id ${id},
  version INTEGER NOT NULL REFERENCES mapping_versions (version),
  activated_at BIGINT NOT NULL,
  activated_by TEXT NOT NULL
);

ALTER TABLE attempts ADD COLUMN mapping_version TEXT;
`;
}

MIGRATIONS.push({
  version: 4,
  name: 'mapping versions, their activations, and the version each attempt ran under',
  sqlite: mappingVersionTables('sqlite'),
  postgres: mappingVersionTables('postgres'),
});

MIGRATIONS.push({
  version: 5,
  name: 'Dataverse requests of each attempt, by inbox id and row id; attempts by finish time',
  sqlite: dataverseWritesTable('sqlite'),
  postgres: dataverseWritesTable('postgres'),
});

/**
 * Writes of an object's row from Stripe made by another object's events (a dispute's or refund's handler
 * re-syncing the payment), counted when begun and when their event's attempt ended: the pipeline tells from
 * them whether one ran while the object's own event did (see process.ts).
 */
const FRESH_WRITES_DDL = `CREATE TABLE object_fresh_writes (
  source TEXT NOT NULL,
  account TEXT NOT NULL,
  object_id TEXT NOT NULL,
  began BIGINT NOT NULL,
  ended BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (source, account, object_id)
)`;

MIGRATIONS.push({
  version: 6,
  name: "writes of an object's row from Stripe by other objects' events, begun and ended",
  sqlite: FRESH_WRITES_DDL,
  postgres: FRESH_WRITES_DDL,
});

/** A Dataverse row's changes still to be worked, for the claim's wait on an earlier one (NO_EARLIER_CHANGE_PENDING). */
const PENDING_CHANGES_DDL = `CREATE INDEX inbox_pending_changes ON inbox (account, object_id)
  WHERE status = 'pending' AND source = 'dataverse'`;

MIGRATIONS.push({
  version: 7,
  name: "a Dataverse row's changes wait for its earlier ones",
  sqlite: PENDING_CHANGES_DDL,
  postgres: PENDING_CHANGES_DDL,
});

export const SCHEMA_MIGRATIONS_DDL = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at BIGINT NOT NULL
)`;
