/**
 * customizations.xml: the table model's entities, relationships and option sets, and the solution's other
 * components (roles, web resources, controls, the webhook endpoint and its steps, the app, its sitemap and
 * forms), in the schema's order.
 */
import type { TableModel } from '../model/types';
import { entitiesElement, globalOptionSetsElement, relationshipsElement, type AppForms } from './entities';
import { el, renderDocument, text, type XmlElement } from './xml';

export interface CustomizationParts {
  roles?: XmlElement;
  webResources?: XmlElement;
  customControls?: XmlElement;
  steps?: XmlElement;
  serviceEndpoints?: XmlElement;
  forms?: AppForms;
  dashboards?: XmlElement;
  appModuleSiteMaps?: XmlElement;
  appModules?: XmlElement;
}

export function customizationsXml(model: TableModel, parts: CustomizationParts = {}): string {
  const root = el(
    'ImportExportXml',
    { 'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance' },
    entitiesElement(model, parts.forms),
    parts.roles ?? el('Roles'),
    el('Workflows'),
    el('FieldSecurityProfiles'),
    el('Templates'),
    el('EntityMaps'),
    relationshipsElement(model),
    el('OrganizationSettings'),
    globalOptionSetsElement(model),
    parts.dashboards ?? null,
    parts.webResources ?? el('WebResources'),
    parts.customControls ?? el('CustomControls'),
    el('SolutionPluginAssemblies'),
    parts.steps ?? el('SdkMessageProcessingSteps'),
    parts.serviceEndpoints ?? el('ServiceEndpoints'),
    parts.appModuleSiteMaps ?? null,
    parts.appModules ?? null,
    el('EntityDataProviders'),
    el('Languages', {}, text('Language', 1033)),
  );
  return renderDocument(root);
}
