/**
 * Validates a customizations.xml with libxml2's xmllint against Microsoft's solution schema. The schema
 * (9.0.0.2090) predates elements and form-diff attributes that current exports carry; a complaint about one
 * of those is reported as a warning, anything else (an unknown or misplaced element of ours) as an error.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** Elements of current exports that the 2090 schema does not know. */
export const NEWER_ELEMENTS = [
  'AutoNumberFormat',
  'IsSearchable',
  'IsFilterable',
  'IsRetrievable',
  'IsLocalizable',
  'CascadeArchive',
  'ReferencedEntityNavigationPropertyName',
  'ReferencingEntityNavigationPropertyName',
  'IsSolutionAware',
  'IsRetrieveAuditEnabled',
  'IsRetrieveMultipleAuditEnabled',
  'IsArchivalEnabled',
  'IsRetentionEnabled',
  'HasRelatedNotes',
  'environmentvariabledefinitions',
];

/**
 * Attributes of form diffs (a tab added to a standard form) that current exports write and the 2090
 * FormXml schema does not declare on form parts: it defines `solutionaction` but uses it nowhere.
 */
export const NEWER_ATTRIBUTES = ['solutionaction', 'ordinalvalue'];

const isNewer = (line: string): boolean =>
  NEWER_ELEMENTS.some((name) => line.includes(`Element '${name}': This element is not expected`)) ||
  NEWER_ATTRIBUTES.some((name) =>
    line.includes(`attribute '${name}': The attribute '${name}' is not allowed`),
  );

export interface SchemaValidation {
  valid: boolean;
  errors: string[];
  warnings: string[];
}

/** The schema shipped with the solution (`solution/schema/`), or where STC_SOLUTION_XSD points. */
export function defaultSchemaPath(): string {
  if (process.env.STC_SOLUTION_XSD) return resolve(process.env.STC_SOLUTION_XSD);
  return resolve(__dirname, '../../schema/CustomizationsSolution.xsd');
}

export function validateCustomizationsXml(xml: string, schemaPath = defaultSchemaPath()): SchemaValidation {
  if (!existsSync(schemaPath)) {
    throw new Error(
      `Solution schema not found at ${schemaPath}; set STC_SOLUTION_XSD to CustomizationsSolution.xsd`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'stc-xsd-'));
  try {
    const file = join(dir, 'customizations.xml');
    writeFileSync(file, xml);
    const run = spawnSync('xmllint', ['--noout', '--schema', schemaPath, file], { encoding: 'utf8' });
    if (run.error) {
      throw new Error(`xmllint could not run (${run.error.message}); install libxml2-utils`);
    }
    const lines = run.stderr
      .split('\n')
      .filter((line) => line.includes('validity error') || line.includes('parser error'));
    const warnings = lines.filter(isNewer);
    const errors = lines.filter((line) => !warnings.includes(line));
    if (run.status !== 0 && lines.length === 0)
      errors.push(run.stderr.trim() || `xmllint exited ${run.status}`);
    return { valid: errors.length === 0, errors, warnings };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
