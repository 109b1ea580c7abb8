/**
 * The Store methods both engines answer alike, over the shared statements: an engine gives how it runs one
 * (`run`: the rows it returns, none for a write) and keeps to itself what it does differently (claims,
 * leases, grouped inserts, dead-letter resolution in its own transaction, migrations).
 */
import {
  countsOf,
  toAttempt,
  toDeadLetter,
  toInboxEvent,
  toObjectStamp,
  toObjectState,
  FRESH_WRITE_ABANDONED_MS,
  toQueueDepth,
  type Row,
} from './rows';
import type { StatementName } from './sql';
import type { Store } from './types';

export type RunStatement = (name: StatementName, values: unknown[]) => Promise<Row[]>;

export type SharedMethods = Pick<
  Store,
  | 'findEvent'
  | 'getEvent'
  | 'getObjectStamp'
  | 'getObjectState'
  | 'beginFreshWrite'
  | 'endFreshWrites'
  | 'listDeadLetters'
  | 'getDeadLetter'
  | 'eventAttempts'
  | 'queueDepth'
  | 'latestEvent'
  | 'oldestWaitingMs'
  | 'getCursor'
  | 'setCursor'
>;

export function sharedMethods(run: RunStatement): SharedMethods {
  const first = async (name: StatementName, values: unknown[]): Promise<Row | undefined> =>
    (await run(name, values))[0];
  return {
    async findEvent(source, account, eventId) {
      const row = await first('findEvent', [source, account, eventId]);
      return row ? toInboxEvent(row) : null;
    },
    async getEvent(id) {
      const row = await first('getEvent', [id]);
      return row ? toInboxEvent(row) : null;
    },
    async getObjectStamp(source, account, objectId) {
      return toObjectStamp(await first('getStamp', [source, account, objectId]));
    },
    async getObjectState(source, account, objectId, nowMs = Date.now()) {
      return toObjectState(await first('getObjectState', [source, account, objectId]), nowMs);
    },
    async beginFreshWrite({ source, account }, objectId, nowMs = Date.now()) {
      const abandonedBefore = nowMs - FRESH_WRITE_ABANDONED_MS;
      await run('beginFreshWrite', [source, account, objectId, nowMs, abandonedBefore]);
    },
    async endFreshWrites({ source, account }, objectIds) {
      const { objectIds: ids, counts } = countsOf(objectIds);
      for (const [i, objectId] of ids.entries())
        await run('endFreshWrites', [counts[i], counts[i], Date.now(), source, account, objectId]);
    },
    async listDeadLetters(options = {}) {
      const list = options.includeResolved ? 'listAllDeadLetters' : 'listOpenDeadLetters';
      return (await run(list, [options.limit ?? 100, options.offset ?? 0])).map(toDeadLetter);
    },
    async getDeadLetter(id) {
      const row = await first('getDeadLetter', [id]);
      if (!row) return null;
      const letter = toDeadLetter(row);
      const history = (await run('history', [letter.inboxId])).map(toAttempt);
      return { ...letter, payload: String(row.payload), history };
    },
    async eventAttempts(inboxId) {
      return (await run('history', [inboxId])).map(toAttempt);
    },
    async queueDepth() {
      return toQueueDepth((await first('queueDepth', [])) as Row);
    },
    async latestEvent() {
      const row = await first('latestEvent', []);
      return row ? toInboxEvent(row) : null;
    },
    async oldestWaitingMs() {
      const value = (await first('oldestWaiting', []))?.received_at;
      return value === null || value === undefined ? null : Number(value);
    },
    async getCursor(name) {
      const row = await first('getCursor', [name]);
      return row ? String(row.value) : null;
    },
    async setCursor(name, value) {
      await run('setCursor', [name, value, Date.now()]);
    },
  };
}
