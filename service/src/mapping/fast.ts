/**
 * A direct evaluator for the plain part of JSONata that mappings mostly use: field paths, variables,
 * literals, comparisons, `and`/`or`, `? :`, `&`, unary minus, `( $x := …; … )` blocks, and calls of the
 * built-in functions and of `$type`, `$exists`, `$not`, `$boolean`, `$uppercase`, `$lowercase`.
 *
 * JSONata 2 evaluates every step asynchronously, which costs about a millisecond per mapped object; these
 * expressions are compiled once into plain closures instead. Anything outside this subset (filters,
 * arrays, aggregation, other functions) is not compiled, and values whose JSONata meaning differs
 * (an array met on a path, `&` of a number) make the closure give up at run time: both fall back to
 * JSONata itself, so results are JSONata's in every case (checked by a differential test).
 */
import { isDeepStrictEqual } from 'node:util';
import type jsonata from 'jsonata';

/** Thrown (never as an error) when a value needs JSONata's own rules. */
export const FALLBACK: unique symbol = Symbol('jsonata fallback');

export type Scope = Record<string, unknown>;
export type FastEvaluator = (input: unknown, scope: Scope) => unknown;

type Node = jsonata.ExprNode & { then?: Node; else?: Node; condition?: Node; expression?: Node };

const giveUp = (): never => {
  throw FALLBACK;
};

/** JSONata's `$boolean`: an empty array or object, or an array of false values, is false. */
export function toBoolean(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') return value.length > 0;
  if (typeof value === 'number') return value !== 0;
  if (Array.isArray(value)) return value.some(toBoolean);
  if (typeof value === 'function') return false;
  return Object.keys(value as object).length > 0;
}

function jsonataType(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'function') return 'function';
  return typeof value;
}

const BUILT_INS: Record<string, (...args: unknown[]) => unknown> = {
  type: (value) => jsonataType(value),
  exists: (value) => value !== undefined,
  not: (value) => (value === undefined ? undefined : !toBoolean(value)),
  boolean: (value) => (value === undefined ? undefined : toBoolean(value)),
  uppercase: (value) =>
    value === undefined ? undefined : typeof value === 'string' ? value.toUpperCase() : giveUp(),
  lowercase: (value) =>
    value === undefined ? undefined : typeof value === 'string' ? value.toLowerCase() : giveUp(),
  sum: (value) => {
    if (value === undefined) return undefined;
    const items = Array.isArray(value) ? value : [value];
    if (!items.every((item) => typeof item === 'number')) return giveUp();
    return (items as number[]).reduce((total, item) => total + item, 0);
  },
  count: (value) => (value === undefined ? 0 : Array.isArray(value) ? value.length : 1),
};

function variable(name: string): FastEvaluator {
  if (name === '') return (input) => input;
  if (name === '$') return (_input, scope) => scope.$$;
  return (_input, scope) => scope[name];
}

function compare(op: string, left: unknown, right: unknown): unknown {
  if (Array.isArray(left) || Array.isArray(right)) return giveUp();
  if (op === '=' || op === '!=') {
    if (left === undefined || right === undefined) return false;
    const equal =
      typeof left === 'object' || typeof right === 'object' ? isDeepStrictEqual(left, right) : left === right;
    return op === '=' ? equal : !equal;
  }
  if (left === undefined || right === undefined) return undefined;
  const bothNumbers = typeof left === 'number' && typeof right === 'number';
  const bothStrings = typeof left === 'string' && typeof right === 'string';
  if (!bothNumbers && !bothStrings) return giveUp();
  const [a, b] = [left as number | string, right as number | string];
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    default:
      return a >= b;
  }
}

function arithmetic(op: string, left: unknown, right: unknown): unknown {
  if (left === undefined || right === undefined) return undefined;
  if (typeof left !== 'number' || typeof right !== 'number') return giveUp();
  const result =
    op === '+' ? left + right : op === '-' ? left - right : op === '*' ? left * right : left / right;
  return Number.isFinite(result) ? result : giveUp();
}

interface CompiledStep {
  kind: 'name' | 'variable';
  value: string;
  /** Constant indexes and predicates, applied in order to each item's result (JSONata's stages). */
  filters: Array<number | FastEvaluator>;
}

/**
 * JSONata tells the arrays it builds while evaluating (sequences: flattened, unwrapped when single) from
 * arrays that are values in the data (kept as they are when a path ends on one). Sequences are marked here.
 */
const sequences = new WeakSet<unknown[]>();
const sequence = (items: unknown[]) => {
  sequences.add(items);
  return items;
};

