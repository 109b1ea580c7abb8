import {
  bindLookup,
  getColumn,
  getOptionSet,
  getTable,
  model,
  navigationFor,
  optionLabel,
  optionValue,
  requireTable,
  findOptionValue,
} from '..';
import type { ChoiceColumn, Column, LookupColumn, Table } from '..';

const custom = model.tables.filter((table) => !table.standard);
const isLookup = (column: Column): column is LookupColumn =>
  column.type === 'lookup' || column.type === 'customer' || column.type === 'owner';
/** Column types Dataverse accepts in an alternate key. */
const keyCapable = new Set(['string', 'integer', 'decimal', 'datetime', 'dateonly', 'lookup', 'picklist']);

describe('table model integrity', () => {
  it('declares every table of the design with its entity set', () => {
    const expected: Record<string, string> = {
      stc_payment: 'stc_payments',
      stc_refund: 'stc_refunds',
      stc_dispute: 'stc_disputes',
      stc_refundrequest: 'stc_refundrequests',
      stc_subscription: 'stc_subscriptions',
      stc_stripeinvoice: 'stc_stripeinvoices',
      stc_payout: 'stc_payouts',
      stc_balancetransaction: 'stc_balancetransactions',
      stc_journalentry: 'stc_journalentries',
      stc_journalline: 'stc_journallines',
      account: 'accounts',
      contact: 'contacts',
      salesorder: 'salesorders',
      salesorderdetail: 'salesorderdetails',
      invoice: 'invoices',
      invoicedetail: 'invoicedetails',
      product: 'products',
      transactioncurrency: 'transactioncurrencies',
    };
    for (const [logicalName, entitySet] of Object.entries(expected)) {
      expect(getTable(logicalName)?.entitySetName).toBe(entitySet);
      expect(getTable(entitySet)?.logicalName).toBe(logicalName);
    }
    expect(model.publisherPrefix).toBe('stc');
    expect(model.solutionUniqueName).toBe('StripeConnector');
  });

  it('has unique table names and a primary id and name column on every table', () => {
    const names = model.tables.flatMap((table) => [table.logicalName, table.entitySetName]);
    expect(new Set(names).size).toBe(names.length);
    for (const table of model.tables) {
      const primaryId = getColumn(table, table.primaryIdColumn);
      expect(primaryId?.type).toBe('uniqueidentifier');
      expect(getColumn(table, table.primaryNameColumn)?.type).toBe('string');
      const columnNames = table.columns.map((column) => column.logicalName);
      expect({
        table: table.logicalName,
        duplicates: columnNames.filter((n, i) => columnNames.indexOf(n) !== i),
      }).toEqual({
        table: table.logicalName,
        duplicates: [],
      });
    }
  });

  it('derives every logical name from its schema name and carries the stc prefix on everything it adds', () => {
    for (const table of model.tables) {
      expect(table.schemaName.toLowerCase()).toBe(table.logicalName);
      if (!table.standard) expect(table.logicalName).toMatch(/^stc_[a-z0-9]+$/);
      for (const column of table.columns) {
        expect(column.schemaName.toLowerCase()).toBe(column.logicalName);
        const added = table.standard ? !column.standard : !column.system;
        if (added) expect(`${table.logicalName}.${column.logicalName}`).toMatch(/\.stc_[a-z0-9_]+$/);
      }
      for (const key of table.keys) expect(key.logicalName).toMatch(/^stc_/);
    }
    for (const relationship of model.relationships.filter((r) => !r.standard)) {
      expect(relationship.schemaName).toMatch(/^stc_/);
    }
  });

  it('points every lookup at a table of the model, with a navigation property per target', () => {
    for (const table of model.tables) {
      for (const column of table.columns.filter(isLookup)) {
        expect(column.targets.length).toBeGreaterThan(0);
        for (const target of column.targets) {
          expect({
            lookup: `${table.logicalName}.${column.logicalName}`,
            target: getTable(target)?.logicalName,
          }).toEqual({
            lookup: `${table.logicalName}.${column.logicalName}`,
            target,
          });
          expect(column.navigation[target]).toMatch(/^[A-Za-z0-9_]+$/);
        }
      }
    }
  });

  it('has one relationship per lookup target, each referring to real columns and tables', () => {
    const lookupTargets = model.tables.flatMap((table) =>
      table.columns.filter(isLookup).flatMap((column) => column.targets.map(() => column)),
    );
    expect(model.relationships).toHaveLength(lookupTargets.length);
    const names = model.relationships.map((relationship) => relationship.schemaName);
    expect(new Set(names).size).toBe(names.length);
    for (const relationship of model.relationships) {
      const referencing = requireTable(relationship.referencingTable);
      const column = getColumn(referencing, relationship.referencingColumn);
      expect(column && isLookup(column) && column.targets).toContain(relationship.referencedTable);
      expect(getTable(relationship.referencedTable)).toBeDefined();
      // A relationship is the platform's exactly when its lookup column is.
      expect(Boolean(relationship.standard)).toBe(Boolean(column?.standard));
    }
  });

  it('builds alternate keys only from key-capable, unsecured columns within Dataverse limits', () => {
    for (const table of model.tables) {
      expect(table.keys.length).toBeLessThanOrEqual(10);
      for (const key of table.keys) {
        expect(key.columns.length).toBeGreaterThan(0);
        expect(key.columns.length).toBeLessThanOrEqual(16);
        let bytes = 0;
        for (const name of key.columns) {
          const column = getColumn(table, name);
          expect({ key: key.logicalName, column: name, type: column && keyCapable.has(column.type) }).toEqual(
            {
              key: key.logicalName,
              column: name,
              type: true,
            },
          );
          expect(column?.secured).toBeFalsy();
          bytes += column && 'maxLength' in column ? column.maxLength * 2 : 16;
        }
        expect(bytes).toBeLessThanOrEqual(900);
      }
    }
  });

  it('gives every synced table the Stripe id key and the ordering stamp', () => {
    const synced = custom.filter((table) => table.synced);
    expect(synced.map((table) => table.logicalName).sort()).toEqual(
      [
        'stc_balancetransaction',
        'stc_dispute',
        'stc_payment',
        'stc_payout',
        'stc_refund',
        'stc_stripeinvoice',
        'stc_stripeinvoiceline',
        'stc_subscription',
        'stc_subscriptionitem',
      ].sort(),
    );
    const stamp = ['stc_livemode', 'stc_stripeaccount', 'stc_lasteventid', 'stc_lasteventcreated'];
    for (const table of synced) {
      for (const name of ['stc_stripeid', ...stamp]) expect(getColumn(table, name)).toBeDefined();
      expect(table.keys.map((key) => key.columns)).toContainEqual(['stc_stripeid']);
      expect(getColumn(table, 'stc_lasteventcreated')?.type).toBe('datetime');
      expect(getColumn(table, 'stc_livemode')?.type).toBe('boolean');
    }
    for (const name of ['account', 'contact']) {
      const table = requireTable(name) as Table;
      for (const column of ['stc_stripecustomerid', ...stamp]) {
        expect(getColumn(table, column)?.standard).toBeFalsy();
      }
      expect(table.keys.map((key) => key.columns)).toContainEqual(['stc_stripecustomerid']);
    }
  });

  it('keeps option values unique and custom values above the publisher prefix', () => {
    const firstCustomValue = model.optionSetPrefix * 10000;
    const names = model.optionSets.map((set) => set.name);
    expect(new Set(names).size).toBe(names.length);
    for (const set of model.optionSets) {
      const values = set.options.map((option) => option.value);
      expect({ set: set.name, unique: new Set(values).size }).toEqual({
        set: set.name,
        unique: values.length,
      });
      // The platform repeats a label across states (a quote's Draft and Active are both In Progress).
      const labels = set.options.map((option) => option.label);
      if (!set.standard) expect(new Set(labels).size).toBe(labels.length);
      if (!set.standard) {
        expect(set.name).toMatch(/^stc_/);
        for (const value of values) expect(value).toBeGreaterThanOrEqual(firstCustomValue);
      }
    }
    for (const table of model.tables) {
      for (const column of table.columns) {
        if (column.type !== 'picklist' && column.type !== 'state' && column.type !== 'status') continue;
        const choice = column as ChoiceColumn;
        const set = getOptionSet(choice.optionSet);
        expect({ column: `${table.logicalName}.${column.logicalName}`, set: set?.name }).toEqual({
          column: `${table.logicalName}.${column.logicalName}`,
          set: choice.optionSet,
        });
        if (choice.defaultValue !== undefined) {
          expect(set?.options.map((option) => option.value)).toContain(choice.defaultValue);
        }
      }
    }
  });

  it('uses each local option set in one column only, as Dataverse names local sets per column', () => {
    const uses = new Map<string, string[]>();
    for (const table of model.tables) {
      for (const column of table.columns) {
        if (column.type !== 'picklist' || column.standard) continue;
        uses.set(column.optionSet, [
          ...(uses.get(column.optionSet) ?? []),
          `${table.logicalName}.${column.logicalName}`,
        ]);
      }
    }
    for (const [name, columns] of uses) {
      if (!getOptionSet(name)?.global)
        expect({ name, columns: columns.length }).toEqual({ name, columns: 1 });
    }
  });

  it('shows in views only columns the table has', () => {
    for (const table of custom) {
      expect(table.viewColumns?.length).toBeGreaterThan(0);
      for (const name of table.viewColumns ?? []) {
        expect({ table: table.logicalName, column: getColumn(table, name)?.logicalName }).toEqual({
          table: table.logicalName,
          column: name,
        });
      }
    }
  });

  it('keeps names within the 50 characters Dataverse allows', () => {
    for (const table of model.tables) {
      for (const name of [
        table.logicalName,
        ...table.columns.map((c) => c.logicalName),
        ...table.keys.map((k) => k.logicalName),
      ]) {
        expect(name.length).toBeLessThanOrEqual(50);
      }
    }
  });

  it('keeps column sizes within what Dataverse allows', () => {
    for (const table of model.tables) {
      for (const column of table.columns) {
        if (column.type === 'string') expect(column.maxLength).toBeLessThanOrEqual(4000);
        if (column.type === 'memo') expect(column.maxLength).toBeLessThanOrEqual(1048576);
        if (column.type === 'decimal') expect(column.precision).toBeLessThanOrEqual(10);
        if (column.type === 'money') expect(column.precision).toBeLessThanOrEqual(4);
      }
    }
  });
});

