/**
 * The mapping studio's routes (see contract.ts): the table model's columns of a table, the fields of a sample
 * Stripe object, suggestions for unmapped columns, and a preview of an edited mapping file against an event.
 * They sit under /console/api, so the console guard covers them. Nothing here stores a version: the studio
 * saves through `POST /console/api/mappings`. An edit of a link is checked by the mapping engine at once.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type Router from '@koa/router';
import type Koa from 'koa';
import type Stripe from 'stripe';
import { getOptionSet, getTable, type Column, type Table } from '@stc/solution';
import { Account } from '@stc/solution/tables';
import { flattenSample, MappingError, suggestColumns } from '../mapping';
import { MappingVersionRequestError, rowsOf, type MappingVersionOps } from '../mapping-versions';
import type { Logger } from '../observability/log';
import type { Store } from '../store';
import type {
  StudioColumn,
  StudioEdit,
  StudioEditRequest,
  StudioEventChoice,
  StudioPreview,
  StudioPreviewRequest,
  StudioSample,
  StudioSuggestions,
  StudioSuggestRequest,
  StudioTable,
} from './contract';
import { BadRequest, readJsonBody } from './body';
import { apiError } from './session';
import { fileMappings, MappingFileError, setColumnExpression, setLinkExpression } from './studio-yaml';

const PREFIX = '/console/api/studio';
/** Inbox events looked through for ones of the sample's object type, newest first. */
const RECENT_EVENTS = 300;
/** Recorded events offered to preview with. */
const EVENT_CHOICES = 15;

/** The repository's recorded Stripe examples (Stripe's own example object of every resource). */
const FIXTURE = join('test', 'fixtures', 'reference', 'stripe', 'openapi-fixtures', 'fixtures3.json');

export interface StudioDeps {
  ops: MappingVersionOps;
  store: Store;
  logger: Logger;
  /** Stripe's example objects by resource; read from the repository's fixtures when not given. */
  examples?: () => Record<string, unknown> | null;
}

export function registerStudioRoutes(router: Router, deps: StudioDeps): void {
  const log = deps.logger.child({ component: 'mapping-studio' });
  const examples = deps.examples ?? repositoryExamples();
  const route = (handler: (ctx: Koa.Context) => Promise<void>) => answering(log, handler);

  router.get(
    `${PREFIX}/tables/:table`,
    route(async (ctx) => {
      const table = getTable(ctx.params.table);
      if (!table) {
        apiError(ctx, 404, 'not_found', `The table model has no table ${ctx.params.table}`);
        return;
      }
      const body: StudioTable = {
        table: table.logicalName,
        displayName: table.displayName,
        columns: table.columns.map((column) => studioColumn(table, column)),
      };
      ctx.body = body;
    }),
  );

  router.get(
    `${PREFIX}/sample`,
    route(async (ctx) => {
      const objectType = typeof ctx.query.object === 'string' ? ctx.query.object.trim() : '';
      if (!/^[a-z_.]+$/.test(objectType))
        throw new BadRequest('object must be a Stripe object type, such as charge or payment_intent');
      // Objects with an open dead letter first: what an operator most often fixes a mapping for.
      const recent = await choicesOf(deps.store, objectType);
      const example = examples()?.[objectType];
      const fixtureEvent = example ? exampleEvent(objectType, example) : null;
      const sample = recent[0]?.event ?? fixtureEvent;
      if (!sample) {
        apiError(ctx, 404, 'not_found', `No event of a ${objectType} was received and none is recorded`);
        return;
      }
      const events: StudioEventChoice[] = recent.map((entry) => entry.choice);
      if (fixtureEvent)
        events.push({
          inboxId: null,
          eventId: fixtureEvent.id,
          type: fixtureEvent.type,
          objectId: String((example as { id?: unknown }).id ?? ''),
          receivedAtMs: null,
        });
      const body: StudioSample = {
        objectType,
        source: recent[0] ? 'inbox' : 'fixture',
        event: sample,
        fields: flattenSample(sample),
        events,
      };
      ctx.body = body;
    }),
  );

  registerRuns(router, deps, route);
}

type Route = (handler: (ctx: Koa.Context) => Promise<void>) => Koa.Middleware;

