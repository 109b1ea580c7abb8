/**
 * No Dataverse name of the table model is typed by hand in product code (in a string, a template or as a member
 * of a row written out): the controls, the form scripts and the service take them from
 * `@stc/solution/tables` (generated from `solution/src/model/`).
 * The model itself, generated files, mapping files (`service/mappings/`, validated against the model at start)
 * and tests are outside the scan.
 */
import { join } from 'node:path';
import { model } from '@stc/solution';
import { findHandTypedNames, modelNames, scanFolders } from './scan';

const ROOT = join(__dirname, '..', '..');
/** Folders whose product code holds no hand-typed model name. */
const SCANNED = ['pcf-controls', 'webresources', 'service/src'];
const names = modelNames(model);

describe('hand-typed table model names', () => {
  it.each(SCANNED)('%s has none in its product code', (folder) => {
    const found = scanFolders(ROOT, [folder], names).map(
      (f) => `${f.file}:${f.line} ${f.literal} (import the name from @stc/solution/tables)`,
    );
    expect(found).toEqual([]);
  });

  it('are found in string and template literals and written row members, not in comments, reads or other stc_ words', () => {
    const source = [
      '// stc_amount in a comment is fine',
      "const a = row['stc_amount'];",
      'const b = `stc_payments(${id})`;',
      "const c = { '_stc_paymentid_value': 1, [`stc_customerid_account@odata.bind`]: 2 };",
      "const d = 'dataverse.stc_refundrequest.create';",
      "const e = ['stc_events_received_total', 'stc_payment_', 'stc_'];",
      'const f = { stc_total: 1, stc_linekey };',
      'interface G { stc_status?: number }',
      'const { stc_currency: currency } = row;',
      'const h = row.stc_amount + Payment.lookup.paymentid.bind.stc_payment;',
    ].join('\n');
    expect(findHandTypedNames('sample.ts', source, names).map((f) => [f.line, f.name])).toEqual([
      [2, 'stc_amount'],
      [3, 'stc_payments'],
      [4, '_stc_paymentid_value'],
      [4, 'stc_customerid_account'],
      [5, 'stc_refundrequest'],
      [7, 'stc_total'],
      [7, 'stc_linekey'],
      [8, 'stc_status'],
      [9, 'stc_currency'],
    ]);
  });
});
