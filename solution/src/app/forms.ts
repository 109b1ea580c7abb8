/**
 * The forms of the model-driven app, as data: a main, a quick-view and a card form for every connector
 * table, laid out from the table model, and the "Stripe" tab the solution adds to the standard Account,
 * Contact, Order and Invoice main forms. `pack/forms.ts` writes them as FormXml.
 *
 * Fields are grouped by what they mean (summary, amounts, dates, related rows, Stripe references,
 * synchronization), so a new column lands in the right section without a form edit. A field is read-only
 * where the service owns its value: every column of a synced table, and the decision columns of a refund
 * request.
 */
import { STRIPE_ID_LENGTH, syncStampColumns } from '../model/customTables';
import type { Column, Table, TableModel } from '../model/types';
import { stableGuid } from '../pack/guid';

export type FormType = 'main' | 'quick' | 'card';

export interface FormField {
  column: string;
  label: string;
  readOnly: boolean;
  /** Logical name of the table a lookup points to (its lookup view is the control's default). */
  lookupTarget?: string;
  /** A quick view of the row the lookup names: its quick view form per table the lookup may point to. */
  quickForms?: Record<string, string>;
}

/** A code component in a cell: bound to `column`, which places it and lends it its field security. */
export interface FormPanel {
  control: string;
  column: string;
  label: string;
  parameters: Record<string, string>;
}

/** A grid of the rows of another table that look this row up (a subgrid), in its public view. */
export interface FormSubgrid {
  /** The control's id on the form. */
  id: string;
  /** The related table (logical name). */
  table: string;
  /** The relationship's schema name. */
  relationship: string;
  label: string;
}

export interface FormSection {
  name: string;
  label: string;
  fields: FormField[];
  panel?: FormPanel;
  subgrid?: FormSubgrid;
}

export interface FormTab {
  name: string;
  label: string;
  sections: FormSection[];
}

/** A form library and the handler the form runs on load with the execution context. */
export interface FormScript {
  library: string;
  onLoad: string;
}

export interface FormDesign {
  table: string;
  type: FormType;
  id: string;
  name: string;
  tabs: FormTab[];
  script?: FormScript;
}

/**
 * A command bar button on a form, calling a function of the form's script with the form context. It is
 * shown only to users who hold `privilege` on `privilegeTable` (what the command writes or needs), and
 * enabled once the row is saved.
 */
export interface FormCommand {
  id: string;
  label: string;
  tooltip: string;
  functionName: string;
  privilege: 'Read' | 'Write' | 'Create';
  privilegeTable: string;
  /** A Fluent icon name for the modern command bar. */
  icon: string;
  /** Where the button stands: the form's command bar (default) or the list's, with the selected rows. */
  surface?: 'form' | 'grid';
  /** On a form: enabled only while this choice column holds this value (else once the row is saved). */
  enabledWhen?: { column: string; value: number };
  /**
   * On a form: enabled only when this function of the form's script, given the form context, answers true
   * (or a promise of true): for a rule no column value can express, such as the order having lines.
   */
  enabledBy?: string;
}

/** Command bar buttons of a table of the solution's own, calling one script. */
export interface TableCommands {
  table: string;
  library: string;
  commands: FormCommand[];
}

/** A tab added to a standard table's existing main form (written as a form diff), with its form's buttons. */
export interface FormTabAddition {
  table: string;
  /** The platform's own main form the tab is added to. */
  formId: string;
  formName: string;
  tab: FormTab;
  script: FormScript;
  commands: FormCommand[];
}

export const PAYMENT_PANEL = 'stc_StripeConnector.PaymentPanel';
export const CUSTOMER_PANEL = 'stc_StripeConnector.CustomerPanel';

/** Refund request columns a user fills in; the service and the approver own the rest. */
const REFUND_REQUEST_INPUT = new Set([
  'stc_name',
  'stc_paymentid',
  'stc_amount',
  'stc_currency',
  'stc_reason',
  'stc_note',
]);

/** Payment link request columns a user fills in: the quote, order or invoice; the service owns the rest. */
const PAYMENT_LINK_REQUEST_INPUT = new Set(['stc_name', 'stc_quoteid', 'stc_salesorderid', 'stc_invoiceid']);

/** Subscription request columns a user fills in: the action and what it is about; the service owns the rest. */
const SUBSCRIPTION_REQUEST_INPUT = new Set([
  'stc_name',
  'stc_action',
  'stc_customerid',
  'stc_stripepriceid',
  'stc_productid',
  'stc_salesorderid',
  'stc_quantity',
  'stc_subscriptionid',
  'stc_subscriptionitemid',
]);

