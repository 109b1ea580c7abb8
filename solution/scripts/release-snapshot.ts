/**
 * Records what the current version ships into solution/released/<version>.json. Run it when a version is
 * released; the compatibility test then keeps every later model an upgrade of it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { releasedSchema } from '../src/model/compatibility';
import { model } from '../src/model';

const repoRoot = resolve(__dirname, '../..');
const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
const file = join(repoRoot, 'solution', 'released', `${version}.json`);
writeFileSync(file, `${JSON.stringify(releasedSchema(model, version), null, 2)}\n`);
process.stdout.write(`${file}\n`);
