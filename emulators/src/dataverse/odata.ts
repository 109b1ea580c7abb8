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
  return new FilterParser(input).parse();
}

const CRM_FUNCTION = 'Microsoft.Dynamics.CRM.';

/** Recursive descent over the tokens: `or` of `and` of (`not`) primaries, one method per construct. */
class FilterParser {
  private readonly tokens: Token[];
  private pos = 0;

  constructor(private readonly input: string) {
    this.tokens = tokenize(input);
  }

  parse(): FilterExpr {
    const expr = this.or();
    if (this.pos !== this.tokens.length)
      throw querySyntax(`unexpected content after position ${this.pos} in '${this.input}'`);
    return expr;
  }

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private next(): Token {
    return this.tokens[this.pos++];
  }

  private isWord(word: string): boolean {
    const tok = this.peek();
    return tok?.t === 'ident' && tok.name === word;
  }

  private expect(t: Token['t']): Token {
    const tok = this.next();
    if (!tok || tok.t !== t) throw querySyntax(`expected '${t}' in '${this.input}'`);
    return tok;
  }

  /** Skips a `,` between arguments. */
  private comma(): void {
    if (this.peek()?.t === ',') this.pos++;
  }

  /** True while the list goes on: there is a token and it is not `close`. */
  private before(close: ')' | ']'): boolean {
    const tok = this.peek();
    return !!tok && tok.t !== close;
  }

  /** `a <op> b <op> c`, grouped from the left; `and` binds tighter than `or` by taking `and` as operand. */
  private leftAssociative(op: 'and' | 'or', operand: () => FilterExpr): FilterExpr {
    let left = operand();
    while (this.isWord(op)) {
      this.pos++;
      left = { kind: op, left, right: operand() };
    }
    return left;
  }

  private or(): FilterExpr {
    return this.leftAssociative('or', () => this.and());
  }

  private and(): FilterExpr {
    return this.leftAssociative('and', () => this.unary());
  }

  private unary(): FilterExpr {
    if (this.isWord('not')) {
      this.pos++;
      return { kind: 'not', expr: this.unary() };
    }
    return this.primary();
  }

  private primary(): FilterExpr {
    const tok = this.peek();
    if (tok?.t === '(') {
      this.pos++;
      const inner = this.or();
      this.expect(')');
      return inner;
    }
    const callsNext = this.tokens[this.pos + 1]?.t === '(';
    if (tok?.t === 'ident' && FUNCTIONS.has(tok.name.toLowerCase()) && callsNext)
      return this.stringFunction(tok.name);
    if (tok?.t === 'ident' && tok.name.startsWith(CRM_FUNCTION)) return this.inFunction(tok.name);
    return this.comparison();
  }

  private operand(): Operand {
    const tok = this.next();
    if (!tok) throw querySyntax(`unexpected end of '${this.input}'`);
    if (tok.t === 'lit') return { kind: 'lit', literal: tok.literal };
    if (tok.t === 'ident') return { kind: 'prop', name: tok.name };
    throw querySyntax(`unexpected '${tok.t}' in '${this.input}'`);
  }

  /** `contains(a, b)`, `startswith(a, b)`, `endswith(a, b)`. */
  private stringFunction(name: string): FilterExpr {
    this.pos += 2;
    const args: Operand[] = [];
    while (this.before(')')) {
      args.push(this.operand());
      this.comma();
    }
    this.expect(')');
    if (args.length !== 2) throw querySyntax(`${name} takes two arguments`);
    return { kind: 'func', name: name.toLowerCase() as 'contains', args };
  }

  /** `Microsoft.Dynamics.CRM.In(PropertyName='…',PropertyValues=[…])` and `NotIn`. */
  private inFunction(name: string): FilterExpr {
    const fn = name.slice(CRM_FUNCTION.length);
    if ((fn !== 'In' && fn !== 'NotIn') || this.tokens[this.pos + 1]?.t !== '(') {
      throw querySyntax(`the query function '${name}' is not supported by the emulator`);
    }
    this.pos += 2;
    let property: string | undefined;
    const values: Literal[] = [];
    while (this.before(')')) {
      const argument = this.next();
      this.expect('=');
      if (argument.t !== 'ident') throw querySyntax(`bad argument to ${name}`);
      if (argument.name === 'PropertyName') property = this.propertyName(name);
      else if (argument.name === 'PropertyValues') values.push(...this.propertyValues(name));
      else throw querySyntax(`unknown argument '${argument.name}' to ${name}`);
      this.comma();
    }
    this.expect(')');
    if (!property) throw querySyntax(`${name} needs PropertyName`);
    return { kind: 'in', property, values, negated: fn === 'NotIn' };
  }

  private propertyName(fn: string): string {
    const value = this.next();
    if (value?.t !== 'lit' || value.literal.type !== 'string')
      throw querySyntax(`${fn} needs PropertyName='…'`);
    return value.literal.value as string;
  }

  private propertyValues(fn: string): Literal[] {
    const values: Literal[] = [];
    this.expect('[');
    while (this.before(']')) {
      const value = this.next();
      if (value.t !== 'lit') throw querySyntax(`${fn} PropertyValues must be literals`);
      values.push(value.literal);
      this.comma();
    }
    this.expect(']');
    return values;
  }

  /** `a <op> b`, or a bare property standing for `property eq true`. */
  private comparison(): FilterExpr {
    const left = this.operand();
    const opTok = this.peek();
    if (opTok?.t === 'ident' && COMPARISONS.has(opTok.name)) {
      this.pos++;
      return { kind: 'cmp', op: opTok.name as ComparisonOperator, left, right: this.operand() };
    }
    if (left.kind === 'prop') {
      return {
        kind: 'cmp',
        op: 'eq',
        left,
        right: { kind: 'lit', literal: { type: 'boolean', value: true } },
      };
    }
    throw querySyntax(`a comparison was expected in '${this.input}'`);
  }
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
