/**
 * A small world for the Dataverse → Stripe handlers: the real Dataverse emulator (users with roles, webhook
 * steps posting real RemoteExecutionContexts to a local receiver), the real Dataverse client, the real Stripe
 * emulator through the official SDK. Users act through the Web API with `MSCRMCallerID`, as an app would.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type Stripe from 'stripe';
import { model, type TableModel } from '@stc/solution';
import {
  startDataverseEmulator,
  startStripeEmulator,
  type DataverseEmulator,
  type StripeEmulator,
} from '@stc/emulators';
import { createDataverseClient, type DataverseWebApiClient } from '../../../dataverse';
import {
  readDataverseChange,
  type DataverseChange,
  type RemoteExecutionContext,
} from '../../../dataverse/change';
import type { DataverseChangeHandler, HandlerLogger, SyncContext } from '../../../pipeline/handler';
import type { OutboundSettings } from '../../../config/outbound';

export const USERS = {
  service: {
    systemuserid: '0a5e7c1d-0000-4000-8000-00000000a001',
    fullname: 'Stripe Connector Service',
    roles: ['Stripe Connector Service'],
  },
  requester: {
    systemuserid: '0a5e7c1d-0000-4000-8000-00000000b001',
    fullname: 'Rita Requester',
    roles: ['Stripe Refund Requester'],
  },
  approver: {
    systemuserid: '0a5e7c1d-0000-4000-8000-00000000c001',
    fullname: 'Frank Finance',
    roles: ['Stripe Finance Approver'],
  },
  outsider: {
    systemuserid: '0a5e7c1d-0000-4000-8000-00000000d001',
    fullname: 'Otto Outsider',
    roles: ['Stripe Payments Reader'],
  },
} as const;

/** The outbound settings of these tests: test mode, the world's service user, the documented default roles. */
export function testSettings(extra: Partial<OutboundSettings> = {}): OutboundSettings {
  const roles = ['Stripe Refund Requester', 'Stripe Finance Approver'];
  return {
    stripeMode: 'test',
    serviceUserId: USERS.service.systemuserid,
    approvalThresholds: {},
    requesterRoles: roles,
    approverRoles: ['Stripe Finance Approver'],
    allowSelfApproval: false,
    settingsCacheMs: 0,
    paymentLinkRequesterRoles: roles,
    subscriptionRequesterRoles: roles,
    subscriptionPauseBehavior: 'void',
    ...extra,
  };
}

export const silentLog: HandlerLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** Collects what the emulator's webhook steps post. */
export class ContextReceiver {
  readonly received: RemoteExecutionContext[] = [];
  url = '';
  private server!: http.Server;

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as RemoteExecutionContext);
        res.statusCode = 200;
        res.end();
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/webhooks/dataverse`;
    return this;
  }

  /** Contexts about this row, oldest first. */
  about(id: string, message?: string): RemoteExecutionContext[] {
    return this.received.filter((c) => c.PrimaryEntityId === id && (!message || c.MessageName === message));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export interface World {
  dataverse: DataverseEmulator;
  stripeEmulator: StripeEmulator;
  stripe: Stripe;
  client: DataverseWebApiClient;
  receiver: ContextReceiver;
  context: SyncContext;
  /** A Web API call as this user (MSCRMCallerID), returning the parsed body or the id of a created row. */
  asUser(
    userId: string,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; id?: string; body?: unknown }>;
  /** Forgets the contexts received so far, once every delivery in flight has landed. */
  forgetContexts(): Promise<void>;
  close(): Promise<void>;
}

export async function startWorld(
  options: { model?: TableModel; tables: string[] } = { tables: [] },
): Promise<World> {
  const dataverse = await startDataverseEmulator({
    model: options.model ?? model,
    // The first user is the caller without a token: the service's application user.
    systemUsers: Object.values(USERS).map((u) => ({ ...u, roles: [...u.roles] })),
  });
  const stripeEmulator = await startStripeEmulator({ rateLimit: false });
  const stripe = stripeEmulator.client();
  const client = createDataverseClient({ baseUrl: dataverse.url, retry: { baseDelayMs: 5, maxDelayMs: 50 } });
  const receiver = await new ContextReceiver().start();
  for (const table of options.tables) {
    // As the solution registers them: an update's context carries the row as the change found and left it.
    for (const message of ['Create', 'Update'] as const)
      dataverse.registerWebhook({
        table,
        message,
        url: receiver.url,
        ...(message === 'Update' ? { preImage: {}, postImage: {} } : {}),
      });
  }
  const context: SyncContext = { dataverse: client, stripeFor: () => stripe, log: silentLog };

  return {
    dataverse,
    stripeEmulator,
    stripe,
    client,
    receiver,
    context,
    asUser: (userId, method, path, body) => asUserAt(dataverse.url, userId, method, path, body),
    forgetContexts: async () => {
      await dataverse.webhooksIdle();
      receiver.received.length = 0;
    },
    close: async () => {
      await receiver.close();
      await dataverse.close();
      await stripeEmulator.close();
    },
  };
}

/**
 * A Web API call to the Dataverse emulator at `dataverseUrl` as this user (MSCRMCallerID), as an app makes it:
 * the parsed body, or the id of a created row.
 */
export async function asUserAt(
  dataverseUrl: string,
  userId: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; id?: string; body?: unknown }> {
  const res = await fetch(`${dataverseUrl}${path}`, {
    method,
    headers: {
      Accept: 'application/json',
      'Content-Type': 'application/json',
      'OData-Version': '4.0',
      MSCRMCallerID: userId,
      ...(method === 'PATCH' ? { 'If-Match': '*' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const entityId = res.headers.get('odata-entityid');
  const id = entityId ? /\(([0-9a-f-]{36})\)$/i.exec(entityId)?.[1] : undefined;
  if (res.status >= 400) throw new Error(`${method} ${path} as ${userId}: ${res.status} ${text}`);
  return { status: res.status, id, body: text ? JSON.parse(text) : undefined };
}

/** The change the worker pool hands a Dataverse change handler for a webhook's context. */
export function dataverseChange(context: RemoteExecutionContext): DataverseChange {
  return readDataverseChange(context);
}

/** Delivers every context the receiver holds about `id` (optionally one message) to the handler, in order. */
export async function deliver(
  world: World,
  handler: DataverseChangeHandler,
  id: string,
  message?: string,
  syncContext: SyncContext = world.context,
): Promise<number> {
  await world.dataverse.webhooksIdle();
  const contexts = world.receiver.about(id, message);
  for (const context of contexts) await handler.handle(dataverseChange(context), syncContext);
  return contexts.length;
}

/**
 * A Stripe create that, on its first call, first makes the object with `altered` parameters under the same
 * options: another attempt of the request that saw other parameters, its create landing after this one looked
 * for it. Stripe then answers the call itself, under the same idempotency key, with an idempotency error.
 * `made()` is what the other attempt made.
 */
export function afterAnotherAttempt<P, R>(
  create: (params: P, options?: Stripe.RequestOptions) => Promise<R>,
  altered: (params: P) => P,
): { create: (params: P, options?: Stripe.RequestOptions) => Promise<R>; made: () => R } {
  let made: R | undefined;
  return {
    async create(params, options) {
      made ??= await create(altered(params), options);
      return create(params, options);
    },
    made: () => made!,
  };
}
