/**
 * Dataverse webhooks out (Microsoft Learn, "Use WebHooks to create external handlers for server events"):
 * a registered step (message Create/Update/Delete on a table, post-operation stage 40, async or sync, optional
 * filtering attributes and images) POSTs the RemoteExecutionContext JSON, in the .NET data-contract shape
 * (`Attributes` as key/value pairs, `__type` on EntityReference / OptionSetValue / Money, dates as `/Date(ms)/`),
 * with the `x-ms-dynamics-*` headers and the endpoint's key. Above 256 KB the parameters and images are dropped
 * and `x-ms-dynamics-msg-size-exceeded` is sent. Only 502/503/504 are retried, once; the timeout is 60 s.
 */
import { randomUUID } from 'node:crypto';
import type { ChangeEvent } from './engine';
import { isLookup, type ModelIndex, type TableMeta } from './metadata';
import { isLookupRef, type RowRecord, type RowStore } from './store';

/** authtype 4 (WebhookKey, `?code=`), 5 (HttpHeader), 6 (HttpQueryString), as on the serviceendpoint row. */
export type WebhookAuth =
  | { type: 'WebhookKey'; key: string }
  | { type: 'HttpHeader'; headers: Record<string, string> }
  | { type: 'HttpQueryString'; params: Record<string, string> };

export interface WebhookImage {
  /** Entity alias, as registered on the step image (default `PreImage` / `PostImage`). */
  name?: string;
  /** Columns to include; all when omitted. */
  attributes?: string[];
}

export interface WebhookRegistration {
  /** Table logical name (`stc_refundrequest`). */
  table: string;
  message: 'Create' | 'Update' | 'Delete';
  url: string;
  auth?: WebhookAuth;
  /** Update only: fire when one of these columns is in the update. */
  filteringAttributes?: string[];
  /** Default async (Mode 1). Sync steps (Mode 0) are delivered before the emulator moves on to the next event. */
  mode?: 'async' | 'sync';
  preImage?: WebhookImage;
  postImage?: WebhookImage;
  /** Step name, for the deliveries log. */
  name?: string;
}

export interface RegisteredWebhook {
  /** The sdkmessageprocessingstep id, sent as `OwningExtension.Id`. */
  id: string;
  unregister(): void;
}

export interface WebhookDelivery {
  stepId: string;
  url: string;
  message: string;
  table: string;
  recordId: string;
  correlationId: string;
  attempts: number;
  /** Last HTTP status, or undefined when the connection failed or timed out. */
  status?: number;
  error?: string;
  sizeExceeded: boolean;
  delivered: boolean;
}

export interface WebhookDispatcherOptions {
  organizationName: string;
  organizationId: string;
  organizationDomain: string;
  businessUnitId: string;
  model: ModelIndex;
  store: RowStore;
  timeoutMs?: number;
  retryDelayMs?: number;
}

const CONTRACTS = 'http://schemas.microsoft.com/xrm/2011/Contracts';
export const MAX_WEBHOOK_BYTES = 256 * 1024;
const MAX_DELIVERIES_KEPT = 10_000;

const dateContract = (iso: string) => `/Date(${Date.parse(iso)})/`;

function entityReference(table: string, id: string) {
  return {
    __type: `EntityReference:${CONTRACTS}`,
    Id: id,
    KeyAttributes: [],
    LogicalName: table,
    Name: null,
    RowVersion: null,
  };
}

function contractValue(meta: TableMeta, name: string, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  const column = meta.columns.get(name);
  if (!column) return value;
  if (isLookup(column) && isLookupRef(value)) return entityReference(value.table, value.id);
  switch (column.type) {
    case 'picklist':
    case 'state':
    case 'status':
      return { __type: `OptionSetValue:${CONTRACTS}`, Value: value };
    case 'money':
      return { __type: `Money:${CONTRACTS}`, Value: value };
    case 'datetime':
    case 'dateonly':
      return dateContract(value as string);
    default:
      return value;
  }
}

