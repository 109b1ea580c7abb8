/**
 * Reads mapping files (YAML), checks them against the file format and the table model, and compiles them.
 * Everything happens once, at load; a bad file fails here with its name, the mapping and the column.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join, posix, relative, resolve, sep } from 'node:path';
import { parseDocument } from 'yaml';
import type { TableModel } from '@stc/solution';
import { compileMapping, type CompiledMapping } from './engine';
import { MappingError } from './errors';
import type { LookupTables } from './functions';
import { mappingFileSchema, type MappingFileSpec } from './schema';

export interface MappingFile {
  /** The file name as given (used in every error message). */
  file: string;
  version: string;
  /** sha256 of the file and its lookup files: identifies exactly what was loaded. */
  hash: string;
  description?: string;
  mappings: CompiledMapping[];
}

export interface LoadOptions {
  model: TableModel;
  /** Where relative lookup file paths start; defaults to the mapping file's folder. */
  baseDir?: string;
  /** Reads lookup files; tests may pass their own. */
  readFile?: (path: string) => string;
}

function parseYaml(text: string, file: string): unknown {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    const first = document.errors[0];
    const line = first.linePos?.[0];
    throw new MappingError(
      'mapping_invalid',
      `not valid YAML${line ? ` (line ${line.line}, column ${line.col})` : ''}: ${first.message.split('\n')[0]}`,
      { file },
    );
  }
  return document.toJS();
}

function checkFormat(data: unknown, file: string): MappingFileSpec {
  const parsed = mappingFileSchema.safeParse(data);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue.path.map(String);
  // Name the mapping and the column when the issue lies inside one.
  const mapping = path[0] === 'mappings' ? path[1] : undefined;
  const column =
    path[0] === 'mappings' && (path[2] === 'columns' || path[2] === 'links' || path[2] === 'key')
      ? path[3]
      : undefined;
  const where = path.length ? ` at ${path.join('.')}` : '';
  throw new MappingError('mapping_invalid', `${issue.message}${where}`, { file, mapping, column });
}

function loadLookups(
  spec: MappingFileSpec,
  file: string,
  options: LoadOptions,
): { lookups: LookupTables; texts: string[] } {
  const lookups: LookupTables = {};
  const texts: string[] = [];
  const read = options.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
  for (const [name, source] of Object.entries(spec.lookups ?? {})) {
    if (typeof source !== 'string') {
      lookups[name] = source;
      continue;
    }
    const path = resolve(options.baseDir ?? dirname(file), source);
    let text: string;
    try {
      text = read(path);
    } catch (error) {
      throw new MappingError(
        'mapping_invalid',
        `lookup table "${name}": cannot read ${source}: ${(error as Error).message}`,
        { file },
      );
    }
    texts.push(text);
    const data = parseYaml(text, path);
    if (!data || typeof data !== 'object' || Array.isArray(data)) {
      throw new MappingError(
        'mapping_invalid',
        `lookup table "${name}" (${source}) is not a map of key: value`,
        { file },
      );
    }
    for (const [key, value] of Object.entries(data)) {
      if (value !== null && typeof value === 'object') {
        throw new MappingError(
          'mapping_invalid',
          `lookup table "${name}" (${source}): entry "${key}" is not a single value`,
          { file },
        );
      }
      // YAML reads 000123 as 123, 0x1F as 31 and 1.10 as 1.1: a product number or code would no longer match.
      if (typeof value === 'number' || typeof value === 'boolean') {
        throw new MappingError(
          'mapping_invalid',
          `lookup table "${name}" (${source}): entry "${key}" is read as the ${typeof value} ${String(value)}, not as text: quote it (${key}: '…') so that it is kept exactly as written`,
          { file },
        );
      }
    }
    lookups[name] = data as Record<string, unknown>;
  }
  return { lookups, texts };
}

/** Parses and compiles one mapping file's text. `file` names it in errors. */
export function parseMappingFile(text: string, file: string, options: LoadOptions): MappingFile {
  const spec = checkFormat(parseYaml(text, file), file);
  const { lookups, texts } = loadLookups(spec, file, options);
  const version = String(spec.version);
  const hash = createHash('sha256');
  for (const part of [text, ...texts]) hash.update(part).update('\0');
  const mappings = Object.entries(spec.mappings).map(([name, mappingSpec]) =>
    compileMapping(name, mappingSpec, { model: options.model, file, version, lookups }),
  );
  return { file, version, hash: hash.digest('hex'), description: spec.description, mappings };
}

