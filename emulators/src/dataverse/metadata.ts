/**
 * The emulator's view of a table model: indexes by entity set and logical name, navigation properties, option
 * values, plus the platform columns (createdon, modifiedon, createdby…) and the few system tables every
 * environment has (systemuser), so that any `TableModel` can be served without the model repeating them.
 */
import type {
  AlternateKey,
  Column,
  LookupColumn,
  OptionSet,
  Relationship,
  Table,
  TableModel,
  TableNames,
} from '@stc/solution';

export interface SingleNavigation {
  name: string;
  column: LookupColumn;
  target: string;
}

export interface CollectionNavigation {
  name: string;
  /** The many side: table and its lookup column pointing back at this table. */
  referencingTable: string;
  referencingColumn: string;
}

export interface TableMeta {
  table: Table;
  logicalName: string;
  entitySetName: string;
  primaryId: string;
  primaryName: string;
  columns: Map<string, Column>;
  /** Lookup columns by their `_x_value` property name. */
  lookupValueNames: Map<string, LookupColumn>;
  singleNavigations: Map<string, SingleNavigation>;
  collectionNavigations: Map<string, CollectionNavigation>;
  keys: AlternateKey[];
  optionValues: Map<string, Map<number, string>>;
  /** The option set of each choice column, by column. */
  optionSets: Map<string, OptionSet>;
  /** Relationships where this table is the referenced (one) side, for cascades on delete. */
  dependents: Relationship[];
}

export interface ModelIndex {
  bySet: Map<string, TableMeta>;
  byLogical: Map<string, TableMeta>;
  tables: TableMeta[];
}

/** A platform column: named by its logical name, not required, the platform's own. */
export const column = (c: Record<string, unknown> & Pick<Column, 'logicalName' | 'type'>): Column =>
  ({
    schemaName: c.logicalName,
    displayName: c.logicalName,
    requiredLevel: 'none',
    system: true,
    ...c,
  }) as Column;

const userLookup = (logicalName: string, displayName: string): LookupColumn =>
  column({
    logicalName,
    displayName,
    type: 'lookup',
    targets: ['systemuser'],
    navigation: { systemuser: logicalName },
  }) as LookupColumn;

/**
 * A table every environment has, as the emulator keeps it: the platform's, organization-owned, no alternate
 * keys; its logical name is the schema name in lower case and its primary id the first column.
 */
export function platformTable(names: TableNames, primaryNameColumn: string, columns: Column[]): Table {
  return {
    logicalName: names.schemaName.toLowerCase(),
    ...names,
    primaryIdColumn: columns[0].logicalName,
    primaryNameColumn,
    standard: true,
    ownership: 'OrganizationOwned',
    columns,
    keys: [],
  };
}

/** systemuser as the emulator keeps it: enough to map a token to a user and to impersonate one. */
export const systemUserTable: Table = platformTable(
  {
    schemaName: 'SystemUser',
    entitySetName: 'systemusers',
    displayName: 'User',
    pluralName: 'Users',
    description: 'A person or an application user of the environment.',
  },
  'fullname',
  [
    column({ logicalName: 'systemuserid', type: 'uniqueidentifier', displayName: 'User' }),
    column({ logicalName: 'fullname', type: 'string', maxLength: 200, displayName: 'Full Name' }),
    column({ logicalName: 'domainname', type: 'string', maxLength: 1024, displayName: 'User Name' }),
    column({ logicalName: 'applicationid', type: 'uniqueidentifier', displayName: 'Application ID' }),
    column({
      logicalName: 'azureactivedirectoryobjectid',
      type: 'uniqueidentifier',
      displayName: 'Entra Object ID',
    }),
    column({
      logicalName: 'isdisabled',
      type: 'boolean',
      trueLabel: 'Disabled',
      falseLabel: 'Enabled',
      displayName: 'Status',
    }),
  ],
);

/**
 * Security roles and the systemuser↔role intersect table, as the Web API serves them (`roles`,
 * `systemuserrolescollection`), so a caller can check a user's roles the way it would in Dataverse.
 */
export const roleTable: Table = platformTable(
  {
    schemaName: 'Role',
    entitySetName: 'roles',
    displayName: 'Security Role',
    pluralName: 'Security Roles',
    description: 'A security role.',
  },
  'name',
  [
    column({ logicalName: 'roleid', type: 'uniqueidentifier', displayName: 'Role' }),
    column({ logicalName: 'name', type: 'string', maxLength: 100, displayName: 'Name' }),
  ],
);

