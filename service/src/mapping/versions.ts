/**
 * Mapping versions as the store keeps them: the whole set of mapping and lookup files, identified by a
 * sha256 over their names and texts. A candidate version is checked by compiling it exactly as the service
 * loads it, so what is stored always loads.
 */
import { createHash } from 'node:crypto';
import type { TableModel } from '@stc/solution';
import { loadMappingFiles, type MappingFiles, type MappingSet } from './loader';
import { MappingError } from './errors';

/** sha256 over the files in name order (name, text), independent of how the record was built. */
export function hashMappingFiles(files: MappingFiles): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(files).sort())
    hash.update(name).update('\0').update(files[name]).update('\0');
  return hash.digest('hex');
}

/**
 * Compiles a candidate set against the table model, as the loader does; throws the loader's MappingError
 * (file, mapping, column) when it does not load. A set without a single mapping file is refused too.
 */
export function compileMappingFiles(files: MappingFiles, model: TableModel): MappingSet {
  for (const name of Object.keys(files)) {
    if (name === '' || name.startsWith('/') || name.split('/').some((part) => part === '..' || part === ''))
      throw new MappingError('mapping_invalid', `"${name}" is not a file name inside the mapping set`);
  }
  const set = loadMappingFiles(files, { model });
  if (set.files.length === 0)
    throw new MappingError('mapping_invalid', 'the set has no mapping file (*.yaml at its top level)');
  return set;
}
