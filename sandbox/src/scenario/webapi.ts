/**
 * The few Dataverse Web API calls the scenario and checks make, over plain fetch: reads by key or filter,
 * and writes as a person (MSCRMCallerID), with a bearer token when the emulator checks them.
 */
export interface WebApi {
  /** The row, or undefined when there is none (404). */
  get<T = Record<string, unknown>>(path: string): Promise<T | undefined>;
  /** Rows of a `$filter`/`$select` query. */
  list<T = Record<string, unknown>>(path: string): Promise<T[]>;
  /** Creates a row as `callerId`; its id. */
  create(entitySet: string, body: Record<string, unknown>, callerId?: string): Promise<string>;
  /** Updates an existing row (`If-Match: *`) as `callerId`. */
  update(path: string, body: Record<string, unknown>, callerId?: string): Promise<void>;
}

export class WebApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'WebApiError';
  }
}

export function createWebApi(baseUrl: string, token?: () => Promise<string>): WebApi {
  const root = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const send = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(new URL(path, root), {
      method,
      headers: {
        Accept: 'application/json',
        'OData-MaxVersion': '4.0',
        'OData-Version': '4.0',
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...(token ? { Authorization: `Bearer ${await token()}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return response;
  };
  const fail = async (method: string, path: string, response: Response) => {
    const text = await response.text();
    let error: { code?: string; message?: string } = {};
    try {
      error = (JSON.parse(text) as { error?: typeof error }).error ?? {};
    } catch {
      // not JSON: keep the text
    }
    return new WebApiError(
      response.status,
      error.code ?? '',
      `${method} ${path}: ${response.status} ${error.code ?? ''} ${error.message ?? text}`.trim(),
    );
  };
  const caller = (callerId?: string): Record<string, string> => (callerId ? { MSCRMCallerID: callerId } : {});
  return {
    async get(path) {
      const response = await send('GET', path);
      if (response.status === 404) return undefined;
      if (!response.ok) throw await fail('GET', path, response);
      return (await response.json()) as never;
    },
    async list(path) {
      const response = await send('GET', path);
      if (!response.ok) throw await fail('GET', path, response);
      return ((await response.json()) as { value: never[] }).value;
    },
    async create(entitySet, body, callerId) {
      const response = await send('POST', entitySet, body, caller(callerId));
      if (!response.ok) throw await fail('POST', entitySet, response);
      const id = /\(([0-9a-f-]{36})\)$/i.exec(response.headers.get('odata-entityid') ?? '')?.[1];
      if (!id) throw new Error(`POST ${entitySet}: no OData-EntityId in the answer`);
      return id;
    },
    async update(path, body, callerId) {
      const response = await send('PATCH', path, body, { 'If-Match': '*', ...caller(callerId) });
      if (!response.ok) throw await fail('PATCH', path, response);
    },
  };
}

/** A string for a key or `$filter` literal: quotes doubled, as OData wants. */
export const odataString = (value: string) => `'${value.replace(/'/g, "''")}'`;
