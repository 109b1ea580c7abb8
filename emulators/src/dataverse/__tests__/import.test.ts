/**
 * Import fidelity: the table model the emulator reads from the packed solution zip equals the one it builds
 * from the model object, for every table of the connector.
 */
import { model, type Column, type TableModel } from '@stc/solution';
import { modelOfCustomizations, readSolutionZip } from '../customizations';
import { buildModelIndex, type TableMeta } from '../metadata';
import { mergeModels, platformModel } from '../solutions';
import { solutionZip } from './solution-zip';

const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);

/** What the emulator serves of a table: names, columns and their types, keys, options, navigations. */
function served(meta: TableMeta, source: TableModel) {
  const optionSet = (name: string) => source.optionSets.find((set) => set.name === name)?.options;
  const columnOf = (c: Column) => ({
    logicalName: c.logicalName,
    schemaName: c.schemaName,
    type: c.type,
    requiredLevel: c.requiredLevel,
    ...('maxLength' in c ? { maxLength: c.maxLength } : {}),
    ...('precision' in c ? { precision: c.precision } : {}),
    ...('targets' in c ? { targets: c.targets, navigation: c.navigation } : {}),
    ...('optionSet' in c ? { optionSet: c.optionSet, options: optionSet(c.optionSet) } : {}),
    ...(c.type === 'boolean' ? { labels: [c.trueLabel, c.falseLabel] } : {}),
  });
  return {
    logicalName: meta.logicalName,
    entitySetName: meta.entitySetName,
    primaryId: meta.primaryId,
    primaryName: meta.primaryName,
    ownership: meta.table.ownership,
    columns: [...meta.columns.values()].map(columnOf),
    keys: meta.keys,
    optionValues: [...meta.optionValues].map(([name, values]) => [name, [...values]]),
    singleNavigations: [...meta.singleNavigations.values()].map((n) => [
      n.name,
      n.column.logicalName,
      n.target,
    ]),
    // Relationships have no order: the zip lists the solution's, the platform has its own.
    collectionNavigations: [...meta.collectionNavigations.values()].sort(byName),
    dependents: meta.dependents.map((r) => [r.schemaName, r.cascadeDelete]).sort(),
  };
}

let imported: TableModel;

beforeAll(async () => {
  const pkg = await readSolutionZip(await solutionZip('1.0.0'));
  expect(pkg).toMatchObject({ uniqueName: 'StripeConnector', version: '1.0.0.0', managed: true });
  const platform = platformModel(model);
  imported = mergeModels(platform, [modelOfCustomizations(pkg.customizationsXml, platform)]);
}, 60_000);

test('every table of the model is built from the zip as from the model object', () => {
  const fromModel = buildModelIndex(model);
  const fromZip = buildModelIndex(imported);
  expect([...fromZip.byLogical.keys()].sort()).toEqual([...fromModel.byLogical.keys()].sort());
  for (const table of model.tables) {
    const expected = served(fromModel.byLogical.get(table.logicalName)!, model);
    expect(served(fromZip.byLogical.get(table.logicalName)!, imported)).toEqual(expected);
  }
});

test('the custom tables come from the zip alone, the standard ones from the platform with their additions', () => {
  const platform = platformModel(model);
  expect(platform.tables.some((t) => t.logicalName === 'stc_payment')).toBe(false);
  const account = imported.tables.find((t) => t.logicalName === 'account')!;
  expect(account.columns.map((c) => c.logicalName)).toContain('stc_stripecustomerid');
  expect(account.keys.map((k) => k.logicalName)).toEqual(['stc_account_stripecustomerid_key']);
  expect(platform.tables.find((t) => t.logicalName === 'account')!.keys).toEqual([]);
});
