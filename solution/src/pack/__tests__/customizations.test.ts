import { model } from '../../model';
import { customizationsXml } from '../customizations';
import { validateCustomizationsXml } from '../validate';
import { xmlTree } from './xml-tree';

const parser = xmlTree;
const xml = customizationsXml(model);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const doc: any = parser.parse(xml);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const entities: any[] = doc.ImportExportXml[0].Entities[0].Entity;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const entity = (schemaName: string): any =>
  entities.find((e) => e.Name[0]['#text'] === schemaName).EntityInfo[0].entity[0];
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const attribute = (schemaName: string, logicalName: string): any =>
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  entity(schemaName).attributes[0].attribute.find((a: any) => a.LogicalName[0] === logicalName);

describe('customizations.xml from the table model', () => {
  it('validates against the solution schema with xmllint, without errors or warnings', () => {
    const result = validateCustomizationsXml(xml);
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('reports an element of ours the schema does not know as an error', () => {
    const broken = xml.replace(
      '<EntitySetName>stc_payments</EntitySetName>',
      '<EntitySetNam>stc_payments</EntitySetNam>',
    );
    const result = validateCustomizationsXml(broken);
    expect(result.valid).toBe(false);
    expect(result.errors.join('\n')).toMatch(/EntitySetNam/);
  });

  it('treats an element newer than the 2090 schema as a warning only', () => {
    const newer = xml.replace(
      '<IsDataSourceSecret>0</IsDataSourceSecret>',
      '<IsDataSourceSecret>0</IsDataSourceSecret><IsSearchable>1</IsSearchable>',
    );
    const result = validateCustomizationsXml(newer);
    expect(result.valid).toBe(true);
    expect(result.warnings.join('\n')).toMatch(/IsSearchable/);
  });

  it('declares every custom table with its entity set, columns and Stripe id key', () => {
    for (const table of model.tables.filter((t) => !t.standard)) {
      const info = entity(table.schemaName);
      expect(info.EntitySetName[0]).toBe(table.entitySetName);
      const names = info.attributes[0].attribute.map((a: { LogicalName: string[] }) => a.LogicalName[0]);
      expect(names.sort()).toEqual(table.columns.map((c) => c.logicalName).sort());
      const keys = (info.EntityKeys?.[0].EntityKey ?? []).map(
        (k: { LogicalName: string[] }) => k.LogicalName[0],
      );
      expect(keys).toEqual(table.keys.map((k) => k.logicalName));
    }
    expect(attribute('stc_Payment', 'stc_stripeid').MaxLength[0]).toBe(255);
    expect(attribute('stc_Payment', 'stc_amount').Accuracy[0]).toBe(3);
    expect(attribute('stc_Payment', 'stc_customerid').Type[0]).toBe('customer');
  });

  it('adds only the Stripe columns and key to account and contact, leaving the tables themselves unmodified', () => {
    for (const schemaName of ['Account', 'Contact']) {
      const info = entity(schemaName);
      expect(info['@unmodified']).toBe('1');
      const names = info.attributes[0].attribute
        .map((a: { LogicalName: string[] }) => a.LogicalName[0])
        .sort();
      expect(names).toEqual([
        'stc_createinstripe',
        'stc_lasteventcreated',
        'stc_lasteventid',
        'stc_livemode',
        'stc_stripeaccount',
        'stc_stripecustomerid',
        'stc_stripesyncerror',
        'stc_stripesyncerroron',
        'stc_syncrequestedon',
      ]);
      const key = info.EntityKeys[0].EntityKey[0];
      expect(key.EntityKeyAttributes[0].AttributeName).toEqual(['stc_stripecustomerid']);
    }
    expect(entities.map((e) => e.Name[0]['#text'])).not.toContain('PriceLevel');
  });

  it('adds the Stripe ids, payment state and keys to orders, invoices and their lines, as unmodified shells', () => {
    const names = (schemaName: string) =>
      entity(schemaName)
        .attributes[0].attribute.map((a: { LogicalName: string[] }) => a.LogicalName[0])
        .sort();
    const keys = (schemaName: string) =>
      entity(schemaName).EntityKeys[0].EntityKey.map(
        (key: { EntityKeyAttributes: Array<{ AttributeName: string[] }> }) =>
          key.EntityKeyAttributes[0].AttributeName[0],
      );
    for (const schemaName of ['SalesOrder', 'Invoice']) {
      expect(entity(schemaName)['@unmodified']).toBe('1');
      expect(names(schemaName)).toEqual(
        expect.arrayContaining([
          'stc_stripeid',
          'stc_stripepaymentid',
          'stc_paymentstatus',
          'stc_amountrefunded',
        ]),
      );
      expect(names(schemaName).every((name: string) => name.startsWith('stc_'))).toBe(true);
      expect(keys(schemaName)).toEqual(['stc_stripeid', 'stc_stripepaymentid']);
    }
    for (const schemaName of ['SalesOrderDetail', 'InvoiceDetail']) {
      expect(entity(schemaName)['@unmodified']).toBe('1');
      expect(keys(schemaName)).toEqual(['stc_stripeid']);
    }
  });

  it('adds the Stripe product and price ids, each an alternate key, to products and price list items', () => {
    const names = (schemaName: string) =>
      entity(schemaName)
        .attributes[0].attribute.map((a: { LogicalName: string[] }) => a.LogicalName[0])
        .sort();
    const keys = (schemaName: string) =>
      entity(schemaName).EntityKeys[0].EntityKey.map(
        (key: { EntityKeyAttributes: Array<{ AttributeName: string[] }> }) =>
          key.EntityKeyAttributes[0].AttributeName[0],
      );
    expect(entity('Product')['@unmodified']).toBe('1');
    expect(names('Product')).toEqual(expect.arrayContaining(['stc_stripeproductid', 'stc_lasteventid']));
    expect(names('Product').every((name: string) => name.startsWith('stc_'))).toBe(true);
    expect(keys('Product')).toEqual(['stc_stripeproductid']);
    expect(entity('ProductPriceLevel')['@unmodified']).toBe('1');
    expect(names('ProductPriceLevel')).toEqual(
      expect.arrayContaining(['stc_stripepriceid', 'stc_recurringinterval', 'stc_intervalcount']),
    );
    expect(names('ProductPriceLevel').every((name: string) => name.startsWith('stc_'))).toBe(true);
    expect(keys('ProductPriceLevel')).toEqual(['stc_stripepriceid']);
  });

  it('gives every custom table its system views, showing the columns the model names', () => {
    const payment = entities.find((e) => e.Name[0]['#text'] === 'stc_Payment');
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const views: any[] = payment.SavedQueries[0].savedqueries[0].savedquery;
    expect(views.map((view) => view.querytype[0]).sort((a, b) => a - b)).toEqual([0, 1, 2, 4, 64]);
    const active = views.find((view) => view.querytype[0] === 0);
    expect(active.LocalizedNames[0].LocalizedName[0]['@description']).toBe('Active Stripe Payments');
    const cells = active.layoutxml[0].grid[0].row[0].cell.map((cell: { '@name': string }) => cell['@name']);
    expect(cells).toEqual([
      'stc_name',
      ...(model.tables.find((t) => t.logicalName === 'stc_payment')?.viewColumns ?? []),
    ]);
    const quickFind = views.find((view) => view.querytype[0] === 4);
    const searched = quickFind.fetchxml[0].fetch[0].entity[0].filter[1].condition.map(
      (c: { '@attribute': string }) => c['@attribute'],
    );
    expect(searched).toEqual(['stc_name', 'stc_stripeid']);
  });

  it('keeps Stripe spellings as external values of the options', () => {
    const status = attribute('stc_Payment', 'stc_status').optionset[0];
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const capture = status.options[0].option.find((o: any) => o['@ExternalValue'] === 'requires_capture');
    expect(capture['@value']).toBe('100000004');
    const reason = attribute('stc_Refund', 'stc_reason');
    expect(reason.OptionSetName[0]).toBe('stc_refundreason');
    const globals = doc.ImportExportXml[0].optionsets[0].optionset.map(
      (o: { '@Name': string }) => o['@Name'],
    );
    expect(globals).toContain('stc_refundreason');
  });

  it('writes each custom relationship with the navigation property @odata.bind uses', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const relationships: any[] = doc.ImportExportXml[0].EntityRelationships[0].EntityRelationship;
    const toAccount = relationships.find((r) => r['@Name'] === 'stc_account_payment_customerid');
    expect(toAccount.ReferencingEntityName[0]).toBe('stc_Payment');
    expect(toAccount.ReferencedEntityName[0]).toBe('Account');
    const roles = toAccount.EntityRelationshipRoles[0].EntityRelationshipRole;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    expect(roles.find((r: any) => r.RelationshipRoleType[0] === 1).NavigationPropertyName[0]).toBe(
      'stc_customerid_account',
    );
    expect(relationships.map((r) => r['@Name'])).not.toContain('contact_customer_accounts');
    const lines = relationships.find((r) => r['@Name'] === 'stc_journalentry_journalline_journalentryid');
    expect(lines.CascadeDelete[0]).toBe('Cascade');
  });
});
