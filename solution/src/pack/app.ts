/**
 * The model-driven app as customizations.xml carries it: `<AppModuleSiteMaps>` with the sitemap and
 * `<AppModules>` with the app, its components (tables, forms, views, the sitemap) and its role map, in the
 * shape of a packed export and limited to the elements of the solution schema.
 */
import type { AppDesign, SiteMapSubArea } from '../app/app';
import type { TableModel } from '../model/types';
import { viewId } from './views';
import { el, labels, text, type XmlElement } from './xml';

/** AppModuleComponent types. */
export const AppComponentType = { Entity: 1, View: 26, Chart: 59, Form: 60, SiteMap: 62 } as const;

/** The view types an app lists for a connector table: public, quick find, lookup and associated. */
const APP_VIEW_TYPES = [0, 4, 64, 2];

/** The platform's default app icon web resource. */
const DEFAULT_APP_ICON = '953b9fac-1e5e-e611-80d6-00155ded156f';

const titles = (title: string) => el('Titles', {}, el('Title', { LCID: 1033, Title: title }));

function subAreaAttributes(sub: SiteMapSubArea): XmlElement['attributes'] {
  const common = { Id: sub.id, AvailableOffline: 'true', PassParams: 'false' };
  if (sub.dashboard) {
    return { ...common, Url: '/workplace/home_dashboards.aspx', DefaultDashboard: sub.dashboard };
  }
  if (sub.page) return { ...common, Url: `/WebResources/${sub.page}` };
  return { ...common, Entity: sub.table };
}

function siteMapElement(app: AppDesign): XmlElement {
  return el(
    'SiteMap',
    { IntroducedVersion: '7.0.0.0' },
    app.areas.map((area) =>
      el(
        'Area',
        { Id: area.id, ShowGroups: 'true', IntroducedVersion: '7.0.0.0' },
        titles(area.title),
        area.groups.map((group) =>
          el(
            'Group',
            { Id: group.id, IsProfile: 'false', IntroducedVersion: '7.0.0.0' },
            titles(group.title),
            group.subAreas.map((sub) => el('SubArea', subAreaAttributes(sub), titles(sub.title))),
          ),
        ),
      ),
    ),
  );
}

export function appModuleSiteMapsElement(app: AppDesign): XmlElement {
  return el(
    'AppModuleSiteMaps',
    {},
    el(
      'AppModuleSiteMap',
      {},
      text('SiteMapUniqueName', app.uniqueName),
      siteMapElement(app),
      labels('LocalizedNames', 'LocalizedName', app.name),
    ),
  );
}

function components(app: AppDesign, model: TableModel): XmlElement[] {
  const connectorTables = app.tables.filter((table) =>
    model.tables.some((candidate) => candidate.logicalName === table && !candidate.standard),
  );
  return [
    ...app.tables.map((table) =>
      el('AppModuleComponent', { type: AppComponentType.Entity, schemaName: table }),
    ),
    ...app.forms.map((id) => el('AppModuleComponent', { type: AppComponentType.Form, id: `{${id}}` })),
    ...app.dashboards.map((id) => el('AppModuleComponent', { type: AppComponentType.Form, id: `{${id}}` })),
    ...app.charts.map((id) => el('AppModuleComponent', { type: AppComponentType.Chart, id: `{${id}}` })),
    ...connectorTables.flatMap((table) =>
      APP_VIEW_TYPES.map((queryType) =>
        el('AppModuleComponent', { type: AppComponentType.View, id: `{${viewId(table, queryType)}}` }),
      ),
    ),
    el('AppModuleComponent', { type: AppComponentType.SiteMap, schemaName: app.uniqueName }),
  ];
}

export function appModulesElement(app: AppDesign, model: TableModel): XmlElement {
  return el(
    'AppModules',
    {},
    el(
      'AppModule',
      {},
      text('UniqueName', app.uniqueName),
      text('IntroducedVersion', '1.0.0.0'),
      text('WebResourceId', DEFAULT_APP_ICON),
      // Unified Interface, web client type.
      text('FormFactor', 1),
      text('ClientType', 4),
      el('AppModuleComponents', {}, components(app, model)),
      el(
        'AppModuleRoleMaps',
        {},
        app.roles.map((role) => el('Role', { id: `{${role.id}}` })),
      ),
      labels('LocalizedNames', 'LocalizedName', app.name),
      labels('Descriptions', 'Description', app.description),
    ),
  );
}
