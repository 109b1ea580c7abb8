/**
 * Packs the solution from source into an importable unmanaged and managed zip: the table model, the roles,
 * environment variables and webhook registrations declared in `src/components`, the built web resources
 * (`webresources/dist/`) and the built PCF controls (`pcf-controls/out/controls/*`). Parts that have not
 * been built are left out and named in the result, never faked.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, extname, isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import JSZip from 'jszip';
import { connectorApp, type AppDesign } from '../app/app';
import { checkCharts, FINANCE_DASHBOARD } from '../app/dashboards';
import {
  chargeRequestCommands,
  refundRequestCommands,
  subscriptionCommands,
  syncIssueCommands,
} from '../app/commands';
import {
  connectorForms,
  standardFormAdditions,
  type FormTabAddition,
  type TableCommands,
} from '../app/forms';
import { environmentVariables, type SolutionEnvironmentVariable } from '../components/environmentVariables';
import { securityRoles, type SecurityRole } from '../components/roles';
import { serviceEndpoint, webhookSteps } from '../components/webhooks';
import { model as defaultModel } from '../model';
import type { TableModel } from '../model/types';
import {
  customControlsElement,
  environmentVariableXml,
  rolesElement,
  serviceEndpointsElement,
  stepsElement,
  webResourcesElement,
  type WebResourceFile,
} from './components';
import { appModuleSiteMapsElement, appModulesElement } from './app';
import { dashboardsElement } from './charts';
import { customizationsXml } from './customizations';
import { emittedColumns, solutionTables, type AppForms } from './entities';
import { stableGuid } from './guid';
import { ComponentType, solutionVersion, solutionXml, type RootComponent } from './solutionXml';

export interface PackOptions {
  /** Repository root (holds package.json, webresources/, pcf-controls/). */
  repoRoot: string;
  /** Where the zips go; default `<repoRoot>/solution/dist`. */
  outDir?: string;
  /** Built web resources; default `<repoRoot>/webresources/dist`. */
  webResourcesDir?: string;
  /** Built controls, one folder each; default `<repoRoot>/pcf-controls/out/controls`. */
  controlsDir?: string;
  /** Package version to turn into the solution version; default the root package.json's. */
  packageVersion?: string;
  model?: TableModel;
  roles?: SecurityRole[];
  variables?: SolutionEnvironmentVariable[];
}

export interface PackedControl {
  name: string;
  namespace: string;
  constructor: string;
  files: string[];
}

export interface PackResult {
  version: string;
  unmanagedZip: string;
  managedZip: string;
  webResources: string[];
  controls: PackedControl[];
  /** What was not there to pack (a part not built yet), in words for the build log. */
  leftOut: string[];
}

export class PackError extends Error {
  override name = 'PackError';
}

const SOLUTION = {
  displayName: 'Stripe Connector',
  description: 'Stripe payments, refunds, disputes, billing and payouts in Dynamics 365.',
};
const PUBLISHER = {
  uniqueName: 'StripeConnectorCommunity',
  displayName: 'Stripe Connector (open source)',
  description: 'Publisher of the open-source Stripe connector for Dynamics 365.',
};

const webResourceTypes: Record<string, number> = {
  '.html': 1,
  '.htm': 1,
  '.css': 2,
  '.js': 3,
  '.xml': 4,
  '.png': 5,
  '.jpg': 6,
  '.jpeg': 6,
  '.gif': 7,
  '.ico': 10,
  '.svg': 11,
  '.resx': 12,
};

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...listFiles(path));
    else out.push(path);
  }
  return out;
}

const posix = (path: string): string => path.split(sep).join('/');

/** A built part (web resources, controls): what it declares, and the files it puts in the zip by path. */
interface BuiltPart<T> {
  items: T[];
  files: Map<string, Buffer>;
}

/** Collects a built part from its output folder; a part with nothing built is named in `leftOut`. */
function collectBuilt<T>(
  dir: string,
  what: string,
  collect: (dir: string) => BuiltPart<T>,
  leftOut: string[],
): BuiltPart<T> {
  const part = existsSync(dir) ? collect(dir) : { items: [], files: new Map<string, Buffer>() };
  if (part.items.length === 0) leftOut.push(`${what} (nothing built in ${dir})`);
  return part;
}

