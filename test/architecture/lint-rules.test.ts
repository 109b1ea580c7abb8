/**
 * The architecture's import rules (eslint/architecture.mjs) refuse the arrows they should and let the allowed
 * ones through, on source written at the paths a real file would have.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

const repoRoot = resolve(__dirname, '../..');

interface Case {
  file: string;
  source: string;
}
const cases: Case[] = [];
let results: string[][] | undefined;

/** Registers a case at collection time; every case is linted in one child process before the tests run. */
function lintCase(file: string, source: string): () => string[] {
  const index = cases.push({ file, source: `${source}\nexport const used = x;\n` }) - 1;
  return () => results![index];
}

beforeAll(() => {
  const output = execFileSync(process.execPath, [resolve(__dirname, 'lint-cases.mjs')], {
    cwd: repoRoot,
    input: JSON.stringify(cases.map((c) => ({ filePath: c.file, source: c.source }))),
    encoding: 'utf8',
  });
  results = JSON.parse(output) as string[][];
});

jest.setTimeout(120_000);

const refused: Array<[string, string, string]> = [
  [
    'service/src/store/inbox.ts',
    "import { x } from '../pipeline';",
    'service/src/store may import only: config',
  ],
  ['service/src/pipeline/claims.ts', "import { x } from '../inbound/payments';", 'service/src/pipeline may'],
  ['service/src/mapping/extra.ts', "import { x } from '../reconciliation';", 'service/src/mapping may'],
  ['service/src/inbound/payments/extra.ts', "import { x } from '../../outbound';", 'service/src/inbound may'],
  ['service/src/inbound/extra.ts', "import { x } from '../service';", 'service/src/inbound may'],
  ['service/src/pipeline/extra.ts', "import x from 'koa';", 'Only the HTTP edge'],
  ['service/src/store/extra.ts', "import { x } from '@stc/emulators';", 'never imports the emulators'],
  ['sandbox/src/extra.ts', "import { x } from '@stc/testkit';", 'never imports test support'],
  ['emulators/src/stripe/extra.ts', "import { x } from '@stc/service';", 'no package cycle'],
  ['webresources/src/common/extra.ts', "import { x } from '@stc/pcf-controls/shared/money';", 'public entry'],
  ['pcf-controls/PaymentPanel/extra.ts', "import { x } from 'node:fs';", 'Node built-ins'],
];
const allowed: Array<[string, string]> = [
  ['service/src/inbound/payments/extra.ts', "import { x } from '../../write/rows';"],
  ['service/src/outbound/extra.ts', "import { x } from '../inbound';"],
  ['service/src/intake/extra.ts', "import { x } from './stripe';"],
  ['service/src/intake/extra.ts', "import x from 'koa';"],
  ['service/src/inbound/payments/extra.ts', "import { x } from '../customers';"],
  ['service/src/service.ts', "import { x } from './outbound';"],
  ['service/src/store/__tests__/extra.test.ts', "import { x } from '@stc/testkit';"],
  ['webresources/src/common/extra.ts', "import { x } from '@stc/pcf-controls';"],
];

describe('import rules', () => {
  const refusedResults = refused.map(
    ([file, source, message]) => [file, source, message, lintCase(file, source)] as const,
  );
  const allowedResults = allowed.map(([file, source]) => [file, source, lintCase(file, source)] as const);

  it.each(refusedResults)('%s: %s is refused', (_file, _source, message, errors) => {
    expect(errors().join('\n')).toContain(message);
  });

  it.each(allowedResults)('%s: %s is allowed', (_file, _source, errors) => {
    expect(errors()).toEqual([]);
  });
});
