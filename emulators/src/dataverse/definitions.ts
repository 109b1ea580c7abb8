/**
 * The table definitions the environment serves, in the shape of the Web API's metadata entities
 * (query-metadata-web-api): `EntityDefinitions`, `EntityDefinitions(LogicalName='x')` with `$select` and
 * `$expand=Attributes,Keys,OneToManyRelationships,ManyToOneRelationships`, the same as sub-paths, one
 * attribute by `Attributes(LogicalName='y')`, and the choice columns with their options through the cast
 * `Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata` (also State…, Status…). What a table is
 * served as comes from the model index, so a model read from a solution zip and one given as an object can
 * be compared through here.
 */
import type { Column, RequiredLevel } from '@stc/solution';
import { DataverseHttpError, badRequest } from './errors';
import { isLookup, type ModelIndex, type TableMeta } from './metadata';
import { parseQueryString } from './odata';

type Json = Record<string, unknown>;

const label = (text: string) => ({
  LocalizedLabels: [{ Label: text, LanguageCode: 1033 }],
  UserLocalizedLabel: { Label: text, LanguageCode: 1033 },
});

const ATTRIBUTE_TYPES: Record<Column['type'], string> = {
  uniqueidentifier: 'Uniqueidentifier',
  string: 'String',
  memo: 'Memo',
  integer: 'Integer',
  bigint: 'BigInt',
  decimal: 'Decimal',
  money: 'Money',
  boolean: 'Boolean',
  datetime: 'DateTime',
  dateonly: 'DateTime',
  picklist: 'Picklist',
  state: 'State',
  status: 'Status',
  lookup: 'Lookup',
  customer: 'Customer',
  owner: 'Owner',
};

const REQUIRED_LEVELS: Record<RequiredLevel, string> = {
  none: 'None',
  recommended: 'Recommended',
  required: 'ApplicationRequired',
  systemrequired: 'SystemRequired',
};

/** The metadata type a column is served as (`StringAttributeMetadata`…). */
function metadataType(c: Column): string {
  if (isLookup(c)) return 'LookupAttributeMetadata';
  if (c.type === 'uniqueidentifier') return 'UniqueIdentifierAttributeMetadata';
  const type = ATTRIBUTE_TYPES[c.type];
  return `${type}AttributeMetadata`;
}

/** What only some attribute types have: lengths, precision, ranges, targets, the date behaviour. */
function typeDetails(c: Column): Json {
  switch (c.type) {
    case 'string':
    case 'memo':
      return { MaxLength: c.maxLength, ...(c.format ? { Format: c.format } : {}) };
    case 'integer':
    case 'bigint':
      return { MinValue: c.minValue ?? null, MaxValue: c.maxValue ?? null };
    case 'decimal':
    case 'money':
      return { Precision: c.precision, MinValue: c.minValue ?? null, MaxValue: c.maxValue ?? null };
    case 'datetime':
    case 'dateonly':
      return {
        Format: c.type === 'dateonly' ? 'DateOnly' : 'DateAndTime',
        DateTimeBehavior: { Value: c.type === 'dateonly' ? 'DateOnly' : 'UserLocal' },
      };
    case 'lookup':
    case 'customer':
    case 'owner':
      return { Targets: c.targets };
    default:
      return {};
  }
}

function attribute(meta: TableMeta, c: Column): Json {
  return {
    '@odata.type': `#Microsoft.Dynamics.CRM.${metadataType(c)}`,
    LogicalName: c.logicalName,
    SchemaName: c.schemaName,
    EntityLogicalName: meta.logicalName,
    AttributeType: ATTRIBUTE_TYPES[c.type],
    DisplayName: label(c.displayName),
    RequiredLevel: { Value: REQUIRED_LEVELS[c.requiredLevel] },
    IsPrimaryId: c.logicalName === meta.primaryId,
    IsPrimaryName: c.logicalName === meta.primaryName,
    IsCustomAttribute: !c.system && !c.standard && c.logicalName !== meta.primaryId,
    ...typeDetails(c),
  };
}

/** A choice column with its option set, as the cast to its metadata type serves it. */
function choiceAttribute(meta: TableMeta, c: Column): Json {
  const set = meta.optionSets.get(c.logicalName);
  const options = (set?.options ?? []).map((o) => ({
    Value: o.value,
    Label: label(o.label),
    ...(o.state !== undefined ? { State: o.state } : {}),
    ExternalValue: o.externalValue ?? null,
  }));
  return {
    ...attribute(meta, c),
    OptionSet: set ? { Name: set.name, IsGlobal: set.global, Options: options } : null,
  };
}

const keysOf = (meta: TableMeta): Json[] =>
  meta.keys.map((k) => ({
    LogicalName: k.logicalName,
    SchemaName: k.schemaName,
    EntityLogicalName: meta.logicalName,
    DisplayName: label(k.displayName),
    KeyAttributes: k.columns,
  }));

