/**
 * The app's forms as FormXml inside an Entity of customizations.xml: new main, quick-view and card forms of
 * the connector tables, and the Stripe tab added to a standard table's main form as a diff
 * (`solutionaction="Added"`), in the shape real exports have them. Ids of tabs, sections, cells and
 * controls derive from the form and the column, so an upgrade updates the same parts.
 */
import type {
  FormDesign,
  FormField,
  FormPanel,
  FormScript,
  FormSection,
  FormSubgrid,
  FormTab,
  FormTabAddition,
  FormType,
} from '../app/forms';
import type { Column, Table } from '../model/types';
import { stableGuid } from './guid';
import { viewId } from './views';
import { el, labels, text, type XmlElement } from './xml';

/** The platform's control class ids, by the kind of column a cell shows. */
export const CONTROL_CLASS = {
  text: '{4273EDBD-AC1D-40d3-9FB2-095C621B552D}',
  memo: '{E0DECE4B-6FC8-4a8f-A065-082708572369}',
  email: '{ADA2203E-B4CD-49BE-9DDF-234642B43B52}',
  url: '{71716B6C-711E-476c-8AB8-5D11542BFB47}',
  number: '{C6D124CA-7EDA-4a60-AEA9-7FB8D318B68F}',
  money: '{533B9E00-756B-4312-95A0-DC888637AC78}',
  datetime: '{5B773807-9FB2-42db-97C3-7A91EFF8ADFF}',
  lookup: '{270BD3DB-D9AF-4782-9025-509E298DEC0A}',
  picklist: '{3EF39988-22BB-4f0b-BBBE-64B5A3748AEE}',
  status: '{5D68B988-0661-4db2-BC3E-17598AD3BE6C}',
  boolean: '{67FAC785-CD58-4f9f-ABB3-4B7DDC6ED5ED}',
} as const;

export function controlClass(column: Column): string {
  switch (column.type) {
    case 'memo':
      return CONTROL_CLASS.memo;
    case 'string':
      if (column.format === 'email') return CONTROL_CLASS.email;
      return column.format === 'url' ? CONTROL_CLASS.url : CONTROL_CLASS.text;
    case 'integer':
    case 'bigint':
    case 'decimal':
      return CONTROL_CLASS.number;
    case 'money':
      return CONTROL_CLASS.money;
    case 'datetime':
    case 'dateonly':
      return CONTROL_CLASS.datetime;
    case 'lookup':
    case 'customer':
    case 'owner':
      return CONTROL_CLASS.lookup;
    case 'picklist':
    case 'state':
      return CONTROL_CLASS.picklist;
    case 'status':
      return CONTROL_CLASS.status;
    case 'boolean':
      return CONTROL_CLASS.boolean;
    default:
      return CONTROL_CLASS.text;
  }
}

const guid = (name: string) => `{${stableGuid(name)}}`;

function columnOf(table: Table, name: string): Column {
  const column = table.columns.find((candidate) => candidate.logicalName === name);
  if (!column)
    throw new Error(`A form of ${table.logicalName} names ${name}, which the table model does not declare.`);
  return column;
}

/** The platform's quick view form control: the row a lookup names, shown through its quick view form. */
export const QUICK_VIEW_CLASS = '{5C5600E0-1D6E-4205-A272-BE80DA87FD42}';

function quickViewCell(scope: string, formField: FormField, quickForms: Record<string, string>): XmlElement {
  const ids = Object.entries(quickForms)
    .map(([table, id]) => `<QuickFormId entityname="${table}">${id}</QuickFormId>`)
    .join('');
  return el(
    'cell',
    { id: guid(`${scope}:cell:${formField.column}:quickview`), showlabel: 'true', locklevel: 0 },
    labels('labels', 'label', formField.label),
    el(
      'control',
      {
        id: `${formField.column}_stripe_quickview`,
        classid: QUICK_VIEW_CLASS,
        datafieldname: formField.column,
        uniqueid: guid(`${scope}:control:${formField.column}:quickview`),
      },
      el(
        'parameters',
        {},
        text('DisplayAsCustomer360Tile', 'false'),
        text('QuickForms', `<QuickFormIds>${ids}</QuickFormIds>`),
      ),
    ),
  );
}

function fieldCell(table: Table, scope: string, formField: FormField): XmlElement {
  if (formField.quickForms) return quickViewCell(scope, formField, formField.quickForms);
  const column = columnOf(table, formField.column);
  const lookupView = formField.lookupTarget ? `{${viewId(formField.lookupTarget, 64)}}` : undefined;
  return el(
    'cell',
    { id: guid(`${scope}:cell:${formField.column}`), showlabel: 'true', locklevel: 0 },
    labels('labels', 'label', formField.label),
    el(
      'control',
      {
        id: formField.column,
        classid: controlClass(column),
        datafieldname: formField.column,
        disabled: formField.readOnly ? 'true' : 'false',
        uniqueid: guid(`${scope}:control:${formField.column}`),
      },
      lookupView && formField.lookupTarget?.startsWith('stc_')
        ? el('parameters', {}, text('DefaultViewId', lookupView))
        : null,
    ),
  );
}

