/**
 * The part of Dynamics 365's standard tables the connector reads and writes, with their real logical
 * names, entity sets and navigation properties. Only the columns marked without `standard` are added by
 * the solution (the Stripe ids, keys and sync stamps on account, contact, orders, invoices, products and
 * price list items).
 */
import {
  choice,
  customer,
  dateOnly,
  dateTime,
  decimal,
  id,
  integer,
  lookup,
  memo,
  money,
  primaryId,
  standardColumns,
  state,
  status,
  tableOf,
  text,
  yesNo,
} from './columns';
import { STRIPE_ID_LENGTH, syncStampColumns } from './customTables';
import type { Column, Table, TableNames } from './types';

interface StandardSpec extends TableNames {
  primaryNameColumn: string;
  ownership?: Table['ownership'];
  /** The platform's columns after the primary id, in the order the platform lists them. */
  columns: Column[];
  /** The table has the platform's statecode and statuscode (option sets `<table>_statecode`…). */
  lifecycle?: boolean;
  /** Columns the solution adds to the table. */
  added?: Column[];
  keys?: Table['keys'];
}

function standardTable(spec: StandardSpec): Table {
  const {
    primaryNameColumn,
    ownership = 'UserOwned',
    columns,
    lifecycle,
    added = [],
    keys = [],
    ...names
  } = spec;
  const table = tableOf(names);
  const platformColumns = [
    primaryId(names),
    ...columns,
    ...(lifecycle
      ? [state(`${table.logicalName}_statecode`), status(`${table.logicalName}_statuscode`)]
      : []),
    dateTime('CreatedOn', 'Created On', { system: true }),
    dateTime('ModifiedOn', 'Modified On', { system: true }),
  ];
  return {
    ...table,
    primaryNameColumn,
    standard: true,
    ownership,
    columns: [...standardColumns(platformColumns), ...added],
    keys,
  };
}

const address1 = (): Column[] => [
  text('Address1_Line1', 'Address 1: Street 1', 250),
  text('Address1_Line2', 'Address 1: Street 2', 250),
  text('Address1_City', 'Address 1: City', 80),
  text('Address1_StateOrProvince', 'Address 1: State/Province', 50),
  text('Address1_PostalCode', 'Address 1: ZIP/Postal Code', 20),
  text('Address1_Country', 'Address 1: Country/Region', 80),
];

const currencyLookup = () => lookup('TransactionCurrencyId', 'Currency', 'transactioncurrency');

const description = () => memo('Description', 'Description', 2000);

/** The Stripe customer link added to account and contact, keyed so that a customer event upserts by it. */
function stripeCustomer(table: string): Pick<StandardSpec, 'added' | 'keys'> {
  return {
    added: [
      text('stc_StripeCustomerId', 'Stripe Customer Id', STRIPE_ID_LENGTH, {
        description: 'Id of the Stripe customer (cus_…) this row is synced with; alternate key.',
      }),
      yesNo('stc_CreateInStripe', 'Create in Stripe', {
        description:
          'Set on a row without a Stripe customer: the connector creates its Stripe customer (once) and fills the Stripe Customer Id.',
      }),
      text('stc_StripeSyncError', 'Stripe Sync Error', 1000, {
        description:
          "Why Stripe refused this row's last change sent to it (the change is not in Stripe); cleared when Stripe takes a change of the row.",
      }),
      dateTime('stc_StripeSyncErrorOn', 'Stripe Sync Error On', {
        description: 'When Stripe refused the change named in Stripe Sync Error.',
      }),
      ...syncStampColumns(),
    ],
    keys: [
      {
        logicalName: `stc_${table}_stripecustomerid_key`,
        schemaName: `stc_${table}_StripeCustomerId_Key`,
        displayName: 'Stripe Customer Id',
        columns: ['stc_stripecustomerid'],
      },
    ],
  };
}

/**
 * Quote, order and invoice: a named, numbered document for a customer with its discounts, freight and totals. The
 * totals are Dynamics 365's system price calculation over the lines (read-only for callers). `source`
 * stands after the customer, `dates` after the totals, where the platform lists them.
 */
