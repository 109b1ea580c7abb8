/**
 * Solutions in the environment: what ImportSolution and StageAndUpgrade accept, and the table model the
 * installed solutions make together with the platform's own tables.
 *
 * - A first import installs the solution. Importing it again is an update: what the package leaves out stays
 *   (an update deletes nothing). A managed solution takes only a higher version; a managed package does not
 *   replace an unmanaged solution nor the other way round.
 * - StageAndUpgrade (or ImportSolution with HoldingSolution, applied at once) replaces the solution's
 *   components with the package's, so tables, columns and options it no longer has go away. The emulator's
 *   protective rule: an upgrade that would delete a table with rows, or a column holding a value in some row,
 *   is refused with the table and column named, so that a release never loses data silently.
 */
import type { Column, Table, TableModel, TableNames } from '@stc/solution';
import { compareVersions, modelOfCustomizations, type SolutionPackage } from './customizations';
import { DataverseHttpError } from './errors';
import { column, type ModelIndex, platformTable } from './metadata';
import type { RowStore } from './store';

export interface InstalledSolution {
  id: string;
  pkg: SolutionPackage;
  /** The tables, option sets and relationships the solution brings (standard tables with their additions). */
  model: TableModel;
}

/** The row value that keeps a solution's customizations.xml, so that a restart from SQLite rebuilds it. */
export const CUSTOMIZATIONS_VALUE = '_emulator_customizations';

/** The names of a platform table whose entity set is its logical name with an `s`. */
const namesOf = (schemaName: string, displayName: string, description: string): TableNames => ({
  schemaName,
  entitySetName: `${schemaName.toLowerCase()}s`,
  displayName,
  pluralName: `${displayName}s`,
  description,
});

const textOf = (logicalName: string, displayName: string, maxLength: number) =>
  column({ logicalName, type: maxLength > 4000 ? 'memo' : 'string', maxLength, displayName });
const dateOf = (logicalName: string, displayName: string) =>
  column({ logicalName, type: 'datetime', displayName });

/** A platform table whose primary id is `<logical name>id`, shown under the table's name. */
function tableWithId(names: TableNames, primaryName: string, columns: Column[]): Table {
  const id = column({
    logicalName: `${names.schemaName.toLowerCase()}id`,
    type: 'uniqueidentifier',
    displayName: names.displayName,
  });
  return platformTable(names, primaryName, [id, ...columns]);
}

const solutionColumns = [
  textOf('uniquename', 'Name', 65),
  textOf('friendlyname', 'Display Name', 256),
  textOf('version', 'Version', 256),
  column({
    logicalName: 'ismanaged',
    type: 'boolean',
    trueLabel: 'Managed',
    falseLabel: 'Unmanaged',
    displayName: 'Package Type',
  }),
  dateOf('installedon', 'Installed On'),
];

/** `solutions`: the solutions installed, as the Web API lists them. */
export const solutionTable = tableWithId(
  namesOf('Solution', 'Solution', 'A solution installed in the environment.'),
  'friendlyname',
  solutionColumns,
);

/** `importjobs`: one row per import, done when `progress` is 100 and `completedon` is set. */
export const importJobTable = tableWithId(
  namesOf('ImportJob', 'Import Job', 'The progress and result of a solution import.'),
  'name',
  [
    textOf('name', 'Name', 100),
    textOf('solutionname', 'Solution Name', 256),
    column({ logicalName: 'progress', type: 'decimal', precision: 2, displayName: 'Progress' }),
    dateOf('startedon', 'Started On'),
    dateOf('completedon', 'Completed On'),
    textOf('data', 'Data', 1048576),
  ],
);

/**
 * The platform's part of a table model: its standard tables with only the platform's columns, their option
 * sets and the relationships between them; what an environment has before any solution.
 */
export function platformModel(model: TableModel): TableModel {
  const tables = model.tables
    .filter((table) => table.standard)
    .map((table) => ({
      ...table,
      columns: table.columns.filter((c) => c.standard || c.system),
      keys: [],
    }));
  const used = new Set(
    tables.flatMap((t) => t.columns.flatMap((c) => ('optionSet' in c ? [c.optionSet] : []))),
  );
  return {
    ...model,
    tables,
    optionSets: model.optionSets.filter((set) => used.has(set.name)),
    relationships: model.relationships.filter((r) => r.standard),
  };
}

