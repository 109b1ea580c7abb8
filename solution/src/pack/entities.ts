/**
 * The table model as the entity part of customizations.xml: Entities (attributes, local option sets,
 * EntityKeys), EntityRelationships and the global option sets, in the shape of a real export and limited to
 * the elements the solution schema (CustomizationsSolution.xsd 9.0.0.2090) knows.
 */
import type { AlternateKey, Column, OptionSet, Relationship, Table, TableModel } from '../model/types';
import type { ChartDesign } from '../app/dashboards';
import type { FormDesign, FormTabAddition, TableCommands } from '../app/forms';
import { visualizationsElement } from './charts';
import { formXmlElement } from './forms';
import { ribbonDiffElement } from './ribbon';
import { savedQueriesElement } from './views';
import { el, labels, text, type XmlElement } from './xml';

const INTRODUCED = '1.0';

const crmType: Record<Column['type'], string> = {
  uniqueidentifier: 'primarykey',
  string: 'nvarchar',
  memo: 'ntext',
  integer: 'int',
  bigint: 'bigint',
  decimal: 'decimal',
  money: 'money',
  boolean: 'bit',
  datetime: 'datetime',
  dateonly: 'datetime',
  picklist: 'picklist',
  state: 'state',
  status: 'status',
  lookup: 'lookup',
  customer: 'customer',
  owner: 'owner',
};

/** Dataverse's DateTimeBehavior: 1 user local (stored UTC), 2 date only. */
const dateBehavior = { datetime: 1, dateonly: 2 } as const;

/** The columns a solution carries: everything on a custom table, only the added ones on a standard table. */
export function emittedColumns(table: Table): Column[] {
  return table.columns.filter((column) => !column.standard && !(table.standard && column.system));
}

function optionsElement(set: OptionSet): XmlElement {
  return el(
    'options',
    {},
    set.options.map((option) =>
      el(
        'option',
        { value: option.value, ExternalValue: option.externalValue },
        labels('labels', 'label', option.label),
      ),
    ),
  );
}

function optionSetElement(
  set: OptionSet,
  type: 'picklist' | 'state' | 'status',
  global: boolean,
): XmlElement {
  let values: XmlElement;
  if (type === 'state') {
    values = el(
      'states',
      {},
      set.options.map((option) =>
        el(
          'state',
          { value: option.value, defaultstatus: option.value + 1, invariantname: option.label },
          labels('labels', 'label', option.label),
        ),
      ),
    );
  } else if (type === 'status') {
    values = el(
      'statuses',
      {},
      set.options.map((option) =>
        el(
          'status',
          { value: option.value, state: option.state ?? 0 },
          labels('labels', 'label', option.label),
        ),
      ),
    );
  } else {
    values = optionsElement(set);
  }
  return el(
    'optionset',
    { Name: set.name },
    text('OptionSetType', type),
    text('IsGlobal', global ? 1 : 0),
    text('IntroducedVersion', INTRODUCED),
    text('IsCustomizable', 1),
    labels('displaynames', 'displayname', set.displayName),
    labels('Descriptions', 'Description', set.displayName),
    values,
  );
}

function booleanOptionSet(table: Table, column: Extract<Column, { type: 'boolean' }>): XmlElement {
  return el(
    'optionset',
    { Name: `${table.logicalName}_${column.logicalName}` },
    text('OptionSetType', 'bit'),
    text('IntroducedVersion', INTRODUCED),
    text('IsCustomizable', 1),
    labels('displaynames', 'displayname', column.displayName),
    el(
      'options',
      {},
      el('option', { value: 1 }, labels('labels', 'label', column.trueLabel)),
      el('option', { value: 0 }, labels('labels', 'label', column.falseLabel)),
    ),
  );
}

function displayMask(table: Table, column: Column): string {
  if (column.logicalName === table.primaryIdColumn) return 'ValidForAdvancedFind|RequiredForGrid';
  if (column.logicalName === table.primaryNameColumn) {
    return 'PrimaryName|ValidForAdvancedFind|ValidForForm|ValidForGrid|RequiredForForm';
  }
  return 'ValidForAdvancedFind|ValidForForm|ValidForGrid';
}