/** Charge request columns a user fills in: whom to charge, how much, what for; the service owns the rest. */
const CHARGE_REQUEST_INPUT = new Set([
  'stc_name',
  'stc_customerid',
  'stc_amount',
  'stc_currency',
  'stc_description',
  'stc_salesorderid',
  'stc_invoiceid',
]);

const STAMPS = new Set(syncStampColumns().map((column) => column.logicalName));

type Group = 'summary' | 'amounts' | 'dates' | 'related' | 'details' | 'stripe' | 'sync';

const GROUPS: Array<{ group: Group; tab: 'general' | 'stripe'; label: string }> = [
  { group: 'summary', tab: 'general', label: 'Summary' },
  { group: 'amounts', tab: 'general', label: 'Amounts' },
  { group: 'related', tab: 'general', label: 'Related' },
  { group: 'dates', tab: 'general', label: 'Dates' },
  { group: 'details', tab: 'general', label: 'Details' },
  { group: 'stripe', tab: 'stripe', label: 'Stripe References' },
  { group: 'sync', tab: 'stripe', label: 'Synchronization' },
];

function isStripeReference(column: Column): boolean {
  if (column.logicalName === 'stc_stripecreatedon') return true;
  if (column.type !== 'string') return false;
  return column.format === 'url' || column.maxLength === STRIPE_ID_LENGTH;
}

/** Where a column belongs on a main form, by what it holds. */
export function groupOf(table: Table, column: Column): Group {
  if (column.logicalName === table.primaryNameColumn) return 'summary';
  if (STAMPS.has(column.logicalName)) return 'sync';
  if (isStripeReference(column)) return 'stripe';
  switch (column.type) {
    case 'decimal':
    case 'money':
      return 'amounts';
    case 'picklist':
    case 'boolean':
      return 'summary';
    case 'datetime':
    case 'dateonly':
      return 'dates';
    case 'lookup':
    case 'customer':
      return 'related';
    case 'string':
      return column.logicalName === 'stc_currency' ? 'amounts' : 'details';
    default:
      return 'details';
  }
}

/** The columns a connector table's forms show: its own, without the primary id and platform columns. */
export function formColumns(table: Table): Column[] {
  return table.columns.filter((column) => !column.system && column.type !== 'uniqueidentifier');
}

export function isReadOnly(table: Table, column: string): boolean {
  if (table.synced) return true;
  if (table.logicalName === 'stc_refundrequest') return !REFUND_REQUEST_INPUT.has(column);
  if (table.logicalName === 'stc_paymentlinkrequest') return !PAYMENT_LINK_REQUEST_INPUT.has(column);
  if (table.logicalName === 'stc_subscriptionrequest') return !SUBSCRIPTION_REQUEST_INPUT.has(column);
  if (table.logicalName === 'stc_chargerequest') return !CHARGE_REQUEST_INPUT.has(column);
  // Journal entries and lines are written by reconciliation only.
  return table.logicalName.startsWith('stc_journal');
}

function field(table: Table, column: Column): FormField {
  const target = column.type === 'lookup' || column.type === 'customer' ? column.targets[0] : undefined;
  return {
    column: column.logicalName,
    label: column.displayName,
    readOnly: isReadOnly(table, column.logicalName),
    lookupTarget: target,
  };
}

export function formId(table: string, type: FormType): string {
  return stableGuid(`form:${table}:${type}`);
}

function mainForm(table: Table): FormDesign {
  const columns = formColumns(table);
  const section = (group: Group, label: string): FormSection => ({
    name: group,
    label,
    fields: columns
      .filter((column) => groupOf(table, column) === group)
      .map((column) => field(table, column)),
  });
  const tab = (name: 'general' | 'stripe', label: string): FormTab => ({
    name,
    label,
    sections: GROUPS.filter((entry) => entry.tab === name)
      .map((entry) => section(entry.group, entry.label))
      .filter((candidate) => candidate.fields.length > 0),
  });
  const tabs = [tab('general', 'General'), tab('stripe', 'Stripe')].filter((t) => t.sections.length > 0);
  return {
    table: table.logicalName,
    type: 'main',
    id: formId(table.logicalName, 'main'),
    name: table.displayName,
    tabs,
  };
}

