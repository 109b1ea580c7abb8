/**
 * The shape of the table model: the one declaration from which the customizations.xml, the TypeScript row
 * types, the mapping validator's schema and the Dataverse emulator's metadata all come.
 *
 * Names follow Dataverse: logical names are lower case (`stc_payment`), schema names keep their capitals
 * (`stc_Payment`), entity set names are the plural used in Web API URLs (`stc_payments`).
 */

export type RequiredLevel = 'none' | 'recommended' | 'required' | 'systemrequired';

/** Column types the connector uses, named as the Web API metadata names them (AttributeType). */
export type ColumnType =
  | 'uniqueidentifier' // the primary id
  | 'string'
  | 'memo'
  | 'integer'
  | 'bigint'
  | 'decimal'
  | 'money'
  | 'boolean'
  | 'datetime'
  | 'dateonly'
  | 'picklist' // a choice, values from an option set
  | 'state' // statecode
  | 'status' // statuscode
  | 'lookup'
  | 'customer' // polymorphic lookup to account or contact
  | 'owner';

export interface ColumnBase {
  logicalName: string;
  schemaName: string;
  displayName: string;
  description?: string;
  requiredLevel: RequiredLevel;
  /** True for columns the platform provides on every table (createdon, ownerid…): not emitted as custom. */
  system?: boolean;
  /** Column exists on a standard table already; the solution does not add it. */
  standard?: boolean;
  /** Field-level security. Never on key columns. */
  secured?: boolean;
}

export interface StringColumn extends ColumnBase {
  type: 'string' | 'memo';
  maxLength: number;
  /** Text, Email, Url, Phone… as Dataverse's FormatName. */
  format?: 'text' | 'email' | 'url' | 'phone' | 'textarea';
}

export interface NumberColumn extends ColumnBase {
  type: 'integer' | 'bigint';
  minValue?: number;
  maxValue?: number;
}

export interface DecimalColumn extends ColumnBase {
  type: 'decimal' | 'money';
  precision: number;
  minValue?: number;
  maxValue?: number;
}

export interface BooleanColumn extends ColumnBase {
  type: 'boolean';
  trueLabel: string;
  falseLabel: string;
  defaultValue?: boolean;
}

export interface DateColumn extends ColumnBase {
  type: 'datetime' | 'dateonly';
}

export interface ChoiceColumn extends ColumnBase {
  type: 'picklist' | 'state' | 'status';
  /** Name of an option set in `TableModel.optionSets` (global) or declared locally with `options`. */
  optionSet: string;
  defaultValue?: number;
}

export interface LookupColumn extends ColumnBase {
  type: 'lookup' | 'customer' | 'owner';
  /** Logical names of the tables it may point to (two for a customer lookup). */
  targets: string[];
  /**
   * Single-valued navigation property name per target, as used in `name@odata.bind`
   * (case-sensitive). For a customer lookup: `{ account: 'stc_customerid_account', contact: 'stc_customerid_contact' }`.
   */
  navigation: Record<string, string>;
}

export interface IdColumn extends ColumnBase {
  type: 'uniqueidentifier';
}

export type Column =
  | IdColumn
  | StringColumn
  | NumberColumn
  | DecimalColumn
  | BooleanColumn
  | DateColumn
  | ChoiceColumn
  | LookupColumn;

export interface OptionValue {
  value: number;
  label: string;
  /** For status options: the statecode they belong to. */
  state?: number;
  /** The value as the outside system spells it (Stripe's `requires_capture`), Dataverse's ExternalValue. */
  externalValue?: string;
}

export interface OptionSet {
  name: string;
  displayName: string;
  /** Global option sets are shared between tables and appear in customizations.xml on their own. */
  global: boolean;
  options: OptionValue[];
  /** The platform's own option set (statecode of a standard table…): described, never emitted. */
  standard?: boolean;
}

export interface AlternateKey {
  logicalName: string;
  schemaName: string;
  displayName: string;
  columns: string[];
}

/** A one-to-many relationship: `referenced` (the one) to `referencing` (the many), through a lookup column. */
export interface Relationship {
  schemaName: string;
  referencedTable: string;
  referencingTable: string;
  referencingColumn: string;
  /** Collection-valued navigation property on the referenced table (`stc_payment_refunds`). */
  referencedNavigation: string;
  /** Single-valued navigation property on the referencing table, used with @odata.bind. */
  referencingNavigation: string;
  cascadeDelete: 'Cascade' | 'RemoveLink' | 'Restrict';
  /** The relationship exists in every environment already (between standard tables). */
  standard?: boolean;
}

export interface Table {
  logicalName: string;
  schemaName: string;
  entitySetName: string;
  displayName: string;
  pluralName: string;
  description: string;
  primaryIdColumn: string;
  primaryNameColumn: string;
  /** Standard tables exist already; the solution only adds the columns not marked `standard`. */
  standard: boolean;
  ownership: 'UserOwned' | 'OrganizationOwned';
  columns: Column[];
  keys: AlternateKey[];
  /** Optimistic concurrency (`@odata.etag` honoured by If-Match). */
  changeTracking?: boolean;
  /** Rows are written from Stripe objects by the service (they carry the sync columns). */
  synced?: boolean;
  /** Columns the table's default views show after the primary name, in order. */
  viewColumns?: string[];
}

/**
 * What a table's declaration names and says of it; the builders derive the rest (the logical name is the
 * schema name in lower case, the primary id column `<logical name>id`).
 */
export type TableNames = Pick<
  Table,
  'schemaName' | 'entitySetName' | 'displayName' | 'pluralName' | 'description'
>;

export interface TableModel {
  publisherPrefix: 'stc';
  solutionUniqueName: 'StripeConnector';
  optionSetPrefix: number;
  tables: Table[];
  optionSets: OptionSet[];
  relationships: Relationship[];
}
