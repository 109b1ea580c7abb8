/**
 * `cli mapping`: the mapping files from the operator CLI (service/src/cli.ts), for whoever edits them:
 *   mapping check [--dir service/mappings]
 *     loads every file against the table model; prints each mapping with its version and file hash.
 *   mapping dry-run <event.json> [--mapping name] [--dir service/mappings]
 *     prints the rows the mappings for the event's object would write (the event's own copy of the object,
 *     no Stripe or Dataverse call). Exit code 1 with the error (file, mapping, column) when one fails.
 *   mapping suggest --table account --sample <object-or-event.json> [--all] [--json] [--dir folder]
 *     for the table's columns no mapping fills yet (every column with --all), the sample's fields that could
 *     fill them, ranked, with an expression and the reasons; nothing is written.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Stripe from 'stripe';
import { model } from '@stc/solution';
import { dryRun, loadMappings, MappingError } from '.';
import { mappedColumns, suggestColumns } from './suggest';

const DEFAULT_DIR = join(__dirname, '../../mappings');

export const MAPPING_USAGE =
  'cli mapping check [--dir folder] | mapping dry-run <event.json> [--mapping name] [--dir folder]\n' +
  'cli mapping suggest --table <table> --sample <object.json> [--all] [--json] [--dir folder]';

export interface CliOutput {
  out(line: string): void;
  err(line: string): void;
}

function option(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

export async function runMappingCli(args: string[], io: CliOutput): Promise<number> {
  const [command, ...rest] = args;
  const dir = option(rest, '--dir') ?? DEFAULT_DIR;
  try {
    if (command === 'check') {
      const set = loadMappings(dir, { model });
      for (const file of set.files) {
        for (const mapping of file.mappings) {
          io.out(
            `${mapping.name}\t${mapping.source} → ${mapping.table.logicalName}\tversion ${file.version}\t${file.file}\tsha256 ${file.hash.slice(0, 12)}`,
          );
        }
      }
      io.out(`${set.names.length} mappings in ${set.files.length} files: valid against the table model`);
      return 0;
    }
    if (command === 'dry-run') {
      const eventFile = rest.find(
        (arg, index) => !arg.startsWith('--') && !rest[index - 1]?.startsWith('--'),
      );
      if (!eventFile) {
        io.err('dry-run needs an event file: dry-run <event.json> [--mapping name] [--dir folder]');
        return 2;
      }
      const event = JSON.parse(readFileSync(eventFile, 'utf8')) as Stripe.Event;
      const set = loadMappings(dir, { model });
      const wanted = option(rest, '--mapping');
      const objectType = (event.data?.object as { object?: string } | undefined)?.object ?? '';
      const candidates = wanted ? [set.get(wanted)] : set.forSource(objectType);
      if (candidates.length === 0) {
        io.err(`no mapping reads "${objectType}" objects (mappings: ${set.names.join(', ')})`);
        return 1;
      }
      const results = [];
      for (const mapping of candidates) {
        const rows = await dryRun(mapping, event);
        results.push({ mapping: mapping.name, version: mapping.version, applies: rows.length > 0, rows });
      }
      io.out(JSON.stringify(results, null, 2));
      return 0;
    }
    if (command === 'suggest') return suggest(rest, dir, io);
    io.err(`Usage: ${MAPPING_USAGE}`);
    return 2;
  } catch (error) {
    io.err(error instanceof MappingError ? error.message : String((error as Error).message ?? error));
    return 1;
  }
}

function suggest(args: string[], dir: string, io: CliOutput): number {
  const tableName = option(args, '--table');
  const sampleFile = option(args, '--sample');
  if (!tableName || !sampleFile) {
    io.err('suggest needs a table and a sample: suggest --table account --sample customer.json');
    return 2;
  }
  const table = model.tables.find((entry) => entry.logicalName === tableName);
  if (!table) {
    io.err(
      `no table "${tableName}" in the table model (tables: ${model.tables.map((entry) => entry.logicalName).join(', ')})`,
    );
    return 1;
  }
  const sample: unknown = JSON.parse(readFileSync(sampleFile, 'utf8'));
  const mapped = args.includes('--all') ? [] : mappedColumns(loadMappings(dir, { model }), tableName);
  const columns = suggestColumns(table, sample, { mapped });
  if (args.includes('--json')) {
    io.out(JSON.stringify(columns, null, 2));
    return 0;
  }
  if (columns.length === 0) io.out(`every column of ${tableName} is mapped already (--all to see them)`);
  for (const column of columns) {
    io.out(`${column.column} (${column.type})`);
    if (column.suggestions.length === 0) io.out('  no field of the sample fits');
    for (const suggestion of column.suggestions) {
      io.out(`  ${suggestion.score.toFixed(2)}  ${suggestion.expression}\n        ${suggestion.reason}`);
    }
  }
  io.out('Suggestions only: copy an expression into the mapping file to use it.');
  return 0;
}
