/**
 * The harness without a browser: the page it serves for a built control, the platform libraries, the Web API
 * forwarded to the Dataverse emulator as the configured user, the request log, and what it refuses. Uses a
 * small control folder written here, so it needs no pcf-scripts build.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDataverseEmulator, type DataverseEmulator } from '@stc/emulators';
import { parseControlManifest, startHarness, type Harness } from '..';

const USER = { systemuserid: '2b7c9d1e-3f4a-4b5c-8d6e-7f8091a2b3c4', fullname: 'Harness Tester' };
const MANIFEST = `<?xml version="1.0" encoding="UTF-8"?>
<manifest><control namespace="StripeConnector" constructor="Probe" version="0.1.0" display-name-key="Probe" control-type="virtual">
<property name="boundField" of-type="SingleLine.Text" usage="bound" required="true"/>
<property name="pollIntervalSeconds" of-type="Whole.None" usage="input" default-value="3"/>
<resources><code path="bundle.js" order="1"/><platform-library name="React" version="16.14.0"/><platform-library name="Fluent" version="8.29.0"/>
<css path="css/Probe.css" order="1"/><resx path="strings/Probe.1033.resx" version="1.0.0"/><resx path="strings/Probe.1031.resx" version="1.0.0"/></resources>
</control></manifest>`;
const resx = (value: string) =>
  `<?xml version="1.0" encoding="utf-8"?><root><data name="Probe_Hello" xml:space="preserve"><value>${value}</value></data></root>`;

let dir: string;
let dataverse: DataverseEmulator;
let harness: Harness;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stc-harness-'));
  mkdirSync(join(dir, 'Probe', 'strings'), { recursive: true });
  mkdirSync(join(dir, 'Probe', 'css'), { recursive: true });
  writeFileSync(join(dir, 'Probe', 'ControlManifest.xml'), MANIFEST);
  writeFileSync(join(dir, 'Probe', 'bundle.js'), '/* probe */');
  writeFileSync(join(dir, 'Probe', 'css', 'Probe.css'), '.probe{}');
  writeFileSync(join(dir, 'Probe', 'strings', 'Probe.1033.resx'), resx('Hello &amp; welcome'));
  writeFileSync(join(dir, 'Probe', 'strings', 'Probe.1031.resx'), resx('Hallo'));
  writeFileSync(join(dir, 'secret.txt'), 'not for the page');
  dataverse = await startDataverseEmulator({ port: 0, auth: { mode: 'none' } });
  dataverse.addSystemUser(USER);
  harness = await startHarness({
    dataverseUrl: dataverse.url,
    controlsDir: dir,
    userId: USER.systemuserid,
    privileges: { stc_refundrequest: ['Create'] },
  });
});

afterAll(async () => {
  await harness?.close();
  await dataverse?.close();
  rmSync(dir, { recursive: true, force: true });
});

function configOf(html: string): Record<string, unknown> {
  const match = /<script id="harness-config" type="application\/json">([\s\S]*?)<\/script>/.exec(html);
  return JSON.parse(match![1]);
}

it('serves a page with the platform libraries, the control and a context configuration', async () => {
  const url = harness.pageUrl({
    control: 'Probe',
    entityTypeName: 'salesorder',
    entityId: '6f1c2a9e-1d2b-4c3d-8e9f-0a1b2c3d4e5f',
    width: 360,
    disabled: true,
    languageId: 1031,
    parameters: { boundField: 'ORD-1' },
  });
  const html = await (await fetch(url)).text();
  for (const src of [
    '/lib/react.js',
    '/lib/react-dom.js',
    '/lib/fluent.js',
    '/lib/pcf-host.js',
    '/controls/Probe/bundle.js',
  ]) {
    expect(html).toContain(`<script src="${src}"></script>`);
  }
  expect(html).toContain('window.Reactv16 = window.React; window.FluentUIReactv8290 = window.FluentUIReact;');
  expect(html).toContain('<link rel="stylesheet" href="/controls/Probe/css/Probe.css">');
  expect(html).toContain('style="width:360px"');
  expect(configOf(html)).toMatchObject({
    control: 'StripeConnector.Probe',
    entityTypeName: 'salesorder',
    entityId: '6f1c2a9e-1d2b-4c3d-8e9f-0a1b2c3d4e5f',
    disabled: true,
    languageId: 1031,
    strings: { Probe_Hello: 'Hallo' },
    parameters: { boundField: 'ORD-1' },
    userId: USER.systemuserid,
    privileges: { stc_refundrequest: ['Create'] },
    entitySets: expect.objectContaining({ stc_payment: 'stc_payments', salesorder: 'salesorders' }),
  });
  const react = await fetch(`${harness.url}/lib/react.js`);
  expect(react.status).toBe(200);
  expect(await react.text()).toContain('16.14.0');
});

it('forwards the Web API to the emulator as the user, keeps the entity id on its own origin, and logs each request', async () => {
  harness.clearRequests();
  const created = await fetch(`${harness.url}/api/data/v9.2/accounts`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', MSCRMCallerID: USER.systemuserid },
    body: JSON.stringify({ name: 'Forwarded Ltd' }),
  });
  expect(created.status).toBe(204);
  const entityId = created.headers.get('odata-entityid') ?? '';
  expect(entityId.startsWith(`${harness.url}/api/data/v9.2/accounts(`)).toBe(true);
  const id = /\(([0-9a-f-]{36})\)$/.exec(entityId)![1];
  expect(dataverse.store.get('accounts', id)).toMatchObject({
    name: 'Forwarded Ltd',
    _createdby_value: USER.systemuserid,
  });

  const missing = await fetch(`${harness.url}/api/data/v9.2/accounts(00000000-0000-0000-0000-000000000001)`);
  expect(missing.status).toBe(404);
  expect(((await missing.json()) as { error: { code: string } }).error.code).toMatch(/^0x/);
  expect(harness.requests()).toEqual([
    { method: 'POST', path: 'accounts', status: 204 },
    { method: 'GET', path: 'accounts(00000000-0000-0000-0000-000000000001)', status: 404 },
  ]);
});

it('parses what it needs from a built manifest', () => {
  expect(parseControlManifest(MANIFEST)).toEqual({
    namespace: 'StripeConnector',
    constructor: 'Probe',
    properties: [
      { name: 'boundField', ofType: 'SingleLine.Text', usage: 'bound', defaultValue: undefined },
      { name: 'pollIntervalSeconds', ofType: 'Whole.None', usage: 'input', defaultValue: '3' },
    ],
    css: ['css/Probe.css'],
    resx: ['strings/Probe.1033.resx', 'strings/Probe.1031.resx'],
    platformLibraries: [
      { name: 'React', version: '16.14.0' },
      { name: 'Fluent', version: '8.29.0' },
    ],
  });
  expect(() => parseControlManifest('<manifest/>')).toThrow(/no <control namespace/);
});

it('refuses files outside the controls folder, unknown controls and names that are not folder names', async () => {
  expect((await fetch(`${harness.url}/controls/..%2Fsecret.txt`)).status).toBe(403);
  expect((await fetch(`${harness.url}/?control=Nope&entity=account`)).status).toBe(404);
  expect((await fetch(`${harness.url}/?control=..%2FProbe&entity=account`)).status).toBe(400);
  expect((await fetch(`${harness.url}/lib/other.js`)).status).toBe(404);
});
