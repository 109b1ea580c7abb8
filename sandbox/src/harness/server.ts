/**
 * A page that hosts built PCF controls the way a model-driven form does: the platform libraries (React 16.14,
 * Fluent 8.29) loaded from their UMD builds under the global names the platform gives them, the control's
 * bundle, CSS and strings from its build output, and a PCF context whose Web API reaches the Dataverse
 * emulator over HTTP. The Web API is served same-origin at `/api/data/v9.2/` (as Dataverse serves a form) and
 * forwarded to the emulator, which lets a test count every request a control makes.
 */
import { readdir, readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { model as tableModel } from '@stc/solution';
import { aggregate, dashboards, type ChartSpec, type DashboardSpec } from './dashboard';
import { dashboardPage } from './dashboard-page';
import { formPage } from './form-page';
import { mainForms, type FormView } from './forms';
import { parseControlManifest, parseResx, type ControlManifestInfo } from './manifest';
import { escapeHtml } from './markup';

export type PrivilegeName =
  'Create' | 'Read' | 'Write' | 'Delete' | 'Append' | 'AppendTo' | 'Assign' | 'Share';

export interface HarnessOptions {
  /** 0 or omitted: a free port on 127.0.0.1. */
  port?: number;
  /** The emulator's Web API root, e.g. `http://127.0.0.1:5555/api/data/v9.2/`. */
  dataverseUrl: string;
  /** pcf-scripts' output folder holding `<Control>/bundle.js` and `ControlManifest.xml`. */
  controlsDir: string;
  /** The user the form runs as: sent as `MSCRMCallerID` on every Web API request. */
  userId?: string;
  /**
   * Privileges `context.utils.hasEntityPrivilege` grants, by table logical name. Omitted: every privilege
   * on every table; given: only those listed.
   */
  privileges?: Record<string, PrivilegeName[]>;
  /**
   * The packed solution's customizations.xml: its main forms are served at `formUrl`, laid out from their
   * FormXml with the record's values and the code components their controlDescriptions bind.
   */
  customizationsXml?: string;
}

export interface HarnessPage {
  control: string;
  entityTypeName: string;
  /** Omitted: a new, unsaved record. */
  entityId?: string;
  /** Width of the form column in pixels (default 900; the mobile app's is about 360). */
  width?: number;
  /** `context.mode.isControlDisabled` (a read-only form). */
  disabled?: boolean;
  languageId?: number;
  /** Raw values of the control's properties, by manifest name; others get their manifest default. */
  parameters?: Record<string, unknown>;
  /** Field security of the bound properties. */
  security?: { readable: boolean; editable: boolean; secured: boolean };
}

export interface WebApiRequestRecord {
  method: string;
  /** Path and query under the Web API root, e.g. `stc_payments?$select=…`. */
  path: string;
  status: number;
}

export interface Harness {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** The page hosting one control on one record. */
  pageUrl(page: HarnessPage): string;
  /** A dashboard of the solution (the first when no id is given; needs `customizationsXml`). */
  dashboardUrl(id?: string): string;
  /** The table's main form from the solution on one record (needs `customizationsXml`). */
  formUrl(form: { entityTypeName: string; entityId: string; width?: number; languageId?: number }): string;
  /** Web API requests forwarded so far, oldest first. */
  requests(): WebApiRequestRecord[];
  clearRequests(): void;
  close(): Promise<void>;
}

const API_ROOT = '/api/data/v9.2/';
const MIME: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.woff': 'font/woff',
};
/** Fluent's icon font, served locally as the platform serves it (no CDN here). */
const ICON_FONTS = join(dirname(require.resolve('@fluentui/font-icons-mdl2')), '..', 'fonts');

/** The platform libraries, from node_modules, under the names the platform gives them. */
const LIBRARIES: Record<string, string> = {
  'react.js': require.resolve('react/umd/react.production.min.js'),
  'react-dom.js': require.resolve('react-dom/umd/react-dom.production.min.js'),
  'fluent.js': require.resolve('@fluentui/react/dist/fluentui-react.umd.js'),
  'pcf-host.js': join(__dirname, 'browser', 'pcf-host.js'),
};

