/**
 * Finds Dataverse names of the table model typed by hand into TypeScript source: in string and template
 * literals, and as the members of rows written out. The names come from `@stc/solution/tables`, generated from
 * the model; a literal such as `'stc_amount'`, `'_stc_paymentid_value'`, `` `stc_payments(${id})` `` or
 * `'dataverse.stc_refundrequest.create'`, or a row `{ stc_amount: 1 }`, repeats one and goes stale silently
 * when the model changes. Other `stc_` words (metric names, notification ids) are not table model names and
 * pass.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import type { TableModel } from '@stc/solution';

/** Every name the model declares that code could spell: tables, entity sets, columns, lookups, keys, sets. */
export function modelNames(model: TableModel): Set<string> {
  const names = new Set<string>();
  for (const table of model.tables) {
    names.add(table.logicalName);
    names.add(table.entitySetName);
    names.add(table.primaryIdColumn);
    for (const column of table.columns) {
      names.add(column.logicalName);
      if (column.type === 'lookup' || column.type === 'customer' || column.type === 'owner') {
        names.add(`_${column.logicalName}_value`);
        for (const navigation of Object.values(column.navigation)) names.add(navigation);
      }
    }
    for (const key of table.keys) names.add(key.logicalName);
  }
  for (const relationship of model.relationships) {
    names.add(relationship.schemaName);
    names.add(relationship.referencedNavigation);
    names.add(relationship.referencingNavigation);
  }
  for (const set of model.optionSets) names.add(set.name);
  // Only the publisher's names: `name`, `statecode` or `accounts` in a literal say nothing about the model.
  return new Set([...names].map((n) => n.toLowerCase()).filter((n) => /(^|_)stc_/.test(n)));
}

export interface HandTypedName {
  file: string;
  line: number;
  name: string;
  literal: string;
}

const WORD = /_?stc_[A-Za-z0-9_]+/g;

/** The model names in the string and template literals of one source text (comments are not looked at). */
export function findHandTypedNames(file: string, source: string, names: Set<string>): HandTypedName[] {
  const sourceFile = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true);
  const found: HandTypedName[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isStringLiteral(node) ||
      ts.isNoSubstitutionTemplateLiteral(node) ||
      ts.isTemplateHead(node) ||
      ts.isTemplateMiddle(node) ||
      ts.isTemplateTail(node)
    ) {
      for (const match of node.text.matchAll(WORD)) {
        // `'_stc_paymentid_value'` is one name; `'stc_customerid_account@odata.bind'` ends at the `@`.
        const candidates = [match[0], match[0].replace(/^_/, '')];
        const name = candidates.find((c) => names.has(c.toLowerCase()));
        if (!name) continue;
        const { line } = sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile));
        found.push({ file, line: line + 1, name, literal: node.getText(sourceFile) });
      }
    }
    // A row written as `{ stc_amount: 1 }`, an interface member or a destructured column spells the name as
    // much as `'stc_amount'` does. Reads (`row.stc_amount`) are left to the row types, which come from the model.
    if (
      ts.isIdentifier(node) &&
      (ts.isPropertyAssignment(node.parent) ||
        ts.isShorthandPropertyAssignment(node.parent) ||
        ts.isPropertySignature(node.parent) ||
        ts.isBindingElement(node.parent)) &&
      (node.parent.name === node ||
        (ts.isBindingElement(node.parent) && node.parent.propertyName === node)) &&
      names.has(node.text.toLowerCase())
    ) {
      const { line } = sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile));
      found.push({ file, line: line + 1, name: node.text, literal: node.parent.getText(sourceFile) });
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return found;
}

const SKIP_DIRS = new Set(['node_modules', 'dist', 'out', 'generated', '__tests__', '__mocks__']);

/** Product TypeScript under a folder: no tests, mocks, generated or built files. */
export function productSources(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      if (!SKIP_DIRS.has(entry)) files.push(...productSources(path));
    } else if (/\.tsx?$/.test(entry) && !/\.(test|d)\.tsx?$/.test(entry)) {
      files.push(path);
    }
  }
  return files;
}

export function scanFolders(root: string, folders: string[], names: Set<string>): HandTypedName[] {
  return folders.flatMap((folder) =>
    productSources(join(root, folder)).flatMap((path) =>
      findHandTypedNames(relative(root, path), readFileSync(path, 'utf8'), names),
    ),
  );
}