/** The quick view and card show the name and the columns the table's views lead with. */
function compactForm(table: Table, type: 'quick' | 'card', count: number): FormDesign {
  const names = [table.primaryNameColumn, ...(table.viewColumns ?? [])].slice(0, count);
  const byName = new Map(formColumns(table).map((column) => [column.logicalName, column]));
  const fields = names.flatMap((name) => {
    const column = byName.get(name);
    return column ? [{ ...field(table, column), readOnly: true }] : [];
  });
  const label = type === 'quick' ? `${table.displayName} Quick View` : `${table.displayName} Card`;
  return {
    table: table.logicalName,
    type,
    id: formId(table.logicalName, type),
    name: label,
    tabs: [{ name: 'general', label: 'General', sections: [{ name: 'details', label: 'Details', fields }] }],
  };
}

/** Tables whose rows are Stripe customers, with a Stripe Customer quick view the orders and invoices show. */
const CUSTOMER_TABLES = ['account', 'contact'];

/** The quick view of an account or contact as a Stripe customer: who, and which Stripe customer in which mode. */
function stripeCustomerQuickView(model: TableModel, logicalName: string): FormDesign {
  const table = model.tables.find((candidate) => candidate.logicalName === logicalName);
  if (!table)
    throw new Error(`The table model has no ${logicalName} table for the Stripe Customer quick view.`);
  const names = [
    table.primaryNameColumn,
    'emailaddress1',
    'stc_stripecustomerid',
    'stc_livemode',
    'stc_stripeaccount',
  ];
  const fields = names.map((name) => {
    const column = table.columns.find((candidate) => candidate.logicalName === name);
    if (!column) throw new Error(`${logicalName} has no ${name} column for the Stripe Customer quick view.`);
    return { column: name, label: column.displayName, readOnly: true };
  });
  return {
    table: logicalName,
    type: 'quick',
    id: formId(logicalName, 'quick'),
    name: 'Stripe Customer',
    tabs: [
      {
        name: 'general',
        label: 'General',
        sections: [{ name: 'stripe_customer', label: 'Stripe Customer', fields }],
      },
    ],
  };
}

/**
 * Main, quick-view and card forms of every connector table, in model order, and the Stripe Customer quick
 * view of the standard account and contact.
 */
export function connectorForms(model: TableModel): FormDesign[] {
  return [
    ...model.tables
      .filter((table) => !table.standard)
      .flatMap((table) => [mainForm(table), compactForm(table, 'quick', 5), compactForm(table, 'card', 4)]),
    ...CUSTOMER_TABLES.map((table) => stripeCustomerQuickView(model, table)),
  ];
}

/**
 * The platform's main forms the Stripe tab is added to: Account and Contact of the Common Data Model, and
 * the Quote, Order and Invoice main forms of Dynamics 365 Sales. A form diff names the form it changes by
 * its id, so these must be the ids every environment has. Each was checked against forms exported from
 * real environments: the Account and Contact ids appear in unpacked solutions (FormXml/main/{id}.xml) and in
 * Microsoft's documentation of the client API (formId), and the Quote, Order and Invoice ids in form type
 * definitions generated from live Dynamics 365 Sales organizations (one `Form_<id>` per main form of
 * `quote`, `salesorder` and `invoice`, beside the fields those forms hold: quotenumber, ordernumber,
 * invoicenumber).
 */
export const STANDARD_MAIN_FORMS: Record<string, { id: string; name: string; script: string }> = {
  account: { id: '8448b78f-8f42-454e-8e2a-f8196b0419af', name: 'Account', script: 'Account' },
  contact: { id: '1fed44d1-ae68-4a41-bd2b-f13acac4acfa', name: 'Contact', script: 'Contact' },
  quote: { id: 'a7152a8b-afbf-44f0-99c7-fa9e44dd73f5', name: 'Quote', script: 'Quote' },
  salesorder: { id: '22a3f7f7-2709-4bb4-bbca-754475938d68', name: 'Order', script: 'SalesOrder' },
  invoice: { id: 'fc4d659c-b2e6-491d-8823-bf5fb57eb739', name: 'Invoice', script: 'Invoice' },
};

function stripeTab(
  table: Table,
  panel: FormPanel | undefined,
  extraFields: FormField[],
  subgrid?: FormSubgrid,
): FormTab {
  const sections: FormSection[] = [
    ...(panel ? [{ name: 'stripe_panel', label: 'Stripe', fields: [], panel }] : []),
    ...(extraFields.length
      ? [{ name: 'stripe_customer', label: 'Stripe Customer', fields: extraFields }]
      : []),
    // stripe_subscriptions on an order, stripe_paymentlinkrequests on a quote.
    ...(subgrid
      ? [{ name: `stripe_${subgrid.table.replace(/^stc_/, '')}s`, label: subgrid.label, fields: [], subgrid }]
      : []),
  ];
  return {
    name: 'tab_stripe',
    label: 'Stripe',
    sections: sections.map((section) => ({ ...section, name: `${table.logicalName}_${section.name}` })),
  };
}