/** Suggestions and the preview: computed from what is sent, nothing stored. */
function registerRuns(router: Router, deps: StudioDeps, route: Route): void {
  router.post(
    `${PREFIX}/edit`,
    route(async (ctx) => {
      const text = await editedText((await readJsonBody(ctx)) as Partial<StudioEditRequest>, deps.ops);
      const body: StudioEdit = { text, mappings: fileMappings(text) };
      ctx.body = body;
    }),
  );

  router.post(
    `${PREFIX}/suggest`,
    route(async (ctx) => {
      const request = (await readJsonBody(ctx)) as Partial<StudioSuggestRequest>;
      const table = typeof request.table === 'string' ? getTable(request.table) : undefined;
      if (!table) throw new BadRequest('table must be the logical name of a table of the model');
      if (!request.sample || typeof request.sample !== 'object')
        throw new BadRequest('sample must be a Stripe object or event');
      if (request.mapped !== undefined && !Array.isArray(request.mapped))
        throw new BadRequest('mapped must be a list of column names');
      const body: StudioSuggestions = {
        columns: suggestColumns(table, request.sample, { mapped: request.mapped ?? [] }),
      };
      ctx.body = body;
    }),
  );

  router.post(
    `${PREFIX}/preview`,
    route(async (ctx) => {
      const request = (await readJsonBody(ctx)) as Partial<StudioPreviewRequest>;
      if (typeof request.file !== 'string' || request.file === '')
        throw new BadRequest('file must be a file name');
      if (typeof request.text !== 'string') throw new BadRequest('text must be the mapping file as YAML');
      const versions = await deps.ops.list();
      const active = versions.find((version) => version.active);
      if (!active) throw new MappingVersionRequestError('not_found', 'No mapping version is active yet');
      const base =
        request.baseVersion === undefined ? active.version : positive(request.baseVersion, 'baseVersion');
      const files = { ...(await deps.ops.get(base)).files, [request.file]: request.text };
      const edited = deps.ops.validate(files);
      let event: Stripe.Event;
      if (request.inboxId !== undefined)
        event = await deps.ops.inboxEvent(positive(request.inboxId, 'inboxId'));
      else if (request.payload && typeof request.payload === 'object')
        event = request.payload as Stripe.Event;
      else throw new BadRequest('Give inboxId (an inbox event) or payload (a Stripe event)');
      const beside = await deps.ops.dryRun(active.version, event);
      const body: StudioPreview = {
        eventId: beside.eventId,
        type: beside.type,
        objectType: beside.objectType,
        edited: { mappings: await rowsOf(edited, event) },
        active: beside.active,
      };
      ctx.body = body;
    }),
  );
}

/** The text with the request's column or link edit made; a link edit is compiled by the engine first. */
async function editedText(request: Partial<StudioEditRequest>, ops: MappingVersionOps): Promise<string> {
  if (typeof request.text !== 'string') throw new BadRequest('text must be the mapping file as YAML');
  const set = request.set;
  if (
    set !== undefined &&
    (typeof set?.mapping !== 'string' || typeof set.column !== 'string' || typeof set.expression !== 'string')
  )
    throw new BadRequest('set must name a mapping, a column and an expression');
  const setLink = request.setLink;
  if (set !== undefined && setLink !== undefined) throw new BadRequest('Give set or setLink, not both');
  if (
    setLink !== undefined &&
    (typeof setLink?.file !== 'string' ||
      typeof setLink.mapping !== 'string' ||
      typeof setLink.link !== 'string' ||
      (setLink.field !== 'id' && setLink.field !== 'value') ||
      typeof setLink.expression !== 'string')
  )
    throw new BadRequest(
      'setLink must name a file, a mapping, a link, its field (id or value) and an expression',
    );
  let text = request.text;
  if (set) text = setColumnExpression(text, set.mapping, set.column, set.expression);
  if (setLink) {
    text = setLinkExpression(text, setLink.mapping, setLink.link, setLink.field, setLink.expression);
    // The engine's word on the edited file, among the active version's others (MappingError → 422).
    const active = (await ops.list()).find((version) => version.active);
    if (!active) throw new MappingVersionRequestError('not_found', 'No mapping version is active yet');
    ops.validate({ ...(await ops.get(active.version)).files, [setLink.file]: text });
  }
  return text;
}

/** Columns the connector writes itself (the ordering stamp, the sync requests from Dynamics 365). */
const CONNECTOR_COLUMNS = new Set<string>([
  Account.col.lastEventId,
  Account.col.lastEventCreated,
  Account.col.syncRequestedOn,
  Account.col.createInStripe,
]);

function studioColumn(table: Table, column: Column): StudioColumn {
  const options =
    'optionSet' in column
      ? (getOptionSet(column.optionSet)?.options.map((option) => ({
          value: option.value,
          label: option.label,
          externalValue: option.externalValue ?? null,
        })) ?? [])
      : null;
  const keyColumns = new Set(table.keys.flatMap((key) => key.columns));
  return {
    name: column.logicalName,
    displayName: column.displayName,
    type: column.type,
    required: column.requiredLevel === 'required' || column.requiredLevel === 'systemrequired',
    maxLength: 'maxLength' in column ? column.maxLength : null,
    options,
    mappable:
      !column.system &&
      column.logicalName !== table.primaryIdColumn &&
      !CONNECTOR_COLUMNS.has(column.logicalName) &&
      !keyColumns.has(column.logicalName) &&
      !['lookup', 'customer', 'owner', 'uniqueidentifier'].includes(column.type),
  };
}

/** Whether an event type can carry the object type (`customer.subscription.updated` → subscription). */
function typeCanCarry(eventType: string, objectType: string): boolean {
  const prefix = eventType.split('.').slice(0, -1).join('.');
  return prefix === objectType || prefix.endsWith(`.${objectType}`);
}

type Choice = { event: Stripe.Event; choice: StudioEventChoice };

