/**
 * A solution zip as Dataverse reads it on import: solution.xml (UniqueName, Version, Managed) and
 * customizations.xml, whose Entities (attributes, local option sets, EntityKeys), EntityRelationships and
 * global option sets become the emulator's table model. Standard tables come as a shell
 * (`<entity Name="Account" unmodified="1">` with the columns and keys the solution adds) and are merged into
 * the environment's own definition of the table.
 */
import { XMLParser } from 'fast-xml-parser';
import JSZip from 'jszip';
import type {
  AlternateKey,
  Column,
  LookupColumn,
  OptionSet,
  OptionValue,
  Relationship,
  RequiredLevel,
  Table,
  TableModel,
} from '@stc/solution';
import { DataverseHttpError } from './errors';

/** What the import reads of a solution zip. */
export interface SolutionPackage {
  uniqueName: string;
  friendlyName: string;
  /** `major.minor.build.revision` */
  version: string;
  managed: boolean;
  customizationsXml: string;
}

/** An XML element as fast-xml-parser gives it: attributes under `@name`, text under `#text`. */
type Node = Record<string, unknown>;

/** Elements that may repeat; parsed as arrays always, so one and many read the same. */
const REPEATED = new Set([
  'Entity',
  'attribute',
  'EntityKey',
  'AttributeName',
  'optionset',
  'option',
  'state',
  'status',
  'EntityRelationship',
  'EntityRelationshipRole',
  'LocalizedName',
  'LocalizedCollectionName',
  'displayname',
  'Description',
  'label',
]);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name) => REPEATED.has(name),
});

/** The import's answer to a package it cannot take; the wording follows the import log's. */
export const invalidPackage = (message: string) =>
  new DataverseHttpError(400, '0x80048060', `The import file is invalid. ${message}`);

const child = (node: unknown, name: string): Node | undefined =>
  ((node as Node | undefined)?.[name] as Node | undefined) ?? undefined;

const children = (node: unknown, name: string): Node[] => {
  const value = (node as Node | undefined)?.[name];
  return Array.isArray(value) ? (value as Node[]) : [];
};

/** The text of a child element (`<Name a="…">text</Name>` or `<Name>text</Name>`). */
function textOf(node: unknown, name: string): string | undefined {
  const value = (node as Node | undefined)?.[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'object') {
    const text = (value as Node)['#text'];
    return text === undefined ? undefined : String(text);
  }
  return String(value);
}

const numberOf = (node: unknown, name: string): number | undefined => {
  const text = textOf(node, name);
  return text === undefined || text === '' ? undefined : Number(text);
};

const flag = (node: unknown, name: string): boolean => textOf(node, name) === '1';

/** The first label's description of a `<container><item description="…" /></container>` pair. */
function label(node: unknown, container: string, item: string): string {
  return String(children(child(node, container), item)[0]?.['@description'] ?? '');
}

/** Reads solution.xml and customizations.xml from the zip; refuses what is not a solution. */
export async function readSolutionZip(zip: Buffer): Promise<SolutionPackage> {
  let archive: JSZip;
  try {
    archive = await JSZip.loadAsync(zip);
  } catch {
    throw invalidPackage('The solution file is not a valid compressed (zip) file.');
  }
  const solutionXml = await archive.file('solution.xml')?.async('string');
  const customizationsXml = await archive.file('customizations.xml')?.async('string');
  if (solutionXml === undefined || customizationsXml === undefined)
    throw invalidPackage('A solution holds solution.xml and customizations.xml; this file does not.');
  const manifest = child(child(parser.parse(solutionXml), 'ImportExportXml'), 'SolutionManifest');
  const uniqueName = textOf(manifest, 'UniqueName');
  const version = textOf(manifest, 'Version');
  const managed = textOf(manifest, 'Managed');
  const validName = uniqueName !== undefined && /^[A-Za-z_][A-Za-z0-9_]*$/.test(uniqueName);
  if (!validName || !version || !/^\d+(\.\d+){1,3}$/.test(version) || (managed !== '0' && managed !== '1'))
    throw invalidPackage('solution.xml has no SolutionManifest with UniqueName, Version and Managed.');
  return {
    uniqueName,
    friendlyName: label(manifest, 'LocalizedNames', 'LocalizedName') || uniqueName,
    version,
    managed: managed === '1',
    customizationsXml,
  };
}

