/**
 * The mapping set the handlers use: the default files in `service/mappings/`, loaded and checked against
 * the table model once, on first use, or a set given by the caller (tests, a custom mappings folder).
 */
import { join } from 'node:path';
import { model } from '@stc/solution';
import { loadMappings, type MappingSet } from '../mapping';

/** `service/mappings/`: the default mapping files, which also document what goes where. */
export const DEFAULT_MAPPINGS_DIR = join(__dirname, '../../mappings');

export type MappingSource = MappingSet | (() => MappingSet);

/** Loads the folder's mappings at most once; a bad file fails every call with the same MappingError. */
export function lazyMappings(dir: string = DEFAULT_MAPPINGS_DIR): () => MappingSet {
  let loaded: MappingSet | undefined;
  return () => (loaded ??= loadMappings(dir, { model }));
}

export function resolveMappingSource(source: MappingSource): () => MappingSet {
  return typeof source === 'function' ? source : () => source;
}