function typeSpecific(table: Table, column: Column, model: TableModel): Array<XmlElement | null> {
  switch (column.type) {
    case 'string':
      return [
        text('Format', column.format ?? 'text'),
        text('MaxLength', column.maxLength),
        text('Length', column.maxLength * 2),
      ];
    case 'memo':
      return [
        text('Format', 'textarea'),
        text('MaxLength', column.maxLength),
        text('Length', column.maxLength * 2),
      ];
    case 'integer':
    case 'bigint':
      return [
        column.type === 'integer' ? text('Format', 'none') : null,
        column.minValue !== undefined ? text('MinValue', column.minValue) : null,
        column.maxValue !== undefined ? text('MaxValue', column.maxValue) : null,
      ];
    case 'decimal':
    case 'money':
      return [
        text('MinValue', column.minValue ?? -100000000000),
        text('MaxValue', column.maxValue ?? 100000000000),
        text('Accuracy', column.precision),
        column.type === 'money' ? text('AccuracySource', 0) : null,
      ];
    case 'boolean':
      return [text('AppDefaultValue', column.defaultValue ? 1 : 0), booleanOptionSet(table, column)];
    case 'datetime':
    case 'dateonly':
      return [
        text('Format', column.type === 'dateonly' ? 'date' : 'datetime'),
        text('CanChangeDateTimeBehavior', 0),
        text('Behavior', dateBehavior[column.type]),
      ];
    case 'picklist':
    case 'state':
    case 'status': {
      const set = model.optionSets.find((candidate) => candidate.name === column.optionSet);
      if (!set)
        throw new Error(
          `Column ${table.logicalName}.${column.logicalName}: unknown option set ${column.optionSet}`,
        );
      const defaultValue =
        column.type === 'picklist' ? text('AppDefaultValue', column.defaultValue ?? -1) : null;
      if (set.global) return [defaultValue, text('OptionSetName', set.name)];
      return [defaultValue, optionSetElement(set, column.type, false)];
    }
    case 'lookup':
    case 'customer':
    case 'owner':
      return [text('LookupStyle', 'single'), el('LookupTypes')];
    default:
      return [];
  }
}

function attributeElement(table: Table, column: Column, model: TableModel): XmlElement {
  const isPrimaryKey = column.logicalName === table.primaryIdColumn;
  const custom = !column.system && !isPrimaryKey;
  const readOnly = column.system && column.type !== 'state' && column.type !== 'status';
  return el(
    'attribute',
    { PhysicalName: column.schemaName },
    text(
      'Type',
      isPrimaryKey
        ? 'primarykey'
        : column.type === 'uniqueidentifier'
          ? 'uniqueidentifier'
          : crmType[column.type],
    ),
    text('Name', column.logicalName),
    text('LogicalName', column.logicalName),
    text('RequiredLevel', column.requiredLevel),
    text('DisplayMask', displayMask(table, column)),
    text('ImeMode', 'auto'),
    text('ValidForUpdateApi', isPrimaryKey || readOnly ? 0 : 1),
    text('ValidForReadApi', 1),
    text('ValidForCreateApi', readOnly || column.type === 'state' ? 0 : 1),
    text('IsCustomField', custom ? 1 : 0),
    text('IsAuditEnabled', custom ? 1 : 0),
    text('IsSecured', column.secured ? 1 : 0),
    text('IntroducedVersion', INTRODUCED),
    text('IsCustomizable', 1),
    text('IsRenameable', 1),
    text('CanModifySearchSettings', 1),
    text('CanModifyRequirementLevelSettings', isPrimaryKey ? 0 : 1),
    text('CanModifyAdditionalSettings', 1),
    text('SourceType', 0),
    text('IsGlobalFilterEnabled', 0),
    text('IsSortableEnabled', 0),
    text('CanModifyGlobalFilterSettings', 1),
    text('CanModifyIsSortableSettings', 1),
    text('IsDataSourceSecret', 0),
    ...typeSpecific(table, column, model),
    labels('displaynames', 'displayname', column.displayName),
    labels('Descriptions', 'Description', column.description ?? ''),
  );
}

function keyElement(key: AlternateKey): XmlElement {
  return el(
    'EntityKey',
    {},
    text('Name', key.schemaName),
    text('LogicalName', key.logicalName),
    text('IntroducedVersion', INTRODUCED),
    text('IsCustomizable', 1),
    labels('displaynames', 'displayname', key.displayName),
    el(
      'EntityKeyAttributes',
      {},
      key.columns.map((column) => text('AttributeName', column)),
    ),
  );
}