function panelCell(table: Table, scope: string, panel: FormPanel): XmlElement {
  const column = columnOf(table, panel.column);
  return el(
    'cell',
    { id: guid(`${scope}:cell:panel`), showlabel: 'false', locklevel: 0, rowspan: 12 },
    labels('labels', 'label', panel.label),
    el('control', {
      id: `${panel.column}_stripe_panel`,
      classid: controlClass(column),
      datafieldname: panel.column,
      disabled: 'true',
      uniqueid: guid(`${scope}:control:panel`),
    }),
  );
}

/** The platform's subgrid control class. */
export const SUBGRID_CLASS = '{E7A81278-8635-4D9E-8D4D-59480B391C5B}';

/** A subgrid of the related table's rows in its public view, as exports write one. */
function subgridCell(scope: string, grid: FormSubgrid): XmlElement {
  return el(
    'cell',
    { id: guid(`${scope}:cell:subgrid`), showlabel: 'true', locklevel: 0, rowspan: 6 },
    labels('labels', 'label', grid.label),
    el(
      'control',
      {
        indicationOfSubgrid: 'true',
        id: grid.id,
        classid: SUBGRID_CLASS,
        uniqueid: guid(`${scope}:control:subgrid`),
      },
      el(
        'parameters',
        {},
        text('RecordsPerPage', 5),
        text('AutoExpand', 'Fixed'),
        text('EnableQuickFind', 'false'),
        text('EnableViewPicker', 'false'),
        text('EnableChartPicker', 'false'),
        text('ChartGridMode', 'Grid'),
        text('TargetEntityType', grid.table),
        text('ViewId', `{${viewId(grid.table, 0)}}`),
        text('RelationshipName', grid.relationship),
      ),
    ),
  );
}

function sectionElement(table: Table, scope: string, section: FormSection): XmlElement {
  const sectionScope = `${scope}:section:${section.name}`;
  const rows = [
    ...(section.panel ? [el('row', {}, panelCell(table, sectionScope, section.panel))] : []),
    ...(section.subgrid ? [el('row', {}, subgridCell(sectionScope, section.subgrid))] : []),
    ...section.fields.map((formField) => el('row', {}, fieldCell(table, sectionScope, formField))),
  ];
  return el(
    'section',
    {
      name: section.name,
      showlabel: 'true',
      showbar: 'false',
      id: guid(sectionScope),
      IsUserDefined: 0,
      columns: 1,
    },
    labels('labels', 'label', section.label),
    el('rows', {}, rows),
  );
}

function tabElement(table: Table, scope: string, tab: FormTab, added: boolean, ordinal?: number): XmlElement {
  const tabScope = `${scope}:tab:${tab.name}`;
  return el(
    'tab',
    {
      name: tab.name,
      id: guid(tabScope),
      IsUserDefined: 0,
      verticallayout: 'true',
      expanded: 'true',
      showlabel: 'true',
      ordinalvalue: ordinal,
      solutionaction: added ? 'Added' : undefined,
    },
    labels('labels', 'label', tab.label),
    el(
      'columns',
      {},
      el(
        'column',
        { width: '100%' },
        el(
          'sections',
          {},
          tab.sections.map((section) => sectionElement(table, tabScope, section)),
        ),
      ),
    ),
  );
}

function scriptElements(scope: string, script: FormScript | undefined, added: boolean): XmlElement[] {
  if (!script) return [];
  const action = added ? 'Added' : undefined;
  return [
    el(
      'formLibraries',
      {},
      el('Library', {
        name: script.library,
        libraryUniqueId: guid(`${scope}:library`),
        solutionaction: action,
      }),
    ),
    el(
      'events',
      {},
      el(
        'event',
        { name: 'onload', application: 'false', active: 'false' },
        el(
          'Handlers',
          {},
          el('Handler', {
            functionName: script.onLoad,
            libraryName: script.library,
            handlerUniqueId: guid(`${scope}:onload`),
            enabled: 'true',
            parameters: '',
            passExecutionContext: 'true',
            solutionaction: action,
          }),
        ),
      ),
    ),
  ];
}

