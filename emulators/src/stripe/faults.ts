/**
 * Fault injection for tests: Stripe answering 5xx, answering late (beyond a client's timeout), resetting the
 * connection, before it acts on a request or after (Stripe made the refund, its answer was lost). Faults
 * are taken in the order they were added: each request takes one use of the first fault that matches it,
 * so `500, then a timeout` is two faults added one after the other. Every API request is recorded with its
 * idempotency key and what it got, for tests to assert what a client sent.
 *
 * Unreachable (connection refused) is the server not listening: `StripeEmulator.goOffline()`.
 */
import type Koa from 'koa';
import { invalidRequest } from './errors';
import { optionalBoolean, optionalInteger, optionalString, type Params } from './params';
import type { Route } from './routes';

export interface StripeFaultSpec {
  /** Answer with this HTTP status and Stripe's `api_error` body (500, 502, 503…). */
  status?: number;
  /** Close the connection without an answer (connection reset). */
  drop?: boolean;
  /** Wait this long before answering (with a status or a drop, or alone: a slow Stripe). */
  latencyMs?: number;
  /**
   * Apply after the request was carried out: Stripe acted (and recorded the idempotency key), and its answer
   * is lost, late or replaced by the status. Default: before, so Stripe does nothing.
   */
  after?: boolean;
  /** How many requests the fault takes: default 1, or unlimited for latency alone. */
  count?: number;
  /** Only requests with this method and/or whose path contains this text. */
  match?: { method?: string; pathIncludes?: string };
}

/** One API request as the emulator saw it. */
export interface StripeRequestRecord {
  method: string;
  /** Path without the query. */
  path: string;
  idempotencyKey: string | null;
  /** The status answered, `dropped`, or `pending` while it runs. */
  outcome: number | 'dropped' | 'pending';
  /** The fault it took, if any. */
  fault?: StripeFaultSpec;
}

interface ActiveFault {
  spec: StripeFaultSpec;
  remaining: number;
}

export class StripeFaults {
  private faults: ActiveFault[] = [];
  readonly requests: StripeRequestRecord[] = [];

  add(spec: StripeFaultSpec): void {
    if (spec.status !== undefined && !(spec.status >= 400 && spec.status <= 599)) {
      throw new Error('a fault status must be an HTTP error status (400–599)');
    }
    const unlimited = spec.status === undefined && !spec.drop;
    this.faults.push({ spec, remaining: spec.count ?? (unlimited ? Infinity : 1) });
  }

  clear(): void {
    this.faults = [];
  }

  get active(): number {
    return this.faults.length;
  }

  /** The fault this request takes (one use of it), if any. */
  take(method: string, path: string): StripeFaultSpec | undefined {
    const fault = this.faults.find(
      ({ spec }) =>
        (!spec.match?.method || spec.match.method.toUpperCase() === method.toUpperCase()) &&
        (!spec.match?.pathIncludes || path.includes(spec.match.pathIncludes)),
    );
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults = this.faults.filter((entry) => entry !== fault);
    return fault.spec;
  }

  /** The outermost middleware: records the request and applies its fault before or after the route. */
  middleware(): Koa.Middleware {
    return async (ctx, next) => {
      if (ctx.path.startsWith('/_emulator/')) return next();
      const fault = this.take(ctx.method, ctx.path);
      const record: StripeRequestRecord = {
        method: ctx.method,
        path: ctx.path,
        idempotencyKey: ctx.get('Idempotency-Key') || null,
        outcome: 'pending',
        ...(fault ? { fault } : {}),
      };
      this.requests.push(record);
      if (fault && !fault.after) {
        if (await applied(ctx, fault, record)) return;
      }
      await next();
      if (fault?.after && (await applied(ctx, fault, record))) return;
      record.outcome = ctx.status;
    };
  }
}

/** Applies a fault's latency, then its drop or status; true when the answer is the fault's. */
async function applied(
  ctx: Koa.Context,
  fault: StripeFaultSpec,
  record: StripeRequestRecord,
): Promise<boolean> {
  if (fault.latencyMs) await new Promise((resolve) => setTimeout(resolve, fault.latencyMs));
  if (fault.drop) {
    ctx.respond = false;
    ctx.req.socket.destroy();
    record.outcome = 'dropped';
    return true;
  }
  if (fault.status !== undefined) {
    ctx.status = fault.status;
    ctx.type = 'application/json';
    ctx.body = JSON.stringify({
      error: {
        type: 'api_error',
        message: `An error occurred with our connection to Stripe (fault injected by the emulator, status ${fault.status}).`,
      },
    });
    record.outcome = fault.status;
    return true;
  }
  return false;
}

/**
 * A fault from the parameters of `POST /_emulator/faults` (form or JSON, Stripe's snake case): `status`,
 * `drop`, `latency_ms`, `after`, `count`, `method`, `path_includes`.
 */
export function faultFromParams(params: Params): StripeFaultSpec {
  const method = optionalString(params, 'method');
  const pathIncludes = optionalString(params, 'path_includes');
  const status = optionalInteger(params, 'status', 400);
  if (status !== undefined && status > 599) throw invalidRequest('status must be 400–599', 'status');
  const spec: StripeFaultSpec = {
    status,
    drop: optionalBoolean(params, 'drop'),
    latencyMs: optionalInteger(params, 'latency_ms', 0),
    after: optionalBoolean(params, 'after'),
    count: optionalInteger(params, 'count', 1),
    ...(method || pathIncludes ? { match: { method, pathIncludes } } : {}),
  };
  return Object.fromEntries(
    Object.entries(spec).filter(([, value]) => value !== undefined),
  ) as StripeFaultSpec;
}

/** The HTTP face of the faults, for a scenario driving the emulator from another process. */
export function faultRoutes(faults: StripeFaults): Route[] {
  return [
    {
      method: 'post',
      path: '/_emulator/faults',
      operation: (_engine, _ctx, params) => {
        faults.add(faultFromParams(params));
        return { object: 'emulator.faults', active: faults.active };
      },
    },
    {
      method: 'delete',
      path: '/_emulator/faults',
      operation: () => {
        faults.clear();
        return { object: 'emulator.faults', active: 0 };
      },
    },
    {
      method: 'get',
      path: '/_emulator/requests',
      operation: () => ({ object: 'list', data: [...faults.requests], has_more: false }),
    },
  ];
}