/** Compares `a.b.c.d` versions part by part: negative when `a` is older. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function optionsOf(set: Node, type: string): OptionValue[] {
  if (type === 'state') {
    return children(child(set, 'states'), 'state').map((s) => ({
      value: Number(s['@value']),
      label: label(s, 'labels', 'label') || String(s['@invariantname'] ?? ''),
    }));
  }
  if (type === 'status') {
    return children(child(set, 'statuses'), 'status').map((s) => ({
      value: Number(s['@value']),
      label: label(s, 'labels', 'label'),
      state: Number(s['@state']),
    }));
  }
  return children(child(set, 'options'), 'option').map((o) => ({
    value: Number(o['@value']),
    label: label(o, 'labels', 'label'),
    ...(o['@ExternalValue'] !== undefined ? { externalValue: String(o['@ExternalValue']) } : {}),
  }));
}

function optionSetOf(set: Node, global: boolean): OptionSet {
  const type = textOf(set, 'OptionSetType') ?? 'picklist';
  return {
    name: String(set['@Name']),
    displayName: label(set, 'displaynames', 'displayname'),
    global,
    options: optionsOf(set, type),
  };
}

/** The column as the attribute declares it; lookups get their targets from the relationships later. */
function columnOf(attribute: Node, localSets: OptionSet[]): Column {
  const type = textOf(attribute, 'Type');
  const logicalName = textOf(attribute, 'LogicalName') ?? '';
  const description = label(attribute, 'Descriptions', 'Description');
  const base = {
    logicalName,
    schemaName: String(attribute['@PhysicalName'] ?? logicalName),
    displayName: label(attribute, 'displaynames', 'displayname'),
    ...(description ? { description } : {}),
    requiredLevel: (textOf(attribute, 'RequiredLevel') ?? 'none') as RequiredLevel,
    ...(type !== 'primarykey' && !flag(attribute, 'IsCustomField') ? { system: true } : {}),
    ...(flag(attribute, 'IsSecured') ? { secured: true } : {}),
  };
  const range = { minValue: numberOf(attribute, 'MinValue'), maxValue: numberOf(attribute, 'MaxValue') };
  switch (type) {
    case 'primarykey':
    case 'uniqueidentifier':
      return { ...base, type: 'uniqueidentifier' };
    case 'nvarchar':
    case 'ntext': {
      const format = textOf(attribute, 'Format') as 'text' | 'email' | 'url' | 'phone' | 'textarea';
      const maxLength = numberOf(attribute, 'MaxLength') ?? 100;
      return { ...base, type: type === 'nvarchar' ? 'string' : 'memo', maxLength, format };
    }
    case 'int':
    case 'bigint':
      return { ...base, type: type === 'int' ? 'integer' : 'bigint', ...range };
    case 'decimal':
    case 'money':
      return { ...base, type, precision: numberOf(attribute, 'Accuracy') ?? 2, ...range };
    case 'bit':
      return booleanOf(attribute, base);
    case 'datetime':
      return { ...base, type: textOf(attribute, 'Format') === 'date' ? 'dateonly' : 'datetime' };
    case 'picklist':
    case 'state':
    case 'status':
      return choiceOf(attribute, base, type, localSets);
    case 'lookup':
    case 'customer':
    case 'owner':
      return { ...base, type, targets: [], navigation: {} };
    default:
      throw invalidPackage(`Attribute ${logicalName} has a type the emulator does not know: ${type}.`);
  }
}

function booleanOf(attribute: Node, base: Omit<Column, 'type'>): Column {
  const options = children(child(children(attribute, 'optionset')[0], 'options'), 'option');
  const labelOf = (value: string) =>
    label(
      options.find((o) => o['@value'] === value),
      'labels',
      'label',
    );
  return {
    ...base,
    type: 'boolean',
    trueLabel: labelOf('1'),
    falseLabel: labelOf('0'),
    defaultValue: textOf(attribute, 'AppDefaultValue') === '1',
  };
}

function choiceOf(
  attribute: Node,
  base: Omit<Column, 'type'>,
  type: 'picklist' | 'state' | 'status',
  localSets: OptionSet[],
): Column {
  const local = children(attribute, 'optionset')[0];
  let optionSet = textOf(attribute, 'OptionSetName');
  if (local) {
    const set = optionSetOf(local, false);
    localSets.push(set);
    optionSet = set.name;
  }
  const defaultValue = numberOf(attribute, 'AppDefaultValue');
  return {
    ...base,
    type,
    optionSet: optionSet ?? '',
    ...(defaultValue !== undefined && defaultValue !== -1 ? { defaultValue } : {}),
  };
}

function keyOf(key: Node): AlternateKey {
  return {
    logicalName: textOf(key, 'LogicalName') ?? '',
    schemaName: textOf(key, 'Name') ?? '',
    displayName: label(key, 'displaynames', 'displayname'),
    columns: children(child(key, 'EntityKeyAttributes'), 'AttributeName').map((a) =>
      String(typeof a === 'object' ? a['#text'] : a),
    ),
  };
}

