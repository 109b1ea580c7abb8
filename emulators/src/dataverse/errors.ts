/**
 * Errors the emulator answers with, worded and coded as Dataverse words and codes them. Each factory names the
 * Microsoft Learn page the wording comes from, so a reader can check it:
 * - web-api-client-errors: "Troubleshoot Dataverse Web API client errors"
 * - perform-conditional-operations-using-web-api
 * - execute-batch-operations-using-web-api (the string-too-long example)
 * - api-limits (service protection limits)
 */

export class DataverseHttpError extends Error {
  constructor(
    readonly status: number,
    /** Dataverse's hexadecimal code (`0x80060892`), or `0x0` / empty as Dataverse itself sends for some errors. */
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'DataverseHttpError';
  }

  toBody(): { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

const crm = (table: string) => `Microsoft.Dynamics.CRM.${table}`;

/** web-api-client-errors: "Resource not found for the segment". */
export const segmentNotFound = (segment: string) =>
  new DataverseHttpError(404, '0x8006088a', `Resource not found for the segment '${segment}'.`);

/** web-api-client-errors: "Could not find a property named ... on type ...". */
export const propertyNotFound = (property: string, table: string) =>
  new DataverseHttpError(
    400,
    '0x0',
    `Could not find a property named '${property}' on type '${crm(table)}'.`,
  );

/** web-api-client-errors: "Invalid property {property name} was found in entity ...". */
export const invalidProperty = (property: string, table: string) =>
  new DataverseHttpError(
    400,
    '0x0',
    `An error occurred while validating input parameters: Microsoft.Crm.CrmException: Invalid property '${property}' was found in entity '${crm(table)}'. ---> Microsoft.OData.ODataException: Does not support untyped value in non-open type.`,
  );

/** web-api-client-errors: "Error identified in Payload provided by the user for Entity" (an unknown navigation). */
export const undeclaredNavigation = (navigation: string, entitySet: string) =>
  new DataverseHttpError(
    400,
    '0x80048d19',
    `Error identified in Payload provided by the user for Entity :'${entitySet}'  ---->  InnerException : Microsoft.OData.ODataException: An undeclared property '${navigation}' which only has property annotations in the payload but no property value was found in the payload. In OData, only declared navigation properties and declared named streams can be represented as properties without values.`,
  );

/** A payload value of the wrong type: OData's conversion error inside the same payload wrapper. */
export const cannotConvert = (literal: unknown, edmType: string, entitySet: string) =>
  new DataverseHttpError(
    400,
    '0x80048d19',
    `Error identified in Payload provided by the user for Entity :'${entitySet}'  ---->  InnerException : Microsoft.OData.ODataException: Cannot convert the literal '${String(literal)}' to the expected type '${edmType}'.`,
  );

/** execute-batch-operations-using-web-api, "Handling errors" example (two spaces after the first sentence). */
export const stringTooLong = (column: string, table: string, maxLength: number) =>
  new DataverseHttpError(
    400,
    '0x80044331',
    `A validation error occurred.  The length of the '${column}' attribute of the '${table}' entity exceeded the maximum allowed length of '${maxLength}'.`,
  );

/** A number outside the column's minimum/maximum. */
export const numberOutOfRange = (column: string, table: string, value: number, min?: number, max?: number) =>
  new DataverseHttpError(
    400,
    '0x80044331',
    `A validation error occurred. The value ${value} of '${column}' on record of type '${table}' is outside the valid range.${
      min !== undefined || max !== undefined ? ` Accepted range: ${min ?? ''} to ${max ?? ''}.` : ''
    }`,
  );

/** A choice value that is not in its option set (message as Dataverse reports it, code 0x8004431a). */
export const optionOutOfRange = (column: string, table: string, value: number, accepted: number[]) =>
  new DataverseHttpError(
    400,
    '0x8004431a',
    `A validation error occurred. The value ${value} of '${column}' on record of type '${table}' is outside the valid range. Accepted Values: ${accepted.join(',')}`,
  );

/**
 * A system-required column missing on create. Dataverse enforces only SystemRequired columns on the server
 * (ApplicationRequired is a form rule), so the emulator does the same unless told otherwise.
 */
export const requiredMissing = (column: string, table: string) =>
  new DataverseHttpError(
    400,
    '0x80040200',
    `A validation error occurred. The value for '${column}' on record of type '${table}' is required and cannot be null.`,
  );

/** perform-conditional-operations-using-web-api, "Prevent create in upsert"; code as current Dataverse sends it. */
export const recordNotFoundById = (table: string, id: string) =>
  new DataverseHttpError(404, '0x80040217', `${table} With Id = ${id} Does Not Exist`);

/** use-alternate-key-reference-record: a key that matches no row. */
export const recordNotFoundByKey = (table: string) =>
  new DataverseHttpError(
    404,
    '0x80060891',
    `A record with the specified key values does not exist in ${table} entity`,
  );

/** Duplicate alternate-key value: 412 with 0x80060892 (DuplicateRecordEntityKey). */
export const duplicateKey = (columnDisplayNames: string[], keyDisplayName: string) =>
  new DataverseHttpError(
    412,
    '0x80060892',
    `A record that has the attribute values ${columnDisplayNames.join(', ')} already exists. The entity key ${keyDisplayName} requires that this set of attributes contains unique values. Select unique values and try again.`,
  );

/** perform-conditional-operations-using-web-api, "Prevent update in upsert". */
export const matchingRecordExists = () =>
  new DataverseHttpError(412, '0x80040237', 'A record with matching key values already exists.');

/** A create with an id that is taken. */
export const duplicateId = () => new DataverseHttpError(412, '0x80040237', 'Cannot insert duplicate key.');

/** perform-conditional-operations-using-web-api, "Apply optimistic concurrency". */
export const versionMismatch = () =>
  new DataverseHttpError(
    412,
    '0x80060882',
    "The version of the existing record doesn't match the RowVersion property provided.",
  );

export const badRequest = (message: string, code = '0x0') => new DataverseHttpError(400, code, message);

export const querySyntax = (detail: string) => new DataverseHttpError(400, '0x0', `Syntax error: ${detail}`);

/** api-limits: the three service protection limits, 429 with Retry-After. */
export const tooManyRequests = (limit: number, windowSeconds: number, retryAfterSeconds: number) =>
  new DataverseHttpError(
    429,
    '0x80072322',
    `Number of requests exceeded the limit of ${limit} over time window of ${windowSeconds} seconds.`,
    { 'Retry-After': String(retryAfterSeconds) },
  );

export const executionTimeExceeded = (limitMs: number, windowSeconds: number, retryAfterSeconds: number) =>
  new DataverseHttpError(
    429,
    '0x80072321',
    `Combined execution time of incoming requests exceeded limit of ${limitMs.toLocaleString('en-US')} milliseconds over time window of ${windowSeconds} seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later.`,
    { 'Retry-After': String(retryAfterSeconds) },
  );

export const tooManyConcurrent = (limit: number, retryAfterSeconds: number) =>
  new DataverseHttpError(429, '0x80072326', `Number of concurrent requests exceeded the limit of ${limit}.`, {
    'Retry-After': String(retryAfterSeconds),
  });
