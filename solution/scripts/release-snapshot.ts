/**
 * Records what the current version ships into solution/released/<version>.json. Run it when a version is
 * released; the compatibility test then keeps every later model an upgrade of it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { releasedSchema } from '../src/model/compatibility';
import { model } from '../src/model';

async function main(): Promise<void> {
  const repoRoot = resolve(__dirname, '../..');
  const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  const file = join(repoRoot, 'solution', 'released', `${version}.json`);
  const options = (await resolveConfig(file)) ?? {};
  writeFileSync(
    file,
    await format(JSON.stringify(releasedSchema(model, version)), { ...options, filepath: file }),
  );
  process.stdout.write(`${file}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exitCode = 1;
});
