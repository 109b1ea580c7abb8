/**
 * A system dashboard as the harness shows it: read from the packed solution's customizations.xml (the
 * dashboard's cells and the charts they name), each chart's aggregate fetch (group by a column, by week for
 * a date, counting rows or summing a column) computed over the rows the Web API returns, and drawn as bars
 * or a pie with the figures in a table beside it.
 */
import { solutionXml } from './markup';

export interface ChartSpec {
  id: string;
  table: string;
  name: string;
  kind: string;
  groupBy: string;
  byWeek: boolean;
  aggregate: 'count' | 'sum';
  measure: string;
}

export interface DashboardSpec {
  id: string;
  name: string;
  charts: ChartSpec[];
}

/* eslint-disable @typescript-eslint/no-explicit-any -- parsed XML is walked as an untyped tree */
const parser = solutionXml;

const bare = (id: unknown) => String(id).replace(/[{}]/g, '').toLowerCase();

function chartsOf(doc: any): Map<string, ChartSpec> {
  const charts = new Map<string, ChartSpec>();
  for (const entity of doc.Entities?.[0]?.Entity ?? []) {
    for (const chart of entity.Visualizations?.[0]?.visualization ?? []) {
      const fetch = chart.datadescription[0].datadefinition[0].fetchcollection[0].fetch[0];
      const [group, measure] = fetch.entity[0].attribute;
      const id = bare(chart.savedqueryvisualizationid[0]);
      charts.set(id, {
        id,
        table: fetch.entity[0]['@name'],
        name: chart.LocalizedNames[0].LocalizedName[0]['@description'],
        kind: chart.presentationdescription[0].Chart[0].Series[0].Series[0]['@ChartType'],
        groupBy: group['@name'],
        byWeek: group['@dategrouping'] === 'week',
        aggregate: measure['@aggregate'] === 'sum' ? 'sum' : 'count',
        measure: measure['@name'],
      });
    }
  }
  return charts;
}

/** The solution's dashboards, with the charts their cells show in reading order. */
export function dashboards(customizationsXml: string): DashboardSpec[] {
  const doc = parser.parse(customizationsXml).ImportExportXml[0];
  const charts = chartsOf(doc);
  return (doc.Dashboards?.[0]?.Dashboard ?? []).map((dashboard: any) => {
    const cells = dashboard.FormXml[0].forms[0].form[0].tabs[0].tab.flatMap((tab: any) =>
      tab.columns[0].column.flatMap((column: any) =>
        column.sections[0].section.flatMap((section: any) =>
          (section.rows?.[0]?.row ?? []).flatMap((row: any) => row.cell ?? []),
        ),
      ),
    );
    return {
      id: bare(dashboard.FormId[0]),
      name: dashboard.LocalizedNames[0].LocalizedName[0]['@description'],
      charts: cells.flatMap((cell: any) => {
        const chart = charts.get(bare(cell.control?.[0]?.parameters?.[0]?.VisualizationId?.[0] ?? ''));
        return chart ? [chart] : [];
      }),
    };
  });
}

const FORMATTED = '@OData.Community.Display.V1.FormattedValue';

/** Monday of the ISO week of a date, as Dataverse groups dates by week. */
function weekOf(value: string): string {
  const date = new Date(value);
  const monday = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  monday.setUTCDate(monday.getUTCDate() - ((monday.getUTCDay() + 6) % 7));
  return `Week of ${monday.toISOString().slice(0, 10)}`;
}

/** The chart's figures: one per group, in the order of the group's first appearance (weeks in date order). */
export function aggregate(chart: ChartSpec, rows: Array<Record<string, unknown>>): Array<[string, number]> {
  const groups = new Map<string, number>();
  for (const row of rows) {
    const raw = row[chart.groupBy];
    if (raw === null || raw === undefined || raw === '') continue;
    const label = chart.byWeek ? weekOf(String(raw)) : String(row[`${chart.groupBy}${FORMATTED}`] ?? raw);
    const value = chart.aggregate === 'count' ? 1 : Number(row[chart.measure] ?? 0);
    groups.set(label, Math.round(((groups.get(label) ?? 0) + value) * 1000) / 1000);
  }
  const entries = [...groups];
  return chart.byWeek ? entries.sort(([a], [b]) => a.localeCompare(b)) : entries;
}
