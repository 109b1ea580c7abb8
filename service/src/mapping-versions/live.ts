/**
 * The mapping set a running service maps with: the store's active version, compiled once per version. Every
 * process sharing the store polls the active version's number (one indexed read) and switches when it
 * changes; an activation made through this process switches it at once. A handler runs with the set that was
 * active when it started (pinned), so an event in flight finishes under the version it began with.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Gauge, type Registry } from 'prom-client';
import type { TableModel } from '@stc/solution';
import {
  compileMappingFiles,
  hashMappingFiles,
  MappingError,
  type MappingFiles,
  type MappingSet,
} from '../mapping';
import type { Logger } from '../observability/log';
import type { MappingPin } from '../pipeline';
import type { MappingVersionLedger } from '../store';

export interface ActiveMappings {
  version: number;
  set: MappingSet;
}

export interface LiveMappings extends MappingPin {
  /** The set of the event being worked on here (pinned when its handler started), else the active one. */
  current(): MappingSet;
  /** The version `current()` is of. */
  currentVersion(): number;
  /** Reads the store's active version; compiles and switches to it when it changed. True when it did. */
  refresh(): Promise<boolean>;
  /** A stored version, compiled (kept for the few versions used last). */
  compiled(version: number): Promise<MappingSet>;
  /** Polls every `pollMs` (0: never; activations through this process still switch it). */
  start(): void;
  stop(): void;
}

export interface ShippedMappings {
  /** The folder the files were read from (named in errors). */
  dir: string;
  files: MappingFiles;
  /** Compiled against the table model: the start fails here on a bad file, before the store opens. */
  set: MappingSet;
}

/** Compiled versions kept besides the active one: enough for a rollback and a dry run, little memory. */
const KEEP_COMPILED = 4;

export class MappingVersionNotFound extends Error {
  override name = 'MappingVersionNotFound';
  constructor(readonly version: number) {
    super(`There is no mapping version ${version} (see: mappings list)`);
  }
}

/** Compiles a stored version's files; errors name the version before the file, mapping and column. */
export function compileStoredVersion(version: number, files: MappingFiles, model: TableModel): MappingSet {
  try {
    return compileMappingFiles(files, model);
  } catch (error) {
    if (error instanceof MappingError)
      throw new MappingError(
        error.code,
        `mapping version ${version}: ${error.message}`,
        {},
        { cause: error },
      );
    throw error;
  }
}

/**
 * The shipped (or MAPPINGS_DIR) files made a version when no stored version has them: at the first start
 * version 1, after an upgrade that changed them the next one, active; then the active version, compiled.
 */
export async function startLiveMappings(options: {
  store: MappingVersionLedger;
  model: TableModel;
  shipped: ShippedMappings;
  pollMs: number;
  log: Logger;
  /** Where `stc_mapping_version` (the version this process maps new events with) is exported. */
  registry?: Registry;
}): Promise<LiveMappings> {
  const { store, shipped, log } = options;
  const hash = hashMappingFiles(shipped.files);
  const { created } = await store.adoptMappingFiles({
    files: shipped.files,
    hash,
    createdBy: 'service start',
    note: `the mapping files in ${shipped.dir}`,
  });
  if (created)
    log.info(
      { mappingVersion: created.version, dir: shipped.dir, hash },
      created.version === 1
        ? 'mapping files stored as version 1, active'
        : `the mapping files differ from every stored version: stored as version ${created.version}, active`,
    );
  const live = createLiveMappings({ ...options, shippedHash: hash });
  await live.refresh();
  log.info({ mappingVersion: live.currentVersion() }, `mapping version ${live.currentVersion()} in use`);
  return live;
}

export function createLiveMappings(options: {
  store: MappingVersionLedger;
  model: TableModel;
  pollMs: number;
  log: Logger;
  /** Where `stc_mapping_version` (the version this process maps new events with) is exported. */
  registry?: Registry;
  /** Files already compiled, reused for the version that has their hash. */
  shipped?: ShippedMappings;
  shippedHash?: string;
}): LiveMappings {
  const { store, log } = options;
  const pinned = new AsyncLocalStorage<ActiveMappings>();
  let active: ActiveMappings | undefined;
  let timer: NodeJS.Timeout | undefined;
  let refreshing: Promise<unknown> = Promise.resolve();

  const compiled = compiledVersions(options, () => active?.version);

  const switchTo = async (): Promise<boolean> => {
    const version = await store.activeMappingVersion();
    if (version === null || version === active?.version) return false;
    let set: MappingSet;
    try {
      set = await compiled(version);
    } catch (error) {
      // Only a version stored before a table model change can fail here; the last good one stays.
      if (!active) throw error;
      log.error(
        { err: error, mappingVersion: version, inUse: active.version },
        `mapping version ${version} is active but does not load; still mapping with version ${active.version}`,
      );
      return false;
    }
    const previous = active?.version;
    active = { version, set };
    if (previous !== undefined)
      log.info({ mappingVersion: version, previous }, `mapping version ${version} in use (was ${previous})`);
    return true;
  };

  const current = (): ActiveMappings => {
    const mine = pinned.getStore() ?? active;
    if (!mine) throw new Error('No mapping version loaded yet: refresh() first');
    return mine;
  };

  if (options.registry)
    new Gauge({
      name: 'stc_mapping_version',
      help: 'The mapping version this process maps new events with (replicas differ only within their poll interval)',
      registers: [options.registry],
      collect() {
        if (active) this.set(active.version);
      },
    });

  const refresh = (): Promise<boolean> => {
    // One read at a time per process, each after the one before: an activation's read is never a poll's
    // older answer.
    const next = refreshing.catch(() => undefined).then(switchTo);
    refreshing = next;
    return next;
  };

  return {
    current: () => current().set,
    currentVersion: () => current().version,
    pin(work) {
      const mine = current();
      return pinned.run(mine, () => work(String(mine.version)));
    },
    refresh,
    compiled,
    start() {
      if (timer || options.pollMs <= 0) return;
      timer = setInterval(() => {
        refresh().catch((error) =>
          log.warn({ err: error }, 'reading the active mapping version failed; will try again'),
        );
      }, options.pollMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}

/** Stored versions compiled once each, the few used last kept (never the active one). */
function compiledVersions(
  options: {
    store: MappingVersionLedger;
    model: TableModel;
    shipped?: ShippedMappings;
    shippedHash?: string;
  },
  activeVersion: () => number | undefined,
): (version: number) => Promise<MappingSet> {
  const cache = new Map<number, Promise<MappingSet>>();
  return (version) => {
    let set = cache.get(version);
    if (set) return set;
    set = (async () => {
      const stored = await options.store.getMappingVersion(version);
      if (!stored) throw new MappingVersionNotFound(version);
      if (options.shipped && stored.hash === options.shippedHash) return options.shipped.set;
      // Compiled from the files as stored, checked against this build's table model.
      return compileStoredVersion(version, stored.files, options.model);
    })();
    set.catch(() => cache.delete(version));
    cache.set(version, set);
    // A Map iterates oldest first: drop the oldest beyond what is kept.
    for (const key of cache.keys()) {
      if (cache.size <= KEEP_COMPILED) break;
      if (key !== activeVersion() && key !== version) cache.delete(key);
    }
    return set;
  };
}
