/**
 * `cli mappings …`: the store's mapping versions from the operator CLI (service/src/cli.ts), on the same store
 * as the service (DATABASE_URL / SQLITE_PATH). A running service maps with a version activated here within
 * MAPPINGS_POLL_SECONDS; a replay queues events its workers apply under the active version.
 */
import { readMappingFolder, MappingError } from '../mapping';
import { model } from '@stc/solution';
import { ConfigError, loadStoreConfig } from '../config';
import { FLAG, HELP_OPTION, parseCommandLine, TEXT, USAGE_EXIT } from '../config/command-line';
import {
  createMappingVersionOps,
  MappingVersionRequestError,
  type MappingVersionOps,
} from '../mapping-versions';
import { openStore, type MappingVersionInfo, type Store } from '../store';

export const MAPPING_VERSIONS_USAGE = `cli mappings list | show <N> [--file name] | diff <A> <B> | validate <dir>
cli mappings create <dir> [--note text] [--activate] | activate <N> | rollback
cli mappings dry-run <N> --event <inbox id> | replay [--type T|prefix.*] [--from DATE] [--to DATE]`;

const COMMANDS = ['list', 'show', 'diff', 'validate', 'create', 'activate', 'rollback', 'dry-run', 'replay'];

/** Whether `cli mappings …` is one of these (the folder-based `mapping dry-run <event.json>` is not). */
export function isMappingVersionCommand(args: string[]): boolean {
  const [command] = args;
  if (command === 'dry-run') return args.includes('--event');
  return COMMANDS.includes(command ?? '');
}

export interface MappingVersionsCliIo {
  env: NodeJS.ProcessEnv;
  out(line: string): void;
  err(line: string): void;
  /** For tests: an already open store. */
  store?: Store;
}

const OPTIONS = {
  note: TEXT,
  activate: FLAG,
  event: TEXT,
  file: TEXT,
  type: TEXT,
  from: TEXT,
  to: TEXT,
  ...HELP_OPTION,
} as const;

type Parsed = NonNullable<ReturnType<typeof parseCommandLine<typeof OPTIONS>>>;

class UsageError extends Error {}

function positiveInteger(text: string | undefined, what: string): number {
  const value = Number(text);
  if (!text || !Number.isSafeInteger(value) || value <= 0)
    throw new UsageError(`${what} must be a positive integer\n${MAPPING_VERSIONS_USAGE}`);
  return value;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** `--from` / `--to` in ms; a day (YYYY-MM-DD, UTC) as `--to` includes that whole day. */
function date(text: string | undefined, name: 'from' | 'to'): number | undefined {
  if (text === undefined) return undefined;
  const day = /^\d{4}-\d{2}-\d{2}$/.test(text);
  const ms = new Date(day ? `${text}T00:00:00Z` : text).getTime();
  if (Number.isNaN(ms))
    throw new UsageError(`--${name} ${text} is not a date (use YYYY-MM-DD or an ISO time)`);
  return day && name === 'to' ? ms + DAY_MS : ms;
}

const summary = (v: MappingVersionInfo) =>
  [
    `${v.active ? '*' : ' '} ${v.version}`,
    new Date(v.createdAtMs).toISOString(),
    v.createdBy,
    v.hash.slice(0, 12),
    v.note ?? '',
  ].join('  ');

const BY = 'cli';

/** A version's summary and its files' sizes, or one file's text. */
async function show(
  ops: MappingVersionOps,
  number: number,
  file: string | undefined,
  io: MappingVersionsCliIo,
): Promise<number> {
  const version = await ops.get(number);
  if (file !== undefined) {
    const text = version.files[file];
    if (text === undefined) {
      io.err(
        `Version ${version.version} has no file ${file} (files: ${Object.keys(version.files).join(', ')})`,
      );
      return 1;
    }
    io.out(text);
    return 0;
  }
  io.out(summary(version));
  for (const [name, text] of Object.entries(version.files)) io.out(`  ${name}  ${text.length} characters`);
  return 0;
}

/** One command on the operations; the exit code. */
async function run(ops: MappingVersionOps, parsed: Parsed, io: MappingVersionsCliIo): Promise<number> {
  const [command, first, second] = parsed.positionals;
  const values = parsed.values;
  switch (command) {
    case 'list': {
      const versions = await ops.list();
      if (versions.length === 0)
        io.out('No mapping version is stored yet: the service stores its files at start.');
      for (const version of versions) io.out(summary(version));
      return 0;
    }
    case 'show':
      return show(ops, positiveInteger(first, 'The version'), values.file, io);
    case 'diff': {
      const diffs = await ops.diff(
        positiveInteger(first, 'The first version'),
        positiveInteger(second, 'The second version'),
      );
      if (diffs.length === 0) io.out('The two versions have the same files.');
      for (const diff of diffs) io.out(diff.patch);
      return 0;
    }
    case 'validate': {
      if (!first) throw new UsageError(`validate needs a folder\n${MAPPING_VERSIONS_USAGE}`);
      const set = ops.validate(readMappingFolder(first));
      io.out(`${set.names.length} mappings in ${set.files.length} files: valid against the table model`);
      return 0;
    }
    case 'create': {
      if (!first) throw new UsageError(`create needs a folder\n${MAPPING_VERSIONS_USAGE}`);
      const created = await ops.create(readMappingFolder(first), {
        createdBy: BY,
        note: values.note ?? null,
        activate: values.activate === true,
      });
      io.out(
        `Stored as mapping version ${created.version}${created.active ? ', active' : ` (activate with: mappings activate ${created.version})`}`,
      );
      return 0;
    }
    case 'activate': {
      const result = await ops.activate(positiveInteger(first, 'The version'), BY);
      io.out(
        `Mapping version ${result.active} is active (was ${result.previous ?? 'none'}); running services switch within their poll interval.`,
      );
      return 0;
    }
    case 'rollback': {
      const result = await ops.rollback(BY);
      io.out(`Rolled back: mapping version ${result.active} is active again (was ${result.previous}).`);
      return 0;
    }
    case 'dry-run': {
      const version = positiveInteger(first, 'The version');
      const event = await ops.inboxEvent(positiveInteger(values.event, '--event (an inbox id)'));
      io.out(JSON.stringify(await ops.dryRun(version, event), null, 2));
      return 0;
    }
    default: {
      const filter = { type: values.type, fromMs: date(values.from, 'from'), toMs: date(values.to, 'to') };
      const result = await ops.replay(filter);
      io.out(
        `${result.queued} events queued to be applied again under mapping version ${result.activeVersion ?? 'none'}; events older than the last one applied to their object are superseded, not applied.`,
      );
      return 0;
    }
  }
}

export async function runMappingVersionsCommand(argv: string[], io: MappingVersionsCliIo): Promise<number> {
  const parsed = parseCommandLine(argv, OPTIONS, MAPPING_VERSIONS_USAGE, io);
  if (!parsed) return USAGE_EXIT;
  if (parsed.values.help) {
    io.out(MAPPING_VERSIONS_USAGE);
    return 0;
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
    return await run(createMappingVersionOps({ store, model }), parsed, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(error.message);
      return USAGE_EXIT;
    }
    if (error instanceof MappingError || error instanceof MappingVersionRequestError) {
      io.err(error.message);
      return 1;
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      io.err((error as Error).message);
      return 1;
    }
    throw error;
  } finally {
    if (!io.store) await store.close();
  }
}
