/**
 * PostgreSQL: an event's completion as one statement. The outcome on the inbox row, the attempt, its Dataverse
 * requests, the objects' ordering stamps, the end of its fresh writes and a dead letter are data-modifying
 * parts of one WITH statement, so they commit together as the transaction they were, in one round trip
 * instead of one per part plus BEGIN and COMMIT. Every part reads from `finished`: when the event's lease is
 * no longer this worker's claim (another owner, or a later claim of the same owner after the lease expired:
 * its attempt number differs), the update finds no row and nothing else is written.
 */
import type { QueryConfig } from 'pg';
import { finishValues, finishedEvent } from './rows';
import { WRITE_COLUMNS, writeColumns } from './lineage';
import { KEEP_NEWER_STAMP } from './sql';
import type { CompletedAttempt } from './types';

const TEXT = `WITH finished AS (
    UPDATE inbox SET status = $1, lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = $2,
      last_error = $3, last_error_code = $4, updated_at = $5
    WHERE id = $6 AND lease_owner = $7 AND attempts = $8 AND status = 'processing'
    RETURNING id
  ), attempt AS (
    INSERT INTO attempts (inbox_id, attempt, worker, started_at, finished_at, outcome, error, error_code,
      mapping_version)
    SELECT id, $8::int, $7::text, $9::bigint, $5::bigint, $10::text, $3::text, $4::text, $11::text FROM finished
  ), writes AS (
    INSERT INTO dataverse_writes (${WRITE_COLUMNS})
    SELECT f.id, $8::int, u.mapping, u.mapping_version, u.table_name, u.row_id, u.operation, u.method, u.path,
      u.status, u.duration_ms, u.error, u.at
    FROM finished f,
      unnest($18::text[], $19::text[], $20::text[], $21::text[], $22::text[], $23::text[], $24::text[],
        $25::int[], $26::int[], $27::text[], $28::bigint[])
        WITH ORDINALITY AS u(mapping, mapping_version, table_name, row_id, operation, method, path, status,
          duration_ms, error, at, n)
    ORDER BY u.n
  ), stamps AS (
    INSERT INTO object_versions (source, account, object_id, event_created, event_id, updated_at)
    SELECT $13::text, $14::text, o.object_id, $15::bigint, $16::text, $5::bigint
    FROM finished, unnest($17::text[]) AS o(object_id)
    ${KEEP_NEWER_STAMP}
  ), fresh AS (
    UPDATE object_fresh_writes w SET ended = LEAST(w.ended + u.n, w.began), updated_at = $5::bigint
    FROM finished, unnest($29::text[], $30::bigint[]) AS u(object_id, n)
    WHERE w.source = $13::text AND w.account = $14::text AND w.object_id = u.object_id
  ), dead AS (
    INSERT INTO dead_letters (inbox_id, error, error_code, attempts, created_at)
    SELECT id, $3::text, $4::text, $8::int, $5::bigint FROM finished WHERE $12::boolean
  )
  SELECT count(*)::int AS finished FROM finished`;

/** The statement for one completed attempt; its one row's `finished` is 1 when the outcome was recorded. */
export function completionStatement(a: CompletedAttempt): QueryConfig {
  const { event, outcome } = a;
  const finished = finishedEvent(a);
  return {
    name: 'stc_complete',
    text: TEXT,
    values: [
      ...finishValues(a, finished),
      a.startedAtMs,
      outcome.kind,
      a.mappingVersion ?? null,
      outcome.kind === 'dead',
      event.source,
      event.account,
      event.eventCreatedMs,
      event.eventId,
      finished.stampedObjects,
      ...writeColumns(a.writes ?? []),
      finished.freshEnded.objectIds,
      finished.freshEnded.counts,
    ],
  };
}