function collectWebResources(dir: string, prefix: string): BuiltPart<WebResourceFile> {
  const items: WebResourceFile[] = [];
  const files = new Map<string, Buffer>();
  for (const path of listFiles(dir)) {
    const type = webResourceTypes[extname(path).toLowerCase()];
    if (type === undefined) continue; // source maps, licences and the like are not web resources
    // The web resource build may lay files out under their full name (dist/stc_/js/x.js) or without it.
    const relativePath = posix(relative(dir, path));
    const name = relativePath.startsWith(`${prefix}_`) ? relativePath : `${prefix}_/${relativePath}`;
    if (!/^[A-Za-z0-9_\-./]+$/.test(name)) {
      throw new PackError(`Web resource ${name}: names may hold only letters, digits, _ - . and /`);
    }
    const fileName = `/WebResources/${name}`;
    items.push({
      name,
      displayName: basename(path),
      type,
      id: stableGuid(`webresource:${name}`),
      fileName,
    });
    files.set(fileName.slice(1), readFileSync(path));
  }
  return { items, files };
}

const manifestParser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@' });

/** Paths a control manifest refers to (code, css, resx, images, html), relative to its folder. */
export function manifestResourcePaths(manifestXml: string): {
  namespace: string;
  constructor: string;
  paths: string[];
} {
  const parsed = manifestParser.parse(manifestXml);
  const control = parsed?.manifest?.control;
  if (!control?.['@namespace'] || !control?.['@constructor']) {
    throw new PackError('ControlManifest.xml has no <control namespace=… constructor=…>');
  }
  const resources = control.resources ?? {};
  const paths: string[] = [];
  for (const kind of ['code', 'css', 'resx', 'img', 'html']) {
    const entries = resources[kind];
    for (const entry of Array.isArray(entries) ? entries : entries ? [entries] : []) {
      if (entry['@path']) paths.push(String(entry['@path']));
    }
  }
  return { namespace: control['@namespace'], constructor: control['@constructor'], paths };
}

function collectControls(dir: string, prefix: string): BuiltPart<PackedControl> {
  const items: PackedControl[] = [];
  const files = new Map<string, Buffer>();
  for (const folder of readdirSync(dir).sort()) {
    const controlDir = join(dir, folder);
    if (!statSync(controlDir).isDirectory()) continue;
    const manifestPath = join(controlDir, 'ControlManifest.xml');
    if (!existsSync(manifestPath)) {
      throw new PackError(
        `${controlDir} has no ControlManifest.xml: build the control (npm run build -w @stc/pcf-controls)`,
      );
    }
    const manifest = readFileSync(manifestPath, 'utf8');
    const { namespace, constructor, paths } = manifestResourcePaths(manifest);
    for (const path of paths) {
      if (isAbsolute(path) || normalize(path).startsWith('..')) {
        throw new PackError(
          `Control ${namespace}.${constructor}: manifest path ${path} leaves the control's folder`,
        );
      }
      if (!existsSync(join(controlDir, path))) {
        throw new PackError(
          `Control ${namespace}.${constructor}: its manifest names ${path}, which the build did not produce`,
        );
      }
    }
    const name = `${prefix}_${namespace}.${constructor}`;
    const packed: string[] = [];
    // The manifest and what it names, as in a real solution; build leftovers (licence notes, maps) stay out.
    for (const path of ['ControlManifest.xml', ...paths]) {
      const inZip = `Controls/${name}/${posix(path)}`;
      files.set(inZip, readFileSync(join(controlDir, path)));
      packed.push(inZip);
    }
    items.push({ name, namespace, constructor, files: packed });
  }
  return { items, files };
}

function contentTypesXml(paths: string[]): string {
  const extensions = [
    ...new Set(paths.map((path) => extname(path).slice(1).toLowerCase()).filter(Boolean)),
  ].sort();
  const defaults = extensions
    .map((extension) => `<Default Extension="${extension}" ContentType="application/octet-stream" />`)
    .join('');
  return `<?xml version="1.0" encoding="utf-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">${defaults}</Types>\n`;
}

