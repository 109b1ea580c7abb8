/**
 * A handler's fence: once the pipeline has let go of an event (its handler ran past its time and the failure
 * was recorded, or the service is shutting down and gave the event back to the store), another attempt may
 * take the event, and the handler still running must not write beside it. A handler cannot be killed, but
 * every Dataverse and Stripe request goes through a point that asks the fence first (the lineage recorder, the
 * Stripe HTTP client), so a stopped handler's next request is refused before it is sent and the handler ends
 * on that error. A call the handler made before it was stopped is fenced too: the Dataverse client gets the
 * fence's signal and asks it before each attempt (a retry after a 429 or a 5xx, after its wait) and the upsert
 * batcher before it sends a queued row, so nothing of it leaves the process afterwards. A request already sent
 * is not recalled: a shutdown waits a little for those to settle.
 *
 * The fence of the handler running now is carried through its async calls (AsyncLocalStorage), as the lineage
 * scope and the Stripe priority are; work outside a handler (schedules, the console) has none.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { setMaxListeners } from 'node:events';

/** Why a fenced handler's request was refused. */
export class HandlerStoppedError extends Error {
  readonly transient = true;
  constructor(
    message: string,
    readonly code: 'handler_timeout' | 'shutdown',
  ) {
    super(message);
    this.name = 'HandlerStoppedError';
  }
}

export interface HandlerFence {
  /** Set once the pipeline has let go of the event: every further request of the handler is refused with it. */
  readonly stopped: HandlerStoppedError | null;
  /** Aborted with `stopped` when the fence stops: what the Dataverse client is given with each call. */
  readonly signal: AbortSignal;
  stop(reason: HandlerStoppedError): void;
}

export function createFence(): HandlerFence {
  let stopped: HandlerStoppedError | null = null;
  const controller = new AbortController();
  // Each call of the handler waiting out a retry listens to it, and a handler may make many at once.
  setMaxListeners(0, controller.signal);
  return {
    get stopped() {
      return stopped;
    },
    signal: controller.signal,
    stop(reason) {
      if (stopped) return;
      stopped = reason;
      controller.abort(reason);
    },
  };
}

const current = new AsyncLocalStorage<HandlerFence>();

/** Runs a handler inside its fence. */
export function runFenced<T>(fence: HandlerFence, work: () => Promise<T>): Promise<T> {
  return current.run(fence, work);
}

/**
 * Asked before each request a handler makes: throws the reason when the running handler's fence is stopped;
 * does nothing outside a handler or while it may go on.
 */
export function assertHandlerMayGoOn(): void {
  const stopped = current.getStore()?.stopped;
  if (stopped) throw stopped;
}

/** The running handler's fence as a signal (aborted with its reason once stopped); none outside a handler. */
export function handlerSignal(): AbortSignal | undefined {
  return current.getStore()?.signal;
}
