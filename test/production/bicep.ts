/**
 * Enough of a Bicep reader to check deploy/azure/main.bicep where no Bicep compiler is available (none is
 * published on npm): its declarations, the identifiers its expressions refer to, its decorators, and the
 * objects inside a resource's body. It understands the template as written there: one property per line,
 * single-quoted strings with `${…}` interpolations, `//` and `/* … *\/` comments, no `'''` strings.
 */

export interface Declaration {
  kind: 'param' | 'var' | 'resource' | 'output';
  name: string;
  /** The resource type with its API version (`Microsoft.App/containerApps@2024-03-01`); params: the type. */
  type: string;
  /** Decorator names, e.g. `description`, `secure`. */
  decorators: string[];
  /** Whether a param has a default value. */
  hasDefault: boolean;
  /** The declaration's text from its keyword to the end of its body. */
  text: string;
}

const KEYWORDS = new Set([
  'param',
  'var',
  'resource',
  'output',
  'if',
  'for',
  'in',
  'existing',
  'true',
  'false',
]);
const TYPES = new Set(['string', 'int', 'bool', 'object', 'array', 'null']);

/**
 * The source with comments dropped and every string literal emptied (`''`), each interpolation inside it kept
 * as `(expression)`, so that what remains is expressions and keys only.
 */
export function codeOf(source: string): string {
  let code = '';
  // Each entry: inside a string, or inside an interpolation with its count of open braces.
  const stack: Array<{ in: 'string' } | { in: 'interpolation'; braces: number }> = [];
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    const top = stack.at(-1);
    if (top?.in === 'string') {
      if (c === '\\') {
        i++;
      } else if (c === "'") {
        stack.pop();
        code += "'";
      } else if (c === '$' && source[i + 1] === '{') {
        stack.push({ in: 'interpolation', braces: 0 });
        code += '(';
        i++;
      }
      continue;
    }
    if (source.startsWith("'''", i)) throw new Error("multi-line ''' strings are not read");
    if (source.startsWith('//', i)) {
      while (i < source.length && source[i] !== '\n') i++;
      code += '\n';
    } else if (source.startsWith('/*', i)) {
      i = source.indexOf('*/', i) + 1;
    } else if (c === "'") {
      stack.push({ in: 'string' });
      code += "'";
    } else if (top?.in === 'interpolation' && c === '}' && top.braces === 0) {
      stack.pop();
      code += ')';
    } else {
      if (top?.in === 'interpolation') top.braces += c === '{' ? 1 : c === '}' ? -1 : 0;
      code += c;
    }
  }
  return code;
}

/** From an opening bracket (`[`, `{` or `(`) at `start` of `code` to its matching closing one, included. */
function bracketed(code: string, start: number): string {
  let depth = 0;
  for (let i = start; i < code.length; i++) {
    if ('[{('.includes(code[i]!)) depth++;
    else if (']})'.includes(code[i]!) && --depth === 0) return code.slice(start, i + 1);
  }
  throw new Error(`unclosed ${code[start]} at ${start}`);
}

/** The top-level declarations, in order, read from the source (strings kept: resource types, defaults). */
export function declarations(source: string): Declaration[] {
  const lines = source.split('\n');
  const found: Declaration[] = [];
  // Decorators (`@description(…)`, `@allowed([…])` over several lines) belong to the next declaration.
  let decorators: string[] = [];
  let offset = 0;
  for (const line of lines) {
    const decorator = /^@(\w+)/.exec(line);
    const declaration = /^(param|var|resource|output)\s+(\w+)(?:\s+('[^']*'|\w+))?(\s*=)?/.exec(line);
    if (decorator) decorators.push(decorator[1]!);
    else if (declaration) {
      const body = line.search(/[[{]\s*$/);
      const text = body < 0 ? line : line.slice(0, body) + bracketed(source, offset + body);
      found.push({
        kind: declaration[1] as Declaration['kind'],
        name: declaration[2]!,
        type: (declaration[3] ?? '').replace(/'/g, ''),
        decorators,
        hasDefault: declaration[1] !== 'param' || Boolean(declaration[4]),
        text,
      });
      decorators = [];
    }
    offset += line.length + 1;
  }
  return found;
}

/**
 * The names the template's expressions refer to: identifiers that are neither keys, members (`a.b`),
 * functions (`f(…)`), decorators, types or keywords, nor the names being declared.
 */
export function references(source: string): Set<string> {
  const code = codeOf(source)
    .replace(/^(\s*)(param|var|resource|output)\s+\w+/gm, '$1')
    .replace(/\bfor\s+\w+\s+in\b/g, ' ')
    .replace(/^(\s*)\w+\s*:/gm, '$1');
  const names = [...code.matchAll(/(?<![.\w@])([A-Za-z_]\w*)\b(?!\s*\()/g)].map((match) => match[1]!);
  return new Set(names.filter((name) => !KEYWORDS.has(name) && !TYPES.has(name)));
}

/** Names a template declares for its expressions: params, vars, resources, and the variables of its loops. */
export function declaredNames(source: string): Set<string> {
  const loops = [...codeOf(source).matchAll(/\bfor\s+(\w+)\s+in\b/g)].map((match) => match[1]!);
  return new Set([
    ...declarations(source)
      .filter((d) => d.kind !== 'output')
      .map((d) => d.name),
    ...loops,
  ]);
}

/** The value written after `key:` in a text (the first such line), or after `key: [` / `key: {` its block. */
export function property(text: string, key: string): string | undefined {
  const match = new RegExp(`^\\s*'?${key}'?\\s*:\\s*(.*)$`, 'm').exec(text);
  if (!match) return undefined;
  const value = match[1]!.trim();
  if (!/^[[{]$/.test(value)) return value;
  return bracketed(text, match.index + match[0].length - 1);
}

/** The objects (`{ … }`) directly inside an array block `[ … ]`, each as its text. */
export function objectsIn(arrayText: string): string[] {
  const objects: string[] = [];
  for (let i = 1; i < arrayText.length - 1; i++) {
    if (arrayText[i] === '{') {
      const object = bracketed(arrayText, i);
      objects.push(object);
      i += object.length - 1;
    }
  }
  return objects;
}

/** The string items of an array of literals (`[ 'a' 'b' ]`). */
export function stringsIn(arrayText: string): string[] {
  return [...arrayText.matchAll(/'([^']*)'/g)].map((match) => match[1]!);
}

/** A string literal's content, or undefined for an expression. */
export function literal(value: string | undefined): string | undefined {
  return value && /^'[^'$]*'$/.test(value) ? value.slice(1, -1) : undefined;
}
