/**
 * Reading and editing a mapping file (service/mappings/*.yaml) for the mapping studio (`POST
 * /console/api/studio/edit`: done here, where the engine's YAML library is, rather than in the console's
 * bundle, which stays within its size budget). The file is parsed with
 * the `yaml` package's Document API, which keeps every node's place in the text; an edit replaces the text of
 * the one node it changes (a column's expression, or a new column entry) and leaves every other byte of the
 * file as it was, comments and the other mappings included. Re-printing the whole document would re-fold long
 * lines and re-space flow maps, so a saved version's diff would show changes nobody made.
 */
import {
  isMap,
  isScalar,
  isSeq,
  parseDocument,
  type Document,
  type Node,
  type Pair,
  type YAMLMap,
} from 'yaml';

export interface FileMapping {
  name: string;
  source: string;
  table: string;
  /** Column → its expression (`expr`), or the constant / default as text when it has none. */
  columns: Record<string, string>;
  keys: string[];
  links: string[];
  /** Each link (lookup column) as the file spells it. */
  linkSpecs: Record<string, FileLink>;
}

/** A link of a mapping: the target row's GUID (`id`), or the target column matched (`match`) and its `value`. */
export interface FileLink {
  id: string | null;
  match: string | null;
  value: string | null;
  /** The tables looked in, when the file names them (else the lookup column's targets). */
  targets: string[] | null;
}

/** The fields of a link an expression sets. */
export type LinkField = 'id' | 'value';

export class MappingFileError extends Error {
  override name = 'MappingFileError';
}

function parse(text: string): Document.Parsed {
  const doc = parseDocument(text, { keepSourceTokens: false });
  if (doc.errors.length > 0) throw new MappingFileError(doc.errors[0].message);
  return doc;
}

const keyText = (pair: Pair): string => String(isScalar(pair.key) ? pair.key.value : pair.key);

function mapEntry(map: unknown, key: string): Pair<unknown, unknown> | undefined {
  if (!isMap(map)) return undefined;
  return (map as YAMLMap).items.find((pair) => keyText(pair) === key);
}

/** What a column's node says, as the studio shows it. */
function columnText(node: unknown): string {
  if (isScalar(node)) return node.value === null ? 'null' : String(node.value);
  if (isMap(node)) {
    for (const field of ['expr', 'value', 'default']) {
      const entry = mapEntry(node, field);
      if (entry && isScalar(entry.value)) return String(entry.value.value);
    }
  }
  return '';
}

function linkOf(node: unknown): FileLink {
  const text = (field: string): string | null => {
    const value = mapEntry(node, field)?.value;
    return isScalar(value) && value.value !== null ? String(value.value) : null;
  };
  const targets = mapEntry(node, 'targets')?.value;
  return {
    id: text('id'),
    match: text('match'),
    value: text('value'),
    targets: isSeq(targets) ? targets.items.map((item) => String(isScalar(item) ? item.value : item)) : null,
  };
}

/** The mappings of a file with their columns; a file that is not YAML throws MappingFileError. */
export function fileMappings(text: string): FileMapping[] {
  const doc = parse(text);
  const mappings = doc.get('mappings', true);
  if (!isMap(mappings)) return [];
  return mappings.items.map((pair) => {
    const spec = pair.value;
    const scalar = (name: string) => {
      const value = mapEntry(spec, name)?.value;
      return isScalar(value) ? String(value.value) : '';
    };
    const names = (name: string) => {
      const value = mapEntry(spec, name)?.value;
      return isMap(value) ? value.items.map(keyText) : [];
    };
    const columns: Record<string, string> = {};
    const columnsNode = mapEntry(spec, 'columns')?.value;
    if (isMap(columnsNode))
      for (const column of columnsNode.items) columns[keyText(column)] = columnText(column.value);
    const linkSpecs: Record<string, FileLink> = {};
    const linksNode = mapEntry(spec, 'links')?.value;
    if (isMap(linksNode)) for (const link of linksNode.items) linkSpecs[keyText(link)] = linkOf(link.value);
    return {
      name: keyText(pair),
      source: scalar('source'),
      table: scalar('table'),
      columns,
      keys: names('key'),
      links: names('links'),
      linkSpecs,
    };
  });
}

