/**
 * Dead letters in the console: the list (open or all, newest first, keyset-paged) with the open count, retry
 * and discard of one, and the retry of every open letter a filter matches. A retried event is queued again
 * with its attempts reset, and this process's idle workers are woken (as the admin API does).
 */
import type Router from '@koa/router';
import type Koa from 'koa';
import type { DeadLetter, Store } from '../store';
import type {
  BulkRetry,
  DeadLetterAction,
  DeadLetterFilter,
  DeadLetterPage,
  DeadLetterSummary,
} from './contract';
import { cursorParam, limitParam, numberParam, param } from './events';
import { apiError, readJson, UNREADABLE_BODY } from './session';

const toSummary = (d: DeadLetter): DeadLetterSummary => ({
  id: d.id,
  inboxId: d.inboxId,
  eventId: d.eventId,
  type: d.type,
  objectId: d.objectId,
  account: d.account,
  error: d.error,
  errorCode: d.errorCode,
  attempts: d.attempts,
  createdAtMs: d.createdAtMs,
  resolvedAtMs: d.resolvedAtMs,
  resolution: d.resolution,
});

/** The filter of a bulk retry, checked: text fields as text, times as whole numbers; null when malformed. */
function readFilter(body: unknown): DeadLetterFilter | null {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const { type, errorCode, fromMs, toMs } = body as Record<string, unknown>;
  const text = (v: unknown) => v === undefined || (typeof v === 'string' && v.trim() !== '');
  const time = (v: unknown) => v === undefined || (typeof v === 'number' && Number.isSafeInteger(v));
  if (!text(type) || !text(errorCode) || !time(fromMs) || !time(toMs)) return null;
  return {
    type: type as string | undefined,
    errorCode: errorCode as string | undefined,
    fromMs: fromMs as number | undefined,
    toMs: toMs as number | undefined,
  };
}

/** The bulk retry's filter from the request's body, or why it cannot be taken (answered 400). */
async function retryFilter(ctx: Koa.Context): Promise<DeadLetterFilter | { problem: string }> {
  const sent = await readJson(ctx);
  // A body that cannot be read is never taken for none, which would retry every open letter.
  if (sent === UNREADABLE_BODY)
    return {
      problem:
        'The body must be JSON of at most 64 KiB: an object of filter fields, or empty to retry every open letter',
    };
  return (
    readFilter(sent) ?? {
      problem: 'The filter takes type and errorCode as text, fromMs and toMs as milliseconds since the epoch',
    }
  );
}

/** Every open letter the filter matches, newest first. */
async function openMatching(store: Store, filter: DeadLetterFilter): Promise<DeadLetter[]> {
  const matching: DeadLetter[] = [];
  let beforeId: number | undefined;
  for (;;) {
    const page = await store.searchDeadLetters({ ...filter, openOnly: true, beforeId, limit: 500 });
    matching.push(...page);
    if (page.length < 500) return matching;
    beforeId = page[page.length - 1].id;
  }
}

export function registerDeadLetterRoutes(
  router: Router,
  options: { store: Store; onQueued: () => void; log: { info(details: object, message: string): void } },
): void {
  const { store, onQueued, log } = options;

  router.get('/console/api/dead-letters', async (ctx) => {
    const status = param(ctx, 'status') ?? 'open';
    if (status !== 'open' && status !== 'all') {
      apiError(ctx, 400, 'bad_request', 'status must be open or all');
      return;
    }
    const limit = limitParam(ctx);
    const [letters, openCount] = await Promise.all([
      store.searchDeadLetters({
        openOnly: status === 'open',
        type: param(ctx, 'type'),
        errorCode: param(ctx, 'errorCode'),
        q: param(ctx, 'q'),
        fromMs: numberParam(ctx, 'fromMs'),
        toMs: numberParam(ctx, 'toMs'),
        beforeId: cursorParam(ctx),
        limit: limit + 1,
      }),
      store.openDeadLetterCount(),
    ]);
    const page = letters.slice(0, limit);
    const body: DeadLetterPage = {
      deadLetters: page.map(toSummary),
      nextCursor: letters.length > limit ? String(page[page.length - 1].id) : null,
      openCount,
    };
    ctx.body = body;
  });

  router.post('/console/api/dead-letters/retry', async (ctx) => {
    const filter = await retryFilter(ctx);
    if ('problem' in filter) {
      apiError(ctx, 400, 'bad_request', filter.problem);
      return;
    }
    const ids: number[] = [];
    for (const letter of await openMatching(store, filter))
      if (await store.retryDeadLetter(letter.id)) ids.push(letter.id);
    if (ids.length > 0) {
      log.info({ deadLetters: ids.length, filter }, 'dead letters queued again by an operator (console)');
      onQueued();
    }
    const body: BulkRetry = { retried: ids.length, ids };
    ctx.body = body;
  });

  const resolve =
    (resolution: DeadLetterAction['resolution'], act: (id: number) => Promise<boolean>) =>
    async (ctx: Koa.Context) => {
      const id = Number(ctx.params.id);
      if (!Number.isSafeInteger(id) || id <= 0 || !(await act(id))) {
        apiError(ctx, 404, 'not_found', `No open dead letter ${ctx.params.id}`);
        return;
      }
      log.info({ deadLetterId: id, resolution }, 'dead letter resolved by an operator (console)');
      if (resolution === 'retried') onQueued();
      const body: DeadLetterAction = { id, resolution };
      ctx.body = body;
    };
  router.post(
    '/console/api/dead-letters/:id/retry',
    resolve('retried', (id) => store.retryDeadLetter(id)),
  );
  router.post(
    '/console/api/dead-letters/:id/discard',
    resolve('discarded', (id) => store.discardDeadLetter(id)),
  );
}
