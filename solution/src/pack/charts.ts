/**
 * System charts as the Visualizations of their table (an aggregate fetch and the chart's presentation) and
 * the finance dashboard as a system dashboard whose cells show those charts, in the shape of a real export.
 */
import type { ChartDesign, DashboardDesign } from '../app/dashboards';
import type { Table } from '../model/types';
import { stableGuid } from './guid';
import { viewId } from './views';
import { el, labels, text, type XmlElement } from './xml';

const GROUP_ALIAS = 'groupby_column';
const MEASURE_ALIAS = 'aggregate_column';
/** The subgrid control, which draws a chart when its ChartGridMode is Chart. */
export const SUBGRID_CLASS = '{E7A81278-8635-4d9e-8D4D-59480B391C5B}';

function fetchOf(table: Table, chart: ChartDesign): XmlElement {
  const measure =
    chart.measure.aggregate === 'count'
      ? el('attribute', { name: table.primaryIdColumn, aggregate: 'count', alias: MEASURE_ALIAS })
      : el('attribute', { name: chart.measure.column, aggregate: 'sum', alias: MEASURE_ALIAS });
  return el(
    'fetch',
    { mapping: 'logical', aggregate: 'true' },
    el(
      'entity',
      { name: table.logicalName },
      el('attribute', {
        name: chart.groupBy,
        groupby: 'true',
        alias: GROUP_ALIAS,
        dategrouping: chart.byWeek ? 'week' : undefined,
      }),
      measure,
    ),
  );
}

function presentationOf(chart: ChartDesign): XmlElement {
  return el(
    'Chart',
    { Palette: 'None' },
    el(
      'Series',
      {},
      el(
        'Series',
        { ChartType: chart.kind, IsValueShownAsLabel: 'True' },
        el('SmartLabelStyle', { Enabled: 'True' }),
      ),
    ),
    el('ChartAreas', {}, el('ChartArea', { BorderColor: 'White', BorderDashStyle: 'Solid' })),
    el('Titles', {}, el('Title', { Alignment: 'TopLeft' })),
  );
}

function visualizationElement(table: Table, chart: ChartDesign): XmlElement {
  return el(
    'visualization',
    {},
    text('savedqueryvisualizationid', `{${chart.id}}`),
    el(
      'datadescription',
      {},
      el(
        'datadefinition',
        {},
        el('fetchcollection', {}, fetchOf(table, chart)),
        el(
          'categorycollection',
          {},
          el(
            'category',
            { alias: GROUP_ALIAS },
            el('measurecollection', {}, el('measure', { alias: MEASURE_ALIAS })),
          ),
        ),
      ),
    ),
    el('presentationdescription', {}, presentationOf(chart)),
    text('isdefault', 0),
    labels('LocalizedNames', 'LocalizedName', chart.name),
    labels('Descriptions', 'Description', chart.description),
    text('IsCustomizable', 1),
    text('IntroducedVersion', '1.0'),
    text('CanBeDeleted', 1),
  );
}

/** The charts of one table, or nothing when it has none. */
export function visualizationsElement(table: Table, charts: ChartDesign[]): XmlElement | null {
  const own = charts.filter((chart) => chart.table === table.logicalName);
  if (own.length === 0) return null;
  return el(
    'Visualizations',
    {},
    own.map((chart) => visualizationElement(table, chart)),
  );
}

function chartCell(chart: ChartDesign): XmlElement {
  const view = `{${viewId(chart.table, 0)}}`;
  const parameter = (name: string, value: string) => text(name, value);
  return el(
    'cell',
    {
      id: `{${stableGuid(`dashboard-cell:${chart.id}`)}}`,
      showlabel: 'false',
      colspan: 1,
      rowspan: 12,
      auto: 'false',
    },
    labels('labels', 'label', chart.name),
    el(
      'control',
      {
        id: `chart_${chart.table}_${chart.id.slice(0, 8)}`,
        classid: SUBGRID_CLASS,
        indicationOfSubgrid: 'true',
        uniqueid: `{${stableGuid(`dashboard-control:${chart.id}`)}}`,
      },
      el(
        'parameters',
        {},
        parameter('ViewId', view),
        parameter('IsUserView', 'false'),
        el('RelationshipName'),
        parameter('TargetEntityType', chart.table),
        parameter('AutoExpand', 'Fixed'),
        parameter('EnableQuickFind', 'false'),
        parameter('EnableViewPicker', 'false'),
        parameter('ViewIds', view),
        parameter('EnableJumpBar', 'false'),
        parameter('ChartGridMode', 'Chart'),
        parameter('VisualizationId', `{${chart.id}}`),
        parameter('IsUserChart', 'false'),
        parameter('EnableChartPicker', 'false'),
        parameter('RecordsPerPage', '12'),
      ),
    ),
  );
}

export function dashboardsElement(dashboard: DashboardDesign): XmlElement {
  const rows: XmlElement[] = [];
  for (let index = 0; index < dashboard.charts.length; index += 3) {
    rows.push(el('row', {}, dashboard.charts.slice(index, index + 3).map(chartCell)));
  }
  const section = el(
    'section',
    {
      showlabel: 'false',
      showbar: 'false',
      columns: '111',
      id: `{${stableGuid(`dashboard-section:${dashboard.id}`)}}`,
    },
    labels('labels', 'label', 'Charts'),
    el('rows', {}, rows),
  );
  const tab = el(
    'tab',
    { showlabel: 'false', verticallayout: 'true', id: `{${stableGuid(`dashboard-tab:${dashboard.id}`)}}` },
    labels('labels', 'label', dashboard.name),
    el('columns', {}, el('column', { width: '100%' }, el('sections', {}, section))),
  );
  return el(
    'Dashboards',
    {},
    el(
      'Dashboard',
      {},
      labels('LocalizedNames', 'LocalizedName', dashboard.name),
      labels('Descriptions', 'Description', dashboard.description),
      text('FormId', `{${dashboard.id}}`),
      text('IsCustomizable', 1),
      text('IsDefault', 0),
      text('CanBeDeleted', 1),
      el('FormXml', {}, el('forms', { type: 'dashboard' }, el('form', {}, el('tabs', {}, tab)))),
      text('IntroducedVersion', '1.0'),
    ),
  );
}
