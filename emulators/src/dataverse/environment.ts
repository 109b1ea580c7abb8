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
import type { SolutionPackage } from './customizations';
import {
  CUSTOMIZATIONS_VALUE,
  importJobTable,
  type InstalledSolution,
  mergeModels,
  planImport,
  platformModel,
  refuseDataLoss,
  solutionTable,
} from './solutions';
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

/** The platform's tables every environment serves whatever the model: users, roles, registrations, solutions. */
const PLATFORM_TABLES = [
  systemUserTable,
  roleTable,
  systemUserRolesTable,
  ...registrationTables,
  solutionTable,
  importJobTable,
];

/** How a solution package is to be applied. */
export interface ImportOptions {
  /** StageAndUpgrade: the package replaces the installed solution's components. */
  upgrade: boolean;
  importJobId: string;
}

export class DataverseEnvironment {
  readonly index: ModelIndex;
  /** The environment's own tables before any solution (the standard tables as the platform has them). */
  readonly platform: TableModel;
  /** The model the environment started with; the installed solutions lie over it. */
  private readonly base: TableModel;
  private solutions = new Map<string, InstalledSolution>();
  readonly store: RowStore;
  readonly engine: DataverseEngine;
  readonly organizationId: string;
  readonly businessUnitId = '3c9e2b1a-7f6d-4e5c-8b4a-2d1e0f9a8b7c';
  readonly users: SystemUsers;
  readonly authenticator: Authenticator;
  readonly limits: ServiceProtection;
  readonly faults = new FaultInjector();
  readonly webhooks: WebhookDispatcher;
  private readonly now: () => Date;

  constructor(options: DataverseEmulatorOptions) {
    const model = options.model ?? defaultModel();
    this.platform = platformModel(model);
    this.base = options.withoutSolution ? this.platform : model;
    this.index = buildModelIndex(this.base, PLATFORM_TABLES);
    this.store = new RowStore(this.index, options.sqlitePath);
    this.restoreSolutions();
    this.now = options.now ?? (() => new Date());
    this.engine = new DataverseEngine(this.index, this.store, {
      enforceApplicationRequired: options.enforceApplicationRequired,
      createProductsInActiveState: options.createProductsInActiveState,
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

  /** The seeded users and the platform's own rows (plug-in registration, installed solutions), where missing. */
  private seedPlatformRows(): void {
    for (const user of this.users.seed) this.addSystemUser(user);
    const scope = this.systemScope();
    for (const row of seedRows(this.index)) {
      if (!this.store.get(row.table, row.id))
        this.engine.create(this.index.byLogical.get(row.table)!, row.payload, scope, row.id);
    }
    for (const solution of this.solutions.values()) this.writeSolutionRow(solution, scope);
    scope.tx.commit();
  }

  /** The solutions a SQLite file kept (their rows carry their customizations), installed again. */
  private restoreSolutions(): void {
    for (const row of this.store.rows(solutionTable.logicalName)) {
      const xml = row.values[CUSTOMIZATIONS_VALUE];
      if (typeof xml !== 'string') continue;
      const pkg: SolutionPackage = {
        uniqueName: String(row.values.uniquename),
        friendlyName: String(row.values.friendlyname),
        version: String(row.values.version),
        managed: row.values.ismanaged === true,
        customizationsXml: xml,
      };
      const model = planImport(undefined, pkg, false, this.platform);
      this.solutions.set(pkg.uniqueName.toLowerCase(), { id: row.id, pkg, model });
    }
    if (this.solutions.size > 0) this.applyIndex(this.modelIndexWith(this.solutions));
  }

  private modelIndexWith(solutions: Map<string, InstalledSolution>): ModelIndex {
    const model = mergeModels(
      this.base,
      [...solutions.values()].map((solution) => solution.model),
    );
    return buildModelIndex(model, PLATFORM_TABLES);
  }

  /** Serves `next` from now on: the index is changed in place, as the engine and the services hold it. */
  private applyIndex(next: ModelIndex): void {
    this.index.bySet.clear();
    this.index.byLogical.clear();
    for (const [name, meta] of next.bySet) this.index.bySet.set(name, meta);
    for (const [name, meta] of next.byLogical) this.index.byLogical.set(name, meta);
    this.index.tables.splice(0, this.index.tables.length, ...next.tables);
    this.store.adopt(this.index);
  }

  /**
   * Imports a solution package (ImportSolution, StageAndUpgrade) in the scope's transaction: checks it against
   * the installed solution, refuses an upgrade that would delete data, records the solution and the import
   * job, then serves the new tables. Answers the solution's id.
   */
  importSolution(pkg: SolutionPackage, options: ImportOptions, scope: WriteScope): string {
    const key = pkg.uniqueName.toLowerCase();
    const installed = this.solutions.get(key);
    const startedOn = this.now().toISOString();
    const model = planImport(installed, pkg, options.upgrade, this.platform);
    const solution: InstalledSolution = { id: installed?.id ?? randomUUID(), pkg, model };
    const next = new Map(this.solutions).set(key, solution);
    const nextIndex = this.modelIndexWith(next);
    refuseDataLoss(this.index, nextIndex, this.store, pkg.uniqueName);
    this.writeSolutionRow(solution, scope);
    this.engine.create(
      this.index.byLogical.get(importJobTable.logicalName)!,
      {
        name: `Import of ${pkg.uniqueName} ${pkg.version}`.slice(0, 100),
        solutionname: pkg.uniqueName,
        progress: 100,
        startedon: startedOn,
        completedon: this.now().toISOString(),
        data: `<importexportxml><solutionManifests><solutionManifest languagecode="1033" uniquename="${pkg.uniqueName}" version="${pkg.version}" managed="${pkg.managed ? 1 : 0}"><result result="success" errorcode="0" errortext="" /></solutionManifest></solutionManifests></importexportxml>`,
      },
      scope,
      options.importJobId,
    );
    this.solutions = next;
    this.applyIndex(nextIndex);
    return solution.id;
  }

  /** The solution's row in `solutions`, created or brought up to its version. */
  private writeSolutionRow(solution: InstalledSolution, scope: WriteScope): void {
    const meta = this.index.byLogical.get(solutionTable.logicalName)!;
    const { pkg } = solution;
    const payload = {
      uniquename: pkg.uniqueName,
      friendlyname: pkg.friendlyName.slice(0, 256),
      version: pkg.version,
      ismanaged: pkg.managed,
      installedon: this.now().toISOString(),
    };
    const existing = this.store.get(meta.logicalName, solution.id);
    const same = existing?.values[CUSTOMIZATIONS_VALUE] === pkg.customizationsXml;
    if (existing && same && existing.values.version === pkg.version) return;
    const row = existing
      ? this.engine.update(meta, existing, payload, scope)
      : this.engine.create(meta, payload, scope, solution.id);
    scope.tx.put(meta.logicalName, {
      ...row,
      values: { ...row.values, [CUSTOMIZATIONS_VALUE]: pkg.customizationsXml },
    });
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
