/**
 * The model-driven app "Stripe Connector" as data: its sitemap (areas for sales, finance and settings), the
 * tables, forms and views it offers, and the roles that see it. `pack/app.ts` writes it as the AppModule and
 * AppModuleSiteMap of customizations.xml.
 */
import { securityRoles, type SecurityRole } from '../components/roles';
import type { TableModel } from '../model/types';
import { FINANCE_DASHBOARD, type DashboardDesign } from './dashboards';
import { connectorForms, type FormTabAddition } from './forms';

export interface SiteMapSubArea {
  id: string;
  /** Logical name of the table the subarea lists. */
  table?: string;
  /** The dashboard the subarea opens (a Dashboards page). */
  dashboard?: string;
  /** A web resource page the subarea opens, by its name (`stc_/pages/connection.html`). */
  page?: string;
  title: string;
}

/** The connection page: what the service last reported, and Test connection. */
export const CONNECTION_PAGE = { name: 'stc_/pages/connection.html', title: 'Connection' };

export interface SiteMapGroup {
  id: string;
  title: string;
  subAreas: SiteMapSubArea[];
}

export interface SiteMapArea {
  id: string;
  title: string;
  groups: SiteMapGroup[];
}

export interface AppDesign {
  uniqueName: string;
  name: string;
  description: string;
  areas: SiteMapArea[];
  /** Logical names of the tables in the app, connector tables first. */
  tables: string[];
  /** Ids of the forms the app opens: the connector's own and the standard main forms it adds a tab to. */
  forms: string[];
  dashboards: string[];
  charts: string[];
  /** The roles whose users see the app. The service's application user needs no app. */
  roles: SecurityRole[];
}

type Layout = Array<[area: string, groups: Array<[group: string, tables: string[]]>]>;

/** The sitemap, by area and group; every table is named once. */
const LAYOUT: Layout = [
  [
    'Sales',
    [
      ['Customers', ['account', 'contact']],
      ['Orders', ['quote', 'salesorder', 'invoice', 'stc_paymentlinkrequest']],
      [
        'Stripe',
        [
          'stc_payment',
          'stc_subscription',
          'stc_subscriptionitem',
          'stc_subscriptionrequest',
          'stc_chargerequest',
          'stc_stripeinvoice',
          'stc_stripeinvoiceline',
        ],
      ],
    ],
  ],
  [
    'Finance',
    [
      ['Payments', ['stc_refundrequest', 'stc_refund', 'stc_dispute']],
      ['Payouts', ['stc_payout', 'stc_balancetransaction', 'stc_journalentry', 'stc_journalline']],
    ],
  ],
  [
    'Settings',
    [
      ['Monitoring', ['stc_syncissue', 'stc_connectorstatus']],
      ['Connection', ['environmentvariabledefinition', 'environmentvariablevalue']],
    ],
  ],
];

const idOf = (...parts: string[]) =>
  parts
    .join('_')
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '');

function areas(model: TableModel, dashboard: DashboardDesign, pages: string[]): SiteMapArea[] {
  const pluralOf = (logicalName: string): string => {
    const table = model.tables.find((candidate) => candidate.logicalName === logicalName);
    if (!table)
      throw new Error(`The app's sitemap names ${logicalName}, which the table model does not declare.`);
    return table.pluralName;
  };
  const sitemap = LAYOUT.map(([area, groups]) => ({
    id: idOf('stc_area', area),
    title: area,
    groups: groups.map(([group, tables]) => ({
      id: idOf('stc_group', area, group),
      title: group,
      subAreas: tables.map((table): SiteMapSubArea => ({
        id: idOf('stc_subarea', table),
        table,
        title: pluralOf(table),
      })),
    })),
  }));
  // The finance dashboard opens the Finance area.
  const finance = sitemap.find((area) => area.title === 'Finance');
  finance?.groups.unshift({
    id: idOf('stc_group', 'Finance', 'Overview'),
    title: 'Overview',
    subAreas: [
      { id: idOf('stc_subarea', 'finance_dashboard'), dashboard: dashboard.id, title: dashboard.name },
    ],
  });
  // The connection page opens the Settings area's Monitoring group when the solution carries it.
  if (pages.includes(CONNECTION_PAGE.name)) {
    const monitoring = sitemap
      .find((area) => area.title === 'Settings')
      ?.groups.find((g) => g.title === 'Monitoring');
    monitoring?.subAreas.unshift({
      id: idOf('stc_subarea', 'connection'),
      page: CONNECTION_PAGE.name,
      title: CONNECTION_PAGE.title,
    });
  }
  return sitemap;
}

export const APP_UNIQUE_NAME = 'stc_StripeConnector';

/** The app over the model; `additions` are the standard main forms whose Stripe tab the solution carries. */
export function connectorApp(
  model: TableModel,
  additions: FormTabAddition[],
  options: { dashboard?: DashboardDesign; pages?: string[] } = {},
): AppDesign {
  const dashboard = options.dashboard ?? FINANCE_DASHBOARD;
  const sitemap = areas(model, dashboard, options.pages ?? []);
  const tables = sitemap.flatMap((area) =>
    area.groups.flatMap((group) => group.subAreas.flatMap((sub) => (sub.table ? [sub.table] : []))),
  );
  return {
    uniqueName: APP_UNIQUE_NAME,
    name: 'Stripe Connector',
    description:
      'Stripe payments, refunds, disputes, billing and payouts beside the customers and orders they belong to.',
    areas: sitemap,
    tables: [...tables.filter((t) => t.startsWith('stc_')), ...tables.filter((t) => !t.startsWith('stc_'))],
    forms: [...connectorForms(model).map((form) => form.id), ...additions.map((addition) => addition.formId)],
    dashboards: [dashboard.id],
    charts: dashboard.charts.map((chart) => chart.id),
    roles: securityRoles.filter((role) => role.name !== 'Stripe Connector Service'),
  };
}
