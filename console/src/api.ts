/**
 * The console's JSON API (`service/src/console/contract.ts`), called with the session cookie. Every
 * state-changing request carries `X-Requested-With: stc-console`, which the service requires of cookie
 * sessions so that another site cannot post a form at it. A failure becomes an `ApiFailure` with the API's
 * own message.
 */
import type {
  ApiError,
  BulkRetry,
  DeadLetterAction,
  DeadLetterFilter,
  DeadLetterPage,
  EventPage,
  Lineage,
  MappingActivated,
  MappingVersionFiles,
  MappingVersionList,
  MappingVersionSummary,
  Me,
  Overview,
  PayoutDetail,
  PayoutPage,
  Settings,
  SignedOut,
  StudioEdit,
  StudioEditRequest,
  StudioPreview,
  StudioPreviewRequest,
  StudioSample,
  StudioSuggestions,
  StudioSuggestRequest,
  StudioTable,
} from '@stc/service/src/console/contract';

export const API = '/console/api';

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: ApiError | null,
  ) {
    super(message);
    this.name = 'ApiFailure';
  }
}

type Query = Record<string, string | number | undefined | null>;

export function queryString(query: Query): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

function isApiError(body: unknown): body is ApiError {
  const error = (body as ApiError | null)?.error;
  return typeof error === 'object' && error !== null && typeof error.message === 'string';
}

/** Told of every 401, so that an ended session brings the sign-in page back. */
let onSignedOut: (failure: ApiFailure) => void = () => undefined;
export function whenSignedOut(listener: (failure: ApiFailure) => void): void {
  onSignedOut = listener;
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-Requested-With'] = 'stc-console';
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(`${API}${path}`, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiFailure(0, 'unreachable', 'The service cannot be reached. Check that it is running.', null);
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!response.ok) {
    const failure = isApiError(parsed)
      ? new ApiFailure(response.status, parsed.error.code, parsed.error.message, parsed)
      : new ApiFailure(
          response.status,
          `http_${response.status}`,
          `The service answered ${response.status} ${response.statusText}`.trim() + '.',
          null,
        );
    if (response.status === 401 && path !== '/session' && path !== '/me') onSignedOut(failure);
    throw failure;
  }
  return parsed as T;
}

export const api = {
  signIn: (adminKey: string) => call<void>('POST', '/session', { adminKey }),
  /** An Entra ID session answers where to end it at Entra ID too; an admin-key session nothing. */
  signOut: () => call<SignedOut | undefined>('DELETE', '/session'),
  me: () => call<Me>('GET', '/me'),
  overview: (minutes: number) => call<Overview>('GET', `/overview${queryString({ minutes })}`),
  events: (query: EventQuery) => call<EventPage>('GET', `/events${queryString({ ...query })}`),
  lineage: (id: number) => call<Lineage>('GET', `/events/${encodeURIComponent(id)}`),
  deadLetters: (query: DeadLetterQuery) =>
    call<DeadLetterPage>('GET', `/dead-letters${queryString({ ...query })}`),
  retryDeadLetter: (id: number) => call<DeadLetterAction>('POST', `/dead-letters/${id}/retry`),
  discardDeadLetter: (id: number) => call<DeadLetterAction>('POST', `/dead-letters/${id}/discard`),
  retryDeadLetters: (filter: DeadLetterFilter) => call<BulkRetry>('POST', '/dead-letters/retry', filter),
  payouts: (query: PayoutQuery) => call<PayoutPage>('GET', `/payouts${queryString({ ...query })}`),
  payout: (id: string) => call<PayoutDetail>('GET', `/payouts/${encodeURIComponent(id)}`),
  settings: () => call<Settings>('GET', '/settings'),
  mappingVersions: () => call<MappingVersionList>('GET', '/mappings'),
  mappingVersion: (version: number) => call<MappingVersionFiles>('GET', `/mappings/${version}`),
  createMappingVersion: (files: Record<string, string>, note: string) =>
    call<MappingVersionSummary>('POST', '/mappings', { files, note }),
  activateMappingVersion: (version: number) =>
    call<MappingActivated>('POST', `/mappings/${version}/activate`),
  rollbackMappingVersion: () => call<MappingActivated>('POST', '/mappings/rollback'),
  studioTable: (table: string) => call<StudioTable>('GET', `/studio/tables/${encodeURIComponent(table)}`),
  studioSample: (object: string) => call<StudioSample>('GET', `/studio/sample${queryString({ object })}`),
  studioSuggest: (request: StudioSuggestRequest) =>
    call<StudioSuggestions>('POST', '/studio/suggest', request),
  studioEdit: (request: StudioEditRequest) => call<StudioEdit>('POST', '/studio/edit', request),
  studioPreview: (request: StudioPreviewRequest) => call<StudioPreview>('POST', '/studio/preview', request),
};

export interface EventQuery {
  q?: string;
  type?: string;
  outcome?: string;
  fromMs?: number;
  toMs?: number;
  cursor?: string;
  limit?: number;
}

export interface DeadLetterQuery {
  status?: 'open' | 'all';
  type?: string;
  q?: string;
  cursor?: string;
  limit?: number;
}

export interface PayoutQuery {
  status?: string;
  cursor?: string;
  limit?: number;
}