function entityContract(
  meta: TableMeta,
  id: string,
  attributes: Record<string, unknown>,
  withType: boolean,
  only?: string[],
): Record<string, unknown> {
  const names = Object.keys(attributes).filter((n) => !only || only.includes(n) || n === meta.primaryId);
  const formatted: Array<{ key: string; value: string }> = [];
  for (const name of names) {
    const label = meta.optionValues.get(name)?.get(attributes[name] as number);
    if (label !== undefined) formatted.push({ key: name, value: label });
  }
  const entity: Record<string, unknown> = withType ? { __type: `Entity:${CONTRACTS}` } : {};
  return Object.assign(entity, {
    Attributes: names.map((name) => ({ key: name, value: contractValue(meta, name, attributes[name]) })),
    EntityState: null,
    FormattedValues: formatted,
    Id: id,
    KeyAttributes: [],
    LogicalName: meta.logicalName,
    RelatedEntities: [],
    RowVersion: null,
  });
}

const rowAttributes = (meta: TableMeta, row: RowRecord) => ({ ...row.values, [meta.primaryId]: row.id });

export class WebhookDispatcher {
  private readonly steps = new Map<string, WebhookRegistration>();
  /** Steps registered through serviceendpoint / sdkmessageprocessingstep rows, keyed by the step row id. */
  private rowSteps = new Map<string, WebhookRegistration>();
  private readonly inFlight = new Set<Promise<void>>();
  readonly deliveries: WebhookDelivery[] = [];
  private chain: Promise<void> = Promise.resolve();
  private readonly closing = new AbortController();

  constructor(private readonly options: WebhookDispatcherOptions) {}

  register(registration: WebhookRegistration): RegisteredWebhook {
    if (!this.options.model.byLogical.has(registration.table)) {
      throw new Error(`Cannot register a webhook on unknown table '${registration.table}'.`);
    }
    const id = randomUUID();
    this.steps.set(id, registration);
    return { id, unregister: () => this.steps.delete(id) };
  }

  syncRowSteps(steps: Array<{ id: string; registration: WebhookRegistration }>): void {
    this.rowSteps = new Map(steps.map((s) => [s.id, s.registration]));
  }

  /** Sends every step matching these committed changes, in order, without holding up the caller. */
  dispatch(events: ChangeEvent[]): void {
    for (const event of events) {
      for (const [stepId, step] of [...this.steps, ...this.rowSteps]) {
        if (step.table !== event.table || step.message !== event.message) continue;
        if (event.message === 'Update' && step.filteringAttributes && step.filteringAttributes.length > 0) {
          if (!step.filteringAttributes.some((a) => a in event.target)) continue;
        }
        const context = this.executionContext(stepId, step, event);
        // Sync steps keep their order relative to each other; async ones go out at once.
        const send = () => this.send(stepId, step, event, context);
        const run = step.mode === 'sync' ? (this.chain = this.chain.then(send)) : send();
        this.inFlight.add(run);
        void run.finally(() => this.inFlight.delete(run));
      }
    }
  }