/** The later definition of each column, in the earlier order, with the new columns after. */
function mergeColumns(earlier: Column[], later: Column[]): Column[] {
  const byName = new Map(later.map((c) => [c.logicalName, c]));
  const kept = earlier.map((c) => byName.get(c.logicalName) ?? c);
  return [...kept, ...later.filter((c) => !earlier.some((e) => e.logicalName === c.logicalName))];
}

function mergeTable(earlier: Table, later: Table): Table {
  const keys = [
    ...earlier.keys.filter((k) => !later.keys.some((l) => l.logicalName === k.logicalName)),
    ...later.keys,
  ];
  return { ...later, columns: mergeColumns(earlier.columns, later.columns), keys };
}

/** `base` with each model laid over it in turn: tables merged column by column, sets and relationships by name. */
export function mergeModels(base: TableModel, overlays: TableModel[]): TableModel {
  const tables = new Map(base.tables.map((t) => [t.logicalName, t]));
  const optionSets = new Map(base.optionSets.map((o) => [o.name, o]));
  const relationships = new Map(base.relationships.map((r) => [r.schemaName, r]));
  for (const overlay of overlays) {
    for (const table of overlay.tables) {
      const known = tables.get(table.logicalName);
      tables.set(table.logicalName, known ? mergeTable(known, table) : table);
    }
    for (const set of overlay.optionSets) optionSets.set(set.name, set);
    for (const r of overlay.relationships) relationships.set(r.schemaName, r);
  }
  return {
    ...base,
    tables: [...tables.values()],
    optionSets: [...optionSets.values()],
    relationships: [...relationships.values()],
  };
}

/** The code the emulator answers a refused import with (the messages are Dataverse's own). */
const IMPORT_FAILED = '0x80048033';

const refused = (message: string) => new DataverseHttpError(400, IMPORT_FAILED, message);

/**
 * Checks the package against the installed solution of the same name and answers the solution's model after
 * the import (or upgrade, when `upgrade`).
 */
export function planImport(
  installed: InstalledSolution | undefined,
  pkg: SolutionPackage,
  upgrade: boolean,
  platform: TableModel,
): TableModel {
  const model = modelOfCustomizations(pkg.customizationsXml, platform);
  if (!installed) return model;
  const was = installed.pkg;
  if (was.managed !== pkg.managed) {
    throw refused(
      was.managed
        ? 'The solution is already installed on this system as a managed solution and the package supplied is attempting to install it in unmanaged mode. Import can only update solutions when the modes match. Uninstall the current solution and try again.'
        : 'The solution is already installed on this system as an unmanaged solution and the package supplied is attempting to install it in managed mode. Import can only update solutions when the modes match. Uninstall the current solution and try again.',
    );
  }
  if (upgrade && !pkg.managed)
    throw refused('The imported solution and the existing solution must both be managed for upgrade.');
  if (pkg.managed && compareVersions(pkg.version, was.version) <= 0)
    throw refused(
      'The import solution must have a higher version than the existing solution it is upgrading.',
    );
  return upgrade ? model : mergeModels(installed.model, [model]);
}

/**
 * The emulator's protective rule for upgrades: refuses a model change that deletes a table holding rows or a
 * column holding a value in some row.
 */
export function refuseDataLoss(
  before: ModelIndex,
  after: ModelIndex,
  store: RowStore,
  solution: string,
): void {
  for (const meta of before.tables) {
    const next = after.byLogical.get(meta.logicalName);
    const count = store.count(meta.logicalName);
    if (!next) {
      if (count > 0)
        throw refused(
          `The upgrade of solution ${solution} deletes the table ${meta.logicalName}, which holds ${count} row(s). The emulator does not delete a table with data: delete its rows first.`,
        );
      continue;
    }
    for (const name of meta.columns.keys()) {
      if (next.columns.has(name) || count === 0) continue;
      let holding = 0;
      for (const row of store.rows(meta.logicalName)) {
        const value = row.values[name];
        if (value !== null && value !== undefined) holding++;
      }
      if (holding > 0)
        throw refused(
          `The upgrade of solution ${solution} deletes the column ${meta.logicalName}.${name}, which holds data in ${holding} row(s). The emulator does not delete a column with data: clear the column first.`,
        );
    }
  }
}