/** A table the solution creates, from its EntityInfo. */
function customTableOf(schemaName: string, info: Node, columns: Column[], keys: AlternateKey[]): Table {
  const primaryId = columns.find((c) => c.type === 'uniqueidentifier' && !c.system);
  const attributes = children(child(info, 'attributes'), 'attribute');
  const primaryName = attributes.find((a) => (textOf(a, 'DisplayMask') ?? '').includes('PrimaryName'));
  return {
    logicalName: schemaName.toLowerCase(),
    schemaName,
    entitySetName: textOf(info, 'EntitySetName') ?? `${schemaName.toLowerCase()}s`,
    displayName: label(info, 'LocalizedNames', 'LocalizedName'),
    pluralName: label(info, 'LocalizedCollectionNames', 'LocalizedCollectionName'),
    description: label(info, 'Descriptions', 'Description'),
    primaryIdColumn: primaryId?.logicalName ?? `${schemaName.toLowerCase()}id`,
    primaryNameColumn: (primaryName && textOf(primaryName, 'LogicalName')) ?? '',
    standard: false,
    ownership: textOf(info, 'OwnershipTypeMask') === 'OrganizationOwned' ? 'OrganizationOwned' : 'UserOwned',
    columns,
    keys,
    changeTracking: flag(info, 'ChangeTrackingEnabled'),
  };
}

/** A standard table: the environment's definition with the columns and keys the shell adds. */
function standardTableOf(logicalName: string, platform: TableModel, columns: Column[], keys: AlternateKey[]) {
  const known = platform.tables.find((t) => t.logicalName === logicalName);
  if (!known)
    throw invalidPackage(`The solution extends the table ${logicalName}, which this environment has not.`);
  const added = columns.filter((c) => !known.columns.some((k) => k.logicalName === c.logicalName));
  const addedKeys = keys.filter((k) => !known.keys.some((own) => own.logicalName === k.logicalName));
  return { ...known, columns: [...known.columns, ...added], keys: [...known.keys, ...addedKeys] };
}

function relationshipOf(relationship: Node): Relationship {
  const roles = children(child(relationship, 'EntityRelationshipRoles'), 'EntityRelationshipRole');
  const navigation = (role: string) =>
    textOf(
      roles.find((r) => textOf(r, 'RelationshipRoleType') === role),
      'NavigationPropertyName',
    ) ?? '';
  return {
    schemaName: String(relationship['@Name']),
    referencedTable: (textOf(relationship, 'ReferencedEntityName') ?? '').toLowerCase(),
    referencingTable: (textOf(relationship, 'ReferencingEntityName') ?? '').toLowerCase(),
    referencingColumn: (textOf(relationship, 'ReferencingAttributeName') ?? '').toLowerCase(),
    referencedNavigation: navigation('0'),
    referencingNavigation: navigation('1'),
    cascadeDelete: (textOf(relationship, 'CascadeDelete') ?? 'RemoveLink') as Relationship['cascadeDelete'],
  };
}

/** Gives each lookup its targets and navigation properties from the relationships through it. */
function linkLookups(tables: Table[], relationships: Relationship[]): void {
  for (const r of relationships) {
    const table = tables.find((t) => t.logicalName === r.referencingTable);
    const column = table?.columns.find((c) => c.logicalName === r.referencingColumn) as LookupColumn;
    if (!column || !('targets' in column) || column.targets.includes(r.referencedTable)) continue;
    column.targets.push(r.referencedTable);
    column.navigation[r.referencedTable] = r.referencingNavigation;
  }
}

/**
 * The table model customizations.xml describes, on top of `platform` (the environment's own tables, option
 * sets and relationships): the solution's tables, the standard tables it extends, their option sets and
 * relationships.
 */
export function modelOfCustomizations(xml: string, platform: TableModel): TableModel {
  const root = child(parser.parse(xml), 'ImportExportXml');
  if (!root) throw invalidPackage('customizations.xml has no ImportExportXml root.');
  const optionSets: OptionSet[] = children(child(root, 'optionsets'), 'optionset').map((s) =>
    optionSetOf(s, true),
  );
  const tables: Table[] = [];
  for (const entity of children(child(root, 'Entities'), 'Entity')) {
    const info = child(child(entity, 'EntityInfo'), 'entity');
    const schemaName = textOf(entity, 'Name') ?? String(info?.['@Name'] ?? '');
    const columns = children(child(info, 'attributes'), 'attribute').map((a) => columnOf(a, optionSets));
    const keys = children(child(info, 'EntityKeys'), 'EntityKey').map(keyOf);
    tables.push(
      info?.['@unmodified'] === '1'
        ? standardTableOf(schemaName.toLowerCase(), platform, columns, keys)
        : customTableOf(schemaName, info ?? {}, columns, keys),
    );
  }
  const relationships = children(child(root, 'EntityRelationships'), 'EntityRelationship').map(
    relationshipOf,
  );
  linkLookups(tables, relationships);
  return { ...platform, tables, optionSets, relationships };
}
