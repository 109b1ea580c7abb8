/** `npm test` rebuilds the controls for the browser suites only when a bundle is missing or older than a source. */
import { mkdtempSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Plain CommonJS, run by npm test without a TypeScript runner.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { needsBuild, newestSource } = require('../../scripts/prepare-browser-tests.js');

test('builds when a bundle is missing or older than the newest source, not otherwise', () => {
  expect(needsBuild([undefined, 2000], 1000)).toBe(true);
  expect(needsBuild([2000, 500], 1000)).toBe(true);
  expect(needsBuild([2000, 3000], 1000)).toBe(false);
});

test('the newest source leaves out builds, dependencies and tests', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stc-sources-'));
  const at = (file: string, seconds: number) => {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), 'x');
    utimesSync(join(dir, file), seconds, seconds);
  };
  at('PaymentPanel/index.ts', 1000);
  at('shared/money.ts', 2000);
  at('out/controls/PaymentPanel/bundle.js', 9000);
  at('node_modules/react/index.js', 9000);
  at('PaymentPanel/__tests__/panel.test.tsx', 9000);
  expect(newestSource(dir)).toBe(2000 * 1000);
});
