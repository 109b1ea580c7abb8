/**
 * OData URL syntax as Dataverse takes it: key predicates, `$filter` expressions, `$select`, `$orderby`,
 * `$expand` with nested options, and the query string itself (decoded without turning `+` into a space, as
 * OData servers do).
 */
import { querySyntax } from './errors';

export type LiteralType = 'string' | 'number' | 'guid' | 'datetime' | 'date' | 'boolean' | 'null';
export interface Literal {
  type: LiteralType;
  value: string | number | boolean | null;
}

export type Operand = { kind: 'prop'; name: string } | { kind: 'lit'; literal: Literal };
export type ComparisonOperator = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';
export type FilterExpr =
  | { kind: 'and' | 'or'; left: FilterExpr; right: FilterExpr }
  | { kind: 'not'; expr: FilterExpr }
  | { kind: 'cmp'; op: ComparisonOperator; left: Operand; right: Operand }
  | { kind: 'func'; name: 'contains' | 'startswith' | 'endswith'; args: Operand[] }
  /** Dataverse's `Microsoft.Dynamics.CRM.In` / `NotIn` query functions. */
  | { kind: 'in'; property: string; values: Literal[]; negated: boolean };

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-])/;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?/;
const DATE = /^\d{4}-\d{2}-\d{2}(?![\w])/;
const NUMBER = /^-?\d+(\.\d+)?([eE][+-]?\d+)?[mMdDfFlL]?/;
const IDENT = /^[A-Za-z_$][\w.]*(\/[A-Za-z_][\w]*)*/;

export const isGuid = (s: string): boolean => GUID.test(s) && s.length === 36;

type Token =
  { t: 'lit'; literal: Literal } | { t: 'ident'; name: string } | { t: '(' | ')' | ',' | '[' | ']' | '=' };

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input[i];
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n') {
      i++;
      continue;
    }
    if (ch === '(' || ch === ')' || ch === ',' || ch === '[' || ch === ']' || ch === '=') {
      tokens.push({ t: ch });
      i++;
      continue;
    }
    if (ch === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= input.length) throw querySyntax(`unterminated string literal in '${input}'`);
        if (input[i] === "'") {
          if (input[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += input[i++];
      }
      tokens.push({ t: 'lit', literal: { type: 'string', value } });
      continue;
    }
    const rest = input.slice(i);
    let m: RegExpExecArray | null;
    if ((m = GUID.exec(rest))) {
      tokens.push({ t: 'lit', literal: { type: 'guid', value: m[0].toLowerCase() } });
      i += m[0].length;
    } else if ((m = DATETIME.exec(rest))) {
      tokens.push({ t: 'lit', literal: { type: 'datetime', value: m[0] } });
      i += m[0].length;
    } else if ((m = DATE.exec(rest))) {
      tokens.push({ t: 'lit', literal: { type: 'date', value: m[0] } });
      i += m[0].length;
    } else if ((m = NUMBER.exec(rest))) {
      tokens.push({ t: 'lit', literal: { type: 'number', value: Number(m[0].replace(/[mMdDfFlL]$/, '')) } });
      i += m[0].length;
    } else if ((m = IDENT.exec(rest))) {
      const name = m[0];
      if (name === 'true' || name === 'false')
        tokens.push({ t: 'lit', literal: { type: 'boolean', value: name === 'true' } });
      else if (name === 'null') tokens.push({ t: 'lit', literal: { type: 'null', value: null } });
      else tokens.push({ t: 'ident', name });
      i += name.length;
    } else {
      throw querySyntax(`character '${ch}' at position ${i} in '${input}' was not expected`);
    }
  }
  return tokens;
}

const COMPARISONS = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const FUNCTIONS = new Set(['contains', 'startswith', 'endswith']);

