import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tables from '../../../tables';
import { model } from '../..';
import { columnPropertyName, keyPropertyName, renderTables, tableConstName } from '../tables';

type TableConst = {
  logicalName: string;
  entitySetName: string;
  primaryId: string;
  primaryName: string;
  col: Record<string, string>;
  lookup?: Record<string, { value: string; bind: Record<string, string> }>;
  toMany?: Record<string, string>;
  keys?: Record<string, { logicalName: string; columns: readonly string[] }>;
};
const byName = tables as unknown as Record<string, TableConst>;

describe('generated table constants (@stc/solution/tables)', () => {
  it('import nothing, so a browser bundle takes the names without the model', () => {
    const source = readFileSync(resolve(__dirname, '../../generated/tables.ts'), 'utf8');
    expect(source).not.toMatch(/^\s*(import|export .* from)\b/m);
    expect(renderTables(model)).not.toMatch(/^\s*(import|export .* from)\b/m);
  });

  it.each(model.tables.map((t) => [t.logicalName, t] as const))(
    '%s: names, entity set, every column, lookup, navigation and key as the model declares them',
    (_name, table) => {
      const constant = byName[tableConstName(table)];
      expect(constant.logicalName).toBe(table.logicalName);
      expect(constant.entitySetName).toBe(table.entitySetName);
      expect(constant.primaryId).toBe(table.primaryIdColumn);
      expect(constant.primaryName).toBe(table.primaryNameColumn);
      const columns = table.columns.filter((c) => c.type !== 'uniqueidentifier');
      expect(Object.values(constant.col).sort()).toEqual(columns.map((c) => c.logicalName).sort());
      for (const column of columns) {
        expect(constant.col[columnPropertyName(column.schemaName)]).toBe(column.logicalName);
        if (column.type === 'lookup' || column.type === 'customer' || column.type === 'owner') {
          const lookup = constant.lookup?.[columnPropertyName(column.schemaName)];
          expect(lookup?.value).toBe(`_${column.logicalName}_value`);
          expect(lookup?.bind).toEqual(column.navigation);
        }
      }
      for (const relationship of model.relationships.filter((r) => r.referencedTable === table.logicalName))
        expect(constant.toMany?.[`${relationship.referencingTable}_${relationship.referencingColumn}`]).toBe(
          relationship.referencedNavigation,
        );
      for (const key of table.keys)
        expect(constant.keys?.[keyPropertyName(table, key.logicalName)]).toEqual({
          logicalName: key.logicalName,
          columns: key.columns,
        });
    },
  );

  it('give option values by the member name, by Stripe spelling and their labels', () => {
    expect(tables.StcPaymentStatus.RequiresCapture).toBe(
      model.optionSets
        .find((s) => s.name === 'stc_paymentstatus')
        ?.options.find((o) => o.externalValue === 'requires_capture')?.value,
    );
    expect(tables.PaymentStatus.requires_capture).toBe(tables.StcPaymentStatus.RequiresCapture);
    expect(tables.StcRefundRequestStatusLabels[tables.RefundRequestStatus.awaiting_approval]).toBe(
      'Awaiting approval',
    );
    expect(tables.Payment.keys.stripeid.columns).toEqual(['stc_stripeid']);
    expect(tables.RefundRequest.lookup.paymentid.bind.stc_payment).toBe('stc_paymentid');
  });
});
