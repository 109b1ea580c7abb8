import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import JSZip from 'jszip';
import { securityRoles } from '../../components';
import { model } from '../../model';
import { manifestResourcePaths, packSolution, PackError, type PackOptions } from '../packer';
import { validateCustomizationsXml } from '../validate';
import { xmlTree } from './xml-tree';

const repoRoot = resolve(__dirname, '../../../..');
const referenceKit = resolve(repoRoot, 'test/fixtures/reference/dataverse/solution-creator-kit/src');
const parser = xmlTree;

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'stc-pack-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

/** Built parts as the web resource and PCF builds leave them; the control is a real one from the reference kit. */
function builtParts(): Pick<PackOptions, 'webResourcesDir' | 'controlsDir'> {
  const webResourcesDir = join(work, 'webresources-dist');
  mkdirSync(join(webResourcesDir, 'scripts'), { recursive: true });
  writeFileSync(join(webResourcesDir, 'scripts', 'paymentForm.js'), 'var Stc = Stc || {};\n');
  writeFileSync(join(webResourcesDir, 'scripts', 'paymentForm.js.map'), '{}');
  const controlsDir = join(work, 'controls');
  const control = join(controlsDir, 'AutoWidthLabel');
  cpSync(join(referenceKit, 'Controls', 'cat_PowerCAT.AutoWidthLabel'), control, { recursive: true });
  rmSync(join(control, 'ControlManifest.xml.data.xml'));
  writeFileSync(join(control, 'bundle.js'), 'var pcf_tools_bundle = {};\n');
  writeFileSync(join(control, 'bundle.js.LICENSE.txt'), 'licences\n');
  return { webResourcesDir, controlsDir };
}

async function pack(extra: Partial<PackOptions> = {}) {
  const result = await packSolution({
    repoRoot,
    outDir: join(work, 'dist'),
    packageVersion: '1.4.2',
    ...builtParts(),
    ...extra,
  });
  const open = async (path: string) => JSZip.loadAsync(readFileSync(path));
  return { result, unmanaged: await open(result.unmanagedZip), managed: await open(result.managedZip) };
}

