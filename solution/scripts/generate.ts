/**
 * Writes the files generated from the table model: `solution/src/generated/rows.ts` (row types, option set
 * values, entity set names). `--out <dir>` writes them elsewhere (the up-to-date test compares against it).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderRows } from '../src/codegen/rows';
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
writeFileSync(join(dir, 'rows.ts'), renderRows(model));
