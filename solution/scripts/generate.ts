/**
 * Writes the files generated from the table model into `solution/src/generated/`: `tables.ts` (table, column,
 * navigation and key names and option set values, as constants that import nothing, for the service, the
 * controls and the form scripts) and `rows.ts` (row types, entity set names). `--out <dir>` writes them
 * elsewhere (the up-to-date test compares against it). Run on install by the root `prepare` script.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderRows } from '../src/codegen/rows';
import { renderTables } from '../src/codegen/tables';
import { model } from '../src/model';

function outDir(argv: string[]): string {
  const index = argv.indexOf('--out');
  if (index === -1) return resolve(__dirname, '../src/generated');
  const dir = argv[index + 1];
  if (!dir) throw new Error('--out needs a directory');
  return resolve(dir);
}

const dir = outDir(process.argv.slice(2));
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'tables.ts'), renderTables(model));
writeFileSync(join(dir, 'rows.ts'), renderRows(model));