export const systemUserRolesTable: Table = platformTable(
  {
    schemaName: 'SystemUserRoles',
    entitySetName: 'systemuserrolescollection',
    displayName: 'User Roles',
    pluralName: 'User Roles',
    description: 'Which security roles each user holds (intersect table).',
  },
  'systemuserroleid',
  [
    column({ logicalName: 'systemuserroleid', type: 'uniqueidentifier', displayName: 'User Role' }),
    column({ logicalName: 'systemuserid', type: 'uniqueidentifier', displayName: 'User' }),
    column({ logicalName: 'roleid', type: 'uniqueidentifier', displayName: 'Role' }),
  ],
);

/** Platform columns every table has; added when the model does not declare them itself. */
function platformColumns(table: Table): Column[] {
  const out: Column[] = [
    column({ logicalName: 'createdon', type: 'datetime', displayName: 'Created On' }),
    column({ logicalName: 'modifiedon', type: 'datetime', displayName: 'Modified On' }),
    userLookup('createdby', 'Created By'),
    userLookup('modifiedby', 'Modified By'),
  ];
  if (table.ownership === 'UserOwned') {
    out.push(
      column({
        logicalName: 'ownerid',
        type: 'owner',
        displayName: 'Owner',
        targets: ['systemuser'],
        navigation: { systemuser: 'ownerid' },
      }),
    );
  }
  return out;
}

export function isLookup(c: Column): c is LookupColumn {
  return c.type === 'lookup' || c.type === 'customer' || c.type === 'owner';
}

export function buildModelIndex(
  model: TableModel,
  extraTables: Table[] = [systemUserTable, roleTable, systemUserRolesTable],
): ModelIndex {
  const tables = [...model.tables];
  for (const extra of extraTables) {
    if (!tables.some((t) => t.logicalName === extra.logicalName)) tables.push(extra);
  }
  const optionSets = new Map<string, OptionSet>(model.optionSets.map((o) => [o.name, o]));
  const bySet = new Map<string, TableMeta>();
  const byLogical = new Map<string, TableMeta>();

  for (const table of tables) {
    const columns = new Map<string, Column>();
    for (const c of table.columns) columns.set(c.logicalName, c);
    for (const c of platformColumns(table)) if (!columns.has(c.logicalName)) columns.set(c.logicalName, c);
    if (!columns.has(table.primaryIdColumn)) {
      columns.set(
        table.primaryIdColumn,
        column({ logicalName: table.primaryIdColumn, type: 'uniqueidentifier' }),
      );
    }
    const lookupValueNames = new Map<string, LookupColumn>();
    const singleNavigations = new Map<string, SingleNavigation>();
    const optionValues = new Map<string, Map<number, string>>();
    const columnOptionSets = new Map<string, OptionSet>();
    for (const c of columns.values()) {
      if (isLookup(c)) {
        lookupValueNames.set(`_${c.logicalName}_value`, c);
        for (const target of c.targets) {
          const name = c.navigation[target] ?? c.logicalName;
          singleNavigations.set(name, { name, column: c, target });
        }
      } else if (c.type === 'picklist' || c.type === 'state' || c.type === 'status') {
        const set = optionSets.get(c.optionSet);
        if (set) {
          optionValues.set(c.logicalName, new Map(set.options.map((o) => [o.value, o.label])));
          columnOptionSets.set(c.logicalName, set);
        }
      }
    }
    const meta: TableMeta = {
      table,
      logicalName: table.logicalName,
      entitySetName: table.entitySetName,
      primaryId: table.primaryIdColumn,
      primaryName: table.primaryNameColumn,
      columns,
      lookupValueNames,
      singleNavigations,
      collectionNavigations: new Map(),
      keys: table.keys,
      optionValues,
      optionSets: columnOptionSets,
      dependents: [],
    };
    bySet.set(table.entitySetName, meta);
    byLogical.set(table.logicalName, meta);
  }

  for (const r of model.relationships) {
    const referenced = byLogical.get(r.referencedTable);
    const referencing = byLogical.get(r.referencingTable);
    if (!referenced || !referencing) continue;
    referenced.collectionNavigations.set(r.referencedNavigation, {
      name: r.referencedNavigation,
      referencingTable: r.referencingTable,
      referencingColumn: r.referencingColumn,
    });
    referenced.dependents.push(r);
  }
  return { bySet, byLogical, tables: [...byLogical.values()] };
}

export function keyDisplay(meta: TableMeta, key: AlternateKey): { columns: string[]; key: string } {
  return {
    columns: key.columns.map((c) => meta.columns.get(c)?.displayName ?? c),
    key: key.displayName,
  };
}