export function loadMappingFile(path: string, options: LoadOptions): MappingFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new MappingError('mapping_invalid', `cannot read the mapping file: ${(error as Error).message}`, {
      file: path,
    });
  }
  return parseMappingFile(text, path, { ...options, baseDir: options.baseDir ?? dirname(path) });
}

/** A loaded set of mapping files; mapping names are unique across the set. */
export class MappingSet {
  private readonly byName = new Map<string, CompiledMapping>();

  constructor(readonly files: MappingFile[]) {
    for (const file of files) {
      for (const mapping of file.mappings) {
        const existing = this.byName.get(mapping.name);
        if (existing) {
          throw new MappingError('mapping_invalid', `mapping name is also used in ${existing.file}`, {
            file: file.file,
            mapping: mapping.name,
          });
        }
        this.byName.set(mapping.name, mapping);
      }
    }
  }

  get names(): string[] {
    return [...this.byName.keys()];
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The mapping by name; a handler asking for one the files lack is a configuration error. */
  get(name: string): CompiledMapping {
    const mapping = this.byName.get(name);
    if (!mapping) {
      throw new MappingError(
        'mapping_invalid',
        `no mapping named "${name}" is loaded (loaded: ${this.names.join(', ') || 'none'})`,
        {
          mapping: name,
        },
      );
    }
    return mapping;
  }

  /** Mappings that read a given Stripe object type, in file order. */
  forSource(objectType: string): CompiledMapping[] {
    return [...this.byName.values()].filter((mapping) => mapping.source === objectType);
  }
}

/**
 * A mapping set as files: path relative to the set's folder (POSIX separators) → text. Mapping files lie at
 * the top (`payments.yaml`), lookup files in subfolders (`lookups/products.yaml`). A mapping version in the
 * store is one of these.
 */
export type MappingFiles = Record<string, string>;

const isMappingFileName = (name: string) => !name.includes('/') && ['.yaml', '.yml'].includes(extname(name));

/**
 * Reads a mappings folder as files: every `*.yaml` / `*.yml` directly in it and every file in its subfolders,
 * hidden ones left out.
 */
export function readMappingFolder(dir: string): MappingFiles {
  const files: MappingFiles = {};
  const walk = (folder: string, prefix: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      // Hidden files (.DS_Store, editor swap files) are no part of the set and would change its hash.
      if (entry.name.startsWith('.')) continue;
      const name = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(join(folder, entry.name), name);
      else if (entry.isFile() && (prefix !== '' || isMappingFileName(name)))
        files[name] = readFileSync(join(folder, entry.name), 'utf8');
    }
  };
  walk(dir, '');
  return files;
}

/**
 * Loads a mapping set from its files, as the service loads a folder or a stored version: each top-level
 * mapping file in name order, its lookup files read from `files` relative to it. `at` is the folder the
 * files came from, when any: errors then name the file by its path there.
 */
export function loadMappingFiles(files: MappingFiles, options: LoadOptions & { at?: string }): MappingSet {
  // Lookup paths resolve against a root, then are read back from `files` by their path under it.
  const root = options.at ? resolve(options.at) : resolve(sep);
  const readFile = (path: string) => {
    const name = relative(root, path).split(sep).join(posix.sep);
    const text = files[name];
    if (text === undefined) throw new Error(`no file ${name} in the mapping set`);
    return text;
  };
  const loaded = Object.keys(files)
    .filter(isMappingFileName)
    .sort()
    .map((name) =>
      parseMappingFile(files[name], options.at ? join(options.at, name) : name, {
        ...options,
        baseDir: join(root, posix.dirname(name)),
        readFile,
      }),
    );
  return new MappingSet(loaded);
}

/** Loads every `*.yaml` / `*.yml` file directly in `dir` (lookup tables live in a subfolder). */
export function loadMappings(dir: string, options: LoadOptions): MappingSet {
  return loadMappingFiles(readMappingFolder(dir), { ...options, at: dir });
}

export const mappingFileName = (path: string) => basename(path);
