/**
 * The part of Dynamics 365's standard tables the connector reads and writes, with their real logical
 * names, entity sets and navigation properties. Only the columns marked without `standard` are added by
 * the solution (the Stripe customer id and its sync stamp on account and contact).
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
  standardColumns,
  state,
  status,
  text,
  yesNo,
} from './columns';
import { STRIPE_ID_LENGTH, syncStampColumns } from './customTables';
import type { Column, Table } from './types';

interface StandardSpec {
  logicalName: string;
  schemaName: string;
  entitySetName: string;
  displayName: string;
  pluralName: string;
  description: string;
  primaryNameColumn: string;
  ownership?: Table['ownership'];
  columns: Column[];
  added?: Column[];
  keys?: Table['keys'];
}

function standardTable(spec: StandardSpec): Table {
  return {
    logicalName: spec.logicalName,
    schemaName: spec.schemaName,
    entitySetName: spec.entitySetName,
    displayName: spec.displayName,
    pluralName: spec.pluralName,
    description: spec.description,
    primaryIdColumn: `${spec.logicalName}id`,
    primaryNameColumn: spec.primaryNameColumn,
    standard: true,
    ownership: spec.ownership ?? 'UserOwned',
    changeTracking: true,
    columns: [...standardColumns(spec.columns), ...(spec.added ?? [])],
    keys: spec.keys ?? [],
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

const stamps = (): Column[] => [
  dateTime('CreatedOn', 'Created On', { system: true }),
  dateTime('ModifiedOn', 'Modified On', { system: true }),
];

const currencyLookup = () => lookup('TransactionCurrencyId', 'Currency', 'transactioncurrency');

/** The Stripe customer link added to account and contact, keyed so that a customer event upserts by it. */
function stripeCustomerColumns(): Column[] {
  return [
    text('stc_StripeCustomerId', 'Stripe Customer Id', STRIPE_ID_LENGTH, {
      description: 'Id of the Stripe customer (cus_…) this row is synced with; alternate key.',
    }),
    ...syncStampColumns(),
  ];
}

function stripeCustomerKey(table: string) {
  return [
    {
      logicalName: `stc_${table}_stripecustomerid_key`,
      schemaName: `stc_${table}_StripeCustomerId_Key`,
      displayName: 'Stripe Customer Id',
      columns: ['stc_stripecustomerid'],
    },
  ];
}

