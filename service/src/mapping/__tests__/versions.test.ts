/** A mapping set loaded from files in memory, as a stored version is, matches the folder's; bad ones are refused. */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { model } from '@stc/solution';
import { compileMappingFiles, hashMappingFiles, loadMappings, MappingError, readMappingFolder } from '..';

const MAPPINGS_DIR = join(__dirname, '../../../mappings');

test('the shipped folder read as files loads the same mappings as the folder, lookups included', () => {
  const files = readMappingFolder(MAPPINGS_DIR);
  expect(Object.keys(files)).toEqual(expect.arrayContaining(['payments.yaml', 'lookups/products.yaml']));
  expect(Object.keys(files)).not.toContain('README.md');
  const fromFiles = compileMappingFiles(files, model);
  const fromFolder = loadMappings(MAPPINGS_DIR, { model });
  expect(fromFiles.names).toEqual(fromFolder.names);
  expect(fromFiles.files.map((f) => f.hash)).toEqual(fromFolder.files.map((f) => f.hash));
  // Names in errors: the folder's path for a folder, the file's name in the set for a stored version.
  expect(fromFolder.files[0].file).toBe(join(MAPPINGS_DIR, fromFiles.files[0].file));
});

test('hidden files in the folder are no part of the set', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stc-mapping-folder-'));
  try {
    cpSync(MAPPINGS_DIR, dir, { recursive: true });
    writeFileSync(join(dir, 'lookups', '.DS_Store'), 'finder');
    writeFileSync(join(dir, '.payments.yaml.swp'), 'editor');
    expect(hashMappingFiles(readMappingFolder(dir))).toBe(hashMappingFiles(readMappingFolder(MAPPINGS_DIR)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the hash is the same however the files were listed, and changes with any file', () => {
  const files = readMappingFolder(MAPPINGS_DIR);
  const reversed = Object.fromEntries(Object.entries(files).reverse());
  expect(hashMappingFiles(reversed)).toBe(hashMappingFiles(files));
  expect(
    hashMappingFiles({ ...files, 'lookups/products.yaml': `${files['lookups/products.yaml']}\n` }),
  ).not.toBe(hashMappingFiles(files));
});

test('a candidate naming an unknown column is refused with the file, mapping and column', () => {
  const files = readMappingFolder(MAPPINGS_DIR);
  const payments = files['payments.yaml'].replace(
    'stc_description: { expr: description, truncate: true }',
    'stc_colour: description',
  );
  expect(payments).not.toBe(files['payments.yaml']);
  let error: unknown;
  try {
    compileMappingFiles({ ...files, 'payments.yaml': payments }, model);
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(MappingError);
  expect((error as MappingError).message).toMatch(
    /^payments\.yaml: mapping "payment_intent", column "stc_colour"/,
  );
});

test('a lookup file missing from the set, a path leaving it, or a set without mapping files is refused', () => {
  const files = readMappingFolder(MAPPINGS_DIR);
  const { ['lookups/products.yaml']: _lookup, ...withoutLookup } = files;
  expect(() => compileMappingFiles(withoutLookup, model)).toThrow(
    /catalog\.yaml: lookup table "products": cannot read lookups\/products\.yaml/,
  );
  expect(() => compileMappingFiles({ ...files, '../x.yaml': 'version: 1' }, model)).toThrow(
    /"\.\.\/x\.yaml" is not a file name inside the mapping set/,
  );
  expect(() => compileMappingFiles({ 'lookups/products.yaml': 'a: b' }, model)).toThrow(/no mapping file/);
});
