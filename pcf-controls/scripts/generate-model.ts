/**
 * Writes `shared/model.generated.ts`: the table, column, navigation and option-set names the controls use,
 * taken from the table model (@stc/solution) so that no name is typed by hand a second time. The controls
 * import this small file instead of the model itself, which would put every table's metadata in each bundle.
 *
 *   npx tsx pcf-controls/scripts/generate-model.ts           write the file
 *   npx tsx pcf-controls/scripts/generate-model.ts --check   fail when the file is stale
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderModelConstants } from './modelConstants';

const target = join(__dirname, '..', 'shared', 'model.generated.ts');
const source = renderModelConstants();

if (process.argv.includes('--check')) {
  const current = readFileSync(target, 'utf8');
  if (current !== source) {
    console.error(
      `${target} is out of date with the table model: run npx tsx pcf-controls/scripts/generate-model.ts`,
    );
    process.exit(1);
  }
} else {
  writeFileSync(target, source);
  console.log(`wrote ${target}`);
}
