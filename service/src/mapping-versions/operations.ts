/**
 * What an operator does with mapping versions, for the CLI and the console alike: list, read, compare, store
 * a new version (validated first), activate one, roll back, dry-run an event under a version beside the
 * active one, and replay events under the active version. Knows nothing of HTTP or the command line.
 */
import { createTwoFilesPatch } from 'diff';
import type Stripe from 'stripe';
import type { TableModel } from '@stc/solution';
import {
  compileMappingFiles,
  dryRun,
  hashMappingFiles,
  MappingError,
  type MappingFiles,
  type MappingSet,
} from '../mapping';
import type { MappingVersion, MappingVersionInfo, ReplayFilter, Store } from '../store';
import { compileStoredVersion, MappingVersionNotFound, type LiveMappings } from './live';

export interface MappingFileDiff {
  file: string;
  change: 'added' | 'removed' | 'changed';
  /** Unified diff of the file from the one version to the other. */
  patch: string;
}

export interface MappedRowsOfMapping {
  mapping: string;
  table: string;
  /** False when the mapping's `when` does not hold for the object. */
  applies: boolean;
  /** The rows as the Web API would take them (column → value). */
  rows: Array<{
    table: string;
    key: Record<string, unknown>;
    row: Record<string, unknown>;
    /** The lookups the row binds (a row's GUID, or a column's value to find it by). */
    links: Array<{
      column: string;
      tables: string[];
      id: string | null;
      match: { column: string; value: string } | null;
    }>;
  }>;
  /** The MappingError the mapping raised for the object, when it did. */
  error: string | null;
}

export interface VersionRows {
  version: number;
  mappings: MappedRowsOfMapping[];
}

export interface DryRunResult {
  eventId: string;
  type: string;
  objectType: string;
  version: VersionRows;
  active: VersionRows;
}

/** What a request named wrongly: no such version, no previous one, an event that cannot be dry-run. */
export class MappingVersionRequestError extends Error {
  override name = 'MappingVersionRequestError';
  constructor(
    readonly code: 'not_found' | 'no_previous_version' | 'invalid_request',
    message: string,
  ) {
    super(message);
  }
}

export interface MappingVersionOps {
  list(): Promise<MappingVersionInfo[]>;
  get(version: number): Promise<MappingVersion>;
  diff(from: number, to: number): Promise<MappingFileDiff[]>;
  /** Compiles the files as the loader does (MappingError when they do not load), then stores them. */
  create(
    files: MappingFiles,
    options: { createdBy: string; note: string | null; activate?: boolean },
  ): Promise<MappingVersionInfo>;
  /** Compiles the files only: the MappingError they raise, or the mappings they hold. */
  validate(files: MappingFiles): MappingSet;
  activate(version: number, by: string): Promise<{ active: number; previous: number | null }>;
  /** Activates the version active before the current one. */
  rollback(by: string): Promise<{ active: number; previous: number | null }>;
  /** The rows an event would make under `version`, beside those of the active version. */
  dryRun(version: number, event: Stripe.Event): Promise<DryRunResult>;
  /** The Stripe event of an inbox row, as received. */
  inboxEvent(inboxId: number): Promise<Stripe.Event>;
  /** Queues matching events to be applied again under the active version; the number queued. */
  replay(filter: ReplayFilter): Promise<{ queued: number; activeVersion: number | null }>;
}

export function createMappingVersionOps(deps: {
  store: Store;
  model: TableModel;
  /** This process's live set, switched at once on activation (other processes poll). */
  live?: LiveMappings;
  /** Wakes this process's workers after a replay queued events. */
  onQueued?: () => void;
  now?: () => number;
}): MappingVersionOps {
  const { store, model } = deps;
  const now = deps.now ?? Date.now;

  const get = async (version: number): Promise<MappingVersion> => {
    const stored = await store.getMappingVersion(version);
    if (!stored)
      throw new MappingVersionRequestError('not_found', new MappingVersionNotFound(version).message);
    return stored;
  };
  const compiled = versionCompiler(deps, get);

  const activate = async (version: number, by: string) => {
    const stored = await get(version);
    // Checked against this build's table model before it can reach a worker.
    await compiled(stored.version);
    const previous = await store.activeMappingVersion();
    if (!(await store.activateMappingVersion(version, by, now())))
      throw new MappingVersionRequestError('not_found', new MappingVersionNotFound(version).message);
    await deps.live?.refresh();
    return { active: version, previous };
  };

  return {
    list: () => store.listMappingVersions(),
    get,
    async diff(from, to) {
      return diffFiles((await get(from)).files, (await get(to)).files, from, to);
    },
    validate: (files) => compileCandidate(files, model),
    async create(files, options) {
      compileCandidate(files, model);
      const created = await store.createMappingVersion(
        {
          files,
          hash: hashMappingFiles(files),
          createdBy: options.createdBy,
          note: options.note,
          nowMs: now(),
        },
        { activate: options.activate ?? false },
      );
      if (created.active) await deps.live?.refresh();
      return created;
    },
    activate,
    async rollback(by) {
      const current = await store.activeMappingVersion();
      const earlier = (await store.mappingActivations(100)).find((a) => a.version !== current);
      if (current === null || !earlier)
        throw new MappingVersionRequestError(
          'no_previous_version',
          'No version was active before the current one: there is nothing to roll back to',
        );
      return activate(earlier.version, by);
    },
    async dryRun(version, event) {
      const active = await store.activeMappingVersion();
      if (active === null)
        throw new MappingVersionRequestError('not_found', 'No mapping version is active yet');
      return dryRunBeside(
        event,
        { version, set: await compiled(version) },
        { version: active, set: await compiled(active) },
      );
    },
    inboxEvent: (inboxId) => inboxStripeEvent(store, inboxId),
    async replay(filter) {
      const ids = await store.requeueEvents(filter, now());
      if (ids.length > 0) deps.onQueued?.();
      return { queued: ids.length, activeVersion: await store.activeMappingVersion() };
    },
  };
}