/** Binds each panel's code component to its cell, for the web (0), tablet (1) and phone (2) form factors. */
function controlDescriptions(
  table: Table,
  scope: string,
  tabs: FormTab[],
  added: boolean,
): XmlElement | null {
  const panels = tabs.flatMap((tab) =>
    tab.sections.flatMap((section) =>
      section.panel
        ? [{ panel: section.panel, scope: `${scope}:tab:${tab.name}:section:${section.name}` }]
        : [],
    ),
  );
  if (panels.length === 0) return null;
  return el(
    'controlDescriptions',
    { solutionaction: added ? 'Added' : undefined },
    panels.map(({ panel, scope: sectionScope }) =>
      el(
        'controlDescription',
        { forControl: guid(`${sectionScope}:control:panel`) },
        el(
          'customControl',
          { id: controlClass(columnOf(table, panel.column)) },
          el('parameters', {}, text('datafieldname', panel.column)),
        ),
        [0, 1, 2].map((formFactor) =>
          el(
            'customControl',
            { formFactor, name: panel.control },
            el(
              'parameters',
              {},
              Object.entries(panel.parameters).map(([name, value]) => text(name, value)),
            ),
          ),
        ),
      ),
    ),
  );
}

/** FormPresentation 1: a Unified Interface form. */
function systemForm(id: string, name: string, form: XmlElement): XmlElement {
  return el(
    'systemform',
    {},
    text('formid', `{${id}}`),
    text('IntroducedVersion', '1.0'),
    text('FormPresentation', 1),
    text('FormActivationState', 1),
    form,
    text('IsCustomizable', 1),
    text('CanBeDeleted', 1),
    labels('LocalizedNames', 'LocalizedName', name),
  );
}

/**
 * A card form in the layout the platform draws cards from: a colour strip beside a header (the row's
 * choices), the details and an empty footer.
 */
function cardTabElement(table: Table, scope: string, tab: FormTab): XmlElement {
  const tabScope = `${scope}:tab:${tab.name}`;
  const fields = tab.sections.flatMap((section) => section.fields);
  const isChoice = (formField: FormField) => columnOf(table, formField.column).type === 'picklist';
  const part = (name: string, label: string, partFields: FormField[]) =>
    sectionElement(table, tabScope, { name, label, fields: partFields });
  return el(
    'tab',
    { name: tab.name, id: guid(tabScope), IsUserDefined: 0, verticallayout: 'true' },
    labels('labels', 'label', ''),
    el(
      'columns',
      {},
      el('column', { width: '25%' }, el('sections', {}, part('ColorStrip', 'ColorStrip', []))),
      el(
        'column',
        { width: '75%' },
        el(
          'sections',
          {},
          part('CardHeader', 'Header', fields.filter(isChoice)),
          part(
            'CardDetails',
            'Details',
            fields.filter((formField) => !isChoice(formField)),
          ),
          part('CardFooter', 'Footer', []),
        ),
      ),
    ),
  );
}

export function designedFormElement(table: Table, design: FormDesign): XmlElement {
  const scope = `form:${design.id}`;
  const tab = (formTab: FormTab) =>
    design.type === 'card' ? cardTabElement(table, scope, formTab) : tabElement(table, scope, formTab, false);
  const form = el(
    'form',
    {},
    el('tabs', {}, design.tabs.map(tab)),
    ...scriptElements(scope, design.script, false),
    controlDescriptions(table, scope, design.tabs, false),
  );
  return el('forms', { type: design.type }, systemForm(design.id, design.name, form));
}

/** The Stripe tab as a diff of the standard main form: only what the solution adds is written. */
export function formAdditionElement(table: Table, addition: FormTabAddition): XmlElement {
  const scope = `form:${addition.formId}`;
  const form = el(
    'form',
    { solutionaction: 'Modified' },
    el('tabs', {}, tabElement(table, scope, addition.tab, true, 90)),
    ...scriptElements(scope, addition.script, true),
    controlDescriptions(table, scope, [addition.tab], true),
  );
  return el('forms', { type: 'main' }, systemForm(addition.formId, addition.formName, form));
}

/** The FormXml of one table: its designed forms grouped by type, then the tabs it adds to standard forms. */
export function formXmlElement(
  table: Table,
  designs: FormDesign[],
  additions: FormTabAddition[],
): XmlElement {
  const types: FormType[] = ['main', 'quick', 'card'];
  const grouped = types.flatMap((type) => {
    const ofType = designs.filter((design) => design.type === type);
    if (ofType.length === 0) return [];
    const forms = ofType.map((design) => designedFormElement(table, design));
    return [
      el(
        'forms',
        { type },
        forms.flatMap((forms) => forms.children),
      ),
    ];
  });
  return el(
    'FormXml',
    {},
    grouped,
    additions.map((addition) => formAdditionElement(table, addition)),
  );
}