export const standardTables: Table[] = [
  standardTable({
    logicalName: 'account',
    schemaName: 'Account',
    entitySetName: 'accounts',
    displayName: 'Account',
    pluralName: 'Accounts',
    description: 'Business that represents a customer or potential customer.',
    primaryNameColumn: 'name',
    columns: [
      id('AccountId', 'Account'),
      text('Name', 'Account Name', 160, { requiredLevel: 'required' }),
      text('AccountNumber', 'Account Number', 20),
      text('EMailAddress1', 'Email', 100, { format: 'email' }),
      text('Telephone1', 'Main Phone', 50, { format: 'phone' }),
      text('WebSiteURL', 'Website', 200, { format: 'url' }),
      ...address1(),
      memo('Description', 'Description', 2000),
      lookup('PrimaryContactId', 'Primary Contact', 'contact', { navigation: 'primarycontactid' }),
      lookup('ParentAccountId', 'Parent Account', 'account', { navigation: 'parentaccountid' }),
      currencyLookup(),
      state('account_statecode'),
      status('account_statuscode'),
      ...stamps(),
    ],
    added: stripeCustomerColumns(),
    keys: stripeCustomerKey('account'),
  }),
  standardTable({
    logicalName: 'contact',
    schemaName: 'Contact',
    entitySetName: 'contacts',
    displayName: 'Contact',
    pluralName: 'Contacts',
    description: 'Person with whom a business unit has a relationship, such as a customer.',
    primaryNameColumn: 'fullname',
    columns: [
      id('ContactId', 'Contact'),
      text('FirstName', 'First Name', 50),
      text('LastName', 'Last Name', 50, { requiredLevel: 'required' }),
      text('FullName', 'Full Name', 160, { description: 'Computed by Dataverse from first and last name.' }),
      text('EMailAddress1', 'Email', 100, { format: 'email' }),
      text('Telephone1', 'Business Phone', 50, { format: 'phone' }),
      text('MobilePhone', 'Mobile Phone', 50, { format: 'phone' }),
      ...address1(),
      memo('Description', 'Description', 2000),
      customer('ParentCustomerId', 'Company Name'),
      currencyLookup(),
      state('contact_statecode'),
      status('contact_statuscode'),
      ...stamps(),
    ],
    added: stripeCustomerColumns(),
    keys: stripeCustomerKey('contact'),
  }),
  standardTable({
    logicalName: 'salesorder',
    schemaName: 'SalesOrder',
    entitySetName: 'salesorders',
    displayName: 'Order',
    pluralName: 'Orders',
    description: 'Quote that has been accepted.',
    primaryNameColumn: 'name',
    columns: [
      id('SalesOrderId', 'Order'),
      text('Name', 'Name', 300, { requiredLevel: 'required' }),
      text('OrderNumber', 'Order ID', 100, { requiredLevel: 'systemrequired' }),
      customer('CustomerId', 'Customer', { requiredLevel: 'required' }),
      money('TotalAmount', 'Total Amount'),
      money('TotalLineItemAmount', 'Total Detail Amount'),
      money('TotalTax', 'Total Tax'),
      memo('Description', 'Description', 2000),
      currencyLookup(),
      state('salesorder_statecode'),
      status('salesorder_statuscode'),
      ...stamps(),
    ],
  }),
  standardTable({
    logicalName: 'salesorderdetail',
    schemaName: 'SalesOrderDetail',
    entitySetName: 'salesorderdetails',
    displayName: 'Order Product',
    pluralName: 'Order Products',
    description: 'Line item in a sales order.',
    primaryNameColumn: 'salesorderdetailname',
    columns: [
      id('SalesOrderDetailId', 'Order Product'),
      text('SalesOrderDetailName', 'Name', 500),
      lookup('SalesOrderId', 'Order', 'salesorder', { requiredLevel: 'systemrequired' }),
      lookup('ProductId', 'Existing Product', 'product'),
      text('ProductDescription', 'Write-In Product', 500),
      yesNo('IsProductOverridden', 'Select Product', { trueLabel: 'Write-in', falseLabel: 'Existing' }),
      decimal('Quantity', 'Quantity', 5, { minValue: 0, maxValue: 1000000000 }),
      money('PricePerUnit', 'Price Per Unit'),
      money('BaseAmount', 'Amount'),
      money('ExtendedAmount', 'Extended Amount'),
      money('ManualDiscountAmount', 'Manual Discount'),
      integer('LineItemNumber', 'Line Item Number', { minValue: 0, maxValue: 1000000000 }),
      currencyLookup(),
      ...stamps(),
    ],
  }),
  standardTable({
    logicalName: 'invoice',
    schemaName: 'Invoice',
    entitySetName: 'invoices',
    displayName: 'Invoice',
    pluralName: 'Invoices',
    description: 'Order that has been billed.',
    primaryNameColumn: 'name',
    columns: [
      id('InvoiceId', 'Invoice'),
      text('Name', 'Name', 300, { requiredLevel: 'required' }),
      text('InvoiceNumber', 'Invoice ID', 100, { requiredLevel: 'systemrequired' }),
      customer('CustomerId', 'Customer', { requiredLevel: 'required' }),
      lookup('SalesOrderId', 'Order', 'salesorder'),
      money('TotalAmount', 'Total Amount'),
      money('TotalLineItemAmount', 'Total Detail Amount'),
      money('TotalTax', 'Total Tax'),
      dateOnly('DueDate', 'Due Date'),
      memo('Description', 'Description', 2000),
      currencyLookup(),
      state('invoice_statecode'),
      status('invoice_statuscode'),
      ...stamps(),
    ],
  }),
  standardTable({
    logicalName: 'invoicedetail',
    schemaName: 'InvoiceDetail',
    entitySetName: 'invoicedetails',
    displayName: 'Invoice Product',
    pluralName: 'Invoice Products',
    description: 'Line item in an invoice.',
    primaryNameColumn: 'invoicedetailname',
    columns: [
      id('InvoiceDetailId', 'Invoice Product'),
      text('InvoiceDetailName', 'Name', 500),
      lookup('InvoiceId', 'Invoice', 'invoice', { requiredLevel: 'systemrequired' }),
      lookup('ProductId', 'Existing Product', 'product'),
      text('ProductDescription', 'Write-In Product', 500),
      yesNo('IsProductOverridden', 'Select Product', { trueLabel: 'Write-in', falseLabel: 'Existing' }),
      decimal('Quantity', 'Quantity', 5, { minValue: 0, maxValue: 1000000000 }),
      money('PricePerUnit', 'Price Per Unit'),
      money('BaseAmount', 'Amount'),
      money('ExtendedAmount', 'Extended Amount'),
      integer('LineItemNumber', 'Line Item Number', { minValue: 0, maxValue: 1000000000 }),
      currencyLookup(),
      ...stamps(),
    ],
  }),
  standardTable({
    logicalName: 'product',
    schemaName: 'Product',
    entitySetName: 'products',
    displayName: 'Product',
    pluralName: 'Products',
    description: 'Information about products and their pricing.',
    primaryNameColumn: 'name',
    ownership: 'OrganizationOwned',
    columns: [
      id('ProductId', 'Product'),
      text('Name', 'Name', 100, { requiredLevel: 'required' }),
      text('ProductNumber', 'Product ID', 100, { requiredLevel: 'required' }),
      memo('Description', 'Description', 2000),
      money('Price', 'List Price'),
      currencyLookup(),
      ...stamps(),
    ],
  }),
  standardTable({
    logicalName: 'transactioncurrency',
    schemaName: 'TransactionCurrency',
    entitySetName: 'transactioncurrencies',
    displayName: 'Currency',
    pluralName: 'Currencies',
    description: 'Currency in which a financial transaction is carried out.',
    primaryNameColumn: 'currencyname',
    ownership: 'OrganizationOwned',
    columns: [
      id('TransactionCurrencyId', 'Currency'),
      text('CurrencyName', 'Currency Name', 100, { requiredLevel: 'required' }),
      text('ISOCurrencyCode', 'Currency Code', 5, { requiredLevel: 'required' }),
      text('CurrencySymbol', 'Currency Symbol', 10, { requiredLevel: 'required' }),
      integer('CurrencyPrecision', 'Currency Precision', {
        minValue: 0,
        maxValue: 4,
        requiredLevel: 'required',
      }),
      decimal('ExchangeRate', 'Exchange Rate', 10, { minValue: 0.0000000001, maxValue: 100000000000 }),
      ...stamps(),
    ],
  }),
  standardTable({
    logicalName: 'systemuser',
    schemaName: 'SystemUser',
    entitySetName: 'systemusers',
    displayName: 'User',
    pluralName: 'Users',
    description: 'Person with access to the Microsoft CRM system and who owns objects in the database.',
    primaryNameColumn: 'fullname',
    ownership: 'OrganizationOwned',
    columns: [
      id('SystemUserId', 'User'),
      text('FullName', 'Full Name', 200),
      text('DomainName', 'User Name', 1024, { requiredLevel: 'required' }),
      text('InternalEMailAddress', 'Primary Email', 100, { format: 'email' }),
      id('ApplicationId', 'Application ID', { requiredLevel: 'none' }),
      id('AzureActiveDirectoryObjectId', 'Azure AD Object ID', { requiredLevel: 'none' }),
      yesNo('IsDisabled', 'Status', { trueLabel: 'Disabled', falseLabel: 'Enabled' }),
      ...stamps(),
    ],
  }),
  // Read by the service for the environment variables the solution ships (refund approval threshold…).
  standardTable({
    logicalName: 'environmentvariabledefinition',
    schemaName: 'EnvironmentVariableDefinition',
    entitySetName: 'environmentvariabledefinitions',
    displayName: 'Environment Variable Definition',
    pluralName: 'Environment Variable Definitions',
    description: 'Contains information about the settable variable: its type, default value, and etc.',
    primaryNameColumn: 'schemaname',
    columns: [
      id('EnvironmentVariableDefinitionId', 'Environment Variable Definition'),
      text('SchemaName', 'Schema Name', 100, { requiredLevel: 'systemrequired' }),
      text('DisplayName', 'Display Name', 100, { requiredLevel: 'systemrequired' }),
      memo('DefaultValue', 'Default Value', 2000),
      choice('Type', 'Type', 'environmentvariabledefinition_type'),
      ...stamps(),
    ],
  }),
  standardTable({
    logicalName: 'environmentvariablevalue',
    schemaName: 'EnvironmentVariableValue',
    entitySetName: 'environmentvariablevalues',
    displayName: 'Environment Variable Value',
    pluralName: 'Environment Variable Values',
    description: 'Holds the value for the associated EnvironmentVariableDefinition entity.',
    primaryNameColumn: 'schemaname',
    columns: [
      id('EnvironmentVariableValueId', 'Environment Variable Value'),
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
      ...stamps(),
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
  'environmentvariablevalue.environmentvariabledefinitionid.environmentvariabledefinition':
    'environmentvariabledefinition_environmentvariablevalue',
};
