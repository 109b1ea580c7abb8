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

/** JSONata's `$boolean`. */
function toBoolean(value: unknown): boolean {
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
  uppercase: (value) => (value === undefined ? undefined : typeof value === 'string' ? value.toUpperCase() : giveUp()),
  lowercase: (value) => (value === undefined ? undefined : typeof value === 'string' ? value.toLowerCase() : giveUp()),
};

/** A value a path may stop at: anything but an array (JSONata's sequences), which JSONata handles itself. */
function settle(value: unknown): unknown {
  return Array.isArray(value) ? giveUp() : value;
}

function field(value: unknown, name: string): unknown {
  if (value === undefined || value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) return giveUp();
  return (value as Record<string, unknown>)[name];
}

function variable(name: string): FastEvaluator {
  if (name === '') return (input) => input;
  if (name === '$') return (_input, scope) => scope.$$;
  return (_input, scope) => scope[name];
}

function compare(op: string, left: unknown, right: unknown): unknown {
  if (op === '=' || op === '!=') {
    if (left === undefined || right === undefined) return false;
    const equal = typeof left === 'object' || typeof right === 'object' ? isDeepStrictEqual(left, right) : left === right;
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
  const result = op === '+' ? left + right : op === '-' ? left - right : op === '*' ? left * right : left / right;
  return Number.isFinite(result) ? result : giveUp();
}

/**
 * Compiles an expression's syntax tree, or returns null when it uses anything outside the subset.
 * `functions` are the mapping's registered functions, called directly.
 */
export function compileFast(node: Node, functions: Record<string, (...args: any[]) => unknown>): FastEvaluator | null {
  const compile = (current: Node | undefined): FastEvaluator | null => {
    if (!current) return null;
    switch (current.type as string) {
      case 'string':
      case 'number':
      case 'value': {
        const value = current.value as unknown;
        return () => value;
      }
      case 'variable':
        return variable(String(current.value));
      case 'path': {
        const steps = current.steps ?? [];
        // The one stage compiled: a constant index on the last step (`charges.data[0]`, `lines[-1]`).
        const last = steps[steps.length - 1] as { stages?: Array<{ type: string; expr?: Node }> } | undefined;
        let index: number | undefined;
        if (last?.stages) {
          const [stage, ...more] = last.stages;
          if (more.length || stage.type !== 'filter' || stage.expr?.type !== 'number' || !Number.isInteger(stage.expr.value)) return null;
          index = stage.expr.value as number;
        }
        const plainSteps = steps.slice(0, index === undefined ? steps.length : -1);
        if (plainSteps.some((step) => (step as { stages?: unknown }).stages)) return null;
        if (steps.some((step) => (step as { keepArray?: unknown }).keepArray || (step as { predicate?: unknown }).predicate)) return null;
        if ((current as { keepSingletonArray?: unknown }).keepSingletonArray) return null;
        const [first, ...rest] = steps;
        let start: FastEvaluator;
        if (first?.type === 'name') {
          const name = String(first.value);
          start = (input) => field(input, name);
        } else if (first?.type === 'variable') start = variable(String(first.value));
        else return null;
        if (rest.some((step) => step.type !== 'name')) return null;
        const names = rest.map((step) => String(step.value));
        if (index !== undefined) {
          if (names.length === 0) return null;
          const at = index;
          return (input, scope) => {
            let value = start(input, scope);
            for (const name of names) value = field(value, name);
            if (value === undefined) return undefined;
            if (!Array.isArray(value)) return at === 0 || at === -1 ? settle(value) : undefined;
            return settle(value[at < 0 ? value.length + at : at]);
          };
        }
        return (input, scope) => {
          let value = start(input, scope);
          for (const name of names) value = field(value, name);
          return settle(value);
        };
      }
      case 'binary': {
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
            if ((a !== undefined && typeof a !== 'string') || (b !== undefined && typeof b !== 'string')) return giveUp();
            return (a ?? '') + (b ?? '');
          };
        }
        if (['=', '!=', '<', '<=', '>', '>='].includes(op)) return (input, scope) => compare(op, left(input, scope), right(input, scope));
        if (['+', '-', '*', '/'].includes(op)) return (input, scope) => arithmetic(op, left(input, scope), right(input, scope));
        return null;
      }
      case 'unary': {
        if (current.value !== '-') return null;
        const operand = compile(current.expression);
        if (!operand) return null;
        return (input, scope) => {
          const value = operand(input, scope);
          if (value === undefined) return undefined;
          return typeof value === 'number' ? -value : giveUp();
        };
      }
      case 'condition': {
        const condition = compile(current.condition);
        const then = compile(current.then);
        const otherwise = current.else ? compile(current.else) : () => undefined;
        if (!condition || !then || !otherwise) return null;
        return (input, scope) => (toBoolean(condition(input, scope)) ? then(input, scope) : otherwise(input, scope));
      }
      case 'block': {
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
      }
      case 'function': {
        const procedure = current.procedure as Node | undefined;
        if (procedure?.type !== 'variable') return null;
        const name = String(procedure.value);
        const implementation = functions[name] ?? BUILT_INS[name];
        if (!implementation) return null;
        const args = (current.arguments ?? []).map((argument) => compile(argument as Node));
        if (args.some((argument) => argument === null)) return null;
        const compiled = args as FastEvaluator[];
        return (input, scope) => settle(implementation(...compiled.map((argument) => argument(input, scope))));
      }
      default:
        return null;
    }
  };
  return compile(node);
}