function rootComponents(
  model: TableModel,
  roles: SecurityRole[],
  variables: SolutionEnvironmentVariable[],
  webResources: WebResourceFile[],
  controls: PackedControl[],
  forms: AppForms,
): RootComponent[] {
  const components: RootComponent[] = [];
  const tables = solutionTables(model, forms);
  for (const table of tables) {
    components.push({
      type: ComponentType.Entity,
      schemaName: table.logicalName,
      behavior: table.standard ? 2 : 0,
    });
  }
  for (const table of tables.filter((candidate) => candidate.standard)) {
    for (const column of emittedColumns(table)) {
      const id = stableGuid(`attribute:${table.logicalName}.${column.logicalName}`);
      components.push({ type: ComponentType.Attribute, id, behavior: 0 });
    }
    for (const key of table.keys) {
      components.push({
        type: ComponentType.EntityKey,
        id: stableGuid(`key:${table.logicalName}.${key.logicalName}`),
        behavior: 0,
      });
    }
  }
  for (const relationship of model.relationships.filter((candidate) => !candidate.standard)) {
    components.push({ type: ComponentType.Relationship, schemaName: relationship.schemaName, behavior: 0 });
  }
  for (const role of roles) components.push({ type: ComponentType.Role, id: role.id, behavior: 0 });
  for (const resource of webResources) {
    components.push({ type: ComponentType.WebResource, schemaName: resource.name, behavior: 0 });
  }
  for (const control of controls) {
    components.push({ type: ComponentType.CustomControl, schemaName: control.name, behavior: 0 });
  }
  for (const step of webhookSteps) {
    components.push({ type: ComponentType.SdkMessageProcessingStep, id: step.id, behavior: 0 });
  }
  components.push({ type: ComponentType.ServiceEndpoint, id: serviceEndpoint.id, behavior: 0 });
  for (const variable of variables) {
    components.push({
      type: ComponentType.EnvironmentVariableDefinition,
      schemaName: variable.schemaName,
      behavior: 0,
    });
  }
  return components;
}

/**
 * The Stripe tabs whose form script and panel are in the solution: a form that names a web resource or a
 * control the solution does not carry would not import, so a tab whose parts were not built is left out
 * and said.
 */
function packableAdditions(
  additions: FormTabAddition[],
  webResources: WebResourceFile[],
  controls: PackedControl[],
  leftOut: string[],
): FormTabAddition[] {
  const scripts = new Set(webResources.map((resource) => resource.name));
  const panels = new Set(controls.map((control) => control.name));
  return additions.filter((addition) => {
    const needs = [
      ...(scripts.has(addition.script.library) ? [] : [`web resource ${addition.script.library}`]),
      ...addition.tab.sections.flatMap((section) =>
        section.panel && !panels.has(section.panel.control) ? [`control ${section.panel.control}`] : [],
      ),
    ];
    if (needs.length)
      leftOut.push(`the Stripe tab of the ${addition.formName} form (needs ${needs.join(' and ')})`);
    return needs.length === 0;
  });
}

/** Buttons whose script is in the solution; the others are left out and said. */
/** The command bar buttons of the connector's own tables. */
const TABLE_COMMANDS = [
  syncIssueCommands,
  refundRequestCommands,
  subscriptionCommands,
  chargeRequestCommands,
];

function packableCommands(
  tables: TableCommands[],
  webResources: WebResourceFile[],
  leftOut: string[],
): TableCommands[] {
  const scripts = new Set(webResources.map((resource) => resource.name));
  return tables.filter((table) => {
    if (!scripts.has(table.library))
      leftOut.push(`the ${table.table} buttons (need web resource ${table.library})`);
    return scripts.has(table.library);
  });
}

/**
 * The app, its sitemap and the standard main forms the solution adds a tab to (the connector tables'
 * own forms come with their tables).
 */
function appRootComponents(app: AppDesign, forms: AppForms): RootComponent[] {
  return [
    ...forms.additions.map((addition) => ({
      type: ComponentType.SystemForm,
      id: `{${addition.formId}}`,
      behavior: 0 as const,
    })),
    ...app.dashboards.map((id) => ({ type: ComponentType.SystemForm, id: `{${id}}`, behavior: 0 as const })),
    { type: ComponentType.AppModule, schemaName: app.uniqueName, behavior: 0 },
    { type: ComponentType.SiteMap, schemaName: app.uniqueName, behavior: 0 },
  ];
}

/** Files of the solution zip (path → content), for the managed or the unmanaged variant. */
export interface SolutionFiles {
  version: string;
  files: (managed: boolean) => Map<string, Buffer | string>;
  /** Names of the web resources packed. */
  webResources: string[];
  controls: PackedControl[];
  leftOut: string[];
}