describe('table model look-ups', () => {
  it('finds tables by logical or entity set name and names an unknown one', () => {
    expect(getTable('stc_payments')).toBe(getTable('stc_payment'));
    expect(getTable('nothing')).toBeUndefined();
    expect(() => requireTable('stc_paymnt')).toThrow(/stc_paymnt/);
  });

  it('turns Stripe values and labels into option values and back', () => {
    expect(optionValue('stc_paymentstatus', 'requires_payment_method')).toBe(100000000);
    expect(optionValue('stc_paymentstatus', 'requires_capture')).toBe(100000004);
    expect(optionValue('stc_paymentstatus', 'Succeeded')).toBe(optionValue('stc_paymentstatus', 'succeeded'));
    expect(
      optionLabel('stc_refundrequeststatus', optionValue('stc_refundrequeststatus', 'awaiting_approval')),
    ).toBe('Awaiting approval');
    expect(() => optionValue('stc_paymentstatus', 'teleported')).toThrow(
      /teleported.*known: requires_payment_method/,
    );
    expect(findOptionValue('stc_cardbrand', 'some_new_brand')).toBeUndefined();
    expect(() => optionValue('stc_nope', 'x')).toThrow(/stc_nope/);
  });

  it('gives the exact navigation property for @odata.bind', () => {
    expect(navigationFor('stc_payment', 'stc_customerid', 'account')).toBe('stc_customerid_account');
    expect(navigationFor('stc_payment', 'stc_customerid', 'contact')).toBe('stc_customerid_contact');
    expect(navigationFor('stc_refund', 'stc_paymentid')).toBe('stc_paymentid');
    expect(navigationFor('contact', 'parentcustomerid', 'account')).toBe('parentcustomerid_account');
    expect(navigationFor('stc_payment', 'stc_salesorderid', 'salesorder')).toBe('stc_salesorderid');
    expect(() => navigationFor('stc_payment', 'stc_customerid')).toThrow(/account or contact/);
    expect(() => navigationFor('stc_payment', 'stc_amount')).toThrow(/not a lookup/);
    expect(
      bindLookup('stc_refund', 'stc_paymentid', 'stc_payment', '00000000-0000-0000-0000-000000000001'),
    ).toEqual({
      'stc_paymentid@odata.bind': '/stc_payments(00000000-0000-0000-0000-000000000001)',
    });
  });
});
