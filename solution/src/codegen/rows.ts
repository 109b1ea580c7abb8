/**
 * Renders the TypeScript row types from the table model: one interface per table as the Web API sends and
 * takes its rows, and the entity set names; the option set constants it re-exports come from `tables.ts`
 * (./tables). The output is generated on install (`prepare`) into `src/generated/rows.ts` and never edited
 * by hand.
 */
import type { Column, LookupColumn, OptionSet, Table, TableModel } from '../model/types';

function pascal(words: string): string {
  const name = words
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word) => word[0].toUpperCase() + word.slice(1))
    .join('');
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

/** `stc_Payment` → `StcPayment`, `SalesOrder` → `SalesOrder`. */
export function rowTypeName(table: Table): string {
  return pascal(table.schemaName);
}

/** `stc_paymentstatus` (Payment Status) → `StcPaymentStatus`; `account_statecode` → `AccountStatecode`. */
export function optionSetTypeName(set: OptionSet): string {
  return set.standard ? pascal(set.name) : `Stc${pascal(set.displayName)}`;
}

function scalarType(column: Column, optionTypes: Map<string, string>): string {
  switch (column.type) {
    case 'uniqueidentifier':
    case 'string':
    case 'memo':
      return 'string';
    case 'integer':
    case 'bigint':
    case 'decimal':
    case 'money':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'datetime':
    case 'dateonly':
      return 'string';
    case 'picklist':
    case 'state':
    case 'status':
      return optionTypes.get(column.optionSet) ?? 'number';
    default:
      return 'string';
  }
}

function doc(text: string, indent = '  '): string {
  return `${indent}/** ${text.replace(/\*\//g, '*\\/')} */\n`;
}

function columnDoc(column: Column): string {
  const parts = [column.displayName];
  if (column.type === 'string' || column.type === 'memo') parts.push(`max ${column.maxLength}`);
  if (column.type === 'decimal' || column.type === 'money') parts.push(`precision ${column.precision}`);
  if (column.type === 'datetime' || column.type === 'dateonly') parts.push('ISO 8601');
  if (column.requiredLevel === 'required' || column.requiredLevel === 'systemrequired')
    parts.push('required');
  return parts.join(', ');
}

function lookupMembers(column: LookupColumn): string {
  let out = doc(`${column.displayName}: the id it points to (${column.targets.join(' or ')}), as read.`);
  out += `  _${column.logicalName}_value?: string | null;\n`;
  for (const target of column.targets) {
    out += doc(`Sets ${column.displayName} to a ${target}: "/<entity set>(<id>)".`);
    out += `  '${column.navigation[target]}@odata.bind'?: string | null;\n`;
  }
  return out;
}

function renderTable(table: Table, optionTypes: Map<string, string>): string {
  let out = `/** ${table.displayName} (\`${table.logicalName}\`, entity set \`${table.entitySetName}\`). */\n`;
  out += `export interface ${rowTypeName(table)} {\n`;
  for (const column of table.columns) {
    if (column.type === 'lookup' || column.type === 'customer' || column.type === 'owner') {
      out += lookupMembers(column);
      continue;
    }
    out += doc(columnDoc(column));
    out += `  ${column.logicalName}?: ${scalarType(column, optionTypes)} | null;\n`;
  }
  out += `  '@odata.etag'?: string;\n`;
  out += '}\n';
  return out;
}

export function renderRows(model: TableModel): string {
  const optionTypes = new Map(model.optionSets.map((set) => [set.name, optionSetTypeName(set)]));
  const parts: string[] = [
    '// Generated from the table model by solution/scripts/generate.ts. Do not edit: change the model and run\n' +
      '// `npx tsx solution/scripts/generate.ts` (npm install runs it too).\n',
  ];
  // The option set constants live in tables.ts (free of types, for browser bundles); the row types use them.
  const optionNames = model.optionSets.map(optionSetTypeName).join(', ');
  parts.push(`import type { ${optionNames} } from './tables';\nexport { ${optionNames} } from './tables';\n`);
  for (const table of model.tables) parts.push(renderTable(table, optionTypes));

  let sets =
    '/** Entity set name (as in Web API URLs) by table logical name. */\nexport const EntitySets = {\n';
  for (const table of model.tables) sets += `  ${table.logicalName}: '${table.entitySetName}',\n`;
  sets += '} as const;\n';
  parts.push(sets);

  let rows = '/** Row type by table logical name. */\nexport interface TableRows {\n';
  for (const table of model.tables) rows += `  ${table.logicalName}: ${rowTypeName(table)};\n`;
  rows += '}\n';
  rows += 'export type TableLogicalName = keyof TableRows;\n';
  parts.push(rows);
  return parts.join('\n');
}