/** EntityInfo of a table the solution creates, with the settings a real export carries. */
function customEntityInfo(table: Table, attributes: XmlElement, keys: XmlElement | null): XmlElement {
  return el(
    'entity',
    { Name: table.schemaName },
    labels('LocalizedNames', 'LocalizedName', table.displayName),
    labels('LocalizedCollectionNames', 'LocalizedCollectionName', table.pluralName),
    labels('Descriptions', 'Description', table.description),
    attributes,
    text('EntitySetName', table.entitySetName),
    text('IsDuplicateCheckSupported', 0),
    text('IsBusinessProcessEnabled', 0),
    text('IsRequiredOffline', 0),
    text('IsInteractionCentricEnabled', 0),
    text('IsCollaboration', 0),
    text('AutoRouteToOwnerQueue', 0),
    text('IsConnectionsEnabled', 0),
    text('IsDocumentManagementEnabled', 0),
    text('AutoCreateAccessTeams', 0),
    text('IsOneNoteIntegrationEnabled', 0),
    text('IsKnowledgeManagementEnabled', 0),
    text('IsSLAEnabled', 0),
    text('IsDocumentRecommendationsEnabled', 0),
    text('IsBPFEntity', 0),
    text('OwnershipTypeMask', table.ownership),
    text('IsAuditEnabled', 1),
    text('IsActivity', 0),
    text('ActivityTypeMask', ''),
    text('IsActivityParty', 0),
    text('IsReplicated', 0),
    text('IsReplicationUserFiltered', 0),
    text('IsMailMergeEnabled', 0),
    text('IsVisibleInMobile', 0),
    text('IsVisibleInMobileClient', 1),
    text('IsReadOnlyInMobileClient', 0),
    text('IsOfflineInMobileClient', 0),
    text('DaysSinceRecordLastModified', 0),
    text('IsMapiGridEnabled', 1),
    text('IsReadingPaneEnabled', 1),
    text('IsQuickCreateEnabled', 0),
    text('SyncToExternalSearchIndex', 0),
    text('IntroducedVersion', INTRODUCED),
    text('IsCustomizable', 1),
    text('IsRenameable', 1),
    text('IsMappable', 1),
    text('CanModifyAuditSettings', 1),
    text('CanModifyMobileVisibility', 1),
    text('CanModifyMobileClientVisibility', 1),
    text('CanModifyMobileClientReadOnly', 1),
    text('CanModifyMobileClientOffline', 1),
    text('CanModifyConnectionSettings', 1),
    text('CanModifyDuplicateDetectionSettings', 1),
    text('CanModifyMailMergeSettings', 1),
    text('CanModifyQueueSettings', 1),
    text('CanCreateAttributes', 1),
    text('CanCreateForms', 1),
    text('CanCreateCharts', 1),
    text('CanCreateViews', 1),
    text('CanModifyAdditionalSettings', 1),
    text('CanEnableSyncToExternalSearchIndex', 1),
    text('EnforceStateTransitions', 0),
    text('CanChangeHierarchicalRelationship', 1),
    text('EntityHelpUrlEnabled', 0),
    text('ChangeTrackingEnabled', table.changeTracking ? 1 : 0),
    text('CanChangeTrackingBeEnabled', 1),
    text('IsEnabledForExternalChannels', 0),
    keys,
  );
}

/**
 * The app's parts that live in the tables: new forms of the connector tables, tabs (and their buttons)
 * added to standard tables' forms, and the system charts.
 */
export interface AppForms {
  designs: FormDesign[];
  additions: FormTabAddition[];
  charts?: ChartDesign[];
  /** Buttons of the connector's own tables. */
  commands?: TableCommands[];
}

const NO_FORMS: AppForms = { designs: [], additions: [] };

function formXmlOf(table: Table, forms: AppForms): XmlElement | null {
  const designs = forms.designs.filter((design) => design.table === table.logicalName);
  const additions = forms.additions.filter((addition) => addition.table === table.logicalName);
  if (designs.length + additions.length > 0) return formXmlElement(table, designs, additions);
  return table.standard ? null : el('FormXml');
}

/** The table's command bar buttons: those of the form the solution adds a tab to, or of its own table. */
function ribbonOf(table: Table, forms: AppForms): XmlElement | null {
  const addition = forms.additions.find((candidate) => candidate.table === table.logicalName);
  if (addition) {
    return ribbonDiffElement({
      table: addition.table,
      library: addition.script.library,
      commands: addition.commands,
    });
  }
  const own = forms.commands?.find((candidate) => candidate.table === table.logicalName);
  if (own) return ribbonDiffElement(own);
  return table.standard ? null : el('RibbonDiffXml');
}