/** JSON inside a <script> element: `<` escaped so that no value can close the element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

interface HarnessSetup {
  forms: Map<string, FormView>;
  dashboards: DashboardSpec[];
  controlsDir: string;
  upstream: URL;
  options: HarnessOptions;
  entitySets: Record<string, string>;
  log: WebApiRequestRecord[];
}

/** The configuration `pcf-host.js` reads from the page: the control, its strings and the form's context. */
async function pageConfig(setup: HarnessSetup, control: string, query: URLSearchParams) {
  const { controlsDir, options } = setup;
  const manifest: ControlManifestInfo = parseControlManifest(
    await readFile(join(controlsDir, control, 'ControlManifest.xml'), 'utf8'),
  );
  const languageId = Number(query.get('lang') ?? 1033);
  const resxPath =
    manifest.resx.find((path) => path.includes(`.${languageId}.`)) ??
    manifest.resx.find((path) => path.includes('.1033.'));
  const strings = resxPath ? parseResx(await readFile(join(controlsDir, control, resxPath), 'utf8')) : {};
  const config = {
    control: `${manifest.namespace}.${manifest.constructor}`,
    properties: manifest.properties,
    parameters: JSON.parse(query.get('parameters') ?? '{}'),
    security: query.get('security') ? JSON.parse(query.get('security') as string) : undefined,
    entityTypeName: query.get('entity') ?? '',
    entityId: query.get('id') || undefined,
    disabled: query.get('disabled') === '1',
    languageId,
    strings,
    userId: options.userId,
    privileges: options.privileges,
    entitySets: setup.entitySets,
    apiRoot: API_ROOT,
  };
  return { manifest, languageId, config };
}

/** The page hosting one control, as the query (built by `pageUrl`) describes it. */
async function page(setup: HarnessSetup, query: URLSearchParams): Promise<string> {
  const control = query.get('control') ?? '';
  if (!/^[A-Za-z0-9_]+$/.test(control)) throw new HttpProblem(400, 'control must be a control folder name');
  const { manifest, languageId, config } = await pageConfig(setup, control, query);
  const width = Number(query.get('width') ?? 900);
  return `<!doctype html>
<html lang="${languageId === 1031 ? 'de' : 'en'}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(control)} – PCF harness</title>
${manifest.css.map((css) => `<link rel="stylesheet" href="/controls/${control}/${escapeHtml(css)}">`).join('\n')}
<style>body{margin:0;padding:16px;background:#faf9f8;font-family:'Segoe UI',sans-serif}#form-column{background:#fff;padding:16px;box-sizing:border-box;box-shadow:0 1px 3px rgba(0,0,0,.13)}</style>
</head>
<body>
<main id="form-column" style="width:${Number.isFinite(width) ? width : 900}px"><div id="control"></div></main>
<script>window.FabricConfig = { fontBaseUrl: "" };</script>
<script src="/lib/react.js"></script>
<script src="/lib/react-dom.js"></script>
<script src="/lib/fluent.js"></script>
<script>window.Reactv16 = window.React; window.FluentUIReactv8290 = window.FluentUIReact; window.FluentUIReact.initializeIcons('/fonts/');</script>
<script id="harness-config" type="application/json">${scriptJson(config)}</script>
<script src="/lib/pcf-host.js"></script>
<script src="/controls/${control}/bundle.js"></script>
<script>window.PcfHost.start();</script>
</body>
</html>`;
}

/** Request headers the Web API forward passes on to the emulator. */
const FORWARDED_HEADERS = [
  'accept',
  'content-type',
  'prefer',
  'if-match',
  'if-none-match',
  'odata-version',
  'odata-maxversion',
  'mscrmcallerid',
];
/** Response headers the forward does not copy back (the response is written anew). */
const HOP_BY_HOP = ['content-length', 'transfer-encoding', 'connection', 'keep-alive'];

