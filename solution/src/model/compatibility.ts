/**
 * What an installed version of the solution fixes for good: every table, column (with its type), key,
 * relationship and option value it shipped. A later version must keep all of them (it may add), or the
 * upgrade would drop data or break the service and the forms. Snapshots live in `solution/released/`.
 */
import type { TableModel } from './types';

export interface ReleasedSchema {
  version: string;
  tables: Record<
    string,
    { entitySetName: string; columns: Record<string, string>; keys: Record<string, string[]> }
  >;
  relationships: string[];
  optionSets: Record<string, Record<string, number>>;
}

/** The part of the model an upgrade must keep, as a plain JSON-able object. */
export function releasedSchema(model: TableModel, version: string): ReleasedSchema {
  const tables: ReleasedSchema['tables'] = {};
  for (const table of model.tables) {
    const added = table.columns.filter((column) => !column.standard);
    if (table.standard && added.length === 0 && table.keys.length === 0) continue;
    tables[table.logicalName] = {
      entitySetName: table.entitySetName,
      columns: Object.fromEntries(added.map((column) => [column.logicalName, column.type])),
      keys: Object.fromEntries(table.keys.map((key) => [key.logicalName, key.columns])),
    };
  }
  const optionSets: ReleasedSchema['optionSets'] = {};
  for (const set of model.optionSets.filter((candidate) => !candidate.standard)) {
    optionSets[set.name] = Object.fromEntries(
      set.options.map((option) => [option.externalValue ?? option.label, option.value]),
    );
  }
  return {
    version,
    tables,
    relationships: model.relationships.filter((r) => !r.standard).map((r) => r.schemaName),
    optionSets,
  };
}

/** How the model breaks a released version; empty when the model is a compatible upgrade. */
export function upgradeBreaks(released: ReleasedSchema, model: TableModel): string[] {
  const current = releasedSchema(model, 'current');
  const breaks: string[] = [];
  for (const [tableName, table] of Object.entries(released.tables)) {
    const now = current.tables[tableName];
    if (!now) {
      breaks.push(`table ${tableName} was removed or renamed`);
      continue;
    }
    if (now.entitySetName !== table.entitySetName) {
      breaks.push(`table ${tableName}: entity set ${table.entitySetName} became ${now.entitySetName}`);
    }
    for (const [column, type] of Object.entries(table.columns)) {
      if (!(column in now.columns)) breaks.push(`column ${tableName}.${column} was removed or renamed`);
      else if (now.columns[column] !== type)
        breaks.push(`column ${tableName}.${column}: type ${type} became ${now.columns[column]}`);
    }
    for (const [key, columns] of Object.entries(table.keys)) {
      if (!(key in now.keys)) breaks.push(`key ${tableName}.${key} was removed or renamed`);
      else if (now.keys[key].join(',') !== columns.join(',')) {
        breaks.push(
          `key ${tableName}.${key}: columns ${columns.join(',')} became ${now.keys[key].join(',')}`,
        );
      }
    }
  }
  for (const relationship of released.relationships) {
    if (!current.relationships.includes(relationship))
      breaks.push(`relationship ${relationship} was removed or renamed`);
  }
  for (const [setName, options] of Object.entries(released.optionSets)) {
    const now = current.optionSets[setName];
    if (!now) {
      breaks.push(`option set ${setName} was removed or renamed`);
      continue;
    }
    for (const [option, value] of Object.entries(options)) {
      if (now[option] !== value)
        breaks.push(`option ${setName}.${option}: value ${value} became ${now[option] ?? 'missing'}`);
    }
  }
  return breaks;
}