  /** Abandons deliveries in flight (on close), so that a receiver that never answers cannot hold the emulator. */
  abort(): void {
    this.closing.abort();
  }

  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** The RemoteExecutionContext as Dataverse serialises it (see the sample on the use-webhooks page). */
  executionContext(stepId: string, step: WebhookRegistration, event: ChangeEvent): Record<string, unknown> {
    const meta = this.options.model.byLogical.get(event.table)!;
    const target =
      event.message === 'Delete'
        ? entityReference(meta.logicalName, event.id)
        : entityContract(meta, event.id, event.target, true);
    const image = (row: RowRecord | undefined, spec: WebhookImage | undefined, fallback: string) =>
      row && spec
        ? [
            {
              key: spec.name ?? fallback,
              value: entityContract(meta, row.id, rowAttributes(meta, row), false, spec.attributes),
            },
          ]
        : [];
    const now = Date.now();
    return {
      BusinessUnitId: this.options.businessUnitId,
      CorrelationId: event.correlationId,
      Depth: 1,
      InitiatingUserId: event.caller.initiatingUserId,
      InputParameters: [{ key: 'Target', value: target }],
      IsExecutingOffline: false,
      IsInTransaction: step.mode === 'sync',
      IsOfflinePlayback: false,
      IsolationMode: 1,
      MessageName: event.message,
      Mode: step.mode === 'sync' ? 0 : 1,
      OperationCreatedOn: `/Date(${now})/`,
      OperationId: randomUUID(),
      OrganizationId: this.options.organizationId,
      OrganizationName: this.options.organizationName,
      OutputParameters: event.message === 'Create' ? [{ key: 'id', value: event.id }] : [],
      OwningExtension: {
        Id: stepId,
        KeyAttributes: [],
        LogicalName: 'sdkmessageprocessingstep',
        Name: step.name ?? null,
        RowVersion: null,
      },
      ParentContext: null,
      PostEntityImages: event.message === 'Delete' ? [] : image(event.post, step.postImage, 'PostImage'),
      PreEntityImages: event.message === 'Create' ? [] : image(event.pre, step.preImage, 'PreImage'),
      PrimaryEntityId: event.id,
      PrimaryEntityName: meta.logicalName,
      RequestId: null,
      SecondaryEntityName: 'none',
      SharedVariables: [],
      Stage: 40,
      UserId: event.caller.userId,
    };
  }

  private async send(
    stepId: string,
    step: WebhookRegistration,
    event: ChangeEvent,
    context: Record<string, unknown>,
  ): Promise<void> {
    let body = JSON.stringify(context);
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'x-ms-dynamics-organization': this.options.organizationDomain,
      'x-ms-dynamics-entity-name': event.table,
      'x-ms-dynamics-request-name': event.message,
      'x-ms-correlation-request-id': event.correlationId,
    };
    let sizeExceeded = false;
    if (Buffer.byteLength(body) > MAX_WEBHOOK_BYTES) {
      sizeExceeded = true;
      const trimmed: Record<string, unknown> = { ...context };
      delete trimmed.ParentContext;
      delete trimmed.InputParameters;
      delete trimmed.PreEntityImages;
      delete trimmed.PostEntityImages;
      body = JSON.stringify(trimmed);
      headers['x-ms-dynamics-msg-size-exceeded'] = 'true';
    }
    const url = new URL(step.url);
    if (step.auth?.type === 'WebhookKey') url.searchParams.set('code', step.auth.key);
    if (step.auth?.type === 'HttpQueryString')
      for (const [k, v] of Object.entries(step.auth.params)) url.searchParams.set(k, v);
    if (step.auth?.type === 'HttpHeader') Object.assign(headers, step.auth.headers);

    const delivery: WebhookDelivery = {
      stepId,
      url: step.url,
      message: event.message,
      table: event.table,
      recordId: event.id,
      correlationId: event.correlationId,
      attempts: 0,
      sizeExceeded,
      delivered: false,
    };
    this.deliveries.push(delivery);
    // A long sandbox run keeps the most recent deliveries only.
    if (this.deliveries.length > MAX_DELIVERIES_KEPT)
      this.deliveries.splice(0, this.deliveries.length - MAX_DELIVERIES_KEPT);
    for (let attempt = 1; attempt <= 2; attempt++) {
      delivery.attempts = attempt;
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.any([
            AbortSignal.timeout(this.options.timeoutMs ?? 60_000),
            this.closing.signal,
          ]),
        });
        await response.arrayBuffer();
        delivery.status = response.status;
        delivery.error = undefined;
        if (response.status >= 200 && response.status < 300) {
          delivery.delivered = true;
          return;
        }
        if (![502, 503, 504].includes(response.status)) return;
      } catch (error) {
        delivery.status = undefined;
        delivery.error = (error as Error).message;
        return;
      }
      if (attempt === 1) await new Promise((r) => setTimeout(r, this.options.retryDelayMs ?? 1000));
    }
  }
}
