import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { model } from '..';
import { releasedSchema, upgradeBreaks, type ReleasedSchema } from '../compatibility';

const releasedDir = resolve(__dirname, '../../../released');
const released: ReleasedSchema[] = readdirSync(releasedDir)
  .filter((name) => name.endsWith('.json'))
  .map((name) => JSON.parse(readFileSync(join(releasedDir, name), 'utf8')));

describe('upgrade compatibility', () => {
  it('has at least one released version on record', () => {
    expect(released.length).toBeGreaterThan(0);
  });

  it.each(released.map((schema) => [schema.version, schema] as const))(
    'keeps every table, column, key, relationship and option value of %s',
    (version, schema) => {
      const breaks = upgradeBreaks(schema, model);
      if (breaks.length > 0) {
        throw new Error(
          `The model breaks an upgrade from ${version}:\n  ${breaks.join('\n  ')}\n` +
            `Keep the released names, types and values (add instead). Only if ${version} was never released, ` +
            're-record it with `npx tsx solution/scripts/release-snapshot.ts`.',
        );
      }
    },
  );

  it('names what a rename, a type change or a renumbered option would break', () => {
    const before = releasedSchema(model, '1.0.0');
    const changed = structuredClone(model);
    const payment = changed.tables.find((table) => table.logicalName === 'stc_payment');
    const amount = payment?.columns.find((column) => column.logicalName === 'stc_amount');
    if (!payment || !amount) throw new Error('stc_payment.stc_amount missing from the model');
    amount.logicalName = 'stc_grossamount';
    const status = payment.columns.find((column) => column.logicalName === 'stc_last4');
    if (status) status.type = 'memo';
    const set = changed.optionSets.find((candidate) => candidate.name === 'stc_paymentstatus');
    if (set) set.options[0].value = 100000099;
    expect(upgradeBreaks(before, changed)).toEqual([
      'column stc_payment.stc_amount was removed or renamed',
      'column stc_payment.stc_last4: type string became memo',
      'option stc_paymentstatus.requires_payment_method: value 100000000 became 100000099',
    ]);
  });
});