async function textOf(zip: JSZip, path: string): Promise<string> {
  const file = zip.file(path);
  if (!file) throw new Error(`${path} is not in the zip`);
  return file.async('string');
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const rootComponentsOf = (solutionXml: string): any[] =>
  parser.parse(solutionXml).ImportExportXml[0].SolutionManifest[0].RootComponents[0].RootComponent;

describe('solution packer', () => {
  it('writes a managed and an unmanaged zip named and versioned after package.json', async () => {
    const { result, unmanaged, managed } = await pack();
    expect(readdirSync(join(work, 'dist')).sort()).toEqual([
      'StripeConnector_1_4_2_0.zip',
      'StripeConnector_1_4_2_0_managed.zip',
    ]);
    expect(result.version).toBe('1.4.2.0');
    for (const [zip, flag] of [
      [unmanaged, '0'],
      [managed, '1'],
    ] as const) {
      const manifest = parser.parse(await textOf(zip, 'solution.xml')).ImportExportXml[0].SolutionManifest[0];
      expect(manifest.UniqueName[0]).toBe('StripeConnector');
      expect(String(manifest.Version[0])).toBe('1.4.2.0');
      expect(String(manifest.Managed[0])).toBe(flag);
      expect(manifest.Publisher[0].CustomizationPrefix[0]).toBe('stc');
      expect(manifest.Publisher[0].CustomizationOptionValuePrefix[0]).toBe(10000);
      expect(Object.keys(zip.files)[0]).toBe('[Content_Types].xml');
      expect(Object.values(zip.files).filter((file) => file.dir)).toEqual([]);
    }
  });

  it('has a customizations.xml that validates against the solution schema', async () => {
    const { managed } = await pack();
    const result = validateCustomizationsXml(await textOf(managed, 'customizations.xml'));
    expect(result.errors).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('lists every kind of component as a root component', async () => {
    const { unmanaged } = await pack();
    const components = rootComponentsOf(await textOf(unmanaged, 'solution.xml'));
    const types = new Set(components.map((component) => Number(component['@type'])));
    // System forms (60): the finance dashboard; these built parts have none of the form scripts the Stripe
    // tabs need (see the app tests).
    expect([...types].sort((a, b) => a - b)).toEqual([1, 2, 10, 14, 20, 60, 61, 62, 66, 80, 92, 95, 380]);
    const tables = components.filter((c) => c['@type'] === '1');
    expect(tables.find((c) => c['@schemaName'] === 'stc_payment')['@behavior']).toBe('0');
    expect(tables.find((c) => c['@schemaName'] === 'account')['@behavior']).toBe('2');
    // Standard tables the solution adds columns to come as shells (behavior 2); those it only reads not at all.
    expect(tables.find((c) => c['@schemaName'] === 'salesorder')['@behavior']).toBe('2');
    expect(tables.find((c) => c['@schemaName'] === 'product')['@behavior']).toBe('2');
    expect(tables.find((c) => c['@schemaName'] === 'productpricelevel')['@behavior']).toBe('2');
    expect(tables.map((c) => c['@schemaName'])).not.toContain('pricelevel');
    const addedColumns = model.tables
      .filter((t) => t.standard)
      .flatMap((t) => t.columns.filter((c) => !c.standard && !c.system));
    expect(addedColumns.map((c) => c.logicalName)).toContain('stc_stripecustomerid');
    expect(components.filter((c) => c['@type'] === '2')).toHaveLength(addedColumns.length);
    expect(components.find((c) => c['@type'] === '61')['@schemaName']).toBe('stc_/scripts/paymentForm.js');
  });

  it('places controls as the real solution does: Controls/<prefix>_<namespace>.<name>/ with every file the manifest names', async () => {
    // The rule, checked on the real export first: each control root component has its folder and manifest.
    const reference = rootComponentsOf(readFileSync(join(referenceKit, 'Other', 'Solution.xml'), 'utf8'));
    const referenceControls = reference.filter((c) => c['@type'] === '66').map((c) => c['@schemaName']);
    expect(referenceControls.length).toBeGreaterThan(0);
    for (const name of referenceControls) {
      expect(readdirSync(join(referenceKit, 'Controls', name))).toContain('ControlManifest.xml');
    }

    const { unmanaged, result } = await pack();
    const controls = rootComponentsOf(await textOf(unmanaged, 'solution.xml')).filter(
      (c) => c['@type'] === '66',
    );
    expect(controls.map((c) => c['@schemaName'])).toEqual(['stc_PowerCAT.AutoWidthLabel']);
    for (const control of controls) {
      const folder = `Controls/${control['@schemaName']}/`;
      const manifest = await textOf(unmanaged, `${folder}ControlManifest.xml`);
      const { paths } = manifestResourcePaths(manifest);
      expect(paths).toEqual(
        expect.arrayContaining(['bundle.js', 'css/AutoWidthLabel.css', 'strings/AutoWidthLabel.1033.resx']),
      );
      for (const path of paths) expect(unmanaged.file(folder + path)).not.toBeNull();
    }
    expect(unmanaged.file('Controls/stc_PowerCAT.AutoWidthLabel/bundle.js.LICENSE.txt')).toBeNull();
    const customizations = parser.parse(await textOf(unmanaged, 'customizations.xml')).ImportExportXml[0];
    expect(customizations.CustomControls[0].CustomControl[0].FileName[0]).toBe(
      '/Controls/stc_PowerCAT.AutoWidthLabel/ControlManifest.xml',
    );
    expect(result.controls[0].name).toBe('stc_PowerCAT.AutoWidthLabel');
  });

  it('keeps a web resource name the build already prefixed, and prefixes one it did not', async () => {
    const parts = builtParts();
    mkdirSync(join(parts.webResourcesDir as string, 'stc_', 'js'), { recursive: true });
    writeFileSync(join(parts.webResourcesDir as string, 'stc_', 'js', 'account.js'), '(()=>{})();\n');
    const { result, unmanaged } = await pack(parts);
    expect(result.webResources.sort()).toEqual(['stc_/js/account.js', 'stc_/scripts/paymentForm.js']);
    expect(unmanaged.file('WebResources/stc_/js/account.js')).not.toBeNull();
  });

  it('carries web resources from the web resource build, without source maps', async () => {
    const { unmanaged } = await pack();
    expect(await textOf(unmanaged, 'WebResources/stc_/scripts/paymentForm.js')).toBe(
      'var Stc = Stc || {};\n',
    );
    expect(Object.keys(unmanaged.files).some((path) => path.endsWith('.map'))).toBe(false);
    const resource = parser.parse(await textOf(unmanaged, 'customizations.xml')).ImportExportXml[0]
      .WebResources[0].WebResource[0];
    expect(resource.Name[0]).toBe('stc_/scripts/paymentForm.js');
    expect(resource.WebResourceType[0]).toBe(3);
    expect(resource.FileName[0]).toBe('/WebResources/stc_/scripts/paymentForm.js');
  });

  it('still builds the rest when web resources and controls are not built, and says what it left out', async () => {
    const { result, unmanaged } = await pack({
      webResourcesDir: join(work, 'none-web'),
      controlsDir: join(work, 'none-pcf'),
    });
    expect(result.leftOut.join('\n')).toMatch(/web resources.*none-web/);
    expect(result.leftOut.join('\n')).toMatch(/PCF controls.*none-pcf/);
    expect(Object.keys(unmanaged.files).some((path) => path.startsWith('Controls/'))).toBe(false);
    expect(validateCustomizationsXml(await textOf(unmanaged, 'customizations.xml')).valid).toBe(true);
  });

  it('refuses a control whose manifest names a file the build did not produce', async () => {
    const parts = builtParts();
    rmSync(join(parts.controlsDir as string, 'AutoWidthLabel', 'bundle.js'));
    await expect(
      packSolution({ repoRoot, outDir: join(work, 'dist'), packageVersion: '1.0.0', ...parts }),
    ).rejects.toThrow(
      new PackError(
        'Control PowerCAT.AutoWidthLabel: its manifest names bundle.js, which the build did not produce',
      ),
    );
  });

  it('ships least-privilege roles: none is an administrator, none creates in every table, none deletes', async () => {
    const { unmanaged } = await pack();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const roles: any[] = parser.parse(await textOf(unmanaged, 'customizations.xml')).ImportExportXml[0]
      .Roles[0].Role;
    expect(roles.map((role) => role['@name']).sort()).toEqual(securityRoles.map((role) => role.name).sort());
    const everyTable = model.tables.map(
      (table) => `prvCreate${table.standard ? table.schemaName : table.logicalName}`,
    );
    for (const role of roles) {
      expect(role['@name']).not.toMatch(/System (Administrator|Customizer)/i);
      const privileges: string[] = role.RolePrivileges[0].RolePrivilege.map(
        (p: { '@name': string }) => p['@name'],
      );
      expect(everyTable.every((name) => privileges.includes(name))).toBe(false);
      expect(privileges.filter((name) => name.startsWith('prvDelete'))).toEqual([]);
    }
    const service = roles.find((role) => role['@name'] === 'Stripe Connector Service');
    const granted = service.RolePrivileges[0].RolePrivilege.map((p: { '@name': string }) => p['@name']);
    expect(granted).toEqual(
      expect.arrayContaining([
        'prvCreatestc_payment',
        'prvWriteAccount',
        'prvAppendToSalesOrder',
        'prvReadInvoice',
        'prvCreateProduct',
        'prvAppendToTransactionCurrency',
      ]),
    );
    expect(granted).not.toContain('prvCreatestc_refundrequest');
    expect(granted).not.toContain('prvCreatestc_paymentlinkrequest');
    // A payment link's URL and its payment are written to the order or invoice it was made for.
    expect(granted).toEqual(expect.arrayContaining(['prvWriteSalesOrder', 'prvWriteInvoice']));
  });

  it('registers the webhook endpoint without a key and its asynchronous steps', async () => {
    const { unmanaged } = await pack();
    const doc = parser.parse(await textOf(unmanaged, 'customizations.xml')).ImportExportXml[0];
    const endpoint = doc.ServiceEndpoints[0].ServiceEndpoint[0];
    expect(endpoint.Contract[0]).toBe(8);
    expect(endpoint.AuthType[0]).toBe(5);
    expect(endpoint.AuthValue).toBeUndefined();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const steps: any[] = doc.SdkMessageProcessingSteps[0].SdkMessageProcessingStep;
    expect(steps.map((step) => `${step.PrimaryEntity[0]}`).sort()).toEqual([
      'account',
      'account',
      'contact',
      'contact',
      'invoice',
      'quote',
      'salesorder',
      'stc_chargerequest',
      'stc_chargerequest',
      'stc_payment',
      'stc_paymentlinkrequest',
      'stc_refundrequest',
      'stc_refundrequest',
      'stc_subscriptionrequest',
    ]);
    for (const step of steps) {
      expect(step.Mode[0]).toBe(1);
      expect(step.Stage[0]).toBe(40);
      expect(`{${step.EventHandler[0]}}`).toBe(endpoint['@ServiceEndpointId']);
    }
    // An account's Create in Stripe fires a step whether it is ticked at create or on an edit.
    const accountStep = steps.find(
      (step) => step.PrimaryEntity[0] === 'account' && step.FilteringAttributes?.[0],
    );
    expect(accountStep.FilteringAttributes[0].split(',')).toEqual(
      expect.arrayContaining(['name', 'emailaddress1', 'stc_createinstripe']),
    );
    expect(steps.filter((step) => step.PrimaryEntity[0] === 'account').length).toBe(2);
    // A payment page follows its document: closed, or its total changed.
    const orderStep = steps.find((step) => step.PrimaryEntity[0] === 'salesorder');
    expect(orderStep.FilteringAttributes[0].split(',')).toEqual(['statecode', 'totalamount']);
  });

  it('ships environment variable definitions and nothing secret', async () => {
    const { managed } = await pack();
    const thresholds = await textOf(
      managed,
      'environmentvariabledefinitions/stc_RefundApprovalThresholds/environmentvariabledefinition.xml',
    );
    expect(thresholds).toContain('<type>100000003</type>');
    const defaultValue = /<defaultvalue>([^<]*)<\/defaultvalue>/.exec(thresholds)?.[1] ?? '';
    expect(JSON.parse(defaultValue.replace(/&quot;/g, '"'))).toEqual({
      usd: 50000,
      eur: 50000,
      gbp: 40000,
      jpy: 75000,
      kwd: 150000,
    });
    const secretLike =
      /whsec_|sk_(live|test)_|rk_(live|test)_|client_?secret|password|AuthValue|BEGIN (RSA |EC )?PRIVATE KEY|<type>100000005<\/type>/i;
    for (const [path, file] of Object.entries(managed.files)) {
      if (file.dir) continue;
      expect({ path, secret: secretLike.exec(await file.async('string'))?.[0] }).toEqual({
        path,
        secret: undefined,
      });
    }
  });

  it('keeps names, keys and ids stable across versions, so a later version imports as an upgrade', async () => {
    const first = await pack({ packageVersion: '0.1.0' });
    const firstCustomizations = await textOf(first.managed, 'customizations.xml');
    const firstComponents = rootComponentsOf(await textOf(first.managed, 'solution.xml'));
    const second = await pack({ packageVersion: '0.2.0' });
    expect(second.result.version).toBe('0.2.0.0');
    expect(await textOf(second.managed, 'customizations.xml')).toBe(firstCustomizations);
    expect(rootComponentsOf(await textOf(second.managed, 'solution.xml'))).toEqual(firstComponents);
    expect(readdirSync(join(work, 'dist')).sort()).toEqual([
      'StripeConnector_0_2_0_0.zip',
      'StripeConnector_0_2_0_0_managed.zip',
    ]);
  });

  it('builds byte-identical zips from the same sources', async () => {
    const first = readFileSync((await pack()).result.managedZip);
    const second = readFileSync((await pack()).result.managedZip);
    expect(second.equals(first)).toBe(true);
  });

  it('refuses a package version that is not major.minor.patch', async () => {
    await expect(
      packSolution({ repoRoot, outDir: join(work, 'dist'), packageVersion: 'latest' }),
    ).rejects.toThrow(/"latest" is not major.minor.patch/);
  });
});
