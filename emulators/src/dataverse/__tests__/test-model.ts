/**
 * A small table model in the shape of the real one (solution/src/model), so the emulator's tests do not depend
 * on the solution's exact columns: a custom table with a key, a child with a lookup and a cascade, standard
 * account/contact with a customer lookup, a two-column key, option sets, money and dates.
 */
import type { AlternateKey, Column, OptionSet, Table, TableModel } from '@stc/solution';

const base = { requiredLevel: 'none' as const };
const col = (c: Record<string, unknown>): Column =>
  ({ ...base, displayName: c.logicalName, schemaName: c.logicalName, ...c }) as Column;

/** An option set of `[value, label]` options (`[value, label, state]` for status reasons). */
const optionSet = (
  name: string,
  displayName: string,
  global: boolean,
  options: Array<[value: number, label: string, state?: number]>,
): OptionSet => ({
  name,
  displayName,
  global,
  options: options.map(([value, label, state]) =>
    state === undefined ? { value, label } : { value, label, state },
  ),
});

/**
 * A standard table (account, contact): user-owned, named after its schema name, with its id column and a
 * 160-character primary name column; `columns` come after those two, no keys.
 */
const standardTable = (
  schemaName: string,
  description: string,
  nameColumn: string,
  columns: Column[],
): Table => {
  const logicalName = schemaName.toLowerCase();
  return {
    logicalName,
    schemaName,
    entitySetName: `${logicalName}s`,
    displayName: schemaName,
    pluralName: `${schemaName}s`,
    description,
    primaryIdColumn: `${logicalName}id`,
    primaryNameColumn: nameColumn,
    standard: true,
    ownership: 'UserOwned',
    columns: [
      col({ logicalName: `${logicalName}id`, type: 'uniqueidentifier', standard: true }),
      col({ logicalName: nameColumn, type: 'string', maxLength: 160, standard: true }),
      ...columns,
    ],
    keys: [],
  };
};

const key = (
  logicalName: string,
  schemaName: string,
  displayName: string,
  columns: string[],
): AlternateKey => ({
  logicalName,
  schemaName,
  displayName,
  columns,
});