const oneToMany = (meta: TableMeta): Json[] =>
  meta.dependents.map((r) => ({
    SchemaName: r.schemaName,
    ReferencedEntity: r.referencedTable,
    ReferencingEntity: r.referencingTable,
    ReferencingAttribute: r.referencingColumn,
    ReferencedEntityNavigationPropertyName: r.referencedNavigation,
    ReferencingEntityNavigationPropertyName: r.referencingNavigation,
    CascadeConfiguration: { Delete: r.cascadeDelete },
  }));

const manyToOne = (meta: TableMeta): Json[] =>
  [...meta.singleNavigations.values()].map((n) => ({
    ReferencedEntity: n.target,
    ReferencingEntity: meta.logicalName,
    ReferencingAttribute: n.column.logicalName,
    ReferencingEntityNavigationPropertyName: n.name,
  }));

const NAVIGATIONS: Record<string, (meta: TableMeta) => Json[]> = {
  Attributes: (meta) => [...meta.columns.values()].map((c) => attribute(meta, c)),
  Keys: keysOf,
  OneToManyRelationships: oneToMany,
  ManyToOneRelationships: manyToOne,
};

function entity(meta: TableMeta): Json {
  const { table } = meta;
  return {
    LogicalName: meta.logicalName,
    SchemaName: table.schemaName,
    EntitySetName: meta.entitySetName,
    LogicalCollectionName: meta.entitySetName,
    DisplayName: label(table.displayName),
    DisplayCollectionName: label(table.pluralName),
    Description: label(table.description),
    PrimaryIdAttribute: meta.primaryId,
    PrimaryNameAttribute: meta.primaryName,
    OwnershipType: table.ownership,
    IsCustomEntity: !table.standard,
    ChangeTrackingEnabled: table.changeTracking === true,
  };
}

const notFound = (what: string) => new DataverseHttpError(404, '0x80060888', `Could not find ${what}.`);

/** `$select` (entity properties) and `$expand` (navigations) applied to one definition. */
function shaped(meta: TableMeta, query: Record<string, string>): Json {
  const full = entity(meta);
  const select = query.$select?.split(',').filter(Boolean);
  const out: Json = select ? { LogicalName: meta.logicalName } : { ...full };
  for (const name of select ?? []) {
    if (!(name in full))
      throw badRequest(
        `Could not find a property named '${name}' on type 'Microsoft.Dynamics.CRM.EntityMetadata'.`,
      );
    out[name] = full[name];
  }
  for (const name of query.$expand?.split(',').filter(Boolean) ?? []) {
    const navigation = NAVIGATIONS[name];
    if (!navigation)
      throw badRequest(
        `Could not find a property named '${name}' on type 'Microsoft.Dynamics.CRM.EntityMetadata'.`,
      );
    out[name] = navigation(meta);
  }
  return out;
}

/** A navigation of one definition: its attributes (one, or those of a metadata type), keys, relationships. */
function navigationOf(meta: TableMeta, segments: string[]): unknown {
  const [first, cast] = segments;
  const one = /^Attributes\(LogicalName='([^']+)'\)$/.exec(first);
  if (one) {
    const c = meta.columns.get(one[1]);
    if (!c) throw notFound(`an attribute named '${one[1]}' on entity '${meta.logicalName}'`);
    return meta.optionSets.has(c.logicalName) ? choiceAttribute(meta, c) : attribute(meta, c);
  }
  if (first === 'Attributes' && cast) {
    const type = cast.replace(/^Microsoft\.Dynamics\.CRM\./, '');
    const columns = [...meta.columns.values()].filter((c) => metadataType(c) === type);
    return {
      value: columns.map((c) =>
        meta.optionSets.has(c.logicalName) ? choiceAttribute(meta, c) : attribute(meta, c),
      ),
    };
  }
  const navigation = NAVIGATIONS[first];
  if (!navigation || cast) throw notFound(`a property named '${segments.join('/')}' on 'EntityMetadata'`);
  return { value: navigation(meta) };
}

/** Answers a GET below `EntityDefinitions`; `path` is the request path, `query` its query string. */
export function entityDefinitions(index: ModelIndex, baseUrl: string, path: string, query: string): Json {
  const segments = path.split('/').map((s) => decodeURIComponent(s));
  const m = /^EntityDefinitions(?:\(LogicalName='([^']+)'\))?$/.exec(segments[0]);
  if (!m) throw notFound(`the metadata segment '${segments[0]}'`);
  const params = parseQueryString(query);
  const context = { '@odata.context': `${baseUrl}$metadata#EntityDefinitions` };
  if (m[1] === undefined) {
    if (segments.length > 1) throw notFound(`the metadata segment '${segments[1]}'`);
    return { ...context, value: index.tables.map((meta) => shaped(meta, params)) };
  }
  const meta = index.byLogical.get(m[1]);
  if (!meta) throw notFound(`an entity with name '${m[1]}'`);
  if (segments.length === 1) return { ...context, ...shaped(meta, params) };
  const result = navigationOf(meta, segments.slice(1));
  return {
    '@odata.context': `${baseUrl}$metadata#EntityDefinitions('${meta.logicalName}')/${segments.slice(1).join('/')}`,
    ...(result as Json),
  };
}
