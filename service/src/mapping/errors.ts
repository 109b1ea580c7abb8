/**
 * A mapping that cannot be loaded or cannot map an object is a permanent failure: retrying the same event
 * with the same mapping gives the same result, so the pipeline sends it to the dead-letter queue with
 * this message, which names the file, the mapping and the column to fix.
 */
export interface MappingErrorLocation {
  file?: string;
  mapping?: string;
  column?: string;
}

export type MappingErrorCode =
  /** The file does not parse or does not follow the mapping file format. */
  | 'mapping_invalid'
  /** The mapping names a table, column or option the table model does not have, or a wrong type. */
  | 'mapping_model_mismatch'
  /** An expression failed, or its result does not fit the column, for one Stripe object. */
  | 'mapping_failed'
  /** A required column has no value for one Stripe object. */
  | 'mapping_required_missing';

export class MappingError extends Error {
  override name = 'MappingError';
  /** Never retried: the same input fails the same way until the mapping or the data changes. */
  readonly transient = false;
  readonly code: MappingErrorCode;
  readonly file?: string;
  readonly mapping?: string;
  readonly column?: string;

  constructor(
    code: MappingErrorCode,
    detail: string,
    location: MappingErrorLocation = {},
    options?: { cause?: unknown },
  ) {
    super(`${describeLocation(location)}${detail}`, options);
    this.code = code;
    this.file = location.file;
    this.mapping = location.mapping;
    this.column = location.column;
  }
}

function describeLocation({ file, mapping, column }: MappingErrorLocation): string {
  const parts: string[] = [];
  if (mapping) parts.push(`mapping "${mapping}"`);
  if (column) parts.push(`column "${column}"`);
  const where = parts.join(', ');
  if (file && where) return `${file}: ${where}: `;
  if (file) return `${file}: `;
  return where ? `${where}: ` : '';
}
