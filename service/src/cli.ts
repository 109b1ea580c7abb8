/**
 * Operator CLI, straight on the store (same DATABASE_URL / SQLITE_PATH as the service). Compiled:
 * `npm run cli -- <command>` (after `npm run build`); from the sources: `npx tsx service/src/cli.ts <command>`.
 *   dlq list [--all] [--limit N] [--json] | dlq show <id> | dlq retry <id> | dlq discard <id>
 *   backfill --since 2026-01-01 [--resources payments,customers,…]
 *   replay --since 2026-01-01 [--types charge.succeeded,…]
 *   reconcile --payout po_… | --sweep [--days 7]
 *   journal export --payout po_… | --from 2026-01-01 --to 2026-01-31 --format finance|business-central --out file.csv
 *   mapping check [--dir folder] | mapping dry-run <event.json> [--mapping name] [--dir folder]
 *   mapping suggest --table account --sample <object.json> [--all] [--json]   (also spelt `mappings`)
 *   mappings list | show N | diff A B | validate <dir> | create <dir> [--note text] [--activate] | activate N
 *   mappings rollback | dry-run N --event <inbox id> | replay [--type T] [--from DATE] [--to DATE]
 */
import { HISTORY_USAGE, runHistoryCommand } from './commands/history';
import { ConfigError, loadStoreConfig } from './config';
import { MAPPING_USAGE, runMappingCli } from './mapping/cli';
import {
  isMappingVersionCommand,
  MAPPING_VERSIONS_USAGE,
  runMappingVersionsCommand,
} from './commands/mappings';
import { RECONCILE_USAGE, runReconcileCommand } from './commands/reconcile';
import { JOURNAL_USAGE, runJournalCommand } from './commands/journal';
import { openStore, type DeadLetter, type Store } from './store';
import { FLAG, HELP_OPTION, parseCommandLine, TEXT, USAGE_EXIT } from './config/command-line';

const USAGE = `Usage: cli dlq list [--all] [--limit N] [--json] | dlq show <id> | dlq retry <id> | dlq discard <id>
${HISTORY_USAGE}
${RECONCILE_USAGE}
${JOURNAL_USAGE}
${MAPPING_USAGE}
${MAPPING_VERSIONS_USAGE}
Store: DATABASE_URL (PostgreSQL, with DATABASE_SCHEMA) or SQLITE_PATH (default data/connector.db).`;

export interface CliIo {
  env: NodeJS.ProcessEnv;
  out(line: string): void;
  err(line: string): void;
  /** For tests: an already open store. */
  store?: Store;
}

const DLQ_OPTIONS = { all: FLAG, limit: TEXT, json: FLAG, ...HELP_OPTION } as const;

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  if (argv[0] === 'backfill' || argv[0] === 'replay') return runHistoryCommand(argv, io);
  if (argv[0] === 'reconcile') return runReconcileCommand(argv, io);
  if (argv[0] === 'journal') return runJournalCommand(argv, io);
  if (argv[0] === 'mappings' && isMappingVersionCommand(argv.slice(1)))
    return runMappingVersionsCommand(argv.slice(1), io);
  if (argv[0] === 'mapping' || argv[0] === 'mappings') return runMappingCli(argv.slice(1), io);
  const parsed = parseCommandLine(argv, DLQ_OPTIONS, USAGE, io);
  if (!parsed) return USAGE_EXIT;
  const [group, command, idText] = parsed.positionals;
  if (
    parsed.values.help ||
    group !== 'dlq' ||
    !['list', 'show', 'retry', 'discard'].includes(command ?? '')
  ) {
    io.err(USAGE);
    return parsed.values.help ? 0 : USAGE_EXIT;
  }
  const id = Number(idText);
  if (command !== 'list' && (!Number.isSafeInteger(id) || id <= 0)) {
    io.err(`dlq ${command} needs a dead letter id (a positive integer), e.g. dlq ${command} 12`);
    return USAGE_EXIT;
  }

  let store = io.store;
  try {
    store ??= await openStore(loadStoreConfig(io.env));
  } catch (error) {
    io.err(
      error instanceof ConfigError ? error.message : `Cannot open the store: ${(error as Error).message}`,
    );
    return 1;
  }
  try {
    switch (command) {
      case 'list': {
        const limit = Number(parsed.values.limit ?? 100);
        const letters = await store.listDeadLetters({
          limit: Number.isFinite(limit) && limit > 0 ? limit : 100,
          includeResolved: parsed.values.all,
        });
        if (parsed.values.json) io.out(JSON.stringify(letters, null, 2));
        else printTable(letters, io);
        return 0;
      }
      case 'show': {
        const letter = await store.getDeadLetter(id);
        if (!letter) return notFound(id, io);
        io.out(JSON.stringify({ ...letter, payload: JSON.parse(letter.payload) }, null, 2));
        return 0;
      }
      case 'retry':
        if (!(await store.retryDeadLetter(id))) return notFound(id, io);
        io.out(`Dead letter ${id} queued again; a running service picks it up at its next poll.`);
        return 0;
      default:
        if (!(await store.discardDeadLetter(id))) return notFound(id, io);
        io.out(`Dead letter ${id} discarded; the event stays in the inbox as discarded.`);
        return 0;
    }
  } finally {
    if (!io.store) await store.close();
  }
}

function notFound(id: number, io: CliIo): number {
  io.err(`No open dead letter ${id} (see: dlq list --all)`);
  return 1;
}

function printTable(letters: DeadLetter[], io: CliIo): void {
  if (letters.length === 0) {
    io.out('The dead-letter queue is empty.');
    return;
  }
  const rows = letters.map((d) => [
    String(d.id),
    new Date(d.createdAtMs).toISOString(),
    d.source,
    d.type,
    d.account ? `${d.account}/${d.eventId}` : d.eventId,
    d.errorCode ?? '',
    String(d.attempts),
    d.resolution ?? '',
    d.error.length > 80 ? `${d.error.slice(0, 77)}...` : d.error,
  ]);
  const header = ['ID', 'DEAD SINCE', 'SOURCE', 'TYPE', 'EVENT', 'CODE', 'ATTEMPTS', 'RESOLVED', 'ERROR'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const row of [header, ...rows])
    io.out(
      row
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    );
}

if (require.main === module) {
  runCli(process.argv.slice(2), {
    env: process.env,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  }).then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
