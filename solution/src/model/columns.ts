/**
 * Small builders for column declarations. A column's logical name is its schema name in lower case, as
 * Dataverse derives it, so each name is written once.
 */
import type {
  BooleanColumn,
  ChoiceColumn,
  Column,
  ColumnBase,
  DateColumn,
  DecimalColumn,
  IdColumn,
  LookupColumn,
  NumberColumn,
  RequiredLevel,
  StringColumn,
  Table,
  TableNames,
} from './types';

type Extra = Partial<Pick<ColumnBase, 'description' | 'requiredLevel' | 'system' | 'standard' | 'secured'>>;

function base(schemaName: string, displayName: string, extra: Extra = {}): ColumnBase {
  return {
    logicalName: schemaName.toLowerCase(),
    schemaName,
    displayName,
    requiredLevel: 'none' as RequiredLevel,
    ...extra,
  };
}

export function id(schemaName: string, displayName: string, extra: Extra = {}): IdColumn {
  return {
    ...base(schemaName, displayName, { requiredLevel: 'systemrequired', ...extra }),
    type: 'uniqueidentifier',
  };
}

export function text(
  schemaName: string,
  displayName: string,
  maxLength: number,
  extra: Extra & { format?: StringColumn['format'] } = {},
): StringColumn {
  const { format = 'text', ...rest } = extra;
  return { ...base(schemaName, displayName, rest), type: 'string', maxLength, format };
}

export function memo(
  schemaName: string,
  displayName: string,
  maxLength: number,
  extra: Extra = {},
): StringColumn {
  return { ...base(schemaName, displayName, extra), type: 'memo', maxLength, format: 'textarea' };
}

export function integer(
  schemaName: string,
  displayName: string,
  extra: Extra & { minValue?: number; maxValue?: number } = {},
): NumberColumn {
  const { minValue = -2147483648, maxValue = 2147483647, ...rest } = extra;
  return { ...base(schemaName, displayName, rest), type: 'integer', minValue, maxValue };
}

/**
 * Amounts in major units. Precision 3 keeps the three-decimal currencies (BHD, JOD, KWD, OMR, TND) exact;
 * the range is Dataverse's decimal range, far above Stripe's largest amount.
 */
export function amount(schemaName: string, displayName: string, extra: Extra = {}): DecimalColumn {
  return decimal(schemaName, displayName, 3, extra);
}

export function decimal(
  schemaName: string,
  displayName: string,
  precision: number,
  extra: Extra & { minValue?: number; maxValue?: number } = {},
): DecimalColumn {
  const { minValue = -100000000000, maxValue = 100000000000, ...rest } = extra;
  return { ...base(schemaName, displayName, rest), type: 'decimal', precision, minValue, maxValue };
}

export function money(schemaName: string, displayName: string, extra: Extra = {}): DecimalColumn {
  return {
    ...base(schemaName, displayName, extra),
    type: 'money',
    precision: 4,
    minValue: -922337203685477,
    maxValue: 922337203685477,
  };
}

export function yesNo(
  schemaName: string,
  displayName: string,
  extra: Extra & { defaultValue?: boolean; trueLabel?: string; falseLabel?: string } = {},
): BooleanColumn {
  const { defaultValue = false, trueLabel = 'Yes', falseLabel = 'No', ...rest } = extra;
  return { ...base(schemaName, displayName, rest), type: 'boolean', trueLabel, falseLabel, defaultValue };
}

export function dateTime(schemaName: string, displayName: string, extra: Extra = {}): DateColumn {
  return { ...base(schemaName, displayName, extra), type: 'datetime' };
}

export function dateOnly(schemaName: string, displayName: string, extra: Extra = {}): DateColumn {
  return { ...base(schemaName, displayName, extra), type: 'dateonly' };
}

export function choice(
  schemaName: string,
  displayName: string,
  optionSet: string,
  extra: Extra & { defaultValue?: number } = {},
): ChoiceColumn {
  return { ...base(schemaName, displayName, extra), type: 'picklist', optionSet };
}

export function state(optionSet: string, extra: Extra = {}): ChoiceColumn {
  return {
    ...base('statecode', 'Status', { requiredLevel: 'systemrequired', system: true, ...extra }),
    type: 'state',
    optionSet,
  };
}

export function status(optionSet: string, extra: Extra = {}): ChoiceColumn {
  return { ...base('statuscode', 'Status Reason', { system: true, ...extra }), type: 'status', optionSet };
}

/**
 * A lookup to one table. Custom lookups keep an all-lower-case schema name so that their navigation
 * property (which Dataverse names after the schema name, case-sensitively) equals the logical name.
 */
export function lookup(
  schemaName: string,
  displayName: string,
  target: string,
  extra: Extra & { navigation?: string } = {},
): LookupColumn {
  const { navigation, ...rest } = extra;
  const column = base(schemaName, displayName, rest);
  return {
    ...column,
    type: 'lookup',
    targets: [target],
    navigation: { [target]: navigation ?? column.logicalName },
  };
}

/** A customer lookup (account or contact); its navigation properties are `<name>_account` and `<name>_contact`. */
export function customer(schemaName: string, displayName: string, extra: Extra = {}): LookupColumn {
  const column = base(schemaName, displayName, extra);
  return {
    ...column,
    type: 'customer',
    targets: ['account', 'contact'],
    navigation: { account: `${column.logicalName}_account`, contact: `${column.logicalName}_contact` },
  };
}

/**
 * What every table has from its names alone: the logical name (the schema name in lower case, as for
 * columns), the primary id column named after it, and change tracking.
 */
export function tableOf(
  names: TableNames,
): Pick<Table, 'logicalName' | keyof TableNames | 'primaryIdColumn' | 'changeTracking'> {
  const logicalName = names.schemaName.toLowerCase();
  return { logicalName, ...names, primaryIdColumn: `${logicalName}id`, changeTracking: true };
}

/** A table's primary id column: `<SchemaName>Id`, shown under the table's name. */
export function primaryId(names: TableNames): IdColumn {
  return id(`${names.schemaName}Id`, names.displayName);
}

/** Marks columns as the platform's own on a standard table: described for readers, never added. */
export function standardColumns(columns: Column[]): Column[] {
  return columns.map((column) => ({ ...column, standard: true }));
}

/** The platform columns every custom table has; described so that readers and the emulator know them. */
export function systemColumns(table: string): Column[] {
  return [
    state(`${table}_statecode`),
    status(`${table}_statuscode`),
    dateTime('CreatedOn', 'Created On', { system: true }),
    dateTime('ModifiedOn', 'Modified On', { system: true }),
  ];
}
