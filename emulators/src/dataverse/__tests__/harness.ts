/** Plain-fetch helpers for the emulator tests: what a Web API client sends and sees. */
import { startDataverseEmulator, type DataverseEmulator, type DataverseEmulatorOptions } from '..';
import { testModel } from './test-model';

export const ODATA_HEADERS = {
  Accept: 'application/json',
  'OData-MaxVersion': '4.0',
  'OData-Version': '4.0',
};

export interface Reply {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
}

export async function call(
  emulator: DataverseEmulator,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const response = await fetch(new URL(path, emulator.url), {
    method,
    headers: {
      ...ODATA_HEADERS,
      ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}

export function start(options: DataverseEmulatorOptions = {}): Promise<DataverseEmulator> {
  return startDataverseEmulator({ model: testModel, ...options });
}

export const idFromEntityId = (header: string | null): string => {
  const m = /\(([0-9a-f-]{36})\)$/.exec(header ?? '');
  if (!m) throw new Error(`no id in OData-EntityId '${header}'`);
  return m[1];
};

/** The reply is the error Dataverse answers: its status, and `error` exactly ({ code, message }). */
export function expectError(reply: Reply, status: number, error: { code: string; message: string }): void {
  expect(reply.status).toBe(status);
  expect(reply.body.error).toEqual(error);
}

/** The reply is an error of that status whose message contains `fragment`. */
export function expectErrorMessage(reply: Reply, status: number, fragment: string): void {
  expect(reply.status).toBe(status);
  expect(reply.body.error.message).toContain(fragment);
}
