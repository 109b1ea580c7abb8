import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EntitySets, StcPaymentStatus, StcRefundRequestStatus, model, optionValue } from '../..';
import { optionSetTypeName, renderRows, rowTypeName } from '../rows';
import { renderTables } from '../tables';

const repoRoot = resolve(__dirname, '../../../..');
const generatedDir = resolve(__dirname, '../../generated');

describe('generated files', () => {
  it.each([
    ['rows.ts', renderRows],
    ['tables.ts', renderTables],
  ])('%s is up to date with the table model (regenerated into a temporary folder)', (file, render) => {
    const dir = mkdtempSync(join(tmpdir(), 'stc-generated-'));
    try {
      execFileSync(
        process.execPath,
        [require.resolve('tsx/cli'), 'solution/scripts/generate.ts', '--out', dir],
        {
          cwd: repoRoot,
        },
      );
      const fresh = readFileSync(join(dir, file), 'utf8');
      let current = '';
      try {
        current = readFileSync(join(generatedDir, file), 'utf8');
      } catch {
        throw new Error(
          `${join(generatedDir, file)} is missing: run \`npx tsx solution/scripts/generate.ts\` (npm install runs it)`,
        );
      }
      expect(current).toBe(fresh);
      expect(fresh).toBe(render(model));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('generated row types', () => {
  it('carry the option values and entity sets of the model', () => {
    expect(StcPaymentStatus.RequiresCapture).toBe(optionValue('stc_paymentstatus', 'requires_capture'));
    expect(StcRefundRequestStatus.AwaitingApproval).toBe(
      optionValue('stc_refundrequeststatus', 'Awaiting approval'),
    );
    expect(EntitySets.stc_journalentry).toBe('stc_journalentries');
    expect(EntitySets.transactioncurrency).toBe('transactioncurrencies');
  });

  it('give every table and option set a distinct type name and every option a distinct member', () => {
    const names = [...model.tables.map(rowTypeName), ...model.optionSets.map(optionSetTypeName)];
    expect(names.filter((name, index) => names.indexOf(name) !== index)).toEqual([]);
    const source = renderTables(model);
    for (const set of model.optionSets) {
      const block = source.split(`export const ${optionSetTypeName(set)} = {\n`)[1].split('} as const;')[0];
      const members = block
        .split('\n')
        .filter(Boolean)
        .map((line) => line.trim().split(':')[0]);
      expect(new Set(members).size).toBe(set.options.length);
    }
  });

  it('describe a lookup by its read value and its exact @odata.bind navigation', () => {
    const source = renderRows(model);
    const payment = source.split('export interface StcPayment {')[1].split('\n}\n')[0];
    expect(payment).toContain('_stc_customerid_value?: string | null;');
    expect(payment).toContain("'stc_customerid_account@odata.bind'?: string | null;");
    expect(payment).toContain("'stc_customerid_contact@odata.bind'?: string | null;");
    expect(payment).toContain('stc_status?: StcPaymentStatus | null;');
  });
});
