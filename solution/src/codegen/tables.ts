/**
 * Renders the table model's names as constants: one object per table (logical name, entity set, primary id and
 * name, every column, lookup `_x_value` and `@odata.bind` navigation names, collection navigations and
 * alternate keys) and the option set values. The output, `src/generated/tables.ts`, imports nothing, so browser
 * bundles (controls, form scripts) take the names alone, without the model's metadata; the service uses the
 * same file, so no Dataverse name is typed by hand twice.
 */
import type { Column, LookupColumn, OptionSet, Table, TableModel } from '../model/types';
import { optionSetTypeName } from './rows';

const q = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** A property name as TypeScript accepts it unquoted, quoted otherwise. */
const key = (name: string) => (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : q(name));

/** `stc_AmountRefunded` → `amountRefunded`: a column's property name in its table's `col`. */
export function columnPropertyName(schemaName: string): string {
  const short = schemaName.replace(/^stc_/i, '');
  return short.charAt(0).toLowerCase() + short.slice(1);
}

function pascal(text: string): string {
  return text
    .replace(/^stc_/i, '')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}

/** `stc_RefundRequest` → `RefundRequest`, `SalesOrder` → `SalesOrder`: a table's constant. */
export function tableConstName(table: Table): string {
  return pascal(table.schemaName);
}

/** Payment Status → `PaymentStatus`: the option values by Stripe's spelling (sets that carry one). */
export function externalValuesConstName(set: OptionSet): string {
  return pascal(set.displayName);
}

/** `stc_payment_stripeid_key` on stc_payment → `stripeid`: a key's property name in its table's `keys`. */
export function keyPropertyName(table: Table, keyLogicalName: string): string {
  const bare = table.logicalName.replace(/^stc_/, '');
  return keyLogicalName.replace(/^stc_/, '').replace(`${bare}_`, '').replace(/_key$/, '');
}

function isLookup(column: Column): column is LookupColumn {
  return column.type === 'lookup' || column.type === 'customer' || column.type === 'owner';
}

function unique(names: string[], what: string): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name))
      throw new Error(`Two ${what} would be generated as ${name}: rename one in the model.`);
    seen.add(name);
  }
}

function renderTable(model: TableModel, table: Table): string {
  const lines: string[] = [];
  const columns = table.columns.filter((c) => c.type !== 'uniqueidentifier');
  unique(
    columns.map((c) => columnPropertyName(c.schemaName)),
    `columns of ${table.logicalName}`,
  );
  lines.push(`/** ${table.displayName} (\`${table.logicalName}\`). */`);
  lines.push(`export const ${tableConstName(table)} = {`);
  lines.push(`  logicalName: ${q(table.logicalName)},`);
  lines.push(`  entitySetName: ${q(table.entitySetName)},`);
  lines.push(`  primaryId: ${q(table.primaryIdColumn)},`);
  lines.push(`  primaryName: ${q(table.primaryNameColumn)},`);
  lines.push('  /** Column logical names. */');
  lines.push('  col: {');
  for (const column of columns)
    lines.push(`    ${key(columnPropertyName(column.schemaName))}: ${q(column.logicalName)},`);
  lines.push('  },');
  const lookups = columns.filter(isLookup).filter((c) => Object.keys(c.navigation).length > 0);
  if (lookups.length > 0) {
    lines.push(
      '  /** A lookup: `value` to read it (`_x_value`), `bind` navigation per target for `x@odata.bind`. */',
    );
    lines.push('  lookup: {');
    for (const column of lookups) {
      const bind = Object.entries(column.navigation)
        .map(([target, navigation]) => `${key(target)}: ${q(navigation)}`)
        .join(', ');
      lines.push(
        `    ${key(columnPropertyName(column.schemaName))}: { value: ${q(`_${column.logicalName}_value`)}, bind: { ${bind} } },`,
      );
    }
    lines.push('  },');
  }
  const toMany = model.relationships.filter((r) => r.referencedTable === table.logicalName);
  if (toMany.length > 0) {
    lines.push('  /** Collection-valued navigation properties, by `<referencing table>_<lookup column>`. */');
    lines.push('  toMany: {');
    for (const relationship of toMany) {
      const name = `${relationship.referencingTable}_${relationship.referencingColumn}`;
      lines.push(`    ${key(name)}: ${q(relationship.referencedNavigation)},`);
    }
    lines.push('  },');
  }
  if (table.keys.length > 0) {
    unique(
      table.keys.map((k) => keyPropertyName(table, k.logicalName)),
      `keys of ${table.logicalName}`,
    );
    lines.push('  /** Alternate keys: the key name and the columns a row is addressed by. */');
    lines.push('  keys: {');
    for (const alternateKey of table.keys) {
      const columnList = alternateKey.columns.map(q).join(', ');
      lines.push(
        `    ${key(keyPropertyName(table, alternateKey.logicalName))}: { logicalName: ${q(alternateKey.logicalName)}, columns: [${columnList}] },`,
      );
    }
    lines.push('  },');
  }
  lines.push('} as const;');
  return lines.join('\n');
}

/** `requires_capture` → `RequiresCapture`, `Closed (deprecated)` → `ClosedDeprecated`. */
function optionMemberName(externalValue: string | undefined, label: string): string {
  const name = (externalValue ?? label)
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

function renderOptionSet(set: OptionSet): string {
  const name = optionSetTypeName(set);
  const lines = [`/** ${set.displayName} (\`${set.name}\`). */`, `export const ${name} = {`];
  // Two options of one label (a quote's Draft and Active are both In Progress): the later is named with its value.
  const seen = new Set<string>();
  for (const option of set.options) {
    const member = optionMemberName(option.externalValue, option.label);
    lines.push(`  ${seen.has(member) ? `${member}_${option.value}` : member}: ${option.value},`);
    seen.add(member);
  }
  lines.push('} as const;');
  lines.push(`export type ${name} = (typeof ${name})[keyof typeof ${name}];`);
  if (set.options.some((o) => o.externalValue)) {
    const byStripe = externalValuesConstName(set);
    lines.push(`/** ${set.displayName} values by Stripe's spelling. */`);
    lines.push(`export const ${byStripe} = {`);
    for (const option of set.options)
      if (option.externalValue) lines.push(`  ${key(option.externalValue)}: ${option.value},`);
    lines.push('} as const;');
  }
  lines.push(
    `/** ${set.displayName} labels as the model declares them, for rows read without formatted values. */`,
  );
  lines.push(`export const ${name}Labels: Readonly<Record<number, string>> = {`);
  for (const option of set.options) lines.push(`  ${option.value}: ${q(option.label)},`);
  lines.push('};');
  return lines.join('\n');
}

export function renderTables(model: TableModel): string {
  unique(
    [
      ...model.tables.map(tableConstName),
      ...model.optionSets.flatMap((set) => [
        optionSetTypeName(set),
        `${optionSetTypeName(set)}Labels`,
        ...(set.options.some((o) => o.externalValue) ? [externalValuesConstName(set)] : []),
      ]),
    ],
    'exports of the generated tables file',
  );
  return [
    '// Generated from the table model by solution/scripts/generate.ts. Do not edit: change the model and run',
    '// `npx tsx solution/scripts/generate.ts` (npm install runs it too). Imports nothing, so that browser',
    '// bundles can take these names without the model.',
    '',
    ...model.tables.map((table) => renderTable(model, table)),
    '',
    ...model.optionSets.map(renderOptionSet),
    '',
  ].join('\n');
}