function salesDocument(number: Column, parts: { source?: Column[]; dates?: Column[] } = {}): Column[] {
  const calculated = { description: 'Calculated by Dynamics 365 from the lines; read-only.' };
  return [
    text('Name', 'Name', 300, { requiredLevel: 'required' }),
    number,
    customer('CustomerId', 'Customer', { requiredLevel: 'required' }),
    ...(parts.source ?? []),
    lookup('PriceLevelId', 'Price List', 'pricelevel'),
    money('DiscountAmount', 'Discount Amount'),
    decimal('DiscountPercentage', 'Discount (%)', 2, { minValue: 0, maxValue: 100 }),
    money('FreightAmount', 'Freight Amount'),
    money('TotalAmount', 'Total Amount', calculated),
    money('TotalAmountLessFreight', 'Total Pre-Freight Amount', calculated),
    money('TotalDiscountAmount', 'Total Discount Amount', calculated),
    money('TotalLineItemAmount', 'Total Detail Amount', calculated),
    money('TotalLineItemDiscountAmount', 'Total Line Item Discount Amount', calculated),
    money('TotalTax', 'Total Tax', calculated),
    ...(parts.dates ?? []),
    description(),
    currencyLookup(),
  ];
}

/**
 * Quote, order and invoice lines (`QuoteDetail`, `SalesOrderDetail`, `InvoiceDetail`): a product, existing or written in, at a
 * quantity and price on its document. `discounts` stand after the amounts, where the platform lists them.
 */
function lineItem(schemaName: string, document: Column): Column[] {
  const calculated = { description: 'Calculated by Dynamics 365; read-only.' };
  return [
    text(`${schemaName}Name`, 'Name', 500),
    document,
    lookup('ProductId', 'Existing Product', 'product'),
    lookup('UoMId', 'Unit', 'uom'),
    text('ProductDescription', 'Write-In Product', 500),
    yesNo('IsProductOverridden', 'Select Product', { trueLabel: 'Write-in', falseLabel: 'Existing' }),
    yesNo('IsPriceOverridden', 'Pricing', { trueLabel: 'Override Price', falseLabel: 'Use Default' }),
    decimal('Quantity', 'Quantity', 5, { minValue: 0, maxValue: 1000000000 }),
    money('PricePerUnit', 'Price Per Unit'),
    money('VolumeDiscountAmount', 'Volume Discount'),
    money('ManualDiscountAmount', 'Manual Discount'),
    money('Tax', 'Tax'),
    money('BaseAmount', 'Amount', calculated),
    money('ExtendedAmount', 'Extended Amount', calculated),
    integer('LineItemNumber', 'Line Item Number', { minValue: 0, maxValue: 1000000000 }),
    currencyLookup(),
  ];
}

/**
 * What the solution adds to an order or invoice made from a Stripe payment: the Stripe object it came
 * from (alternate key: one document per Checkout Session or payment, however often its events arrive),
 * the payment and customer, and the payment's state as refunds and disputes change it.
 */
function stripeDocument(table: string, schemaTable: string): Pick<StandardSpec, 'added' | 'keys'> {
  return {
    added: [
      text('stc_StripeId', 'Stripe Id', STRIPE_ID_LENGTH, {
        description:
          'Checkout Session (cs_…) or payment (pi_…, ch_…) this document was made from; alternate key.',
      }),
      text('stc_StripePaymentId', 'Stripe Payment Id', STRIPE_ID_LENGTH, {
        description: 'The PaymentIntent (pi_…) or Charge that paid it; alternate key.',
      }),
      text('stc_StripeCustomerId', 'Stripe Customer Id', STRIPE_ID_LENGTH),
      choice('stc_PaymentStatus', 'Stripe Payment Status', 'stc_documentpaymentstatus'),
      money('stc_AmountPaid', 'Amount Paid'),
      money('stc_AmountRefunded', 'Amount Refunded'),
      text('stc_DashboardUrl', 'Stripe Dashboard', 500, { format: 'url' }),
      text('stc_PaymentUrl', 'Stripe Payment Page', 1000, {
        format: 'url',
        description:
          'The Stripe Checkout page a payment link request made for this record, to copy or send to the customer; written by the connector.',
      }),
      ...syncStampColumns(),
    ],
    keys: [
      {
        logicalName: `stc_${table}_stripeid_key`,
        schemaName: `stc_${schemaTable}_StripeId_Key`,
        displayName: 'Stripe Id',
        columns: ['stc_stripeid'],
      },
      {
        logicalName: `stc_${table}_stripepaymentid_key`,
        schemaName: `stc_${schemaTable}_StripePaymentId_Key`,
        displayName: 'Stripe Payment Id',
        columns: ['stc_stripepaymentid'],
      },
    ],
  };
}