/** A stored version compiled: by this process's live set (kept compiled) when there is one. */
function versionCompiler(
  deps: { model: TableModel; live?: LiveMappings },
  get: (version: number) => Promise<MappingVersion>,
): (version: number) => Promise<MappingSet> {
  return async (version) => {
    if (!deps.live) return compileStoredVersion(version, (await get(version)).files, deps.model);
    try {
      return await deps.live.compiled(version);
    } catch (error) {
      if (error instanceof MappingVersionNotFound)
        throw new MappingVersionRequestError('not_found', error.message);
      throw error;
    }
  };
}

/** A candidate set compiled as the loader compiles it; its MappingError as it is (file, mapping, column). */
function compileCandidate(files: MappingFiles, model: TableModel): MappingSet {
  if (!files || typeof files !== 'object' || Object.values(files).some((text) => typeof text !== 'string'))
    throw new MappingVersionRequestError('invalid_request', 'files must be an object of file name → text');
  return compileMappingFiles(files, model);
}

/** A unified diff per file that differs between two versions' files. */
function diffFiles(a: MappingFiles, b: MappingFiles, from: number, to: number): MappingFileDiff[] {
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const diffs: MappingFileDiff[] = [];
  for (const file of names) {
    if (a[file] === b[file]) continue;
    const change = a[file] === undefined ? 'added' : b[file] === undefined ? 'removed' : 'changed';
    const patch = createTwoFilesPatch(
      file,
      file,
      a[file] ?? '',
      b[file] ?? '',
      `version ${from}`,
      `version ${to}`,
    );
    diffs.push({ file, change, patch });
  }
  return diffs;
}

/** What each mapping of the event's object type writes for it under a set (or the error it raises). */
export async function rowsOf(set: MappingSet, event: Stripe.Event): Promise<MappedRowsOfMapping[]> {
  const objectType = (event.data?.object as { object?: string } | undefined)?.object ?? '';
  const mappings: MappedRowsOfMapping[] = [];
  for (const mapping of set.forSource(objectType)) {
    const result = { mapping: mapping.name, table: mapping.table.logicalName };
    try {
      const rows = await dryRun(mapping, event);
      mappings.push({
        ...result,
        applies: rows.length > 0,
        rows: rows.map((r) => ({
          table: r.table,
          key: r.key,
          row: r.row,
          links: r.links.map((link) => ({
            column: link.column,
            tables: link.targets.map((target) => target.table),
            id: link.id ?? null,
            match: link.match ?? null,
          })),
        })),
        error: null,
      });
    } catch (error) {
      if (!(error instanceof MappingError)) throw error;
      mappings.push({ ...result, applies: true, rows: [], error: error.message });
    }
  }
  return mappings;
}

async function dryRunBeside(
  event: Stripe.Event,
  candidate: { version: number; set: MappingSet },
  active: { version: number; set: MappingSet },
): Promise<DryRunResult> {
  const object = event.data?.object as { object?: string } | undefined;
  if (!object || typeof object !== 'object')
    throw new MappingVersionRequestError(
      'invalid_request',
      'The event has no data.object to map (a thin event must be fetched first)',
    );
  return {
    eventId: event.id,
    type: event.type,
    objectType: object.object ?? '',
    version: { version: candidate.version, mappings: await rowsOf(candidate.set, event) },
    active: { version: active.version, mappings: await rowsOf(active.set, event) },
  };
}

async function inboxStripeEvent(store: Store, inboxId: number): Promise<Stripe.Event> {
  const event = await store.getEvent(inboxId);
  if (!event) throw new MappingVersionRequestError('not_found', `There is no inbox event ${inboxId}`);
  if (event.source !== 'stripe')
    throw new MappingVersionRequestError(
      'invalid_request',
      `Inbox event ${inboxId} is a Dataverse change; mappings map Stripe events`,
    );
  return JSON.parse(event.payload) as Stripe.Event;
}
