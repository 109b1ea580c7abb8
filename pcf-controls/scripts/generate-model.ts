/**
 * Writes `shared/model.generated.ts`: the table, column, navigation and option-set names the controls use,
 * taken from the table model (@stc/solution) so that no name is typed by hand a second time. The controls
 * import this small file instead of the model itself, which would put every table's metadata in each bundle.
 * The file is committed because jest runs the controls' tests without a build step; a test checks it is fresh.
 *
 *   npx tsx pcf-controls/scripts/generate-model.ts           write the file
 *   npx tsx pcf-controls/scripts/generate-model.ts --check   fail when the file is stale
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as prettier from 'prettier';
import { renderModelConstants } from './modelConstants';

const target = join(__dirname, '..', 'shared', 'model.generated.ts');

async function main(): Promise<void> {
  // Written as the repository's Prettier settings write it, so that formatting never makes it look stale.
  const options = (await prettier.resolveConfig(target)) ?? {};
  const source = await prettier.format(renderModelConstants(), { ...options, filepath: target });
  if (process.argv.includes('--check')) {
    if (readFileSync(target, 'utf8') !== source) {
      console.error(
        `${target} is out of date with the table model: run npx tsx pcf-controls/scripts/generate-model.ts`,
      );
      process.exit(1);
    }
    return;
  }
  writeFileSync(target, source);
  console.log(`wrote ${target}`);
}

void main();
