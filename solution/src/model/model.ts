/**
 * The table model assembled from its parts, and the look-ups every other part uses instead of repeating a
 * name: tables by logical or entity set name, columns, option values by label or Stripe value, and the
 * navigation property a lookup is bound through.
 */
import { cascadeDeletes, customTables } from './customTables';
import { activeInactive, customOptionSets, OPTION_VALUE_PREFIX, salesOptionSets } from './optionSets';
import { standardRelationshipNames, standardTables } from './standardTables';
import type { Column, LookupColumn, OptionSet, Relationship, Table, TableModel } from './types';

const tables: Table[] = [...customTables, ...standardTables];

function isLookup(column: Column): column is LookupColumn {
  return column.type === 'lookup' || column.type === 'customer' || column.type === 'owner';
}

/**
 * One relationship per lookup target. Custom relationships are named `stc_<target>_<table>_<column>` without
 * repeated prefixes; standard ones keep the platform's names. The collection navigation property is the
 * relationship's schema name, as Dataverse names it.
 */
function relationshipsOf(table: Table): Relationship[] {
  return table.columns.filter(isLookup).flatMap((column) =>
    column.targets.map((target): Relationship => {
      const key = `${table.logicalName}.${column.logicalName}.${target}`;
      const standardName = column.standard ? standardRelationshipNames[key] : undefined;
      if (column.standard && !standardName) {
        throw new Error(`Table model: no relationship name for the standard lookup ${key}`);
      }
      const unprefixed = (name: string) => name.replace(/^stc_/, '');
      const schemaName =
        standardName ??
        `stc_${unprefixed(target)}_${unprefixed(table.logicalName)}_${unprefixed(column.logicalName)}`;
      return {
        schemaName,
        referencedTable: target,
        referencingTable: table.logicalName,
        referencingColumn: column.logicalName,
        referencedNavigation: schemaName,
        referencingNavigation: column.navigation[target],
        cascadeDelete: cascadeDeletes[`${table.logicalName}.${column.logicalName}`] ?? 'RemoveLink',
        ...(column.standard ? { standard: true } : {}),
      };
    }),
  );
}

const activeInactiveTables = tables
  .filter((table) => !['quote', 'salesorder', 'invoice', 'product'].includes(table.logicalName))
  .filter((table) => table.columns.some((column) => column.type === 'state'));

export const model: TableModel = {
  publisherPrefix: 'stc',
  solutionUniqueName: 'StripeConnector',
  optionSetPrefix: OPTION_VALUE_PREFIX,
  tables,
  optionSets: [
    ...customOptionSets,
    ...activeInactiveTables.flatMap((table) => activeInactive(table.logicalName)),
    ...salesOptionSets,
  ],
  relationships: tables.flatMap(relationshipsOf),
};

const tablesByName = new Map<string, Table>();
for (const table of model.tables) {
  tablesByName.set(table.logicalName, table);
  tablesByName.set(table.entitySetName, table);
}
const optionSetsByName = new Map(model.optionSets.map((set) => [set.name, set]));

/** A table by logical name (`stc_payment`) or entity set name (`stc_payments`). */
export function getTable(name: string): Table | undefined {
  return tablesByName.get(name);
}

export function requireTable(name: string): Table {
  const table = getTable(name);
  if (!table) {
    throw new Error(
      `Unknown table "${name}": not in the StripeConnector table model (logical or entity set name)`,
    );
  }
  return table;
}

export function getColumn(table: Table | string, logicalName: string): Column | undefined {
  const found = typeof table === 'string' ? getTable(table) : table;
  return found?.columns.find((column) => column.logicalName === logicalName);
}

export function requireColumn(table: Table | string, logicalName: string): Column {
  const found = typeof table === 'string' ? requireTable(table) : table;
  const column = getColumn(found, logicalName);
  if (!column) throw new Error(`Unknown column "${logicalName}" on table ${found.logicalName}`);
  return column;
}

export function getOptionSet(name: string): OptionSet | undefined {
  return optionSetsByName.get(name);
}

function requireOptionSet(name: string): OptionSet {
  const set = getOptionSet(name);
  if (!set) throw new Error(`Unknown option set "${name}"`);
  return set;
}

/** The value of an option, found by its label (`Requires capture`) or its Stripe value (`requires_capture`). */
export function optionValue(optionSetName: string, labelOrExternalValue: string): number {
  const set = requireOptionSet(optionSetName);
  const option = set.options.find(
    (candidate) =>
      candidate.externalValue === labelOrExternalValue || candidate.label === labelOrExternalValue,
  );
  if (!option) {
    const known = set.options.map((candidate) => candidate.externalValue ?? candidate.label).join(', ');
    throw new Error(`Option set ${optionSetName} has no option "${labelOrExternalValue}" (known: ${known})`);
  }
  return option.value;
}

/** Like optionValue, but undefined for a value the set does not know (a Stripe value added after release). */
export function findOptionValue(optionSetName: string, labelOrExternalValue: string): number | undefined {
  return requireOptionSet(optionSetName).options.find(
    (candidate) =>
      candidate.externalValue === labelOrExternalValue || candidate.label === labelOrExternalValue,
  )?.value;
}

export function optionLabel(optionSetName: string, value: number): string | undefined {
  return requireOptionSet(optionSetName).options.find((candidate) => candidate.value === value)?.label;
}

/** Stripe's spelling of an option value (`requires_capture`), when the option has one. */
export function optionExternalValue(optionSetName: string, value: number): string | undefined {
  return requireOptionSet(optionSetName).options.find((candidate) => candidate.value === value)
    ?.externalValue;
}

/**
 * The single-valued navigation property to use in `<navigation>@odata.bind` for a lookup column. The target
 * may be left out when the lookup has one target; a customer lookup needs it.
 */
export function navigationFor(tableLogicalName: string, lookupColumn: string, targetTable?: string): string {
  const column = requireColumn(tableLogicalName, lookupColumn);
  if (!isLookup(column)) throw new Error(`Column ${tableLogicalName}.${lookupColumn} is not a lookup`);
  const target = targetTable ?? (column.targets.length === 1 ? column.targets[0] : undefined);
  if (!target) {
    throw new Error(
      `Lookup ${tableLogicalName}.${lookupColumn} points to ${column.targets.join(' or ')}: name the target`,
    );
  }
  const navigation = column.navigation[target];
  if (!navigation) {
    throw new Error(
      `Lookup ${tableLogicalName}.${lookupColumn} cannot point to ${target} (only ${column.targets.join(', ')})`,
    );
  }
  return navigation;
}

/** `{ "<navigation>@odata.bind": "/<entityset>(<id>)" }` for setting a lookup in a create or update body. */
export function bindLookup(
  tableLogicalName: string,
  lookupColumn: string,
  targetTable: string,
  id: string,
): Record<string, string> {
  const navigation = navigationFor(tableLogicalName, lookupColumn, targetTable);
  return { [`${navigation}@odata.bind`]: `/${requireTable(targetTable).entitySetName}(${id})` };
}

export { isLookup };