/** The Stripe subscriptions started from an order (their Order lookup), on the order's Stripe tab. */
function orderSubscriptions(model: TableModel): FormSubgrid {
  const relationship = model.relationships.find(
    (candidate) =>
      candidate.referencingTable === 'stc_subscription' && candidate.referencingColumn === 'stc_salesorderid',
  );
  if (!relationship) throw new Error('The table model has no Order lookup on stc_subscription.');
  return {
    id: 'stc_subscriptions_of_order',
    table: 'stc_subscription',
    relationship: relationship.schemaName,
    label: 'Stripe Subscriptions',
  };
}

/**
 * The payment link requests of a quote (their Quote lookup), each with its status and Stripe page URL, on the
 * quote's Stripe tab: an Active quote is read-only, so the page it is paid through is shown from its request.
 */
function quotePaymentPages(model: TableModel): FormSubgrid {
  const relationship = model.relationships.find(
    (candidate) =>
      candidate.referencingTable === 'stc_paymentlinkrequest' &&
      candidate.referencingColumn === 'stc_quoteid',
  );
  if (!relationship) throw new Error('The table model has no Quote lookup on stc_paymentlinkrequest.');
  return {
    id: 'stc_paymentlinks_of_quote',
    table: 'stc_paymentlinkrequest',
    relationship: relationship.schemaName,
    label: 'Stripe Payment Pages',
  };
}

const STRIPE_TAB_SUBGRIDS: Record<string, (model: TableModel) => FormSubgrid> = {
  salesorder: orderSubscriptions,
  quote: quotePaymentPages,
};

function standardAddition(model: TableModel, logicalName: string): FormTabAddition {
  const table = model.tables.find((candidate) => candidate.logicalName === logicalName);
  if (!table) throw new Error(`The table model has no ${logicalName} table for the Stripe tab.`);
  const form = STANDARD_MAIN_FORMS[logicalName];
  // Account and contact are keyed by their Stripe customer; orders and invoices by the Stripe payment. A
  // quote has no payment of its own (paying it makes an order) and takes no edit once Active: its tab shows
  // its customer in Stripe and its payment link requests with their pages (its form script shows the open one).
  const isCustomer = table.keys.some((key) => key.columns.includes('stc_stripecustomerid'));
  const isOffer =
    !isCustomer && !table.columns.some((column) => column.logicalName === 'stc_stripepaymentid');
  const panel: FormPanel | undefined = isOffer
    ? undefined
    : isCustomer
      ? {
          control: CUSTOMER_PANEL,
          column: 'stc_stripecustomerid',
          label: 'Stripe Customer',
          parameters: { stripeCustomerId: 'stc_stripecustomerid' },
        }
      : {
          control: PAYMENT_PANEL,
          column: table.primaryNameColumn,
          label: 'Stripe Payments',
          parameters: { boundField: table.primaryNameColumn },
        };
  const extra: FormField[] = (
    isCustomer
      ? ['stc_stripecustomerid', 'stc_livemode', 'stc_stripeaccount', 'stc_stripesyncerror']
      : isOffer
        ? []
        : ['stc_paymentstatus', 'stc_amountpaid', 'stc_amountrefunded', 'stc_paymenturl', 'stc_stripeid']
  ).map((name) => {
    const column = table.columns.find((candidate) => candidate.logicalName === name);
    if (!column) throw new Error(`${logicalName} has no ${name} column for the Stripe tab.`);
    return { column: name, label: column.displayName, readOnly: true };
  });
  // An order's or invoice's customer as a Stripe customer, in the quick view of its account or contact.
  if (!isCustomer)
    extra.unshift({
      column: 'customerid',
      label: 'Customer in Stripe',
      readOnly: true,
      quickForms: Object.fromEntries(CUSTOMER_TABLES.map((target) => [target, formId(target, 'quick')])),
    });
  const namespace = `StripeConnector.Forms.${form.script}`;
  return {
    table: logicalName,
    formId: form.id,
    formName: form.name,
    tab: stripeTab(table, panel, extra, STRIPE_TAB_SUBGRIDS[logicalName]?.(model)),
    script: { library: `stc_/js/${logicalName}.js`, onLoad: `${namespace}.onLoad` },
    commands: isOffer
      ? formCommands(logicalName, namespace, false).filter((command) =>
          command.id.endsWith('.createPaymentLink'),
        )
      : formCommands(logicalName, namespace, isCustomer),
  };
}

