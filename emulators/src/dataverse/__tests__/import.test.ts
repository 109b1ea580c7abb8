/**
 * Import fidelity: the table model the emulator reads from the packed solution zip equals the one it builds
 * from the model object, for every table of the connector.
 */
import { model, type Column, type TableModel } from '@stc/solution';
import { startDataverseEmulator, type DataverseEmulator } from '..';
import { modelOfCustomizations, readSolutionZip } from '../customizations';
import { buildModelIndex, type TableMeta } from '../metadata';
import { mergeModels, platformModel } from '../solutions';
import { call, start } from './harness';
import { importBody, solutionZip } from './solution-zip';

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
let zip: Buffer;

beforeAll(async () => {
  zip = await solutionZip('1.0.0');
  const pkg = await readSolutionZip(zip);
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

describe('served metadata', () => {
  let fromModel: DataverseEmulator;
  let fromZip: DataverseEmulator;

  beforeAll(async () => {
    fromModel = await start({ model });
    fromZip = await startDataverseEmulator({ withoutSolution: true });
    expect((await call(fromZip, 'POST', 'ImportSolution', importBody(zip))).status).toBe(204);
  }, 30_000);

  afterAll(async () => {
    await fromModel.close();
    await fromZip.close();
  });

  /** The answer's body without its context URL (which names the emulator's port). */
  async function definition(dv: DataverseEmulator, path: string) {
    const reply = await call(dv, 'GET', path);
    expect(reply.status).toBe(200);
    const { '@odata.context': context, ...body } = reply.body;
    expect(context).toContain(`${dv.url}$metadata#EntityDefinitions`);
    const bySchemaOrNavigation = (a: Record<string, string>, b: Record<string, string>) =>
      `${a.SchemaName}${a.ReferencingEntityNavigationPropertyName}`.localeCompare(
        `${b.SchemaName}${b.ReferencingEntityNavigationPropertyName}`,
      );
    for (const name of ['OneToManyRelationships', 'ManyToOneRelationships'])
      body[name]?.sort(bySchemaOrNavigation);
    return body;
  }

  test('EntityDefinitions lists every table of the model under the same entity set', async () => {
    const list = async (dv: DataverseEmulator) =>
      (await definition(dv, 'EntityDefinitions?$select=EntitySetName')).value
        .map((t: { LogicalName: string; EntitySetName: string }) => `${t.LogicalName} ${t.EntitySetName}`)
        .sort();
    const served = await list(fromZip);
    expect(served).toEqual(await list(fromModel));
    for (const table of model.tables) expect(served).toContain(`${table.logicalName} ${table.entitySetName}`);
  });

  test('a definition carries the columns with their types and lengths, the keys and the options', async () => {
    const path = "EntityDefinitions(LogicalName='stc_payment')?$expand=Attributes,Keys";
    const payment = await definition(fromZip, path);
    expect(payment).toMatchObject({ EntitySetName: 'stc_payments', PrimaryIdAttribute: 'stc_paymentid' });
    expect(payment.Attributes).toContainEqual(
      expect.objectContaining({ LogicalName: 'stc_stripeid', AttributeType: 'String', MaxLength: 255 }),
    );
    expect(payment.Keys.map((k: { KeyAttributes: string[] }) => k.KeyAttributes)).toContainEqual([
      'stc_stripeid',
    ]);
    const choices = await definition(
      fromZip,
      "EntityDefinitions(LogicalName='stc_payment')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
    );
    const status = choices.value.find((a: { LogicalName: string }) => a.LogicalName === 'stc_status');
    expect(status.OptionSet.Options).toContainEqual(
      expect.objectContaining({ ExternalValue: 'requires_capture' }),
    );
  });

  test.each(model.tables.map((t) => t.logicalName))('%s is served with the same definition', async (name) => {
    const expand = '$expand=Attributes,Keys,OneToManyRelationships,ManyToOneRelationships';
    const path = `EntityDefinitions(LogicalName='${name}')?${expand}`;
    expect(await definition(fromZip, path)).toEqual(await definition(fromModel, path));
    for (const cast of ['Picklist', 'State', 'Status']) {
      const choices = `EntityDefinitions(LogicalName='${name}')/Attributes/Microsoft.Dynamics.CRM.${cast}AttributeMetadata`;
      expect(await definition(fromZip, choices)).toEqual(await definition(fromModel, choices));
    }
  });
});