export const testModel: TableModel = {
  publisherPrefix: 'stc',
  solutionUniqueName: 'StripeConnector',
  optionSetPrefix: 10000,
  optionSets: [
    optionSet('stc_paymentstatus', 'Payment Status', true, [
      [100000000, 'Succeeded'],
      [100000001, 'Failed'],
      [100000002, 'Refunded'],
    ]),
    optionSet('stc_payment_statecode', 'Status', false, [
      [0, 'Active'],
      [1, 'Inactive'],
    ]),
    optionSet('stc_payment_statuscode', 'Status Reason', false, [
      [1, 'Active', 0],
      [2, 'Inactive', 1],
    ]),
  ],
  tables: [
    {
      logicalName: 'stc_payment',
      schemaName: 'stc_Payment',
      entitySetName: 'stc_payments',
      displayName: 'Stripe Payment',
      pluralName: 'Stripe Payments',
      description: 'A Stripe payment.',
      primaryIdColumn: 'stc_paymentid',
      primaryNameColumn: 'stc_name',
      standard: false,
      ownership: 'UserOwned',
      changeTracking: true,
      columns: [
        col({ logicalName: 'stc_paymentid', type: 'uniqueidentifier' }),
        col({ logicalName: 'stc_name', type: 'string', maxLength: 100, requiredLevel: 'systemrequired' }),
        col({ logicalName: 'stc_stripeid', type: 'string', maxLength: 255, displayName: 'Stripe Id' }),
        col({
          logicalName: 'stc_stripeaccount',
          type: 'string',
          maxLength: 255,
          displayName: 'Stripe Account',
        }),
        col({ logicalName: 'stc_sequence', type: 'integer', displayName: 'Sequence' }),
        col({ logicalName: 'stc_amount', type: 'money', precision: 2 }),
        col({ logicalName: 'stc_fee', type: 'decimal', precision: 3 }),
        col({ logicalName: 'stc_livemode', type: 'boolean', trueLabel: 'Live', falseLabel: 'Test' }),
        col({ logicalName: 'stc_status', type: 'picklist', optionSet: 'stc_paymentstatus' }),
        col({ logicalName: 'stc_paidon', type: 'datetime' }),
        col({ logicalName: 'stc_settlementdate', type: 'dateonly' }),
        col({ logicalName: 'stc_description', type: 'memo', maxLength: 2000 }),
        col({ logicalName: 'stc_payload', type: 'memo', maxLength: 1048576 }),
        col({ logicalName: 'statecode', type: 'state', optionSet: 'stc_payment_statecode' }),
        col({ logicalName: 'statuscode', type: 'status', optionSet: 'stc_payment_statuscode' }),
        col({
          logicalName: 'stc_customerid',
          type: 'customer',
          targets: ['account', 'contact'],
          navigation: { account: 'stc_customerid_account', contact: 'stc_customerid_contact' },
        }),
      ],
      keys: [
        key('stc_stripeid_key', 'stc_StripeIdKey', 'Stripe Id Key', ['stc_stripeid']),
        key('stc_account_sequence_key', 'stc_AccountSequenceKey', 'Account Sequence Key', [
          'stc_stripeaccount',
          'stc_sequence',
        ]),
      ],
    },
    {
      logicalName: 'stc_refund',
      schemaName: 'stc_Refund',
      entitySetName: 'stc_refunds',
      displayName: 'Stripe Refund',
      pluralName: 'Stripe Refunds',
      description: 'A Stripe refund.',
      primaryIdColumn: 'stc_refundid',
      primaryNameColumn: 'stc_name',
      standard: false,
      ownership: 'OrganizationOwned',
      columns: [
        col({ logicalName: 'stc_refundid', type: 'uniqueidentifier' }),
        col({ logicalName: 'stc_name', type: 'string', maxLength: 100 }),
        col({ logicalName: 'stc_stripeid', type: 'string', maxLength: 255, displayName: 'Stripe Id' }),
        col({ logicalName: 'stc_amount', type: 'money', precision: 2 }),
        col({
          logicalName: 'stc_paymentid',
          type: 'lookup',
          targets: ['stc_payment'],
          navigation: { stc_payment: 'stc_paymentid' },
        }),
      ],
      keys: [key('stc_refund_stripeid_key', 'stc_RefundStripeIdKey', 'Stripe Id Key', ['stc_stripeid'])],
    },
    {
      ...standardTable('Account', 'A business.', 'name', [
        col({
          logicalName: 'stc_stripecustomerid',
          type: 'string',
          maxLength: 255,
          displayName: 'Stripe Customer Id',
        }),
      ]),
      keys: [
        key('stc_stripecustomerid_key', 'stc_StripeCustomerIdKey', 'Stripe Customer Key', [
          'stc_stripecustomerid',
        ]),
      ],
    },
    standardTable('Contact', 'A person.', 'fullname', [
      col({ logicalName: 'stc_stripecustomerid', type: 'string', maxLength: 255 }),
      col({
        logicalName: 'parentcustomerid',
        type: 'customer',
        standard: true,
        targets: ['account', 'contact'],
        navigation: { account: 'parentcustomerid_account', contact: 'parentcustomerid_contact' },
      }),
    ]),
  ],
  relationships: [
    {
      schemaName: 'stc_payment_refunds',
      referencedTable: 'stc_payment',
      referencingTable: 'stc_refund',
      referencingColumn: 'stc_paymentid',
      referencedNavigation: 'stc_payment_refunds',
      referencingNavigation: 'stc_paymentid',
      cascadeDelete: 'Cascade',
    },
    {
      schemaName: 'stc_account_payments',
      referencedTable: 'account',
      referencingTable: 'stc_payment',
      referencingColumn: 'stc_customerid',
      referencedNavigation: 'stc_account_payments',
      referencingNavigation: 'stc_customerid_account',
      cascadeDelete: 'RemoveLink',
    },
  ],
};