/** One Web API request forwarded to the emulator, logged, and its answer sent back as from this origin. */
async function forward(
  { upstream, log }: HarnessSetup,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  path: string,
): Promise<void> {
  const body = await readBody(req);
  const headers: Record<string, string> = {};
  for (const name of FORWARDED_HEADERS) {
    const value = req.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  const target = new URL(path, upstream);
  const response = await fetch(target, {
    method: req.method,
    headers,
    body: body.length > 0 ? new Uint8Array(body) : undefined,
  });
  log.push({ method: req.method ?? 'GET', path, status: response.status });
  const out: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (!HOP_BY_HOP.includes(name)) out[name] = value;
  });
  // The emulator's absolute URLs (OData-EntityId, nextLink) point at the page's own origin, as on a form.
  const rewrite = (text: string) => text.split(upstream.href).join(`http://${req.headers.host}${API_ROOT}`);
  if (out['odata-entityid']) out['odata-entityid'] = rewrite(out['odata-entityid']);
  const text = await response.text();
  res.writeHead(response.status, out);
  res.end(rewrite(text));
}

/** The icon font file a Fluent UMD request names, or undefined. */
async function iconFont(pathname: string): Promise<string | undefined> {
  // Fluent 8.29's UMD build names its font files with older hashes: serve the same subset (fabric-icons-N).
  const subset = /^(fabric-icons(?:-\d+)?)-[0-9a-f]+\.woff$/.exec(basename(pathname))?.[1];
  if (!subset) return undefined;
  return (await readdir(ICON_FONTS)).find(
    (name) => name.startsWith(`${subset}-`) && /^[0-9a-f]+\.woff$/.test(name.slice(subset.length + 1)),
  );
}

/** Serves one request: the Web API forward, the page, the platform libraries, the icon fonts or a control file. */
async function handle(
  setup: HarnessSetup,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://harness');
  if (url.pathname.startsWith(API_ROOT))
    return forward(setup, req, res, url.pathname.slice(API_ROOT.length) + url.search);
  if (req.method !== 'GET') throw new HttpProblem(405, 'only GET here');
  if (url.pathname === '/') return send(res, 200, MIME['.html'], await page(setup, url.searchParams));
  if (url.pathname === '/dashboard') {
    const wanted = url.searchParams.get('id');
    const dashboard = setup.dashboards.find((candidate) => !wanted || candidate.id === wanted);
    if (!dashboard) throw new HttpProblem(404, `the solution has no dashboard ${wanted ?? ''}`.trim());
    const figures = new Map<string, Array<[string, number]>>();
    for (const chart of dashboard.charts)
      figures.set(chart.id, aggregate(chart, await readRows(setup, chart)));
    return send(res, 200, MIME['.html'], dashboardPage(dashboard, figures));
  }
  if (url.pathname === '/form') {
    const query = url.searchParams;
    const table = query.get('entity') ?? '';
    const form = setup.forms.get(table);
    if (!form) throw new HttpProblem(404, `the solution has no main form for ${table || '(no entity)'}`);
    const record = await readRecord(setup, table, query.get('id') ?? '');
    const controlPage = (control: string, parameters: Record<string, unknown>) =>
      pageUrl('', {
        control,
        entityTypeName: table,
        entityId: query.get('id') ?? '',
        parameters,
        width: 860,
      });
    return send(
      res,
      200,
      MIME['.html'],
      formPage(
        form,
        record,
        controlPage,
        tableModel.tables.find((t) => t.logicalName === table),
      ),
    );
  }
  if (url.pathname.startsWith('/lib/')) {
    const file = LIBRARIES[url.pathname.slice('/lib/'.length)];
    if (!file) throw new HttpProblem(404, 'no such library');
    return send(res, 200, MIME['.js'], await readFile(file));
  }
  if (url.pathname.startsWith('/fonts/')) {
    const file = await iconFont(url.pathname);
    if (!file) throw new HttpProblem(404, 'no such icon font');
    return send(res, 200, MIME['.woff'], await readFile(join(ICON_FONTS, file)));
  }
  if (url.pathname.startsWith('/controls/')) {
    const { controlsDir } = setup;
    const file = normalize(join(controlsDir, decodeURIComponent(url.pathname.slice('/controls/'.length))));
    if (!file.startsWith(controlsDir + sep)) throw new HttpProblem(403, 'outside the controls folder');
    return send(res, 200, MIME[extname(file)] ?? 'application/octet-stream', await readFile(file));
  }
  throw new HttpProblem(404, 'not found');
}