function entityElement(table: Table, model: TableModel, forms: AppForms): XmlElement {
  const attributes = el(
    'attributes',
    {},
    emittedColumns(table).map((column) => attributeElement(table, column, model)),
  );
  const keys = table.keys.length ? el('EntityKeys', {}, table.keys.map(keyElement)) : null;
  // A standard table is carried as a shell: its own settings stay as the environment has them.
  const info = table.standard
    ? el('entity', { Name: table.schemaName, unmodified: 1 }, keys, attributes)
    : customEntityInfo(table, attributes, keys);
  return el(
    'Entity',
    {},
    el('Name', { LocalizedName: table.displayName, OriginalName: table.displayName }, table.schemaName),
    el('EntityInfo', {}, info),
    formXmlOf(table, forms),
    table.standard ? null : savedQueriesElement(table),
    visualizationsElement(table, forms.charts ?? []),
    ribbonOf(table, forms),
  );
}

/** The tables the solution adds or extends (columns, keys or a form tab), in model order. */
export function solutionTables(model: TableModel, forms: AppForms = NO_FORMS): Table[] {
  const withForms = new Set(forms.additions.map((addition) => addition.table));
  return model.tables.filter(
    (table) =>
      !table.standard ||
      emittedColumns(table).length > 0 ||
      table.keys.length > 0 ||
      withForms.has(table.logicalName),
  );
}

export function entitiesElement(model: TableModel, forms: AppForms = NO_FORMS): XmlElement {
  return el(
    'Entities',
    {},
    solutionTables(model, forms).map((table) => entityElement(table, model, forms)),
  );
}

function schemaNameOf(model: TableModel, logicalName: string): string {
  const table = model.tables.find((candidate) => candidate.logicalName === logicalName);
  if (!table) throw new Error(`Relationship refers to ${logicalName}, which is not in the model`);
  return table.schemaName;
}

function relationshipElement(relationship: Relationship, model: TableModel): XmlElement {
  const referencing = model.tables.find((table) => table.logicalName === relationship.referencingTable);
  const column = referencing?.columns.find(
    (candidate) => candidate.logicalName === relationship.referencingColumn,
  );
  return el(
    'EntityRelationship',
    { Name: relationship.schemaName },
    text('EntityRelationshipType', 'OneToMany'),
    text('IsCustomizable', 1),
    text('IntroducedVersion', INTRODUCED),
    text('IsHierarchical', 0),
    text('ReferencingEntityName', schemaNameOf(model, relationship.referencingTable)),
    text('ReferencedEntityName', schemaNameOf(model, relationship.referencedTable)),
    text('CascadeAssign', 'NoCascade'),
    text('CascadeDelete', relationship.cascadeDelete),
    text('CascadeReparent', 'NoCascade'),
    text('CascadeShare', 'NoCascade'),
    text('CascadeUnshare', 'NoCascade'),
    text('IsValidForAdvancedFind', 1),
    text('ReferencingAttributeName', column?.schemaName ?? relationship.referencingColumn),
    el('RelationshipDescription', {}, labels('Descriptions', 'Description', column?.displayName ?? '')),
    // Role 1 is the lookup side (its navigation property is what @odata.bind uses), role 0 the collection.
    el(
      'EntityRelationshipRoles',
      {},
      el(
        'EntityRelationshipRole',
        {},
        text('NavPaneDisplayOption', 'UseCollectionName'),
        text('NavPaneArea', 'Details'),
        text('NavPaneOrder', 10000),
        text('NavigationPropertyName', relationship.referencingNavigation),
        text('RelationshipRoleType', 1),
      ),
      el(
        'EntityRelationshipRole',
        {},
        text('NavigationPropertyName', relationship.referencedNavigation),
        text('RelationshipRoleType', 0),
      ),
    ),
  );
}

export function relationshipsElement(model: TableModel): XmlElement {
  return el(
    'EntityRelationships',
    {},
    model.relationships
      .filter((relationship) => !relationship.standard)
      .map((relationship) => relationshipElement(relationship, model)),
  );
}

export function globalOptionSetsElement(model: TableModel): XmlElement {
  return el(
    'optionsets',
    {},
    model.optionSets
      .filter((set) => set.global && !set.standard)
      .map((set) => optionSetElement(set, 'picklist', true)),
  );
}
