import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMappingCli } from '../cli';
import { REFERENCE } from './fixtures';

async function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runMappingCli(args, { out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const EVENTS = join(REFERENCE, 'events-2020');

test('check lists the default mappings as valid', async () => {
  const result = await run(['check']);
  expect(result.code).toBe(0);
  expect(result.out).toMatch(
    /^payment_intent\tpayment_intent → stc_payment\tversion 2\t.*payments\.yaml\tsha256 [0-9a-f]{12}$/m,
  );
  expect(result.out).toMatch(/\d+ mappings in \d+ files: valid against the table model/);
});

test('dry-run prints the rows for a recorded event', async () => {
  const result = await run(['dry-run', join(EVENTS, 'refund_created.json')]);
  expect(result.code).toBe(0);
  const [refund] = JSON.parse(result.out);
  expect(refund).toMatchObject({ mapping: 'refund', version: '1', applies: true });
  expect(refund.rows[0].row).toMatchObject({ stc_stripeid: 're_1Nispe2eZvKYlo2Cd31jOCgZ', stc_amount: 10 });
});

test('a bad mapping folder fails with the file, mapping and column', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stc-mappings-'));
  writeFileSync(
    join(dir, 'broken.yaml'),
    'version: 2\nmappings:\n  pay:\n    source: charge\n    table: stc_payment\n    key: { stc_stripeid: id }\n    columns:\n      stc_amont: amount\n',
  );
  const result = await run(['check', '--dir', dir]);
  expect(result.code).toBe(1);
  expect(result.err).toBe(
    `${join(dir, 'broken.yaml')}: mapping "pay", column "stc_amont": table "stc_payment" has no column "stc_amont"`,
  );
});