/** A failed request's answer: its HTTP problem, 404 for a missing file, else 500. */
function sendFailure(res: http.ServerResponse, error: unknown): void {
  const status =
    error instanceof HttpProblem
      ? error.status
      : (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? 404
        : 500;
  if (!res.headersSent)
    send(res, status, 'text/plain; charset=utf-8', String((error as Error).message ?? error));
  else res.destroy();
}

/** The harness page's URL for one control on one record. */
function pageUrl(base: string, p: HarnessPage): string {
  const query = new URLSearchParams({ control: p.control, entity: p.entityTypeName });
  if (p.entityId) query.set('id', p.entityId);
  if (p.width) query.set('width', String(p.width));
  if (p.disabled) query.set('disabled', '1');
  if (p.languageId) query.set('lang', String(p.languageId));
  if (p.parameters) query.set('parameters', JSON.stringify(p.parameters));
  if (p.security) query.set('security', JSON.stringify(p.security));
  return `${base}/?${query}`;
}

/** The rows a chart aggregates: its group and measure columns, with formatted values, every page. */
async function readRows(setup: HarnessSetup, chart: ChartSpec): Promise<Array<Record<string, unknown>>> {
  const rows: Array<Record<string, unknown>> = [];
  let next: URL | null = new URL(
    `${setup.entitySets[chart.table]}?$select=${[...new Set([chart.groupBy, chart.measure])].join(',')}`,
    setup.upstream,
  );
  while (next) {
    const response: Response = await fetch(next, {
      headers: { prefer: 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"' },
    });
    if (!response.ok)
      throw new HttpProblem(response.status, `the chart's rows could not be read: ${await response.text()}`);
    const page = (await response.json()) as {
      value: Array<Record<string, unknown>>;
      '@odata.nextLink'?: string;
    };
    rows.push(...page.value);
    next = page['@odata.nextLink'] ? new URL(page['@odata.nextLink']) : null;
  }
  return rows;
}

/** The record as a form reads it: its columns with their formatted values. */
async function readRecord(setup: HarnessSetup, table: string, id: string): Promise<Record<string, unknown>> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw new HttpProblem(400, 'id must be a row id');
  const response = await fetch(new URL(`${setup.entitySets[table]}(${id})`, setup.upstream), {
    headers: { prefer: 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"' },
  });
  if (!response.ok)
    throw new HttpProblem(response.status, `the record could not be read: ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>;
}

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const setup: HarnessSetup = {
    forms: options.customizationsXml ? mainForms(options.customizationsXml) : new Map(),
    dashboards: options.customizationsXml ? dashboards(options.customizationsXml) : [],
    controlsDir: resolve(options.controlsDir),
    upstream: new URL(options.dataverseUrl.endsWith('/') ? options.dataverseUrl : `${options.dataverseUrl}/`),
    options,
    entitySets: Object.fromEntries(tableModel.tables.map((t) => [t.logicalName, t.entitySetName])),
    log: [],
  };
  const { log } = setup;
  const server = http.createServer((req, res) => {
    handle(setup, req, res).catch((error: unknown) => sendFailure(res, error));
  });

  await new Promise<void>((done) => server.listen(options.port ?? 0, '127.0.0.1', done));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    pageUrl: (p) => pageUrl(base, p),
    dashboardUrl: (id) => `${base}/dashboard${id ? `?id=${encodeURIComponent(id)}` : ''}`,
    formUrl: (f) => {
      const query = new URLSearchParams({ entity: f.entityTypeName, id: f.entityId });
      if (f.width) query.set('width', String(f.width));
      if (f.languageId) query.set('lang', String(f.languageId));
      return `${base}/form?${query}`;
    },
    requests: () => [...log],
    clearRequests: () => {
      log.length = 0;
    },
    close: () =>
      new Promise<void>((done, fail) => {
        server.close((error) => (error ? fail(error) : done()));
        server.closeAllConnections();
      }),
  };
}

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: http.ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => done(Buffer.concat(chunks)));
    req.on('error', fail);
  });
}