/** A line of a document made from Stripe: the Stripe line item (li_…, il_…) it came from, as its key. */
function stripeLine(table: string, schemaTable: string): Pick<StandardSpec, 'added' | 'keys'> {
  return {
    added: [
      text('stc_StripeId', 'Stripe Line Id', STRIPE_ID_LENGTH, {
        description: 'The Stripe line item this line was written from; alternate key.',
      }),
      text('stc_StripePriceId', 'Stripe Price Id', STRIPE_ID_LENGTH),
      ...syncStampColumns(),
    ],
    keys: [
      {
        logicalName: `stc_${table}_stripeid_key`,
        schemaName: `stc_${schemaTable}_StripeId_Key`,
        displayName: 'Stripe Line Id',
        columns: ['stc_stripeid'],
      },
    ],
  };
}

export const standardTables: Table[] = [
  standardTable({
    schemaName: 'Account',
    entitySetName: 'accounts',
    displayName: 'Account',
    pluralName: 'Accounts',
    description: 'Business that represents a customer or potential customer.',
    primaryNameColumn: 'name',
    columns: [
      text('Name', 'Account Name', 160, { requiredLevel: 'required' }),
      text('AccountNumber', 'Account Number', 20),
      text('EMailAddress1', 'Email', 100, { format: 'email' }),
      text('Telephone1', 'Main Phone', 50, { format: 'phone' }),
      text('WebSiteURL', 'Website', 200, { format: 'url' }),
      ...address1(),
      description(),
      lookup('PrimaryContactId', 'Primary Contact', 'contact', { navigation: 'primarycontactid' }),
      lookup('ParentAccountId', 'Parent Account', 'account', { navigation: 'parentaccountid' }),
      currencyLookup(),
    ],
    lifecycle: true,
    ...stripeCustomer('account'),
  }),
  standardTable({
    schemaName: 'Contact',
    entitySetName: 'contacts',
    displayName: 'Contact',
    pluralName: 'Contacts',
    description: 'Person with whom a business unit has a relationship, such as a customer.',
    primaryNameColumn: 'fullname',
    columns: [
      text('FirstName', 'First Name', 50),
      text('LastName', 'Last Name', 50, { requiredLevel: 'required' }),
      text('FullName', 'Full Name', 160, { description: 'Computed by Dataverse from first and last name.' }),
      text('EMailAddress1', 'Email', 100, { format: 'email' }),
      text('Telephone1', 'Business Phone', 50, { format: 'phone' }),
      text('MobilePhone', 'Mobile Phone', 50, { format: 'phone' }),
      ...address1(),
      description(),
      customer('ParentCustomerId', 'Company Name'),
      currencyLookup(),
    ],
    lifecycle: true,
    ...stripeCustomer('contact'),
  }),
  standardTable({
    schemaName: 'Quote',
    entitySetName: 'quotes',
    displayName: 'Quote',
    pluralName: 'Quotes',
    description:
      'Formal offer for products and/or services, proposed at specific prices and related payment terms, which is sent to a prospective customer.',
    primaryNameColumn: 'name',
    columns: salesDocument(text('QuoteNumber', 'Quote ID', 100, { requiredLevel: 'systemrequired' })),
    // Nothing added: an Active quote is read-only, so its payment page stays on its payment link request.
    lifecycle: true,
  }),
  standardTable({
    schemaName: 'QuoteDetail',
    entitySetName: 'quotedetails',
    displayName: 'Quote Product',
    pluralName: 'Quote Products',
    description:
      'Product line item in a quote. The details include such information as product ID, description, quantity, and cost.',
    primaryNameColumn: 'quotedetailname',
    columns: lineItem(
      'QuoteDetail',
      lookup('QuoteId', 'Quote', 'quote', { requiredLevel: 'systemrequired' }),
    ),
  }),
  standardTable({
    schemaName: 'SalesOrder',
    entitySetName: 'salesorders',
    displayName: 'Order',
    pluralName: 'Orders',
    description: 'Quote that has been accepted.',
    primaryNameColumn: 'name',
    columns: salesDocument(text('OrderNumber', 'Order ID', 100, { requiredLevel: 'systemrequired' }), {
      source: [lookup('QuoteId', 'Quote', 'quote')],
    }),
    lifecycle: true,
    ...stripeDocument('salesorder', 'SalesOrder'),
  }),
  standardTable({
    schemaName: 'SalesOrderDetail',
    entitySetName: 'salesorderdetails',
    displayName: 'Order Product',
    pluralName: 'Order Products',
    description: 'Line item in a sales order.',
    primaryNameColumn: 'salesorderdetailname',
    columns: lineItem(
      'SalesOrderDetail',
      lookup('SalesOrderId', 'Order', 'salesorder', { requiredLevel: 'systemrequired' }),
    ),
    ...stripeLine('salesorderdetail', 'SalesOrderDetail'),
  }),
  standardTable({
    schemaName: 'Invoice',
    entitySetName: 'invoices',
    displayName: 'Invoice',
    pluralName: 'Invoices',
    description: 'Order that has been billed.',
    primaryNameColumn: 'name',
    columns: salesDocument(text('InvoiceNumber', 'Invoice ID', 100, { requiredLevel: 'systemrequired' }), {
      source: [lookup('SalesOrderId', 'Order', 'salesorder')],
      dates: [dateOnly('DueDate', 'Due Date')],
    }),
    lifecycle: true,
    ...stripeDocument('invoice', 'Invoice'),
  }),
  standardTable({
    schemaName: 'InvoiceDetail',
    entitySetName: 'invoicedetails',
    displayName: 'Invoice Product',
    pluralName: 'Invoice Products',
    description: 'Line item in an invoice.',
    primaryNameColumn: 'invoicedetailname',
    columns: lineItem(
      'InvoiceDetail',
      lookup('InvoiceId', 'Invoice', 'invoice', { requiredLevel: 'systemrequired' }),
    ),
    ...stripeLine('invoicedetail', 'InvoiceDetail'),
  }),
  standardTable({
    schemaName: 'Product',
    entitySetName: 'products',
    displayName: 'Product',
    pluralName: 'Products',
    description: 'Information about products and their pricing.',
    primaryNameColumn: 'name',
    ownership: 'OrganizationOwned',
    columns: [
      text('Name', 'Name', 100, { requiredLevel: 'required' }),
      text('ProductNumber', 'Product ID', 100, { requiredLevel: 'required' }),
      description(),
      money('Price', 'List Price'),
      lookup('DefaultUoMScheduleId', 'Unit Group', 'uomschedule'),
      lookup('DefaultUoMId', 'Default Unit', 'uom'),
      currencyLookup(),
    ],
    lifecycle: true,
    added: [
      text('stc_StripeProductId', 'Stripe Product Id', STRIPE_ID_LENGTH, {
        description: 'Id of the Stripe product (prod_…) this product is synced with; alternate key.',
      }),
      ...syncStampColumns(),
    ],
    keys: [
      {
        logicalName: 'stc_product_stripeproductid_key',
        schemaName: 'stc_Product_StripeProductId_Key',
        displayName: 'Stripe Product Id',
        columns: ['stc_stripeproductid'],
      },
    ],
  }),
  standardTable({
    schemaName: 'ProductPriceLevel',
    entitySetName: 'productpricelevels',
    displayName: 'Price List Item',
    pluralName: 'Price List Items',
    description:
      'Information about how to price a product in the specified price level, including pricing method, rounding option, and discount type based on a specified product unit.',
    primaryNameColumn: 'productidname',
    ownership: 'OrganizationOwned',
    columns: [
      lookup('PriceLevelId', 'Price List', 'pricelevel', { requiredLevel: 'required' }),
      lookup('ProductId', 'Product', 'product', { requiredLevel: 'required' }),
      text('ProductIdName', 'Product Name', 100, { description: 'Kept by Dynamics 365; read-only.' }),
      lookup('UoMId', 'Unit', 'uom', { requiredLevel: 'required' }),
      lookup('UoMScheduleId', 'Unit Schedule ID', 'uomschedule'),
      money('Amount', 'Amount'),
      currencyLookup(),
    ],
    added: [
      text('stc_StripePriceId', 'Stripe Price Id', STRIPE_ID_LENGTH, {
        description: 'Id of the Stripe price (price_…) this item is synced with; alternate key.',
      }),
      choice('stc_RecurringInterval', 'Billing Interval', 'stc_priceinterval', {
        description: "The Stripe price's recurring interval, or One-time.",
      }),
      integer('stc_IntervalCount', 'Interval Count', {
        minValue: 1,
        maxValue: 1000,
        description: 'How many intervals between two billings (3 with Monthly: every three months).',
      }),
      yesNo('stc_Archived', 'Archived in Stripe', {
        trueLabel: 'Archived',
        falseLabel: 'Active',
        description: 'The Stripe price is archived: no longer offered for new purchases.',
      }),
      ...syncStampColumns(),
    ],
    keys: [
      {
        logicalName: 'stc_productpricelevel_stripepriceid_key',
        schemaName: 'stc_ProductPriceLevel_StripePriceId_Key',
        displayName: 'Stripe Price Id',
        columns: ['stc_stripepriceid'],
      },
    ],
  }),
  standardTable({
    schemaName: 'UoMSchedule',
    entitySetName: 'uomschedules',
    displayName: 'Unit Group',
    pluralName: 'Unit Groups',
    description: 'Grouping of units.',
    primaryNameColumn: 'name',
    ownership: 'OrganizationOwned',
    columns: [
      text('Name', 'Name', 200, { requiredLevel: 'required' }),
      text('BaseUoMName', 'Primary Unit', 100, { requiredLevel: 'required' }),
    ],
  }),
  standardTable({
    schemaName: 'UoM',
    entitySetName: 'uoms',
    displayName: 'Unit',
    pluralName: 'Units',
    description: 'Unit of measure.',
    primaryNameColumn: 'name',
    ownership: 'OrganizationOwned',
    columns: [
      text('Name', 'Name', 100, { requiredLevel: 'required' }),
      lookup('UoMScheduleId', 'Unit Schedule', 'uomschedule', { requiredLevel: 'systemrequired' }),
      decimal('Quantity', 'Quantity', 10, { minValue: 0.0000000001, maxValue: 1000000000 }),
      yesNo('IsScheduleBaseUoM', 'Is Schedule Base Unit'),
    ],
  }),
  standardTable({
    schemaName: 'PriceLevel',
    entitySetName: 'pricelevels',
    displayName: 'Price List',
    pluralName: 'Price Lists',
    description: 'Entity that defines pricing levels.',
    primaryNameColumn: 'name',
    ownership: 'OrganizationOwned',
    columns: [text('Name', 'Name', 100, { requiredLevel: 'required' }), description(), currencyLookup()],
  }),
  standardTable({
    schemaName: 'TransactionCurrency',
    entitySetName: 'transactioncurrencies',
    displayName: 'Currency',
    pluralName: 'Currencies',
    description: 'Currency in which a financial transaction is carried out.',
    primaryNameColumn: 'currencyname',
    ownership: 'OrganizationOwned',
    columns: [
      text('CurrencyName', 'Currency Name', 100, { requiredLevel: 'required' }),
      text('ISOCurrencyCode', 'Currency Code', 5, { requiredLevel: 'required' }),
      text('CurrencySymbol', 'Currency Symbol', 10, { requiredLevel: 'required' }),
      integer('CurrencyPrecision', 'Currency Precision', {
        minValue: 0,
        maxValue: 4,
        requiredLevel: 'required',
      }),
      decimal('ExchangeRate', 'Exchange Rate', 10, { minValue: 0.0000000001, maxValue: 100000000000 }),
    ],
  }),
  standardTable({
    schemaName: 'SystemUser',
    entitySetName: 'systemusers',
    displayName: 'User',
    pluralName: 'Users',
    description: 'Person with access to the Microsoft CRM system and who owns objects in the database.',
    primaryNameColumn: 'fullname',
    ownership: 'OrganizationOwned',
    columns: [
      text('FullName', 'Full Name', 200),
      text('DomainName', 'User Name', 1024, { requiredLevel: 'required' }),
      text('InternalEMailAddress', 'Primary Email', 100, { format: 'email' }),
      id('ApplicationId', 'Application ID', { requiredLevel: 'none' }),
      id('AzureActiveDirectoryObjectId', 'Azure AD Object ID', { requiredLevel: 'none' }),
      yesNo('IsDisabled', 'Status', { trueLabel: 'Disabled', falseLabel: 'Enabled' }),
    ],
  }),
  // Read by the service for the environment variables the solution ships (refund approval threshold…).
  standardTable({
    schemaName: 'EnvironmentVariableDefinition',
    entitySetName: 'environmentvariabledefinitions',
    displayName: 'Environment Variable Definition',
    pluralName: 'Environment Variable Definitions',
    description: 'Contains information about the settable variable: its type, default value, and etc.',
    primaryNameColumn: 'schemaname',
    columns: [
      text('SchemaName', 'Schema Name', 100, { requiredLevel: 'systemrequired' }),
      text('DisplayName', 'Display Name', 100, { requiredLevel: 'systemrequired' }),
      memo('DefaultValue', 'Default Value', 2000),
      choice('Type', 'Type', 'environmentvariabledefinition_type'),
    ],
  }),
  standardTable({
    schemaName: 'EnvironmentVariableValue',
    entitySetName: 'environmentvariablevalues',
    displayName: 'Environment Variable Value',
    pluralName: 'Environment Variable Values',
    description: 'Holds the value for the associated EnvironmentVariableDefinition entity.',
    primaryNameColumn: 'schemaname',
    columns: [
      text('SchemaName', 'Schema Name', 100),
      memo('Value', 'Value', 2000),
      lookup(
        'EnvironmentVariableDefinitionId',
        'Environment Variable Definition',
        'environmentvariabledefinition',
        {
          navigation: 'EnvironmentVariableDefinitionId',
        },
      ),
    ],
  }),
];