/** Whether a plain (unquoted) scalar spells the expression safely in block and flow maps alike. */
const PLAIN_SAFE = /^[A-Za-z_$][A-Za-z0-9_$.]*(\([A-Za-z0-9_$., ]*\))?$/;

/** The expression as a YAML scalar for a place `indent` spaces deep (block) or inside a flow map. */
export function scalarText(expression: string, indent: number, flow: boolean): string {
  if (!expression.includes('\n'))
    return PLAIN_SAFE.test(expression) ? expression : JSON.stringify(expression);
  if (flow) return JSON.stringify(expression);
  const pad = ' '.repeat(indent);
  const lines = expression.replace(/\n+$/, '').split('\n');
  return `|-\n${lines.map((line) => (line ? pad + line : '')).join('\n')}`;
}

/** The column indentation of the line a text offset is on. */
function lineIndent(text: string, offset: number): number {
  const start = text.lastIndexOf('\n', offset - 1) + 1;
  return /^ */.exec(text.slice(start))![0].length;
}

function splice(text: string, range: [number, number], replacement: string): string {
  const [start, end] = range;
  // A block scalar's range ends after its last line break: keep the break.
  const keepBreak = text.slice(start, end).endsWith('\n') && !replacement.endsWith('\n') ? '\n' : '';
  return text.slice(0, start) + replacement + keepBreak + text.slice(end);
}

/**
 * Sets a column of one mapping to an expression. A column written as an expression has its text replaced;
 * one written as a map (`{ expr, map, required… }`) has only its `expr` replaced, its other settings kept (a
 * `value` constant becomes the `expr`); a new column is added at the end of the mapping's `columns`. Every
 * other byte of the file stays as it was.
 */
export function setColumnExpression(
  text: string,
  mapping: string,
  column: string,
  expression: string,
): string {
  if (expression.trim() === '') throw new MappingFileError('An expression must not be empty');
  const doc = parse(text);
  const spec = mapEntry(doc.get('mappings', true), mapping)?.value;
  if (!isMap(spec)) throw new MappingFileError(`The file has no mapping ${mapping}`);
  const columns = mapEntry(spec, 'columns')?.value as Node | undefined;
  if (!isMap(columns))
    throw new MappingFileError(`Mapping ${mapping} has no columns map to add ${column} to`);
  const entry = mapEntry(columns, column);
  if (entry) {
    const node = entry.value as Node | null;
    if (isScalar(node) && node.range) {
      const indent = lineIndent(text, node.range[0]) + 2;
      return splice(
        text,
        [node.range[0], node.range[1]],
        scalarText(expression, indent, columns.flow ?? false),
      );
    }
    if (isMap(node)) {
      const field = mapEntry(node, 'expr') ?? mapEntry(node, 'value');
      const value = field?.value as Node | undefined;
      if (field && isScalar(field.key) && field.key.range && isScalar(value) && value.range) {
        const indent = lineIndent(text, field.key.range[0]) + 2;
        const scalar = scalarText(expression, indent, node.flow ?? false);
        return splice(text, [field.key.range[0], value.range[1]], `expr: ${scalar}`);
      }
      if (node.range) {
        // Only a default: the expression goes first, the rest stays.
        const first = node.items[0]?.key as Node | undefined;
        if (node.flow && first?.range)
          return splice(text, [first.range[0], first.range[0]], `expr: ${scalarText(expression, 0, true)}, `);
        if (first?.range) {
          const indent = lineIndent(text, first.range[0]);
          const lineStart = text.lastIndexOf('\n', first.range[0] - 1) + 1;
          const line = `${' '.repeat(indent)}expr: ${scalarText(expression, indent + 2, false)}\n`;
          return splice(text, [lineStart, lineStart], line);
        }
      }
    }
    throw new MappingFileError(`Column ${column} of ${mapping} is written in a form the studio cannot edit`);
  }
  return addColumn(text, columns as YAMLMap, column, expression);
}