export function parseFilter(input: string): FilterExpr {
  const tokens = tokenize(input);
  let pos = 0;
  const peek = () => tokens[pos];
  const isWord = (word: string) => {
    const tok = peek();
    return tok?.t === 'ident' && tok.name === word;
  };
  const expect = (t: Token['t']) => {
    const tok = tokens[pos++];
    if (!tok || tok.t !== t) throw querySyntax(`expected '${t}' in '${input}'`);
    return tok;
  };

  const parseOperand = (): Operand => {
    const tok = tokens[pos++];
    if (!tok) throw querySyntax(`unexpected end of '${input}'`);
    if (tok.t === 'lit') return { kind: 'lit', literal: tok.literal };
    if (tok.t === 'ident') return { kind: 'prop', name: tok.name };
    throw querySyntax(`unexpected '${tok.t}' in '${input}'`);
  };

  const parsePrimary = (): FilterExpr => {
    const tok = peek();
    if (tok?.t === '(') {
      pos++;
      const inner = parseOr();
      expect(')');
      return inner;
    }
    if (tok?.t === 'ident' && FUNCTIONS.has(tok.name.toLowerCase()) && tokens[pos + 1]?.t === '(') {
      pos += 2;
      const args: Operand[] = [];
      while (peek() && peek().t !== ')') {
        args.push(parseOperand());
        if (peek()?.t === ',') pos++;
      }
      expect(')');
      if (args.length !== 2) throw querySyntax(`${tok.name} takes two arguments`);
      return { kind: 'func', name: tok.name.toLowerCase() as 'contains', args };
    }
    if (tok?.t === 'ident' && /^Microsoft\.Dynamics\.CRM\./.test(tok.name)) {
      const fn = tok.name.slice('Microsoft.Dynamics.CRM.'.length);
      if ((fn !== 'In' && fn !== 'NotIn') || tokens[pos + 1]?.t !== '(') {
        throw querySyntax(`the query function '${tok.name}' is not supported by the emulator`);
      }
      pos += 2;
      let property: string | undefined;
      const values: Literal[] = [];
      while (peek() && peek().t !== ')') {
        const name = tokens[pos++];
        expect('=');
        if (name.t !== 'ident') throw querySyntax(`bad argument to ${tok.name}`);
        if (name.name === 'PropertyName') {
          const value = tokens[pos++];
          if (value?.t !== 'lit' || value.literal.type !== 'string')
            throw querySyntax(`${tok.name} needs PropertyName='…'`);
          property = value.literal.value as string;
        } else if (name.name === 'PropertyValues') {
          expect('[');
          while (peek() && peek().t !== ']') {
            const value = tokens[pos++];
            if (value.t !== 'lit') throw querySyntax(`${tok.name} PropertyValues must be literals`);
            values.push(value.literal);
            if (peek()?.t === ',') pos++;
          }
          expect(']');
        } else throw querySyntax(`unknown argument '${name.name}' to ${tok.name}`);
        if (peek()?.t === ',') pos++;
      }
      expect(')');
      if (!property) throw querySyntax(`${tok.name} needs PropertyName`);
      return { kind: 'in', property, values, negated: fn === 'NotIn' };
    }
    const left = parseOperand();
    const opTok = peek();
    if (opTok?.t === 'ident' && COMPARISONS.has(opTok.name)) {
      pos++;
      return { kind: 'cmp', op: opTok.name as ComparisonOperator, left, right: parseOperand() };
    }
    if (left.kind === 'prop') {
      return {
        kind: 'cmp',
        op: 'eq',
        left,
        right: { kind: 'lit', literal: { type: 'boolean', value: true } },
      };
    }
    throw querySyntax(`a comparison was expected in '${input}'`);
  };

  const parseUnary = (): FilterExpr => {
    if (isWord('not')) {
      pos++;
      return { kind: 'not', expr: parseUnary() };
    }
    return parsePrimary();
  };
  /** `a <op> b <op> c`, grouped from the left; `and` binds tighter than `or` by taking `and` as operand. */
  const leftAssociative = (op: 'and' | 'or', parseOperand: () => FilterExpr) => (): FilterExpr => {
    let left = parseOperand();
    while (isWord(op)) {
      pos++;
      left = { kind: op, left, right: parseOperand() };
    }
    return left;
  };
  const parseAnd = leftAssociative('and', parseUnary);
  const parseOr = leftAssociative('or', parseAnd);

  const expr = parseOr();
  if (pos !== tokens.length) throw querySyntax(`unexpected content after position ${pos} in '${input}'`);
  return expr;
}

/** Every property name an expression reads, for validation against the table. */
export function filterProperties(expr: FilterExpr, out: string[] = []): string[] {
  switch (expr.kind) {
    case 'and':
    case 'or':
      filterProperties(expr.left, out);
      filterProperties(expr.right, out);
      break;
    case 'not':
      filterProperties(expr.expr, out);
      break;
    case 'cmp':
      for (const o of [expr.left, expr.right]) if (o.kind === 'prop') out.push(o.name);
      break;
    case 'func':
      for (const o of expr.args) if (o.kind === 'prop') out.push(o.name);
      break;
    case 'in':
      out.push(expr.property);
      break;
  }
  return out;
}