/** Real schema names of the standard relationships behind the standard lookups, by `table.column.target`. */
export const standardRelationshipNames: Record<string, string> = {
  'account.primarycontactid.contact': 'account_primary_contact',
  'account.parentaccountid.account': 'account_parent_account',
  'account.transactioncurrencyid.transactioncurrency': 'TransactionCurrency_Account',
  'contact.parentcustomerid.account': 'contact_customer_accounts',
  'contact.parentcustomerid.contact': 'contact_customer_contacts',
  'contact.transactioncurrencyid.transactioncurrency': 'TransactionCurrency_Contact',
  'quote.customerid.account': 'quote_customer_accounts',
  'quote.customerid.contact': 'quote_customer_contacts',
  'quote.pricelevelid.pricelevel': 'price_level_quotes',
  'quote.transactioncurrencyid.transactioncurrency': 'transactioncurrency_quote',
  'quotedetail.quoteid.quote': 'quote_details',
  'quotedetail.productid.product': 'product_quote_details',
  'quotedetail.uomid.uom': 'unit_of_measurement_quote_details',
  'quotedetail.transactioncurrencyid.transactioncurrency': 'transactioncurrency_quotedetail',
  'salesorder.quoteid.quote': 'quote_orders',
  'salesorder.customerid.account': 'order_customer_accounts',
  'salesorder.customerid.contact': 'order_customer_contacts',
  'salesorder.transactioncurrencyid.transactioncurrency': 'TransactionCurrency_SalesOrder',
  'salesorderdetail.salesorderid.salesorder': 'order_details',
  'salesorderdetail.productid.product': 'product_order_details',
  'salesorderdetail.transactioncurrencyid.transactioncurrency': 'TransactionCurrency_SalesOrderDetail',
  'invoice.customerid.account': 'invoice_customer_accounts',
  'invoice.customerid.contact': 'invoice_customer_contacts',
  'invoice.salesorderid.salesorder': 'order_invoices',
  'invoice.transactioncurrencyid.transactioncurrency': 'TransactionCurrency_Invoice',
  'invoicedetail.invoiceid.invoice': 'invoice_details',
  'invoicedetail.productid.product': 'product_invoice_details',
  'invoicedetail.transactioncurrencyid.transactioncurrency': 'TransactionCurrency_InvoiceDetail',
  'product.transactioncurrencyid.transactioncurrency': 'TransactionCurrency_Product',
  'product.defaultuomscheduleid.uomschedule': 'unit_of_measurement_schedule_products',
  'product.defaultuomid.uom': 'unit_of_measurement_products',
  'salesorderdetail.uomid.uom': 'unit_of_measurement_order_details',
  'invoicedetail.uomid.uom': 'unit_of_measurement_invoice_details',
  'salesorder.pricelevelid.pricelevel': 'price_level_orders',
  'invoice.pricelevelid.pricelevel': 'price_level_invoices',
  'uom.uomscheduleid.uomschedule': 'unit_of_measure_schedule_conversions',
  'pricelevel.transactioncurrencyid.transactioncurrency': 'transactioncurrency_pricelevel',
  'productpricelevel.pricelevelid.pricelevel': 'price_level_product_price_levels',
  'productpricelevel.productid.product': 'product_price_levels',
  'productpricelevel.uomid.uom': 'unit_of_measurement_product_price_levels',
  'productpricelevel.uomscheduleid.uomschedule': 'unit_of_measure_schedule_product_price_level',
  'productpricelevel.transactioncurrencyid.transactioncurrency': 'transactioncurrency_productpricelevel',
  'environmentvariablevalue.environmentvariabledefinitionid.environmentvariabledefinition':
    'environmentvariabledefinition_environmentvariablevalue',
};
