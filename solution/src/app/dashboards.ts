/**
 * The finance dashboard and the system charts it shows, as data: payments by status and by currency,
 * refunds and disputes by week, payouts balanced against mismatched journals. `pack/charts.ts` writes the
 * charts as Visualizations of their tables and the dashboard as a system dashboard form.
 */
import type { TableModel } from '../model/types';
import { stableGuid } from '../pack/guid';

export type ChartKind = 'Column' | 'Bar' | 'Pie' | 'Line';

export interface ChartDesign {
  id: string;
  table: string;
  name: string;
  description: string;
  kind: ChartKind;
  /** The column the chart's categories are; dates grouped by week where `byWeek`. */
  groupBy: string;
  byWeek?: boolean;
  /** Rows counted, or a column summed. */
  measure: { aggregate: 'count' } | { aggregate: 'sum'; column: string };
}

export interface DashboardDesign {
  id: string;
  name: string;
  description: string;
  /** The charts, in reading order, three to a row. */
  charts: ChartDesign[];
}

function chart(table: string, name: string, rest: Omit<ChartDesign, 'id' | 'table' | 'name'>): ChartDesign {
  return { id: stableGuid(`chart:${table}:${name}`), table, name, ...rest };
}

export const FINANCE_CHARTS: ChartDesign[] = [
  chart('stc_payment', 'Payments by Status', {
    description: 'How many payments are in each status.',
    kind: 'Pie',
    groupBy: 'stc_status',
    measure: { aggregate: 'count' },
  }),
  chart('stc_payment', 'Payment Volume by Currency', {
    description: 'The amount paid in each currency, each in its own currency.',
    kind: 'Column',
    groupBy: 'stc_currency',
    measure: { aggregate: 'sum', column: 'stc_amount' },
  }),
  chart('stc_refund', 'Refunds by Week', {
    description: 'Refunds created in Stripe each week.',
    kind: 'Column',
    groupBy: 'stc_stripecreatedon',
    byWeek: true,
    measure: { aggregate: 'count' },
  }),
  chart('stc_dispute', 'Disputes by Week', {
    description: 'Disputes opened each week.',
    kind: 'Column',
    groupBy: 'stc_stripecreatedon',
    byWeek: true,
    measure: { aggregate: 'count' },
  }),
  chart('stc_journalentry', 'Payout Journals by Status', {
    description: 'Payout journals that balance against those with a mismatch to look at.',
    kind: 'Bar',
    groupBy: 'stc_status',
    measure: { aggregate: 'count' },
  }),
  chart('stc_payout', 'Payouts by Status', {
    description: 'Payouts pending, in transit, paid, failed or canceled.',
    kind: 'Pie',
    groupBy: 'stc_status',
    measure: { aggregate: 'count' },
  }),
];

export const FINANCE_DASHBOARD: DashboardDesign = {
  id: stableGuid('dashboard:finance'),
  name: 'Stripe Finance',
  description: 'Payments, refunds, disputes and payout reconciliation at a glance.',
  charts: FINANCE_CHARTS,
};

/** Every chart names a table and columns the model declares, or the build stops here. */
export function checkCharts(model: TableModel, charts: ChartDesign[] = FINANCE_CHARTS): void {
  for (const design of charts) {
    const table = model.tables.find((candidate) => candidate.logicalName === design.table);
    if (!table)
      throw new Error(
        `Chart "${design.name}" names ${design.table}, which the table model does not declare.`,
      );
    const columns = [design.groupBy, ...(design.measure.aggregate === 'sum' ? [design.measure.column] : [])];
    for (const column of columns) {
      if (!table.columns.some((candidate) => candidate.logicalName === column)) {
        throw new Error(
          `Chart "${design.name}" names ${design.table}.${column}, which the table model does not declare.`,
        );
      }
    }
  }
}