/**
 * For each object with an open dead letter (newest letter first), its newest event whose object is of the type
 * (a letter of a PaymentIntent's charge event offers the PaymentIntent's own event); then the newest other events.
 */
async function choicesOf(store: Store, objectType: string): Promise<Choice[]> {
  const letters = (await store.listDeadLetters({ limit: RECENT_EVENTS })).filter(
    (letter) => letter.source === 'stripe' && letter.objectId !== '',
  );
  const dead: Choice[] = [];
  const objects = new Set<string>();
  for (const letter of letters) {
    if (dead.length >= EVENT_CHOICES) break;
    if (objects.has(letter.objectId)) continue;
    objects.add(letter.objectId);
    for (const summary of await store.searchEvents({ q: letter.objectId, limit: EVENT_CHOICES })) {
      if (summary.source !== 'stripe' || summary.objectId !== letter.objectId) continue;
      if (!typeCanCarry(summary.type, objectType)) continue;
      const found = await storedChoice(store, objectType, summary);
      if (!found) continue;
      dead.push({ ...found, choice: { ...found.choice, deadLettered: true } });
      break;
    }
  }
  const taken = new Set(dead.map((entry) => entry.choice.inboxId));
  const recent = (await recentEventsOf(store, objectType)).filter(
    (entry) => !taken.has(entry.choice.inboxId),
  );
  return [...dead, ...recent];
}

/** An inbox event with its payload, when its object is of the type. */
async function storedChoice(
  store: Store,
  objectType: string,
  summary: { id: number; eventId: string; type: string; objectId: string; receivedAtMs: number | null },
): Promise<Choice | null> {
  const stored = await store.getEvent(summary.id);
  if (!stored) return null;
  let event: Stripe.Event;
  try {
    event = JSON.parse(stored.payload) as Stripe.Event;
  } catch {
    return null;
  }
  if ((event.data?.object as { object?: string } | undefined)?.object !== objectType) return null;
  return {
    event,
    choice: {
      inboxId: summary.id,
      eventId: summary.eventId,
      type: summary.type,
      objectId: summary.objectId,
      receivedAtMs: summary.receivedAtMs ?? stored.receivedAtMs,
    },
  };
}

/** The newest inbox events whose object is of the type, with their payloads. */
async function recentEventsOf(
  store: Store,
  objectType: string,
): Promise<Array<{ event: Stripe.Event; choice: StudioEventChoice }>> {
  const summaries = await store.searchEvents({ limit: RECENT_EVENTS });
  const found: Array<{ event: Stripe.Event; choice: StudioEventChoice }> = [];
  for (const summary of summaries) {
    if (found.length >= EVENT_CHOICES) break;
    if (summary.source !== 'stripe' || !typeCanCarry(summary.type, objectType)) continue;
    const entry = await storedChoice(store, objectType, summary);
    if (entry) found.push(entry);
  }
  return found;
}

/** An event around Stripe's example object, as a webhook would carry it. */
function exampleEvent(objectType: string, object: unknown): Stripe.Event {
  return {
    id: `evt_example_${objectType.replace(/\W/g, '_')}`,
    object: 'event',
    api_version: '2026-07-29.dahlia',
    created: (object as { created?: number }).created ?? 1_700_000_000,
    livemode: false,
    pending_webhooks: 0,
    request: { id: null, idempotency_key: null },
    type: `${objectType}.updated`,
    data: { object },
  } as unknown as Stripe.Event;
}

/** fixtures3.json found above this file (the source tree and the built bundle alike); null when not shipped. */
function repositoryExamples(): () => Record<string, unknown> | null {
  let loaded: Record<string, unknown> | null | undefined;
  return () => {
    if (loaded !== undefined) return loaded;
    loaded = null;
    for (let dir = __dirname, up = 0; up < 6; up++, dir = dirname(dir)) {
      const path = join(dir, FIXTURE);
      if (!existsSync(path)) continue;
      loaded = (JSON.parse(readFileSync(path, 'utf8')) as { resources: Record<string, unknown> }).resources;
      break;
    }
    return loaded;
  };
}

function positive(value: unknown, name: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number <= 0)
    throw new BadRequest(`${name} must be a positive integer`);
  return number;
}

/** An edited file that does not load is 422 with the mapping engine's message (file, mapping, column). */
function answering(log: Logger, route: (ctx: Koa.Context) => Promise<void>): Koa.Middleware {
  return async (ctx) => {
    try {
      await route(ctx);
    } catch (error) {
      if (error instanceof MappingError) apiError(ctx, 422, error.code, error.message);
      else if (error instanceof MappingFileError) apiError(ctx, 422, 'invalid_mapping_file', error.message);
      else if (error instanceof MappingVersionRequestError)
        apiError(ctx, error.code === 'not_found' ? 404 : 400, error.code, error.message);
      else if (error instanceof BadRequest) apiError(ctx, 400, 'invalid_request', error.message);
      else {
        log.error({ err: error, path: ctx.path }, 'mapping studio request failed');
        apiError(ctx, 500, 'internal', 'The request failed; the service log has the details');
      }
    }
  };
}