/** A new `column: expression` line after the last column (or a new entry of a flow map). */
function addColumn(text: string, columns: YAMLMap, column: string, expression: string): string {
  const last = columns.items[columns.items.length - 1];
  if (columns.flow || !last) {
    if (!columns.range) throw new MappingFileError('The columns map has no place in the file');
    const [start, end] = columns.range;
    const body = text.slice(start, end).trimEnd();
    const inner = body.replace(/^\{\s*/, '').replace(/\s*\}$/, '');
    const added = `${column}: ${scalarText(expression, 0, true)}`;
    return splice(text, [start, start + body.length], `{ ${inner ? `${inner}, ` : ''}${added} }`);
  }
  const lastKey = last.key as Node;
  const indent = lineIndent(text, lastKey.range![0]);
  const lastValue = (last.value as Node | null)?.range;
  const endOfEntry = lastValue ? lastValue[1] : lastKey.range![1];
  // After the line the last entry ends on (its trailing comment included).
  const lineEnd = text[endOfEntry - 1] === '\n' ? endOfEntry - 1 : text.indexOf('\n', endOfEntry);
  const at = lineEnd < 0 ? text.length : lineEnd + 1;
  const prefix = at === text.length && !text.endsWith('\n') ? '\n' : '';
  const line = `${prefix}${' '.repeat(indent)}${column}: ${scalarText(expression, indent + 2, false)}\n`;
  return text.slice(0, at) + line + text.slice(at);
}

/**
 * Sets a link's `id` (the expression giving the target row's GUID) or `value` (the expression giving the value
 * its `match` column is found by) in one mapping. Only an existing link is edited: which links a mapping has,
 * and their targets, are the table model's and the file's. A link written as a block or flow map has that one
 * scalar replaced, or the field added as its first entry when it has none; every other byte stays.
 */
export function setLinkExpression(
  text: string,
  mapping: string,
  link: string,
  field: LinkField,
  expression: string,
): string {
  if (expression.trim() === '') throw new MappingFileError('An expression must not be empty');
  const doc = parse(text);
  const spec = mapEntry(doc.get('mappings', true), mapping)?.value;
  if (!isMap(spec)) throw new MappingFileError(`The file has no mapping ${mapping}`);
  const node = mapEntry(mapEntry(spec, 'links')?.value, link)?.value as Node | null | undefined;
  if (!isMap(node)) throw new MappingFileError(`Mapping ${mapping} has no link ${link}`);
  if (field === 'value' && !mapEntry(node, 'match'))
    throw new MappingFileError(`Link ${link} of ${mapping} has no match column for a value to be found by`);
  const entry = mapEntry(node, field);
  const value = entry?.value as Node | undefined;
  if (entry && isScalar(entry.key) && entry.key.range && isScalar(value) && value.range) {
    const indent = lineIndent(text, entry.key.range[0]) + 2;
    return splice(text, [value.range[0], value.range[1]], scalarText(expression, indent, node.flow ?? false));
  }
  const first = node.items[0]?.key as Node | undefined;
  if (!entry && first?.range) {
    if (node.flow)
      return splice(text, [first.range[0], first.range[0]], `${field}: ${scalarText(expression, 0, true)}, `);
    const indent = lineIndent(text, first.range[0]);
    const lineStart = text.lastIndexOf('\n', first.range[0] - 1) + 1;
    const line = `${' '.repeat(indent)}${field}: ${scalarText(expression, indent + 2, false)}\n`;
    return splice(text, [lineStart, lineStart], line);
  }
  throw new MappingFileError(`Link ${link} of ${mapping} is written in a form the studio cannot edit`);
}
