import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { securityRoles } from '../../components';
import { model } from '../../model';
import { collectSolutionFiles } from '../../pack/packer';
import { validateCustomizationsXml } from '../../pack/validate';
import { checkCharts, FINANCE_CHARTS } from '../dashboards';
import { STANDARD_MAIN_FORMS, standardFormAdditions } from '../forms';
import { xmlTree } from '../../pack/__tests__/xml-tree';

/* eslint-disable @typescript-eslint/no-explicit-any -- parsed XML is walked as untyped trees */

const repoRoot = resolve(__dirname, '../../../..');
const reference = resolve(repoRoot, 'test/fixtures/reference/dataverse/model-driven-app');
const parser = xmlTree;
/** A reference file parsed as a tree (the real exports start with a byte order mark). */
const readReference = (path: string): any =>
  xmlTree.parse(readFileSync(join(reference, path), 'utf8').replace(/^\uFEFF/, ''));

const work = mkdtempSync(join(tmpdir(), 'stc-app-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** What the web resource and PCF builds leave: the four form scripts and the two panels. */
function builtParts(
  scripts = [
    'account',
    'contact',
    'quote',
    'salesorder',
    'invoice',
    'syncissue',
    'refundrequest',
    'subscription',
    'chargerequest',
  ],
  panels = ['PaymentPanel', 'CustomerPanel'],
) {
  const dir = mkdtempSync(join(work, 'built-'));
  const webResourcesDir = join(dir, 'web');
  mkdirSync(join(webResourcesDir, 'stc_', 'js'), { recursive: true });
  for (const script of scripts)
    writeFileSync(join(webResourcesDir, 'stc_', 'js', `${script}.js`), 'var StripeConnector;\n');
  if (scripts.length > 0) {
    mkdirSync(join(webResourcesDir, 'stc_', 'pages'), { recursive: true });
    writeFileSync(join(webResourcesDir, 'stc_', 'pages', 'connection.html'), '<!doctype html>\n');
  }
  const controlsDir = join(dir, 'controls');
  for (const panel of panels) {
    mkdirSync(join(controlsDir, panel), { recursive: true });
    writeFileSync(
      join(controlsDir, panel, 'ControlManifest.xml'),
      `<?xml version="1.0" encoding="utf-8"?><manifest><control namespace="StripeConnector" constructor="${panel}" version="0.1.0" display-name-key="${panel}" description-key="${panel}" control-type="virtual"><resources><code path="bundle.js" order="1" /></resources></control></manifest>`,
    );
    writeFileSync(join(controlsDir, panel, 'bundle.js'), 'var pcf_tools_bundle;\n');
  }
  return { webResourcesDir, controlsDir };
}

function customizations(parts = builtParts()) {
  const files = collectSolutionFiles({ repoRoot, packageVersion: '1.0.0', ...parts });
  const xml = files.files(false).get('customizations.xml') as string;
  return { xml, doc: parser.parse(xml).ImportExportXml[0], leftOut: files.leftOut, files };
}

const packed = customizations();
const entities: any[] = packed.doc.Entities[0].Entity;
const entityNamed = (logicalName: string): any =>
  entities.find((entity) => entity.Name[0]['#text'].toLowerCase() === logicalName);
const formsOf = (logicalName: string, type: string): any[] =>
  (entityNamed(logicalName)?.FormXml?.[0]?.forms ?? [])
    .filter((forms: any) => forms['@type'] === type)
    .flatMap((forms: any) => forms.systemform);
const cellsOf = (systemform: any): any[] =>
  systemform.form[0].tabs[0].tab.flatMap((tab: any) =>
    tab.columns[0].column
      .flatMap((column: any) => column.sections[0].section)
      .flatMap((section: any) => (section.rows[0].row ?? []).flatMap((row: any) => row.cell ?? [])),
  );
const controlsOf = (systemform: any): any[] => cellsOf(systemform).flatMap((cell) => cell.control ?? []);
const app: any = packed.doc.AppModules[0].AppModule[0];
const siteMap: any = packed.doc.AppModuleSiteMaps[0].AppModuleSiteMap[0];
const connectorTables = model.tables.filter((table) => !table.standard);

describe('the packed app and forms against the solution schema', () => {
  it('has no schema error; the only warnings are the form-diff attributes the 2090 schema does not declare', () => {
    const result = validateCustomizationsXml(packed.xml);
    expect(result.errors).toEqual([]);
    expect(result.warnings.length).toBeGreaterThan(0);
    for (const warning of result.warnings)
      expect(warning).toMatch(/attribute '(solutionaction|ordinalvalue)'/);
  });
});

describe('the Stripe Connector app', () => {
  it('is one app with its sitemap, named in solution.xml as root components', () => {
    expect(app.UniqueName[0]).toBe('stc_StripeConnector');
    expect(app.LocalizedNames[0].LocalizedName[0]['@description']).toBe('Stripe Connector');
    expect(siteMap.SiteMapUniqueName[0]).toBe('stc_StripeConnector');
    const solution = parser.parse(packed.files.files(false).get('solution.xml') as string);
    const roots: any[] = solution.ImportExportXml[0].SolutionManifest[0].RootComponents[0].RootComponent;
    expect(roots).toContainEqual(
      expect.objectContaining({ '@type': '80', '@schemaName': 'stc_StripeConnector' }),
    );
    expect(roots).toContainEqual(
      expect.objectContaining({ '@type': '62', '@schemaName': 'stc_StripeConnector' }),
    );
  });

  it('has areas for sales, finance and settings, and a subarea for every connector table', () => {
    const areas: any[] = siteMap.SiteMap[0].Area;
    expect(areas.map((area) => area.Titles[0].Title[0]['@Title'])).toEqual(['Sales', 'Finance', 'Settings']);
    const subAreas = (title: string): string[] =>
      areas
        .find((area) => area.Titles[0].Title[0]['@Title'] === title)
        .Group.flatMap((group: any) => group.SubArea.map((sub: any) => sub['@Entity']));
    expect(subAreas('Sales')).toEqual(
      expect.arrayContaining(['stc_payment', 'salesorder', 'invoice', 'stc_subscription', 'account']),
    );
    expect(subAreas('Finance')).toEqual(
      expect.arrayContaining([
        'stc_payout',
        'stc_balancetransaction',
        'stc_journalentry',
        'stc_dispute',
        'stc_refund',
        'stc_refundrequest',
      ]),
    );
    const all = areas
      .flatMap((area) => area.Group.flatMap((group: any) => group.SubArea.map((sub: any) => sub['@Entity'])))
      .filter(Boolean);
    for (const table of connectorTables) expect(all).toContain(table.logicalName);
    expect(new Set(all).size).toBe(all.length);
  });

  it('lists as components only tables, forms and views the solution or the platform has', () => {
    const components: any[] = app.AppModuleComponents[0].AppModuleComponent;
    const ofType = (type: string) => components.filter((component) => component['@type'] === type);
    const tableNames = new Set(model.tables.map((table) => table.logicalName));
    for (const table of ofType('1')) expect(tableNames).toContain(table['@schemaName']);
    const dashboardIds = packed.doc.Dashboards[0].Dashboard.map((dashboard: any) => dashboard.FormId[0]);
    const formIds = new Set([
      ...dashboardIds,
      ...entities.flatMap((entity) =>
        (entity.FormXml?.[0]?.forms ?? []).flatMap((forms: any) =>
          forms.systemform.map((form: any) => form.formid[0]),
        ),
      ),
    ]);
    // Three forms a connector table, the account's and contact's Stripe Customer quick views, the five standard
    // forms with the Stripe tab (account, contact, quote, order, invoice), the finance dashboard.
    expect(ofType('60').length).toBe(connectorTables.length * 3 + 2 + 5 + 1);
    for (const form of ofType('60')) expect(formIds).toContain(form['@id']);
    const viewIds = new Set(
      entities.flatMap((entity) =>
        (entity.SavedQueries?.[0]?.savedqueries[0]?.savedquery ?? []).map(
          (view: any) => view.savedqueryid[0],
        ),
      ),
    );
    expect(ofType('26').length).toBeGreaterThan(0);
    for (const view of ofType('26')) expect(viewIds).toContain(view['@id']);
    expect(ofType('62')).toEqual([expect.objectContaining({ '@schemaName': 'stc_StripeConnector' })]);
  });

  it('is mapped to the roles of the users who work in it, not to the service account role', () => {
    const mapped = app.AppModuleRoleMaps[0].Role.map((role: any) => role['@id']);
    const byId = new Map(securityRoles.map((role) => [`{${role.id}}`, role.name]));
    expect(mapped.map((id: string) => byId.get(id)).sort()).toEqual([
      'Stripe Finance Approver',
      'Stripe Payments Reader',
      'Stripe Refund Requester',
    ]);
  });

  it('writes the AppModule elements in the order of a real packed app', () => {
    const real = readReference(
      'powerapps-samples-code-interpreter/CodeInterpreterSample_1_0_0_0_managed/customizations.xml',
    ).ImportExportXml[0].AppModules[0].AppModule[0];
    const order = (appModule: any) => Object.keys(appModule).filter((key) => !key.startsWith('@'));
    const ours = order(app);
    const shared = order(real).filter((key) => ours.includes(key));
    expect(ours.filter((key) => shared.includes(key))).toEqual(shared);
    expect(shared).toEqual(
      expect.arrayContaining(['UniqueName', 'AppModuleComponents', 'AppModuleRoleMaps', 'LocalizedNames']),
    );
  });
});

describe('forms of the connector tables', () => {
  it.each(connectorTables.map((table) => [table.logicalName, table] as const))(
    '%s has a main, a quick-view and a card form',
    (logicalName) => {
      expect(formsOf(logicalName, 'main')).toHaveLength(1);
      expect(formsOf(logicalName, 'quick')).toHaveLength(1);
      expect(formsOf(logicalName, 'card')).toHaveLength(1);
    },
  );

  it('lays a card out as the platform draws cards: colour strip, header, details, footer', () => {
    const real = readReference(
      'coe-alm-accelerator/Entities/cat_DeploymentStep/FormXml/card/{79ae4aef-f555-4f3d-ab77-2f564f61d528}.xml',
    ).forms[0].systemform[0];
    const layout = (systemform: any) =>
      systemform.form[0].tabs[0].tab[0].columns[0].column.map((column: any) => [
        column['@width'],
        column.sections[0].section.map((section: any) => section['@name']),
      ]);
    const card = formsOf('stc_payment', 'card')[0];
    expect(layout(card)).toEqual(layout(real));
    expect(controlsOf(card).map((control) => control['@id'])).toEqual(
      expect.arrayContaining(['stc_name', 'stc_amount', 'stc_status']),
    );
  });

  it('shows every column of a connector table once on its main form', () => {
    for (const table of connectorTables) {
      const shown = controlsOf(formsOf(table.logicalName, 'main')[0]).map(
        (control) => control['@datafieldname'],
      );
      const own = table.columns
        .filter((column) => !column.system && column.type !== 'uniqueidentifier')
        .map((column) => column.logicalName);
      expect(shown.sort()).toEqual([...own].sort());
    }
  });

  it('makes every field of a synced table read-only: the service owns them', () => {
    for (const table of connectorTables.filter((candidate) => candidate.synced)) {
      for (const control of controlsOf(formsOf(table.logicalName, 'main')[0])) {
        expect([table.logicalName, control['@id'], control['@disabled']]).toEqual([
          table.logicalName,
          control['@id'],
          'true',
        ]);
      }
    }
  });

  it("lets a user fill in a refund request's payment, amount and reason but not its status or decision", () => {
    const disabled = new Map(
      controlsOf(formsOf('stc_refundrequest', 'main')[0]).map((control) => [
        control['@id'],
        control['@disabled'],
      ]),
    );
    for (const input of ['stc_paymentid', 'stc_amount', 'stc_reason', 'stc_note'])
      expect(disabled.get(input)).toBe('false');
    for (const owned of [
      'stc_status',
      'stc_approvedby',
      'stc_decidedon',
      'stc_striperefundid',
      'stc_refundid',
    ]) {
      expect(disabled.get(owned)).toBe('true');
    }
  });

  it("groups a payment's fields by meaning: amounts together, Stripe references and sync state on their own tab", () => {
    const tabs: any[] = formsOf('stc_payment', 'main')[0].form[0].tabs[0].tab;
    const sections = (tabName: string) =>
      tabs
        .find((tab) => tab['@name'] === tabName)
        .columns[0].column[0].sections[0].section.map((section: any) => [
          section['@name'],
          section.rows[0].row.map((row: any) => row.cell[0].control[0]['@id']),
        ]);
    const general = new Map(sections('general'));
    expect(general.get('amounts')).toEqual(
      expect.arrayContaining(['stc_amount', 'stc_currency', 'stc_fee', 'stc_net']),
    );
    expect(general.get('related')).toEqual(
      expect.arrayContaining(['stc_customerid', 'stc_salesorderid', 'stc_invoiceid']),
    );
    const stripe = new Map(sections('stripe'));
    expect(stripe.get('stripe')).toEqual(
      expect.arrayContaining(['stc_stripeid', 'stc_chargeid', 'stc_dashboardurl']),
    );
    expect(stripe.get('sync')).toEqual(expect.arrayContaining(['stc_lasteventid', 'stc_livemode']));
  });

  it('opens a lookup to a connector table with that table’s lookup view', () => {
    const refund = controlsOf(formsOf('stc_refund', 'main')[0]).find(
      (control) => control['@id'] === 'stc_paymentid',
    );
    const lookupViewId = refund.parameters[0].DefaultViewId[0];
    const lookupView = entityNamed('stc_payment').SavedQueries[0].savedqueries[0].savedquery.find(
      (view: any) => view.savedqueryid[0] === lookupViewId,
    );
    expect(lookupView.querytype[0]).toBe(64);
  });

  it('uses the control class ids that real forms use for the same kinds of column', () => {
    const real = [
      'coe-alm-accelerator/Entities/cat_DeploymentStep/FormXml/main/{748c3e1a-28d6-454a-9ed4-1e91b20a06da}.xml',
      'purchase-requisition-contact-form/Entities/Contact/FormXml/main/{bddc0100-0dbe-4562-aafe-31d08c8ab506}.xml',
      'fasttrack-fs-service-report/solutions/FieldServiceReporting/Solution/Entities/BookableResourceBooking/FormXml/main/{32a79486-b187-4ab6-a6fe-f22a88b63261}.xml',
      'powerapps-samples-code-interpreter/CodeInterpreterSample_1_0_0_0_managed/customizations.xml',
    ]
      .map((path) => readFileSync(join(reference, path), 'utf8'))
      .join('\n');
    const classOf = (field: string): string | undefined =>
      real.match(new RegExp(`classid="(\\{[^}]+\\})" datafieldname="${field}"`))?.[1]?.toUpperCase();
    const ours = (table: string, field: string) =>
      controlsOf(formsOf(table, 'main')[0])
        .find((control) => control['@id'] === field)
        ['@classid'].toUpperCase();
    expect(ours('stc_payment', 'stc_name')).toBe(classOf('sample_name')); // text
    expect(ours('stc_refund', 'stc_paymentid')).toBe(classOf('cttech_accountlocation')); // lookup
    expect(ours('stc_payment', 'stc_status')).toBe(classOf('cat_steptype')); // choice
    expect(ours('stc_subscription', 'stc_intervalcount')).toBe(classOf('cat_stepnumber')); // whole number
  });
});

describe('the Stripe tab on the standard forms', () => {
  const addition = (table: string): any => formsOf(table, 'main')[0];

  it.each(Object.entries(STANDARD_MAIN_FORMS))(
    'is added to the platform’s %s main form as a diff',
    (table, form) => {
      const systemform = addition(table);
      expect(systemform.formid[0]).toBe(`{${form.id}}`);
      expect(systemform.form[0]['@solutionaction']).toBe('Modified');
      const tabs: any[] = systemform.form[0].tabs[0].tab;
      expect(tabs).toHaveLength(1);
      expect(tabs[0]['@solutionaction']).toBe('Added');
      expect(tabs[0].labels[0].label[0]['@description']).toBe('Stripe');
      const library = systemform.form[0].formLibraries[0].Library[0];
      expect(library['@name']).toBe(`stc_/js/${table}.js`);
      const handler = systemform.form[0].events[0].event[0].Handlers[0].Handler[0];
      expect(handler['@functionName']).toBe(`StripeConnector.Forms.${form.script}.onLoad`);
      expect(handler['@passExecutionContext']).toBe('true');
    },
  );

  it.each([
    ['account', 'stc_StripeConnector.CustomerPanel', 'stripeCustomerId', 'stc_stripecustomerid'],
    ['contact', 'stc_StripeConnector.CustomerPanel', 'stripeCustomerId', 'stc_stripecustomerid'],
    ['salesorder', 'stc_StripeConnector.PaymentPanel', 'boundField', 'name'],
    ['invoice', 'stc_StripeConnector.PaymentPanel', 'boundField', 'name'],
  ])('binds the %s panel %s for web, tablet and phone', (table, control, parameter, column) => {
    const systemform = addition(table);
    const panelControl = controlsOf(systemform).find((candidate) =>
      candidate['@id'].endsWith('_stripe_panel'),
    );
    expect(panelControl['@datafieldname']).toBe(column);
    const description = systemform.form[0].controlDescriptions[0].controlDescription.find(
      (candidate: any) => candidate['@forControl'] === panelControl['@uniqueid'],
    );
    const custom = description.customControl.filter((candidate: any) => candidate['@name'] === control);
    expect(custom.map((candidate: any) => candidate['@formFactor'])).toEqual(['0', '1', '2']);
    for (const candidate of custom) expect(candidate.parameters[0][parameter][0]).toBe(column);
    // The packed control the form names is the one the solution carries.
    expect(
      packed.doc.CustomControls[0].CustomControl.map((packedControl: any) => packedControl.Name[0]),
    ).toContain(control);
  });

  it("shows the quote's customer in Stripe and its payment pages, with no payments panel", () => {
    const systemform = addition('quote');
    const ids = controlsOf(systemform).map((control: any) => control['@id']);
    expect(ids).toEqual(['customerid_stripe_quickview', 'stc_paymentlinks_of_quote']);
    expect(ids.some((id: string) => id.endsWith('_stripe_panel'))).toBe(false);
  });

  it('shapes the panel binding as a real form binds a code component', () => {
    const real = readFileSync(
      join(
        reference,
        'fasttrack-fs-service-report/solutions/FieldServiceReporting/Solution/Entities/BookableResourceBooking/FormXml/main/{32a79486-b187-4ab6-a6fe-f22a88b63261}.xml',
      ),
      'utf8',
    );
    const realDescription =
      parser.parse(real).forms[0].systemform[0].form[0].controlDescriptions[0].controlDescription[0];
    const ours = addition('account').form[0].controlDescriptions[0].controlDescription[0];
    const shape = (description: any) =>
      description.customControl.map((custom: any) => [
        custom['@id'] ? 'field' : 'component',
        custom['@formFactor'] ?? null,
      ]);
    expect(shape(ours)).toEqual(shape(realDescription));
  });

  it('is left out, and said, when the form scripts or the panels were not built', () => {
    const bare = customizations(builtParts([], []));
    expect(bare.leftOut.join('\n')).toMatch(
      /Stripe tab of the Account form \(needs web resource stc_\/js\/account.js and control stc_StripeConnector.CustomerPanel\)/,
    );
    // Only the Stripe Customer quick view, which needs nothing built, stays on the account: no form diff.
    const account = bare.doc.Entities[0].Entity.find((entity: any) => entity.Name[0]['#text'] === 'Account');
    expect(account.FormXml[0].forms.map((forms: any) => forms['@type'])).toEqual(['quick']);
    const appForms = bare.doc.AppModules[0].AppModule[0].AppModuleComponents[0].AppModuleComponent.filter(
      (component: any) => component['@type'] === '60',
    );
    expect(appForms).toHaveLength(connectorTables.length * 3 + 2 + 1);
    expect(validateCustomizationsXml(bare.xml).errors).toEqual([]);
  });
});

describe('the customer of an order or invoice as a Stripe customer', () => {
  it('shows it in the Stripe tab through the Stripe Customer quick view of its account or contact', () => {
    for (const table of ['salesorder', 'invoice']) {
      const control = controlsOf(formsOf(table, 'main')[0]).find(
        (candidate) => candidate['@id'] === 'customerid_stripe_quickview',
      );
      expect(control['@classid']).toBe('{5C5600E0-1D6E-4205-A272-BE80DA87FD42}');
      expect(control['@datafieldname']).toBe('customerid');
      const quickForms = String(control.parameters[0].QuickForms[0]);
      for (const target of ['account', 'contact']) {
        const quick = entityNamed(target).FormXml[0].forms.find((forms: any) => forms['@type'] === 'quick')
          .systemform[0];
        expect(quick.LocalizedNames[0].LocalizedName[0]['@description']).toBe('Stripe Customer');
        const id = String(quick.formid[0]).replace(/[{}]/g, '');
        expect(quickForms).toContain(`<QuickFormId entityname="${target}">${id}</QuickFormId>`);
        const fields = JSON.stringify(quick.form[0]);
        for (const column of ['stc_stripecustomerid', 'stc_livemode', 'emailaddress1'])
          expect(fields).toContain(`"${column}"`);
      }
    }
  });
});

describe('the subscriptions of an order', () => {
  it('shows the Stripe subscriptions started from the order in a subgrid of its Stripe tab', () => {
    const grid = controlsOf(formsOf('salesorder', 'main')[0]).find(
      (candidate) => candidate['@id'] === 'stc_subscriptions_of_order',
    );
    expect(grid['@classid']).toBe('{E7A81278-8635-4D9E-8D4D-59480B391C5B}');
    expect(grid['@indicationOfSubgrid']).toBe('true');
    const parameters = grid.parameters[0];
    expect(parameters.TargetEntityType[0]).toBe('stc_subscription');
    const relationship = model.relationships.find(
      (r) => r.referencingTable === 'stc_subscription' && r.referencingColumn === 'stc_salesorderid',
    )!;
    expect([relationship.referencedTable, parameters.RelationshipName[0]]).toEqual([
      'salesorder',
      relationship.schemaName,
    ]);
    const views = entityNamed('stc_subscription').SavedQueries[0].savedqueries[0].savedquery;
    const view = views.find((candidate: any) => candidate.savedqueryid[0] === parameters.ViewId[0]);
    expect(Number(view.querytype[0])).toBe(0);
  });
});

describe('the payment pages of a quote', () => {
  it("lists the quote's payment link requests, with their page URLs, in a subgrid of its Stripe tab", () => {
    const grid = controlsOf(formsOf('quote', 'main')[0]).find(
      (candidate) => candidate['@id'] === 'stc_paymentlinks_of_quote',
    );
    expect(grid['@indicationOfSubgrid']).toBe('true');
    const parameters = grid.parameters[0];
    expect(parameters.TargetEntityType[0]).toBe('stc_paymentlinkrequest');
    const relationship = model.relationships.find(
      (r) => r.referencingTable === 'stc_paymentlinkrequest' && r.referencingColumn === 'stc_quoteid',
    )!;
    expect([relationship.referencedTable, parameters.RelationshipName[0]]).toEqual([
      'quote',
      relationship.schemaName,
    ]);
    const views = entityNamed('stc_paymentlinkrequest').SavedQueries[0].savedqueries[0].savedquery;
    const view = views.find((candidate: any) => candidate.savedqueryid[0] === parameters.ViewId[0]);
    expect(Number(view.querytype[0])).toBe(0);
    expect(JSON.stringify(view.layoutxml)).toContain('"stc_url"');
  });
});

describe('command bar buttons on the standard forms', () => {
  const ribbonOf = (table: string): any => entityNamed(table).RibbonDiffXml[0];
  const buttons = (table: string): any[] =>
    ribbonOf(table).CustomActions[0].CustomAction.map((action: any) => ({
      location: action['@Location'],
      ...action.CommandUIDefinition[0].Button[0],
    }));
  const command = (table: string, id: string): any =>
    ribbonOf(table).CommandDefinitions[0].CommandDefinition.find(
      (definition: any) => definition['@Id'] === id,
    );

  it.each([
    ['quote', ['createPaymentLink']],
    [
      'salesorder',
      [
        'refundInStripe',
        'createPaymentLink',
        'chargeSavedCard',
        'startSubscription',
        'openInStripeDashboard',
        'syncFromStripe',
      ],
    ],
    [
      'invoice',
      ['refundInStripe', 'createPaymentLink', 'chargeSavedCard', 'openInStripeDashboard', 'syncFromStripe'],
    ],
    ['account', ['requestSubscription', 'chargeSavedCard', 'openInStripeDashboard', 'syncFromStripe']],
    ['contact', ['requestSubscription', 'chargeSavedCard', 'openInStripeDashboard', 'syncFromStripe']],
  ])(
    "puts the %s form's buttons on its command bar, each calling a function its form script exports",
    (table, names) => {
      const script = readFileSync(join(repoRoot, 'webresources/src/forms', `${table}.ts`), 'utf8');
      const exported = [
        ...(script
          .match(/export \{([^}]+)\}/)?.[1]
          .split(',')
          .map((name) => name.trim()) ?? []),
        ...[...script.matchAll(/export function (\w+)/g)].map((match) => match[1]),
      ];
      const onForm = buttons(table);
      expect(onForm.map((button) => button['@Command'].split('.').pop())).toEqual(names);
      for (const button of onForm) {
        expect(button.location).toBe(`Mscrm.Form.${table}.MainTab.Save.Controls._children`);
        const action = command(table, button['@Command']).Actions[0].JavaScriptFunction[0];
        expect(action['@Library']).toBe(`$webresource:stc_/js/${table}.js`);
        expect(exported).toContain(action['@FunctionName'].split('.').pop());
        expect(action.CrmParameter[0]['@Value']).toBe('PrimaryControl');
      }
    },
  );

  it('shows Refund in Stripe only to roles that may create a refund request, and enables it on a saved row', () => {
    const refund = command('salesorder', 'stc.salesorder.refundInStripe');
    const ruleId = refund.DisplayRules[0].DisplayRule[0]['@Id'];
    const rule = ribbonOf('salesorder').RuleDefinitions[0].DisplayRules[0].DisplayRule.find(
      (candidate: any) => candidate['@Id'] === ruleId,
    ).EntityPrivilegeRule[0];
    expect([rule['@EntityName'], rule['@PrivilegeType']]).toEqual(['stc_refundrequest', 'Create']);
    const seeIt = securityRoles
      .filter((role) =>
        role.privileges.some(
          (p) => p.table === rule['@EntityName'] && p.actions.includes(rule['@PrivilegeType']),
        ),
      )
      .map((role) => role.name);
    expect(seeIt).toContain('Stripe Refund Requester');
    expect(seeIt).not.toContain('Stripe Payments Reader');
    const enableId = refund.EnableRules[0].EnableRule[0]['@Id'];
    const enable = ribbonOf('salesorder').RuleDefinitions[0].EnableRules[0].EnableRule.find(
      (candidate: any) => candidate['@Id'] === enableId,
    );
    expect(enable.FormStateRule[0]).toEqual(
      expect.objectContaining({ '@State': 'Create', '@InvertResult': 'true' }),
    );
  });

  it.each(['quote', 'salesorder', 'invoice'])(
    'shows Create payment link on the %s form only to roles that may create a payment link request, on a saved row',
    (table) => {
      const create = command(table, `stc.${table}.createPaymentLink`);
      const ruleId = create.DisplayRules[0].DisplayRule[0]['@Id'];
      const rule = ribbonOf(table).RuleDefinitions[0].DisplayRules[0].DisplayRule.find(
        (candidate: any) => candidate['@Id'] === ruleId,
      ).EntityPrivilegeRule[0];
      expect([rule['@EntityName'], rule['@PrivilegeType']]).toEqual(['stc_paymentlinkrequest', 'Create']);
      const seeIt = securityRoles
        .filter((role) =>
          role.privileges.some((p) => p.table === 'stc_paymentlinkrequest' && p.actions.includes('Create')),
        )
        .map((role) => role.name)
        .sort();
      expect(seeIt).toEqual(['Stripe Finance Approver', 'Stripe Refund Requester']);
      const enableId = create.EnableRules[0].EnableRule[0]['@Id'];
      const enable = ribbonOf(table).RuleDefinitions[0].EnableRules[0].EnableRule.find(
        (candidate: any) => candidate['@Id'] === enableId,
      );
      expect(enable.FormStateRule[0]).toEqual(
        expect.objectContaining({ '@State': 'Create', '@InvertResult': 'true' }),
      );
      const labels = new Map(
        ribbonOf(table).LocLabels[0].LocLabel.map((label: any) => [
          label['@Id'],
          label.Titles[0].Title[0]['@description'],
        ]),
      );
      const button = buttons(table).find((b) => b['@Command'] === `stc.${table}.createPaymentLink`);
      expect(labels.get(button['@LabelText'].replace('$LocLabels:', ''))).toBe('Create payment link');
    },
  );

  it('shows the payment page URL the connector writes in the Stripe tab of orders and invoices', () => {
    for (const table of ['salesorder', 'invoice']) {
      const fields = standardFormAdditions(model)
        .find((addition) => addition.table === table)!
        .tab.sections.flatMap((section) => section.fields);
      expect(fields).toContainEqual({
        column: 'stc_paymenturl',
        label: 'Stripe Payment Page',
        readOnly: true,
      });
    }
  });

  it('labels every button in LocLabels and calls the script as a real form button does', () => {
    const labels = new Map(
      ribbonOf('invoice').LocLabels[0].LocLabel.map((label: any) => [
        label['@Id'],
        label.Titles[0].Title[0]['@description'],
      ]),
    );
    for (const button of buttons('invoice')) {
      expect(labels.get(button['@LabelText'].replace('$LocLabels:', ''))).toBeTruthy();
      expect(labels.get(button['@ToolTipDescription'].replace('$LocLabels:', ''))).toBeTruthy();
    }
    const real = readReference(
      'fasttrack-fs-service-report/solutions/FieldServiceReporting/Solution/Entities/BookableResourceBooking/RibbonDiff.xml',
    ).RibbonDiffXml[0];
    const shape = (definition: any) => Object.keys(definition.Actions[0].JavaScriptFunction[0]).sort();
    expect(shape(command('invoice', 'stc.invoice.syncFromStripe'))).toEqual(
      shape(real.CommandDefinitions[0].CommandDefinition[0]),
    );
  });
});

describe('the finance dashboard and its charts', () => {
  const dashboard: any = packed.doc.Dashboards[0].Dashboard[0];
  const chartCells = (): any[] =>
    dashboard.FormXml[0].forms[0].form[0].tabs[0].tab[0].columns[0].column[0].sections[0].section[0].rows[0].row.flatMap(
      (row: any) => row.cell,
    );
  const visualization = (table: string, id: string): any =>
    entityNamed(table).Visualizations[0].visualization.find(
      (chart: any) => chart.savedqueryvisualizationid[0] === id,
    );

  it('is a system dashboard opened from the Finance area', () => {
    expect(dashboard.LocalizedNames[0].LocalizedName[0]['@description']).toBe('Stripe Finance');
    expect(dashboard.FormXml[0].forms[0]['@type']).toBe('dashboard');
    const finance = siteMap.SiteMap[0].Area.find(
      (area: any) => area.Titles[0].Title[0]['@Title'] === 'Finance',
    );
    const opener = finance.Group[0].SubArea[0];
    expect(opener['@Url']).toBe('/workplace/home_dashboards.aspx');
    expect(`{${opener['@DefaultDashboard']}}`).toBe(dashboard.FormId[0]);
  });

  it("shows payments by status and currency, refunds and disputes by week and payout journals, each a table's chart over its public view", () => {
    const cells = chartCells();
    expect(cells.map((cell) => cell.labels[0].label[0]['@description'])).toEqual([
      'Payments by Status',
      'Payment Volume by Currency',
      'Refunds by Week',
      'Disputes by Week',
      'Payout Journals by Status',
      'Payouts by Status',
    ]);
    for (const cell of cells) {
      const parameters = cell.control[0].parameters[0];
      expect(parameters.ChartGridMode[0]).toBe('Chart');
      const table = parameters.TargetEntityType[0];
      expect(visualization(table, parameters.VisualizationId[0])).toBeDefined();
      const view = entityNamed(table).SavedQueries[0].savedqueries[0].savedquery.find(
        (candidate: any) => candidate.savedqueryid[0] === parameters.ViewId[0],
      );
      expect(view.querytype[0]).toBe(0);
    }
  });

  it('groups refunds by week of their Stripe creation and sums payment amounts per currency', () => {
    const fetchOf = (table: string, name: string) => {
      const chart = entityNamed(table).Visualizations[0].visualization.find(
        (candidate: any) => candidate.LocalizedNames[0].LocalizedName[0]['@description'] === name,
      );
      return chart.datadescription[0].datadefinition[0].fetchcollection[0].fetch[0];
    };
    const refunds = fetchOf('stc_refund', 'Refunds by Week');
    expect(refunds['@aggregate']).toBe('true');
    expect(refunds.entity[0].attribute).toEqual([
      expect.objectContaining({
        '@name': 'stc_stripecreatedon',
        '@groupby': 'true',
        '@dategrouping': 'week',
      }),
      expect.objectContaining({ '@name': 'stc_refundid', '@aggregate': 'count' }),
    ]);
    const volume = fetchOf('stc_payment', 'Payment Volume by Currency');
    expect(volume.entity[0].attribute).toEqual([
      expect.objectContaining({ '@name': 'stc_currency', '@groupby': 'true' }),
      expect.objectContaining({ '@name': 'stc_amount', '@aggregate': 'sum' }),
    ]);
  });

  it('writes a chart and a dashboard cell as the real exports do', () => {
    const realChart = readReference(
      'coe-core-components/Entities/admin_Maker/Visualizations/{E3360984-0571-E911-A833-000D3A375590}.xml',
    ).visualization[0];
    const ours = entityNamed('stc_payment').Visualizations[0].visualization[0];
    const keys = (node: any) => Object.keys(node).filter((key) => !key.startsWith('@'));
    expect(keys(ours).filter((key) => keys(realChart).includes(key))).toEqual(keys(realChart));
    const realDashboard = readReference(
      'coe-core-components/Dashboards/{cf839870-ff70-e911-a833-000d3a375590}.xml',
    ).Dashboard[0];
    const realCell =
      realDashboard.FormXml[0].forms[0].form[0].tabs[0].tab[0].columns[0].column[0].sections[0].section[0]
        .rows[0].row[0].cell[0];
    expect(chartCells()[0].control[0]['@classid'].toUpperCase()).toBe(
      realCell.control[0]['@classid'].toUpperCase(),
    );
    expect(Object.keys(chartCells()[0].control[0].parameters[0]).sort()).toEqual(
      Object.keys(realCell.control[0].parameters[0])
        .filter((name) => name !== 'HeaderColorCode')
        .sort(),
    );
  });

  it('refuses a chart over a column the table model does not declare', () => {
    expect(() =>
      checkCharts(model, [{ ...FINANCE_CHARTS[0], name: 'Broken', groupBy: 'stc_nosuchcolumn' }]),
    ).toThrow('Chart "Broken" names stc_payment.stc_nosuchcolumn, which the table model does not declare.');
  });
});

describe('Retry and Discard on sync issues', () => {
  const ribbon = (): any => entityNamed('stc_syncissue').RibbonDiffXml[0];
  const script = readFileSync(join(repoRoot, 'webresources/src/forms/syncissue.ts'), 'utf8');
  const definitions = (): any[] => ribbon().CommandDefinitions[0].CommandDefinition;
  const enableRule = (id: string): any =>
    ribbon().RuleDefinitions[0].EnableRules[0].EnableRule.find((rule: any) => rule['@Id'] === id);

  it('puts Retry and Discard on the form, enabled while the issue is open', () => {
    const actions: any[] = ribbon().CustomActions[0].CustomAction.filter((action: any) =>
      action['@Location'].startsWith('Mscrm.Form.stc_syncissue.'),
    );
    expect(actions.map((action) => action.CommandUIDefinition[0].Button[0]['@Command'])).toEqual([
      'stc.stc_syncissue.requestRetry',
      'stc.stc_syncissue.requestDiscard',
    ]);
    for (const action of actions) {
      const definition = definitions().find(
        (d) => d['@Id'] === action.CommandUIDefinition[0].Button[0]['@Command'],
      );
      const call = definition.Actions[0].JavaScriptFunction[0];
      expect(call.CrmParameter[0]['@Value']).toBe('PrimaryControl');
      expect(script).toContain(`export function ${call['@FunctionName'].split('.').pop()}(`);
      const rule = enableRule(definition.EnableRules[0].EnableRule[0]['@Id']).ValueRule[0];
      expect([rule['@Field'], rule['@Value']]).toEqual(['stc_status', '100000000']);
    }
  });

  it('puts them on the list too, for the selected issues, and shows them only to who may write issues', () => {
    const grid: any[] = ribbon().CustomActions[0].CustomAction.filter(
      (action: any) =>
        action['@Location'] === 'Mscrm.HomepageGrid.stc_syncissue.MainTab.Management.Controls._children',
    );
    expect(grid).toHaveLength(2);
    for (const action of grid) {
      const definition = definitions().find(
        (d) => d['@Id'] === action.CommandUIDefinition[0].Button[0]['@Command'],
      );
      const call = definition.Actions[0].JavaScriptFunction[0];
      expect(call['@Library']).toBe('$webresource:stc_/js/syncissue.js');
      expect(call.CrmParameter[0]['@Value']).toBe('SelectedControlSelectedItemIds');
      expect(script).toContain(`export function ${call['@FunctionName'].split('.').pop()}(`);
      const selection = enableRule(definition.EnableRules[0].EnableRule[0]['@Id']).SelectionCountRule[0];
      expect(selection['@Minimum']).toBe('1');
    }
    const privileges = ribbon().RuleDefinitions[0].DisplayRules[0].DisplayRule.map((rule: any) => [
      rule.EntityPrivilegeRule[0]['@EntityName'],
      rule.EntityPrivilegeRule[0]['@PrivilegeType'],
    ]);
    expect(new Set(privileges.map(String))).toEqual(new Set(['stc_syncissue,Write']));
    const mayWrite = securityRoles
      .filter((role) =>
        role.privileges.some((p) => p.table === 'stc_syncissue' && p.actions.includes('Write')),
      )
      .map((role) => role.name);
    expect(mayWrite).toEqual(['Stripe Connector Service', 'Stripe Finance Approver']);
  });
});

describe('Approve and Reject on refund requests', () => {
  const ribbon = (): any => entityNamed('stc_refundrequest').RibbonDiffXml[0];
  const script = readFileSync(join(repoRoot, 'webresources/src/forms/refundrequest.ts'), 'utf8');

  it('puts them on the form, enabled while the request awaits approval, for who may write requests', () => {
    const actions: any[] = ribbon().CustomActions[0].CustomAction;
    expect(actions.map((action) => action.CommandUIDefinition[0].Button[0]['@Command'])).toEqual([
      'stc.stc_refundrequest.approveRequest',
      'stc.stc_refundrequest.rejectRequest',
    ]);
    const rules = ribbon().RuleDefinitions[0];
    for (const action of actions) {
      const definition = ribbon().CommandDefinitions[0].CommandDefinition.find(
        (d: any) => d['@Id'] === action.CommandUIDefinition[0].Button[0]['@Command'],
      );
      const call = definition.Actions[0].JavaScriptFunction[0];
      expect(call['@Library']).toBe('$webresource:stc_/js/refundrequest.js');
      expect(call.CrmParameter[0]['@Value']).toBe('PrimaryControl');
      expect(script).toContain(`export function ${call['@FunctionName'].split('.').pop()}(`);
      const enable = rules.EnableRules[0].EnableRule.find(
        (rule: any) => rule['@Id'] === definition.EnableRules[0].EnableRule[0]['@Id'],
      ).ValueRule[0];
      expect([enable['@Field'], enable['@Value']]).toEqual(['stc_status', '100000001']);
      const display = rules.DisplayRules[0].DisplayRule.find(
        (rule: any) => rule['@Id'] === definition.DisplayRules[0].DisplayRule[0]['@Id'],
      ).EntityPrivilegeRule[0];
      expect([display['@EntityName'], display['@PrivilegeType']]).toEqual(['stc_refundrequest', 'Write']);
    }
  });
});

describe('Stripe subscription buttons', () => {
  const ribbonOf = (table: string): any => entityNamed(table).RibbonDiffXml[0];
  const definitionOf = (table: string, id: string): any =>
    ribbonOf(table).CommandDefinitions[0].CommandDefinition.find((d: any) => d['@Id'] === id);
  const privilegeOf = (table: string, definition: any) => {
    const rule = ribbonOf(table).RuleDefinitions[0].DisplayRules[0].DisplayRule.find(
      (candidate: any) => candidate['@Id'] === definition.DisplayRules[0].DisplayRule[0]['@Id'],
    ).EntityPrivilegeRule[0];
    return [rule['@EntityName'], rule['@PrivilegeType']];
  };
  const labels = (table: string) =>
    new Map(
      ribbonOf(table).LocLabels[0].LocLabel.map((label: any) => [
        label['@Id'],
        label.Titles[0].Title[0]['@description'],
      ]),
    );

  it('shows Start subscription on the order form to roles that may create a subscription request, enabled by the script', () => {
    const id = 'stc.salesorder.startSubscription';
    const definition = definitionOf('salesorder', id);
    expect(privilegeOf('salesorder', definition)).toEqual(['stc_subscriptionrequest', 'Create']);
    const button = ribbonOf('salesorder')
      .CustomActions[0].CustomAction.map((action: any) => action.CommandUIDefinition[0].Button[0])
      .find((b: any) => b['@Command'] === id);
    expect(labels('salesorder').get(button['@LabelText'].replace('$LocLabels:', ''))).toBe(
      'Start subscription',
    );
    // Enabled only as the form script's rule answers (lines, not canceled), given the form.
    const enable = ribbonOf('salesorder').RuleDefinitions[0].EnableRules[0].EnableRule.find(
      (candidate: any) => candidate['@Id'] === definition.EnableRules[0].EnableRule[0]['@Id'],
    );
    const rule = enable.CustomRule[0];
    expect([rule['@FunctionName'], rule['@Library'], rule['@Default']]).toEqual([
      'StripeConnector.Forms.SalesOrder.canStartSubscription',
      '$webresource:stc_/js/salesorder.js',
      'false',
    ]);
    expect(rule.CrmParameter[0]['@Value']).toBe('PrimaryControl');
    const script = readFileSync(join(repoRoot, 'webresources/src/forms/salesorder.ts'), 'utf8');
    expect(script).toMatch(/export function canStartSubscription\(/);
    // The request form lets the user name the order.
    const requestForm = JSON.stringify(formsOf('stc_subscriptionrequest', 'main')[0]);
    expect(requestForm).toContain('"stc_salesorderid"');
  });

  it.each(['account', 'contact'])(
    'shows Stripe subscription… on the %s form to roles that may create a subscription request',
    (table) => {
      const id = `stc.${table}.requestSubscription`;
      const definition = definitionOf(table, id);
      expect(privilegeOf(table, definition)).toEqual(['stc_subscriptionrequest', 'Create']);
      const button = ribbonOf(table)
        .CustomActions[0].CustomAction.map((action: any) => action.CommandUIDefinition[0].Button[0])
        .find((b: any) => b['@Command'] === id);
      expect(labels(table).get(button['@LabelText'].replace('$LocLabels:', ''))).toBe('Stripe subscription…');
      const mayCreate = securityRoles
        .filter((role) =>
          role.privileges.some((p) => p.table === 'stc_subscriptionrequest' && p.actions.includes('Create')),
        )
        .map((role) => role.name)
        .sort();
      expect(mayCreate).toEqual(['Stripe Finance Approver', 'Stripe Refund Requester']);
    },
  );

  it.each(['account', 'contact', 'salesorder', 'invoice'])(
    'shows Charge saved card… on the %s form to roles that may create a charge request',
    (table) => {
      const id = `stc.${table}.chargeSavedCard`;
      const definition = definitionOf(table, id);
      expect(privilegeOf(table, definition)).toEqual(['stc_chargerequest', 'Create']);
      const button = ribbonOf(table)
        .CustomActions[0].CustomAction.map((action: any) => action.CommandUIDefinition[0].Button[0])
        .find((b: any) => b['@Command'] === id);
      expect(labels(table).get(button['@LabelText'].replace('$LocLabels:', ''))).toBe('Charge saved card…');
      const mayCreate = securityRoles
        .filter((role) =>
          role.privileges.some((p) => p.table === 'stc_chargerequest' && p.actions.includes('Create')),
        )
        .map((role) => role.name)
        .sort();
      expect(mayCreate).toEqual(['Stripe Finance Approver', 'Stripe Refund Requester']);
    },
  );

  it('puts Approve and Reject on the charge request form for users who may write charge requests', () => {
    const script = readFileSync(join(repoRoot, 'webresources/src/forms/chargerequest.ts'), 'utf8');
    const actions: any[] = ribbonOf('stc_chargerequest').CustomActions[0].CustomAction;
    const buttons = actions.map((action) => action.CommandUIDefinition[0].Button[0]);
    expect(
      buttons.map((b) => labels('stc_chargerequest').get(b['@LabelText'].replace('$LocLabels:', ''))),
    ).toEqual(['Approve', 'Reject']);
    for (const button of buttons) {
      const definition = definitionOf('stc_chargerequest', button['@Command']);
      const call = definition.Actions[0].JavaScriptFunction[0];
      expect(call['@Library']).toBe('$webresource:stc_/js/chargerequest.js');
      expect(script).toContain(`export function ${call['@FunctionName'].split('.').pop()}(`);
      expect(privilegeOf('stc_chargerequest', definition)).toEqual(['stc_chargerequest', 'Write']);
    }
    const mayWrite = securityRoles
      .filter((role) =>
        role.privileges.some((p) => p.table === 'stc_chargerequest' && p.actions.includes('Write')),
      )
      .map((role) => role.name);
    expect(mayWrite).toEqual(['Stripe Connector Service', 'Stripe Finance Approver']);
  });

  it('puts Cancel at period end, Cancel now, Pause and Resume collection on the subscription form, calling its script', () => {
    const script = readFileSync(join(repoRoot, 'webresources/src/forms/subscription.ts'), 'utf8');
    const actions: any[] = ribbonOf('stc_subscription').CustomActions[0].CustomAction;
    const buttons = actions.map((action) => action.CommandUIDefinition[0].Button[0]);
    expect(
      buttons.map((b) => labels('stc_subscription').get(b['@LabelText'].replace('$LocLabels:', ''))),
    ).toEqual(['Cancel at period end', 'Cancel now', 'Pause collection', 'Resume collection']);
    for (const button of buttons) {
      const definition = definitionOf('stc_subscription', button['@Command']);
      const call = definition.Actions[0].JavaScriptFunction[0];
      expect(call['@Library']).toBe('$webresource:stc_/js/subscription.js');
      expect(call.CrmParameter[0]['@Value']).toBe('PrimaryControl');
      expect(script).toContain(`export function ${call['@FunctionName'].split('.').pop()}(`);
      expect(privilegeOf('stc_subscription', definition)).toEqual(['stc_subscriptionrequest', 'Create']);
    }
  });
});

describe('the connection page', () => {
  it('opens from Settings > Monitoring as the web resource the solution carries', () => {
    const settings = siteMap.SiteMap[0].Area.find(
      (area: any) => area.Titles[0].Title[0]['@Title'] === 'Settings',
    );
    const monitoring = settings.Group.find(
      (group: any) => group.Titles[0].Title[0]['@Title'] === 'Monitoring',
    );
    const page = monitoring.SubArea[0];
    expect(page['@Url']).toBe('/WebResources/stc_/pages/connection.html');
    const resources = packed.doc.WebResources[0].WebResource.map((resource: any) => [
      resource.Name[0],
      resource.WebResourceType[0],
    ]);
    expect(resources).toContainEqual(['stc_/pages/connection.html', 1]);
    expect(monitoring.SubArea.map((sub: any) => sub['@Entity']).filter(Boolean)).toEqual([
      'stc_syncissue',
      'stc_connectorstatus',
    ]);
  });

  it('is left out of the sitemap when the page was not built', () => {
    const bare = customizations(builtParts([], []));
    const urls = JSON.stringify(bare.doc.AppModuleSiteMaps[0]);
    expect(urls).not.toContain('connection.html');
  });
});