/** A field of one item, as JSONata's `lookup`: arrays are looked into, element by element, and flattened. */
function lookup(item: unknown, name: string): unknown {
  if (Array.isArray(item)) {
    const found: unknown[] = [];
    for (const element of item) {
      const value = lookup(element, name);
      if (value === undefined) continue;
      if (Array.isArray(value)) found.push(...value);
      else found.push(value);
    }
    return sequence(found);
  }
  if (item === null || typeof item !== 'object') return undefined;
  return (item as Record<string, unknown>)[name];
}

function applyFilter(filter: number | FastEvaluator, value: unknown, scope: Scope): unknown {
  const items = Array.isArray(value) ? value : [value];
  if (typeof filter === 'number') {
    const item = items[filter < 0 ? items.length + filter : filter];
    if (item === undefined) return sequence([]);
    return Array.isArray(item) ? item : sequence([item]);
  }
  const kept: unknown[] = [];
  for (const item of items) {
    if (item === undefined) continue;
    const result = filter(item, scope);
    // A numeric predicate selects by position in JSONata: left to JSONata.
    if (typeof result === 'number' || Array.isArray(result)) return giveUp();
    if (toBoolean(result)) kept.push(item);
  }
  return sequence(kept);
}

/** JSONata's path over plain JSON: each step maps over the items, flattening arrays one level. */
function evaluatePath(steps: CompiledStep[], input: unknown, scope: Scope): unknown {
  // Most paths walk objects only: then a path is its field chain, and no sequence is built.
  walk: {
    const first = steps[0];
    let value: unknown;
    if (first.kind === 'name') {
      if (Array.isArray(input)) break walk;
      value =
        input !== null && typeof input === 'object'
          ? (input as Record<string, unknown>)[first.value]
          : undefined;
    } else value = first.value === '' ? input : first.value === '$' ? scope.$$ : scope[first.value];
    if (first.filters.length) break walk;
    for (let index = 1; index < steps.length; index++) {
      if (value === undefined) return undefined;
      if (Array.isArray(value) || steps[index].filters.length) break walk;
      value =
        value !== null && typeof value === 'object'
          ? (value as Record<string, unknown>)[steps[index].value]
          : undefined;
    }
    // A path ending on an array gives the array itself, as JSONata does; one starting on a variable
    // holding an array is left to the general walk below.
    if (Array.isArray(value) && steps.length === 1 && first.kind === 'variable') break walk;
    return value;
  }
  let items: unknown[] = Array.isArray(input) && steps[0].kind !== 'variable' ? input : [input];
  for (const [position, step] of steps.entries()) {
    const results: unknown[] = [];
    for (const item of items) {
      let value =
        step.kind === 'name'
          ? lookup(item, step.value)
          : step.value === ''
            ? item
            : step.value === '$'
              ? scope.$$
              : scope[step.value];
      for (const filter of step.filters) value = applyFilter(filter, value, scope);
      if (value !== undefined) results.push(value);
    }
    const last = position === steps.length - 1;
    if (
      last &&
      results.length === 1 &&
      Array.isArray(results[0]) &&
      !sequences.has(results[0] as unknown[])
    ) {
      // A path ending on an array value gives that array, whatever its length.
      return results[0];
    }
    items = [];
    for (const result of results) {
      if (Array.isArray(result)) items.push(...result);
      else items.push(result);
    }
    if (items.length === 0) return undefined;
  }
  return items.length === 1 ? items[0] : sequence(items);
}

type Functions = Record<string, (...args: unknown[]) => unknown>;
type Compile = (node: Node | undefined) => FastEvaluator | null;
/** Compiles one kind of node (its children through `compile`), or null when it leaves the subset. */
type NodeCompiler = (node: Node, compile: Compile, functions: Functions) => FastEvaluator | null;

/**
 * Compiles an expression's syntax tree, or returns null when it uses anything outside the subset.
 * `functions` are the mapping's registered functions, called directly.
 */
export function compileFast(node: Node, functions: Functions): FastEvaluator | null {
  const compile: Compile = (current) => {
    if (!current || hasExtras(current)) return null;
    const compileNode = NODE_COMPILERS.get(current.type as string);
    return compileNode ? compileNode(current, compile, functions) : null;
  };
  return compile(node);
}

/** Predicates, grouping and focus bindings outside a path's steps are JSONata's alone. */
function hasExtras(current: Node): boolean {
  const extras = current as {
    predicate?: unknown;
    group?: unknown;
    focus?: unknown;
    index?: unknown;
    stages?: unknown;
  };
  return Boolean(
    extras.predicate ||
    extras.group ||
    extras.focus ||
    extras.index ||
    ((current.type as string) !== 'path' && extras.stages),
  );
}

const compileLiteral: NodeCompiler = (current) => {
  const value = current.value as unknown;
  return () => value;
};