/**
 * The buttons of a form: Refund in Stripe and Create payment link on orders and invoices (Create payment link
 * alone on quotes, which have no payment to refund or open) (for users who may
 * create a refund or payment link request), Start subscription on orders (for users who may create a
 * subscription request; enabled while the order has lines and is not canceled),
 * Stripe subscription… and Charge saved card… on accounts and
 * contacts, Charge saved card… on orders and invoices too (for users who may create a subscription or charge
 * request), Open in Stripe Dashboard, and Sync
 * from Stripe (for users who may stamp the rows it re-reads: the customer itself, or the order's payments).
 */
function formCommands(table: string, namespace: string, isCustomer: boolean): FormCommand[] {
  const command = (name: string, rest: Omit<FormCommand, 'id' | 'functionName'>): FormCommand => ({
    id: `stc.${table}.${name}`,
    functionName: `${namespace}.${name}`,
    ...rest,
  });
  const refund = command('refundInStripe', {
    label: 'Refund in Stripe',
    tooltip: 'Ask for a full refund of the payment of this record; the connector sends it to Stripe.',
    privilege: 'Create',
    privilegeTable: 'stc_refundrequest',
    icon: 'Money',
  });
  const paymentLink = command('createPaymentLink', {
    label: 'Create payment link',
    tooltip:
      'Ask for a Stripe payment page of this record with its lines; its URL appears on the form to copy or send.',
    privilege: 'Create',
    privilegeTable: 'stc_paymentlinkrequest',
    icon: 'Link',
  });
  const subscription = command('requestSubscription', {
    label: 'Stripe subscription…',
    tooltip:
      'Ask for a Stripe subscription for this customer: choose the price or product and the quantity; the connector creates it in Stripe.',
    privilege: 'Create',
    privilegeTable: 'stc_subscriptionrequest',
    icon: 'Calendar',
  });
  // On an order: its recurring lines become a Stripe subscription, enabled while it has lines and is not canceled.
  const orderSubscription = command('startSubscription', {
    label: 'Start subscription',
    tooltip:
      "Ask for a Stripe subscription of this order's lines with recurring prices, billed to its customer; other lines are billed once on the first invoice. The connector checks policy, then creates it in Stripe.",
    privilege: 'Create',
    privilegeTable: 'stc_subscriptionrequest',
    icon: 'Calendar',
    enabledBy: `${namespace}.canStartSubscription`,
  });
  const charge = command('chargeSavedCard', {
    label: 'Charge saved card…',
    tooltip:
      "Ask for a charge of this customer's saved Stripe payment method: enter the amount, currency and what it is for; the connector checks policy, then charges it off session.",
    privilege: 'Create',
    privilegeTable: 'stc_chargerequest',
    icon: 'Money',
  });
  // On an order or invoice: a charge of its customer's saved payment method for its total, which pays it.
  const documentCharge = command('chargeSavedCard', {
    label: 'Charge saved card…',
    tooltip:
      "Ask for a charge of the customer's saved Stripe payment method for this record's total; the connector checks policy, charges it off session and marks the record paid.",
    privilege: 'Create',
    privilegeTable: 'stc_chargerequest',
    icon: 'Money',
  });
  return [
    ...(isCustomer ? [subscription, charge] : [refund, paymentLink, documentCharge]),
    ...(table === 'salesorder' ? [orderSubscription] : []),
    command('openInStripeDashboard', {
      label: 'Open in Stripe',
      tooltip: 'Open the Stripe customer or payment of this record in the Stripe Dashboard.',
      privilege: 'Read',
      privilegeTable: isCustomer ? table : 'stc_payment',
      icon: 'OpenInNewWindow',
    }),
    command('syncFromStripe', {
      label: 'Sync from Stripe',
      tooltip: 'Ask the connector to read this record again from Stripe.',
      privilege: 'Write',
      privilegeTable: isCustomer ? table : 'stc_payment',
      icon: 'Refresh',
    }),
  ];
}

/** The Stripe tab on the standard Account, Contact, Quote, Order and Invoice main forms. */
export function standardFormAdditions(model: TableModel): FormTabAddition[] {
  return Object.keys(STANDARD_MAIN_FORMS).map((table) => standardAddition(model, table));
}
