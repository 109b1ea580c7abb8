/**
 * The mapping studio's transforms: what an operator picks for a Stripe field ("minor units to major", "phone
 * E.164"…) and the JSONata expression each writes, using the mapping engine's own functions ($minorToMajor,
 * $phoneE164…, see service/mappings/README.md). Pure: the page shows the expression and lets it be edited.
 */

export type TransformKind =
  | 'as-is'
  | 'minor-to-major'
  | 'unix-to-datetime'
  | 'concat'
  | 'lookup'
  | 'default'
  | 'condition'
  | 'phone'
  | 'country-name'
  | 'email'
  | 'name-case'
  | 'guid-braces';

/** What a transform needs beside the field: another field, a lookup table's name, a value… */
export interface TransformOptions {
  /** minor-to-major: the currency field; concat: the other field; phone: the country field (optional). */
  otherField?: string;
  /** concat: what goes between the two fields. */
  separator?: string;
  /** lookup: the table declared under the file's `lookups`. */
  table?: string;
  /** default: the value when the field is missing or null; condition: the value compared with. */
  value?: string;
  /** condition: the column's value when the field equals `value`, and otherwise. */
  then?: string;
  otherwise?: string;
}

export interface TransformInfo {
  kind: TransformKind;
  label: string;
  /** The option the transform asks for, when any, and its label. */
  asks: Array<{ option: keyof TransformOptions; label: string }>;
  /** Whether it makes sense for a link's expression (a row's GUID or a value to find it by). */
  forLinks: boolean;
}

export const TRANSFORMS: readonly TransformInfo[] = [
  { kind: 'as-is', label: 'As is', asks: [], forLinks: true },
  {
    kind: 'guid-braces',
    label: 'GUID without braces ({7A3C…} → 7A3C…)',
    asks: [],
    forLinks: true,
  },
  {
    kind: 'minor-to-major',
    label: 'Minor units to major (with the currency)',
    asks: [{ option: 'otherField', label: 'Currency field' }],
    forLinks: false,
  },
  { kind: 'unix-to-datetime', label: 'Unix time to date-time', asks: [], forLinks: false },
  {
    kind: 'concat',
    label: 'Concatenate with another field',
    asks: [
      { option: 'otherField', label: 'Other field' },
      { option: 'separator', label: 'Separator' },
    ],
    forLinks: true,
  },
  {
    kind: 'lookup',
    label: 'Lookup table',
    asks: [{ option: 'table', label: 'Lookup table name' }],
    forLinks: true,
  },
  {
    kind: 'default',
    label: 'Default value',
    asks: [{ option: 'value', label: 'Default value' }],
    forLinks: true,
  },
  {
    kind: 'condition',
    label: 'Condition',
    asks: [
      { option: 'value', label: 'When the field equals' },
      { option: 'then', label: 'Then' },
      { option: 'otherwise', label: 'Otherwise' },
    ],
    forLinks: true,
  },
  {
    kind: 'phone',
    label: 'Phone number to E.164',
    asks: [{ option: 'otherField', label: 'Country field (optional)' }],
    forLinks: false,
  },
  { kind: 'country-name', label: 'Country code to country name', asks: [], forLinks: false },
  { kind: 'email', label: 'E-mail in lower case', asks: [], forLinks: true },
  { kind: 'name-case', label: 'Name case', asks: [], forLinks: false },
];

/** A JSONata string literal (JSONata strings take JSON's escapes). */
export function stringLiteral(text: string): string {
  return JSON.stringify(text);
}

/** A literal for a value typed in a box: numbers, true/false and null as they are, anything else as text. */
export function valueLiteral(text: string): string {
  const trimmed = text.trim();
  if (/^-?\d+(\.\d+)?$/.test(trimmed) || ['true', 'false', 'null'].includes(trimmed)) return trimmed;
  return stringLiteral(text);
}

/** The currency beside an amount (`lines.data[0].amount` → `lines.data[0].currency`). */
export function siblingField(path: string, name: string): string {
  const dot = path.lastIndexOf('.');
  return dot < 0 ? name : `${path.slice(0, dot)}.${name}`;
}

/** The expression a transform of a field writes. */
export function buildExpression(kind: TransformKind, field: string, options: TransformOptions = {}): string {
  const other = options.otherField?.trim();
  switch (kind) {
    case 'as-is':
      return field;
    case 'minor-to-major':
      return `$minorToMajor(${field}, ${other || siblingField(field, 'currency')})`;
    case 'unix-to-datetime':
      return `$unixToDateTime(${field})`;
    case 'concat': {
      if (!other) return field;
      const separator = options.separator ?? ' ';
      return separator === '' ? `${field} & ${other}` : `${field} & ${stringLiteral(separator)} & ${other}`;
    }
    case 'lookup':
      return `$lookupTable(${stringLiteral(options.table?.trim() || 'table')}, ${field})`;
    case 'default':
      return `${field} != null ? ${field} : ${valueLiteral(options.value ?? '')}`;
    case 'condition':
      return `${field} = ${valueLiteral(options.value ?? '')} ? ${valueLiteral(options.then ?? '')} : ${valueLiteral(
        options.otherwise ?? '',
      )}`;
    case 'phone':
      return other ? `$phoneE164(${field}, ${other})` : `$phoneE164(${field})`;
    case 'country-name':
      return `$countryName(${field})`;
    case 'email':
      return `$normalizeEmail(${field})`;
    case 'name-case':
      return `$nameCase(${field})`;
    case 'guid-braces':
      // As a form's client API gives a row's id: `{7A3C…}`. Dataverse takes the GUID without braces.
      return `$replace(${field}, /[{}]/, '')`;
  }
}
