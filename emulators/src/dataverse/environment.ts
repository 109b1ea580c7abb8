/**
 * One emulated Dataverse environment behind the HTTP server: the model, the rows, the engine that writes
 * them, the system users, and the services around a request (authentication, service protection limits,
 * fault injection, webhooks).
 */
import { randomUUID } from 'node:crypto';
import * as solution from '@stc/solution';
import type { TableModel } from '@stc/solution';
import type { ApiContext } from './api';
import { Authenticator, SANDBOX_ADMIN, type SystemUser } from './auth';
import { DataverseEngine, type ChangeEvent, type WriteScope, noAnnotations } from './engine';
import { FaultInjector } from './faults';
import { type LimitSettings, ServiceProtection } from './limits';
import {
  buildModelIndex,
  type ModelIndex,
  roleTable,
  systemUserRolesTable,
  systemUserTable,
  type TableMeta,
} from './metadata';
import { REGISTRATION_TABLES, registrationTables, seedRows, stepsFromRows } from './registrations';
import type { DataverseEmulatorOptions, EmulatorStoreAccess } from './server';
import { RowStore } from './store';
import { SystemUsers } from './users';
import { WebhookDispatcher } from './webhooks';

function defaultModel(): TableModel {
  const model = (solution as { model?: TableModel }).model;
  if (!model)
    throw new Error(
      'No table model: pass `model` to startDataverseEmulator (the solution exports none yet).',
    );
  return model;
}

export class DataverseEnvironment {
  readonly index: ModelIndex;
  readonly store: RowStore;
  readonly engine: DataverseEngine;
  readonly organizationId: string;
  readonly businessUnitId = '3c9e2b1a-7f6d-4e5c-8b4a-2d1e0f9a8b7c';
  readonly users: SystemUsers;
  readonly authenticator: Authenticator;
  readonly limits: ServiceProtection;
  readonly faults = new FaultInjector();
  readonly webhooks: WebhookDispatcher;

  constructor(options: DataverseEmulatorOptions) {
    this.index = buildModelIndex(options.model ?? defaultModel(), [
      systemUserTable,
      roleTable,
      systemUserRolesTable,
      ...registrationTables,
    ]);
    this.store = new RowStore(this.index, options.sqlitePath);
    this.engine = new DataverseEngine(this.index, this.store, {
      enforceApplicationRequired: options.enforceApplicationRequired,
      now: options.now,
    });
    this.organizationId = options.organizationId ?? '8f2a1c3e-5d4b-4e6f-9a7b-0c1d2e3f4a5b';
    const organizationName = options.organizationName ?? 'stcsandbox';
    this.users = new SystemUsers(this.index, this.store, this.engine, options.systemUsers ?? [SANDBOX_ADMIN]);
    this.seedPlatformRows();
    this.authenticator = new Authenticator(options.auth ?? { mode: 'none' }, this.users);
    this.limits = new ServiceProtection(options.limits);
    this.webhooks = new WebhookDispatcher({
      organizationName,
      organizationId: this.organizationId,
      organizationDomain: options.organizationDomain ?? `${organizationName}.crm.dynamics.com`,
      businessUnitId: this.businessUnitId,
      model: this.index,
      store: this.store,
      timeoutMs: options.webhooks?.timeoutMs,
      retryDelayMs: options.webhooks?.retryDelayMs,
    });
    this.syncRowSteps();
  }

  /** A write scope (one transaction) for the caller. */
  newScope(caller: { userId: string; initiatingUserId: string }, correlationId: string): WriteScope {
    return {
      tx: this.store.begin(),
      caller: { userId: caller.userId, initiatingUserId: caller.initiatingUserId },
      contentIds: new Map(),
      events: [],
      correlationId,
    };
  }

  /** A write scope for the emulator's own writes, as the sandbox administrator. */
  systemScope(): WriteScope {
    const admin = SANDBOX_ADMIN.systemuserid;
    return this.newScope({ userId: admin, initiatingUserId: admin }, randomUUID());
  }

  apiContext(scope: WriteScope): ApiContext {
    const { engine, organizationId, businessUnitId } = this;
    return { engine, scope, organizationId, businessUnitId };
  }

  addSystemUser(user: SystemUser): void {
    const scope = this.systemScope();
    this.users.write(user, scope);
    scope.tx.commit();
  }

  /** The seeded users and the platform's own rows (plug-in registration), where missing. */
  private seedPlatformRows(): void {
    for (const user of this.users.seed) this.addSystemUser(user);
    const scope = this.systemScope();
    for (const row of seedRows(this.index)) {
      if (!this.store.get(row.table, row.id))
        this.engine.create(this.index.byLogical.get(row.table)!, row.payload, scope, row.id);
    }
    scope.tx.commit();
  }

  /** Empties the store back to the seeded rows. */
  reset(): void {
    this.store.clear();
    this.seedPlatformRows();
    this.syncRowSteps();
  }

  private syncRowSteps(): void {
    this.webhooks.syncRowSteps(stepsFromRows(this.store));
  }

  /** Hands committed changes to the webhooks (after reloading the steps when registrations changed). */
  deliver(events: ChangeEvent[]): void {
    if (events.length === 0) return;
    if (events.some((e) => REGISTRATION_TABLES.has(e.table))) this.syncRowSteps();
    this.webhooks.dispatch(events);
  }

  setLimits(settings: Partial<LimitSettings>): void {
    this.limits.replace(settings);
    this.limits.reset();
  }

  private metaOf(name: string): TableMeta {
    const meta = this.index.bySet.get(name) ?? this.index.byLogical.get(name);
    if (!meta) throw new Error(`No table or entity set named ${name}`);
    return meta;
  }

  /** The rows in the Web API's JSON shape, for tests. */
  storeAccess(): EmulatorStoreAccess {
    const { store, engine } = this;
    return {
      rows: (name) => {
        const meta = this.metaOf(name);
        return [...store.rows(meta.logicalName)].map((r) => engine.renderRow(meta, r, {}, noAnnotations));
      },
      get: (name, id) => {
        const meta = this.metaOf(name);
        const row = store.get(meta.logicalName, id.toLowerCase());
        return row ? engine.renderRow(meta, row, {}, noAnnotations) : undefined;
      },
      count: (name) => store.count(this.metaOf(name).logicalName),
      insert: (name, payload) => {
        const scope = this.systemScope();
        const row = engine.create(this.metaOf(name), payload, scope);
        scope.tx.commit();
        this.deliver(scope.events);
        return row.id;
      },
      clear: () => this.reset(),
    };
  }

  async close(): Promise<void> {
    this.webhooks.abort();
    await this.webhooks.idle();
    this.store.close();
  }
}
