/**
 * One HTTP exchange with the Web API: the URL under the environment root, the OData headers, the bearer
 * token from the token provider, a per-attempt timeout, and the typed error for an answer that is not the
 * one asked for. Retrying and pacing are the caller's (see throttling.ts).
 */
import type { TokenCredential } from '@azure/identity';
import { createTokenProvider, scopeFor, type TokenProvider, type TokenSource } from './credential';
import { DataverseError, errorFromResponse } from './errors';

export interface TransportOptions {
  /** The Web API root, e.g. `https://org.crm.dynamics.com/api/data/v9.2/`. */
  baseUrl: string;
  getToken?: TokenSource;
  credential?: TokenCredential;
  scope?: string;
  /** Per attempt. */
  timeoutMs: number;
  fetch?: typeof fetch;
  /** Told of every request sent: the status answered (0: none came) and how long it took. */
  onExchange?: (status: number, durationMs: number) => void;
}

export interface TransportRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string;
  /** For error messages: `PATCH stc_payments(…)`. */
  describe: string;
}

/** An HTTP answer as read; `attempts` counts the requests it took, retries included. */
export interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
  attempts: number;
}

/** An answer, or the reason none came (network error or timeout, as a status-0 DataverseError). */
export type Exchange =
  | { answered: true; status: number; headers: Headers; text: string }
  | { answered: false; error: DataverseError };

export interface Transport {
  /** The root with a trailing slash. */
  readonly baseUrl: string;
  url(path: string): string;
  /**
   * Sends one request. Throws a DataverseError when no token could be had (401: refused; 0: the identity
   * endpoint did not answer); a request that got no answer is returned as `answered: false`.
   */
  exchange(request: TransportRequest, attempt: number): Promise<Exchange>;
  /** Drops the cached token so the next request asks for a new one; false when there are no tokens. */
  invalidateToken(): boolean;
  /** Requests sent so far. */
  requests(): number;
}

export function normaliseBaseUrl(baseUrl: string): string {
  const root = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  try {
    new URL(root);
  } catch {
    throw new TypeError(
      `DATAVERSE_URL '${baseUrl}' is not a URL: use https://<org>.crm.dynamics.com/api/data/v9.2/.`,
    );
  }
  return root;
}

function tokenProviderFor(options: TransportOptions, baseUrl: string): TokenProvider | undefined {
  if (options.getToken) return createTokenProvider({ getToken: options.getToken });
  if (options.credential)
    return createTokenProvider({ credential: options.credential, scope: options.scope ?? scopeFor(baseUrl) });
  return undefined;
}

/** What @azure/identity and Node say when Entra or the identity endpoint could not be reached at all. */
const UNREACHABLE =
  /endpoints_resolution_error|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|socket hang up|network (error|request failed)|fetch failed|No token within/i;

/** A token, or a DataverseError that says why none could be had (401: refused; 0: Entra unreachable). */
async function tokenFor(tokens: TokenProvider, describe: string): Promise<string> {
  try {
    return await tokens.getToken();
  } catch (err) {
    const status = (err as { statusCode?: number }).statusCode;
    const text = `${String((err as Error).message)} ${String((err as { cause?: { code?: unknown } }).cause?.code ?? '')}`;
    // Refused or unusable here (permanent) vs. Entra or the identity endpoint not answering (transient): a
    // credential that is unavailable because the network did not reach Entra (or the managed identity
    // endpoint) is the latter, and events wait for it instead of going to the dead-letter queue.
    const unreachable = status === undefined && UNREACHABLE.test(text);
    const refused =
      !unreachable &&
      ((err as Error).name === 'CredentialUnavailableError' ||
        (status !== undefined
          ? status >= 400 && status < 500
          : /AADSTS\d+|Authentication failed/.test(String((err as Error).message))));
    throw new DataverseError({
      status: refused ? 401 : 0,
      message: `No access token for Dataverse: ${(err as Error).message}`,
      request: describe,
      cause: err,
    });
  }
}

function noAnswer(err: unknown, timeoutMs: number, describe: string, attempt: number): DataverseError {
  const timedOut = (err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError';
  return new DataverseError({
    status: 0,
    message: timedOut ? `No answer within ${timeoutMs} ms` : `Network error: ${(err as Error).message}`,
    request: describe,
    attempts: attempt,
    cause: err,
  });
}

export function createTransport(options: TransportOptions): Transport {
  const baseUrl = normaliseBaseUrl(options.baseUrl);
  const tokens = tokenProviderFor(options, baseUrl);
  const doFetch = options.fetch ?? fetch;
  let requests = 0;

  async function exchange(request: TransportRequest, attempt: number): Promise<Exchange> {
    const headers: Record<string, string> = {
      Accept: 'application/json',
      'OData-MaxVersion': '4.0',
      'OData-Version': '4.0',
      ...(request.body !== undefined ? { 'Content-Type': 'application/json; charset=utf-8' } : {}),
      ...request.headers,
    };
    if (tokens) headers.Authorization = `Bearer ${await tokenFor(tokens, request.describe)}`;
    requests += 1;
    const started = performance.now();
    try {
      const res = await doFetch(request.url, {
        method: request.method,
        headers,
        body: request.body,
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      const text = await res.text();
      options.onExchange?.(res.status, performance.now() - started);
      return { answered: true, status: res.status, headers: res.headers, text };
    } catch (err) {
      options.onExchange?.(0, performance.now() - started);
      return { answered: false, error: noAnswer(err, options.timeoutMs, request.describe, attempt) };
    }
  }

  return {
    baseUrl,
    url: (path) => `${baseUrl}${path}`,
    exchange,
    invalidateToken() {
      tokens?.invalidate();
      return tokens !== undefined;
    },
    requests: () => requests,
  };
}

/** The typed error for an answer that is not the one the operation expects. */
export function responseError(res: HttpResult, describe: string): DataverseError {
  return errorFromResponse(res, describe, res.attempts);
}

/** The JSON body of an answer, or undefined when it has none. */
export function jsonBody(res: HttpResult): unknown {
  return res.text ? JSON.parse(res.text) : undefined;
}