const compilePath: NodeCompiler = (current, compile) => {
  if ((current as { keepSingletonArray?: unknown }).keepSingletonArray) return null;
  const steps: CompiledStep[] = [];
  for (const [position, step] of (current.steps ?? []).entries()) {
    const raw = step as Node & {
      stages?: Array<{ type: string; expr?: Node }>;
      keepArray?: unknown;
      predicate?: unknown;
      tuple?: unknown;
    };
    if (raw.keepArray || raw.predicate || raw.tuple) return null;
    if (raw.type !== 'name' && !(raw.type === 'variable' && position === 0)) return null;
    const filters: Array<number | FastEvaluator> = [];
    for (const stage of raw.stages ?? []) {
      if ((stage.type as string) !== 'filter' || !stage.expr) return null;
      if (stage.expr.type === 'number') filters.push(Math.floor(stage.expr.value as number));
      else {
        const predicate = compile(stage.expr);
        if (!predicate) return null;
        filters.push(predicate);
      }
    }
    steps.push({ kind: raw.type === 'name' ? 'name' : 'variable', value: String(raw.value), filters });
  }
  if (steps.length === 0) return null;
  return (input, scope) => evaluatePath(steps, input, scope);
};

const compileBinary: NodeCompiler = (current, compile) => {
  const op = String(current.value);
  const left = compile(current.lhs as Node);
  const right = compile(current.rhs as Node);
  if (!left || !right) return null;
  if (op === 'and') return (input, scope) => toBoolean(left(input, scope)) && toBoolean(right(input, scope));
  if (op === 'or') return (input, scope) => toBoolean(left(input, scope)) || toBoolean(right(input, scope));
  if (op === '&') {
    return (input, scope) => {
      const a = left(input, scope);
      const b = right(input, scope);
      if ((a !== undefined && typeof a !== 'string') || (b !== undefined && typeof b !== 'string'))
        return giveUp();
      return (a ?? '') + (b ?? '');
    };
  }
  if (['=', '!=', '<', '<=', '>', '>='].includes(op))
    return (input, scope) => compare(op, left(input, scope), right(input, scope));
  if (['+', '-', '*', '/'].includes(op))
    return (input, scope) => arithmetic(op, left(input, scope), right(input, scope));
  return null;
};

const compileUnary: NodeCompiler = (current, compile) => {
  if (current.value !== '-') return null;
  const operand = compile(current.expression);
  if (!operand) return null;
  return (input, scope) => {
    const value = operand(input, scope);
    if (value === undefined) return undefined;
    return typeof value === 'number' ? -value : giveUp();
  };
};

const compileCondition: NodeCompiler = (current, compile) => {
  const condition = compile(current.condition);
  const then = compile(current.then);
  const otherwise = current.else ? compile(current.else) : () => undefined;
  if (!condition || !then || !otherwise) return null;
  return (input, scope) =>
    toBoolean(condition(input, scope)) ? then(input, scope) : otherwise(input, scope);
};

const compileBlock: NodeCompiler = (current, compile) => {
  const steps: Array<{ bind?: string; evaluate: FastEvaluator }> = [];
  for (const expression of (current.expressions ?? []) as Node[]) {
    if ((expression.type as string) === 'bind') {
      const lhs = expression.lhs as Node;
      const value = compile(expression.rhs as Node);
      if (lhs?.type !== 'variable' || !value) return null;
      steps.push({ bind: String(lhs.value), evaluate: value });
    } else {
      const evaluate = compile(expression);
      if (!evaluate) return null;
      steps.push({ evaluate });
    }
  }
  return (input, scope) => {
    // A block's bindings are local to it, as in JSONata.
    const local: Scope = Object.create(scope);
    let result: unknown;
    for (const step of steps) {
      result = step.evaluate(input, local);
      if (step.bind !== undefined) local[step.bind] = result;
    }
    return result;
  };
};

const compileCall: NodeCompiler = (current, compile, functions) => {
  const procedure = current.procedure as Node | undefined;
  if (procedure?.type !== 'variable') return null;
  const name = String(procedure.value);
  const implementation = functions[name] ?? BUILT_INS[name];
  if (!implementation) return null;
  const args = (current.arguments ?? []).map((argument) => compile(argument as Node));
  if (args.some((argument) => argument === null)) return null;
  const compiled = args as FastEvaluator[];
  const own = name in functions;
  return (input, scope) => {
    const values = compiled.map((argument) => argument(input, scope));
    // The mapping's own functions take single values; JSONata decides what a sequence means to them.
    if (own && values.some(Array.isArray)) return giveUp();
    return implementation(...values);
  };
};

/** The compiler of each node type in the subset; any other type is left to JSONata. */
const NODE_COMPILERS = new Map<string, NodeCompiler>([
  ['string', compileLiteral],
  ['number', compileLiteral],
  ['value', compileLiteral],
  ['variable', (current) => variable(String(current.value))],
  ['path', compilePath],
  ['binary', compileBinary],
  ['unary', compileUnary],
  ['condition', compileCondition],
  ['block', compileBlock],
  ['function', compileCall],
]);