/** Splits on a separator outside parentheses and quotes. */
export function splitTopLevel(input: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = '';
  for (const ch of input) {
    if (ch === "'") quoted = !quoted;
    else if (!quoted && ch === '(') depth++;
    else if (!quoted && ch === ')') depth--;
    if (!quoted && depth === 0 && ch === separator) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  if (current.length > 0 || parts.length > 0) parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

export interface OrderBy {
  name: string;
  descending: boolean;
}

export function parseOrderBy(input: string): OrderBy[] {
  return splitTopLevel(input, ',').map((part) => {
    const [name, direction] = part.split(/\s+/);
    if (direction && direction !== 'asc' && direction !== 'desc')
      throw querySyntax(`bad $orderby direction '${direction}'`);
    return { name, descending: direction === 'desc' };
  });
}

export interface QueryOptions {
  select?: string[];
  filter?: FilterExpr;
  filterText?: string;
  orderBy?: OrderBy[];
  top?: number;
  count?: boolean;
  expand?: ExpandItem[];
  skipToken?: string;
}

export interface ExpandItem {
  navigation: string;
  options: QueryOptions;
}

export function parseExpand(input: string): ExpandItem[] {
  return splitTopLevel(input, ',').map((item) => {
    const open = item.indexOf('(');
    if (open < 0) return { navigation: item, options: {} };
    if (!item.endsWith(')')) throw querySyntax(`bad $expand item '${item}'`);
    const navigation = item.slice(0, open).trim();
    const inner = item.slice(open + 1, -1);
    const params: Record<string, string> = {};
    for (const opt of splitTopLevel(inner, ';')) {
      const eq = opt.indexOf('=');
      if (eq < 0) throw querySyntax(`bad $expand option '${opt}'`);
      params[opt.slice(0, eq).trim()] = opt.slice(eq + 1).trim();
    }
    return { navigation, options: parseQueryOptions(params) };
  });
}

export function parseQueryOptions(params: Record<string, string>): QueryOptions {
  const options: QueryOptions = {};
  for (const [name, value] of Object.entries(params)) {
    switch (name) {
      case '$select':
        options.select = splitTopLevel(value, ',');
        break;
      case '$filter':
        options.filter = parseFilter(value);
        options.filterText = value;
        break;
      case '$orderby':
        options.orderBy = parseOrderBy(value);
        break;
      case '$top': {
        const top = Number(value);
        if (!Number.isInteger(top) || top < 0)
          throw querySyntax(`$top must be a non-negative integer, not '${value}'`);
        options.top = top;
        break;
      }
      case '$count':
        if (value !== 'true' && value !== 'false') throw querySyntax(`$count must be true or false`);
        options.count = value === 'true';
        break;
      case '$expand':
        options.expand = parseExpand(value);
        break;
      case '$skiptoken':
        options.skipToken = value;
        break;
      case '$skip':
        throw querySyntax('The query parameter $skip is not supported');
      default:
        if (name.startsWith('$')) throw querySyntax(`The query parameter ${name} is not supported`);
    }
  }
  return options;
}

/** Decodes a query string the OData way: `+` stays a plus sign. */
export function parseQueryString(query: string): Record<string, string> {
  const params: Record<string, string> = {};
  if (!query) return params;
  for (const pair of query.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const name = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1));
    params[name] = value;
  }
  return params;
}

export type KeyPredicate = { id: string } | { key: Record<string, string | number | boolean | null> };

/** `(<guid>)`, `(name='x')` or `(a='x',b=2)`, with OData quote escaping `''`. */
export function parseKeyPredicate(inner: string): KeyPredicate {
  const trimmed = inner.trim();
  if (isGuid(trimmed)) return { id: trimmed.toLowerCase() };
  const tokens = tokenize(trimmed);
  const key: Record<string, string | number | boolean | null> = {};
  let pos = 0;
  while (pos < tokens.length) {
    const name = tokens[pos++];
    const eq = tokens[pos++];
    const value = tokens[pos++];
    if (name?.t !== 'ident' || eq?.t !== '=' || value?.t !== 'lit') {
      throw querySyntax(`bad key predicate '(${inner})'`);
    }
    key[name.name] = value.literal.value;
    if (pos < tokens.length) {
      if (tokens[pos].t !== ',') throw querySyntax(`bad key predicate '(${inner})'`);
      pos++;
    }
  }
  if (Object.keys(key).length === 0) throw querySyntax(`empty key predicate`);
  return { key };
}

/** A Dataverse-shaped skiptoken: a paging cookie the emulator reads back. */
export function makeSkipToken(page: number, skip: number): string {
  return `<cookie pagenumber="${page}" pagingcookie="skip%3d${skip}" istracking="False" />`;
}

export function readSkipToken(token: string): number {
  const m = /pagingcookie="skip%3d(\d+)"/.exec(token);
  if (!m) throw querySyntax('the $skiptoken is not one this service issued');
  return Number(m[1]);
}