export function collectSolutionFiles(options: PackOptions): SolutionFiles {
  const repoRoot = resolve(options.repoRoot);
  const model = options.model ?? defaultModel;
  const roles = options.roles ?? securityRoles;
  const variables = options.variables ?? environmentVariables;
  const packageVersion =
    options.packageVersion ??
    (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
  const version = solutionVersion(packageVersion);
  const leftOut: string[] = [];

  const prefix = model.publisherPrefix;
  const web = collectBuilt(
    options.webResourcesDir ?? join(repoRoot, 'webresources', 'dist'),
    'web resources',
    (dir) => collectWebResources(dir, prefix),
    leftOut,
  );
  const pcf = collectBuilt(
    options.controlsDir ?? join(repoRoot, 'pcf-controls', 'out', 'controls'),
    'PCF controls',
    (dir) => collectControls(dir, prefix),
    leftOut,
  );

  checkCharts(model, FINANCE_DASHBOARD.charts);
  const forms: AppForms = {
    charts: FINANCE_DASHBOARD.charts,
    designs: connectorForms(model),
    additions: packableAdditions(standardFormAdditions(model), web.items, pcf.items, leftOut),
    commands: packableCommands(TABLE_COMMANDS, web.items, leftOut),
  };
  const app = connectorApp(model, forms.additions, { pages: web.items.map((resource) => resource.name) });
  const customizations = customizationsXml(model, {
    forms,
    dashboards: dashboardsElement(FINANCE_DASHBOARD),
    appModuleSiteMaps: appModuleSiteMapsElement(app),
    appModules: appModulesElement(app, model),
    roles: rolesElement(model, roles),
    webResources: webResourcesElement(web.items),
    customControls: customControlsElement(pcf.items),
    steps: stepsElement(webhookSteps, serviceEndpoint),
    serviceEndpoints: serviceEndpointsElement(serviceEndpoint),
  });
  const components = [
    ...rootComponents(model, roles, variables, web.items, pcf.items, forms),
    ...appRootComponents(app, forms),
  ];

  const files = (managed: boolean): Map<string, Buffer | string> => {
    const out = new Map<string, Buffer | string>();
    out.set(
      'solution.xml',
      solutionXml({
        uniqueName: model.solutionUniqueName,
        ...SOLUTION,
        version,
        managed,
        publisher: { ...PUBLISHER, prefix: model.publisherPrefix, optionValuePrefix: model.optionSetPrefix },
        rootComponents: components,
      }),
    );
    out.set('customizations.xml', customizations);
    for (const variable of variables) {
      out.set(
        `environmentvariabledefinitions/${variable.schemaName}/environmentvariabledefinition.xml`,
        environmentVariableXml(variable),
      );
    }
    for (const [path, content] of web.files) out.set(path, content);
    for (const [path, content] of pcf.files) out.set(path, content);
    out.set('[Content_Types].xml', contentTypesXml([...out.keys()]));
    return out;
  };

  return {
    version,
    files,
    webResources: web.items.map((resource) => resource.name),
    controls: pcf.items,
    leftOut,
  };
}

/**
 * A fixed timestamp, and no folder entries (which jszip would stamp with the current time), keep the zips
 * byte-for-byte reproducible from the same sources.
 */
const ZIP_DATE = new Date('2020-01-01T00:00:00Z');

export async function zipFiles(files: Map<string, Buffer | string>): Promise<Buffer> {
  const zip = new JSZip();
  // [Content_Types].xml first, as the platform's own exports have it.
  const ordered = [...files.keys()].sort((a, b) =>
    a === '[Content_Types].xml' ? -1 : b === '[Content_Types].xml' ? 1 : 0,
  );
  for (const path of ordered)
    zip.file(path, files.get(path) as Buffer | string, { date: ZIP_DATE, createFolders: false });
  return zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE', compressionOptions: { level: 9 } });
}

export async function packSolution(options: PackOptions): Promise<PackResult> {
  const solution = collectSolutionFiles(options);
  const outDir = options.outDir ?? join(resolve(options.repoRoot), 'solution', 'dist');
  mkdirSync(outDir, { recursive: true });
  for (const stale of readdirSync(outDir).filter((name) => /^StripeConnector_.*\.zip$/.test(name))) {
    rmSync(join(outDir, stale));
  }
  const version = solution.version.replace(/\./g, '_');
  const unmanagedZip = join(outDir, `StripeConnector_${version}.zip`);
  const managedZip = join(outDir, `StripeConnector_${version}_managed.zip`);
  writeFileSync(unmanagedZip, await zipFiles(solution.files(false)));
  writeFileSync(managedZip, await zipFiles(solution.files(true)));
  return {
    version: solution.version,
    unmanagedZip,
    managedZip,
    webResources: solution.webResources,
    controls: solution.controls,
    leftOut: solution.leftOut,
  };
}
