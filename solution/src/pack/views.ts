/**
 * The system views of a custom table (active, quick find, lookup, advanced find, associated), in the shape a
 * real export has them, showing the columns the model names in `viewColumns`. Their ids derive from the
 * table and the view type, which never change, so an upgrade updates the same views.
 */
import type { Table } from '../model/types';
import { stableGuid } from './guid';
import { el, labels, text, type XmlElement } from './xml';

interface ViewSpec {
  queryType: number;
  name: (table: Table) => string;
  isDefault: boolean;
  quickFind?: boolean;
  columns: (table: Table) => string[];
}

const lookupColumns = (table: Table) => (table.viewColumns ?? []).slice(0, 2);

const views: ViewSpec[] = [
  {
    queryType: 0,
    name: (t) => `Active ${t.pluralName}`,
    isDefault: true,
    columns: (t) => t.viewColumns ?? [],
  },
  {
    queryType: 4,
    name: (t) => `Quick Find Active ${t.pluralName}`,
    isDefault: true,
    quickFind: true,
    columns: (t) => t.viewColumns ?? [],
  },
  { queryType: 64, name: (t) => `${t.displayName} Lookup View`, isDefault: true, columns: lookupColumns },
  {
    queryType: 1,
    name: (t) => `${t.displayName} Advanced Find View`,
    isDefault: true,
    columns: (t) => t.viewColumns ?? [],
  },
  {
    queryType: 2,
    name: (t) => `${t.displayName} Associated View`,
    isDefault: true,
    columns: (t) => t.viewColumns ?? [],
  },
];

/** Columns searched by quick find: the name, and the Stripe id where the table has one. */
function quickFindColumns(table: Table): string[] {
  return [
    table.primaryNameColumn,
    ...table.columns.filter((c) => c.logicalName === 'stc_stripeid').map((c) => c.logicalName),
  ];
}

/** The id of a connector table's system view of one query type (0 public, 64 lookup…). */
export function viewId(table: string, queryType: number): string {
  return stableGuid(`view:${table}:${queryType}`);
}

function savedQuery(table: Table, view: ViewSpec): XmlElement {
  const columns = [table.primaryNameColumn, ...view.columns(table)];
  const id = viewId(table.logicalName, view.queryType);
  const filters = [
    el('filter', { type: 'and' }, el('condition', { attribute: 'statecode', operator: 'eq', value: 0 })),
  ];
  if (view.quickFind) {
    filters.push(
      el(
        'filter',
        { type: 'or', isquickfindfields: 1 },
        quickFindColumns(table).map((column) =>
          el('condition', { attribute: column, operator: 'like', value: '{0}' }),
        ),
      ),
    );
  }
  return el(
    'savedquery',
    {},
    text('IsCustomizable', 1),
    text('CanBeDeleted', 0),
    text('isquickfindquery', view.quickFind ? 1 : 0),
    text('isprivate', 0),
    text('isdefault', view.isDefault ? 1 : 0),
    text('savedqueryid', `{${id}}`),
    el(
      'layoutxml',
      {},
      el(
        'grid',
        { name: 'resultset', jump: table.primaryNameColumn, select: 1, icon: 1, preview: 1 },
        el(
          'row',
          { name: 'result', id: table.primaryIdColumn },
          columns.map((column, index) => el('cell', { name: column, width: index === 0 ? 300 : 125 })),
        ),
      ),
    ),
    text('querytype', view.queryType),
    el(
      'fetchxml',
      {},
      el(
        'fetch',
        { version: '1.0', mapping: 'logical' },
        el(
          'entity',
          { name: table.logicalName },
          el('attribute', { name: table.primaryIdColumn }),
          columns.map((column) => el('attribute', { name: column })),
          el('order', { attribute: table.primaryNameColumn, descending: 'false' }),
          filters,
        ),
      ),
    ),
    text('IntroducedVersion', '1.0'),
    labels('LocalizedNames', 'LocalizedName', view.name(table)),
  );
}

export function savedQueriesElement(table: Table): XmlElement {
  return el(
    'SavedQueries',
    {},
    el(
      'savedqueries',
      {},
      views.map((view) => savedQuery(table, view)),
    ),
  );
}
