/**
 * The operator console's JSON API: what `/console/api/*` answers, shared by the service (which serves it) and
 * the console's pages (which read it). Every route but `POST /console/api/session` needs a signed-in session
 * (the `stc_console` cookie) or the admin key as `Authorization: Bearer <key>`; without one it answers 401
 * with an `ApiError`. A state-changing request (POST, PUT, PATCH, DELETE) made with the cookie must also send
 * `X-Requested-With: stc-console` (CSRF defence), else it answers 403 `csrf`; the Bearer key needs no header.
 * Times are milliseconds since the epoch; amounts are minor units with their currency.
 *
 * Routes:
 * - `POST   /console/api/session` `{ adminKey }` → 204 and the session cookie; 401 on a wrong key.
 *   `GET /console/signin/entra` starts the Entra ID (OpenID Connect) sign-in when it is configured; its callback
 *   (`/console/signin/entra/callback`) sets the same cookie (`Me.method` `entra`) and redirects to `/console/`, or
 *   answers an HTML page saying why the user is not signed in.
 * - `DELETE /console/api/session` → 204, cookie cleared; for an Entra ID session whose provider has an end-session
 *   endpoint, 200 `SignedOut`: the browser goes there to end the Entra ID session too. `GET /console/api/me` → `Me`.
 *   An Entra ID session whose user lost the role or group (re-checked every CONSOLE_ROLE_RECHECK_MINUTES), or whose
 *   refresh Entra ID refuses, gets 401 `session_ended` with the reason, and its cookies are cleared.
 * - `GET    /console/api/overview?minutes=60` → `Overview`.
 * - `GET    /console/api/events?q&type&outcome&fromMs&toMs&cursor&limit` → `EventPage`.
 * - `GET    /console/api/events/:id` → `Lineage` (`:id` is the inbox id).
 * - `GET    /console/api/dead-letters?status=open|all&type&q&cursor&limit` → `DeadLetterPage`.
 * - `POST   /console/api/dead-letters/:id/retry`, `POST /console/api/dead-letters/:id/discard` → `DeadLetterAction`.
 * - `POST   /console/api/dead-letters/retry` `DeadLetterFilter` → `BulkRetry` (every open letter the filter matches).
 * - `GET    /console/api/payouts?status&cursor&limit` → `PayoutPage`;  `GET /console/api/payouts/:id` → `PayoutDetail`.
 * - `GET    /console/api/settings` → `Settings` (secrets masked).
 * - `GET    /console/api/mappings` → `MappingVersionList`;  `GET /console/api/mappings/:version` → `MappingVersionFiles`.
 * - `GET    /console/api/mappings/diff?from&to` → `MappingDiff` (a unified diff per file that differs).
 * - `POST   /console/api/mappings` `MappingVersionCreate` → 201 `MappingVersionSummary`; 422 `ApiError` with the
 *   mapping engine's message (file, mapping, column) when the files do not load against the table model.
 * - `POST   /console/api/mappings/:version/activate`, `POST /console/api/mappings/rollback` → `MappingActivated`
 *   (every replica maps with it within MAPPINGS_POLL_SECONDS; events already in flight finish under theirs).
 * - `POST   /console/api/mappings/dry-run` `MappingDryRunRequest` → `MappingDryRun`.
 * - `POST   /console/api/mappings/replay` `MappingReplayRequest` → `MappingReplay`.
 * - `GET    /console/api/studio/tables/:table` → `StudioTable` (the table model's columns).
 * - `GET    /console/api/studio/sample?object=charge` → `StudioSample` (fields of the newest inbox event of that
 *   object type, the newest event of an object with an open dead letter first, else of the repository's recorded
 *   example).
 * - `POST   /console/api/studio/suggest` `StudioSuggestRequest` → `StudioSuggestions` (nothing is written).
 * - `POST   /console/api/studio/edit` `StudioEditRequest` → `StudioEdit` (the file's text with one column, or one
 *   link's id or value, set, only that node's text changed; its mappings); 422 when the text is not YAML, the
 *   mapping has no columns to set or no such link, or (for a link) the engine refuses the edited file.
 * - `POST   /console/api/studio/preview` `StudioPreviewRequest` → `StudioPreview`; 422 `ApiError` with the mapping
 *   engine's message when the edited file does not load.
 */

export interface ApiError {
  error: { code: string; message: string };
  /**
   * In the 401 of `GET /console/api/me` (and any other route without a session): true when
   * `GET /console/signin/entra` is configured, so that the sign-in page offers "Sign in with Microsoft Entra ID"
   * beside the admin key.
   */
  entraSignIn?: boolean;
}

/** The answer to signing out of an Entra ID session: the provider's end-session URL (RP-initiated logout). */
export interface SignedOut {
  signOutUrl: string;
}

export interface Me {
  name: string;
  method: 'admin-key' | 'entra';
  /** When the session ends. */
  expiresAtMs: number;
}

export type Outcome = 'applied' | 'skipped' | 'superseded' | 'ignored' | 'retried' | 'dead';

export interface OutcomeCounts {
  applied: number;
  skipped: number;
  superseded: number;
  ignored: number;
  retried: number;
  dead: number;
}

export interface LatencySummary {
  requests: number;
  p50Ms: number | null;
  p95Ms: number | null;
  /** 429 answers (Dataverse service protection, Stripe rate limit) in the window. */
  throttled: number;
  /** 5xx answers and unreachable attempts in the window. */
  failed: number;
}

export interface Overview {
  generatedAtMs: number;
  /** One entry per minute of the window, oldest first, with the outcomes completed in that minute. */
  perMinute: Array<{ minuteMs: number } & OutcomeCounts>;
  backlog: { pending: number; processing: number; dead: number };
  /** Age of the oldest event waiting for a worker; null when none waits. */
  oldestPendingAgeMs: number | null;
  lastEvent: { eventId: string; type: string; receivedAtMs: number } | null;
  dataverse: LatencySummary;
  stripe: LatencySummary;
  /** Open alerts, as the alert rules see them. */
  alerts: Array<{ rule: string; summary: string; sinceMs: number }>;
}

export type EventStatus =
  'pending' | 'processing' | 'applied' | 'skipped' | 'superseded' | 'ignored' | 'dead' | 'discarded';

export interface EventSummary {
  /** The inbox id: what `/console/api/events/:id` takes. */
  id: number;
  source: 'stripe' | 'dataverse';
  account: string;
  eventId: string;
  type: string;
  objectId: string;
  status: EventStatus;
  attempts: number;
  eventCreatedMs: number;
  receivedAtMs: number;
  updatedAtMs: number;
  lastError: string | null;
  lastErrorCode: string | null;
}

/** `q` matches an event id, a Stripe object id or a Dataverse row id (a GUID of a row the event wrote). */
export interface EventPage {
  events: EventSummary[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

export interface AttemptDetail {
  attempt: number;
  worker: string;
  startedAtMs: number;
  finishedAtMs: number;
  outcome: string;
  error: string | null;
  errorCode: string | null;
  /**
   * The mapping version the attempt ran under, its number as text ("3"), as the store's attempts table
   * records it and as `DataverseWrite.mappingVersion` names it; null (or absent) for an attempt that ran no
   * handler.
   */
  mappingVersion?: string | null;
}

/** One Dataverse request an attempt made for the event, with its answer. */
export interface DataverseWrite {
  attempt: number;
  /** The mapping that produced the row, and the version of the mapping set it ran under; null for none. */
  mapping: string | null;
  mappingVersion: string | null;
  /** Logical name of the table (`stc_payment`) and the row's id when known. */
  table: string;
  rowId: string | null;
  operation: 'create' | 'update' | 'upsert' | 'delete' | 'associate' | 'read';
  method: string;
  /** The request path below the Web API root, e.g. `stc_payments(stc_stripeid='pi_1')`. */
  path: string;
  status: number;
  durationMs: number;
  /** The error text Dataverse answered, when it did not succeed. */
  error: string | null;
  /** The row in Dynamics 365 (main.aspx?etn=…&id=…&pagetype=entityrecord); null without a row id. */
  dynamicsUrl: string | null;
}

export interface Lineage {
  event: EventSummary;
  /** The event as received (parsed JSON). */
  payload: unknown;
  /** Every event is verified at intake; what was checked and when. */
  signature: { scheme: 'stripe-signature' | 'dataverse-key'; verifiedAtMs: number };
  attempts: AttemptDetail[];
  writes: DataverseWrite[];
  /** The event and its object in the Stripe dashboard (test or live path by the event's mode). */
  stripeUrls: { event: string | null; object: string | null };
  /** When superseded: the event that replaced it. */
  supersededBy: { eventId: string; id: number | null } | null;
}

export interface DeadLetterSummary {
  id: number;
  inboxId: number;
  eventId: string;
  type: string;
  objectId: string;
  account: string;
  error: string;
  errorCode: string | null;
  attempts: number;
  createdAtMs: number;
  resolvedAtMs: number | null;
  resolution: 'retried' | 'discarded' | null;
}

export interface DeadLetterPage {
  deadLetters: DeadLetterSummary[];
  nextCursor: string | null;
  /** Open letters in all (not only this page). */
  openCount: number;
}

export interface DeadLetterFilter {
  type?: string;
  errorCode?: string;
  /** Created at or after / before. */
  fromMs?: number;
  toMs?: number;
}

export interface DeadLetterAction {
  id: number;
  resolution: 'retried' | 'discarded';
}

export interface BulkRetry {
  retried: number;
  ids: number[];
}

export interface PayoutSummary {
  payoutId: string;
  account: string;
  currency: string;
  amount: number;
  arrivalDateMs: number | null;
  status: 'reconciled' | 'mismatched' | 'pending' | 'not_reconcilable' | 'failed' | 'reversed';
  /** Payout amount minus the sum of its balance transactions (minor units); 0 when reconciled. */
  differenceMinor: number | null;
  reason: string | null;
  dynamicsUrl: string | null;
}

export interface PayoutPage {
  payouts: PayoutSummary[];
  nextCursor: string | null;
}

export interface JournalLineDetail {
  account: string;
  description: string;
  debitMinor: number;
  creditMinor: number;
  currency: string;
  /**
   * What the line sums: its journal group (gross, fees, refunds, disputes, adjustments, balance, clearing),
   * from the Stripe reporting categories mapped to it; null when the row has none.
   */
  group: string | null;
}

export interface PayoutDetail extends PayoutSummary {
  lines: JournalLineDetail[];
}

/** The service's configuration as it runs, secrets shown as `••••` plus their last four characters at most. */
export interface Settings {
  sections: Array<{ name: string; entries: Array<{ key: string; value: string; secret: boolean }> }>;
}

export interface MappingVersionSummary {
  version: number;
  createdAtMs: number;
  createdBy: string;
  note: string | null;
  active: boolean;
  /** sha256 of the files of this version. */
  hash: string;
}

export interface MappingVersionList {
  versions: MappingVersionSummary[];
}

/** `GET /console/api/mappings/:version`: the version's files, path → text (`payments.yaml`, `lookups/…`). */
export interface MappingVersionFiles extends MappingVersionSummary {
  files: Record<string, string>;
}

export interface MappingFileDiff {
  file: string;
  change: 'added' | 'removed' | 'changed';
  /** Unified diff from `from`'s file to `to`'s. */
  patch: string;
}

export interface MappingDiff {
  from: number;
  to: number;
  /** Only the files that differ. */
  files: MappingFileDiff[];
}

export interface MappingVersionCreate {
  /** The whole set: every mapping file and lookup file, path → text. */
  files: Record<string, string>;
  note?: string;
  /** Activate it at once (default false). */
  activate?: boolean;
}

export interface MappingActivated {
  active: number;
  previous: number | null;
}

/** An inbox event (`inboxId`, a Stripe event) or an event given as it is (`payload`). */
export interface MappingDryRunRequest {
  version: number;
  inboxId?: number;
  payload?: unknown;
}

/** A lookup of a mapped row: bound to the first target table's row `id`, or to the row whose column matches. */
export interface BoundLink {
  column: string;
  /** The target tables, in the order they are looked in. */
  tables: string[];
  id: string | null;
  match: { column: string; value: string } | null;
}

export interface MappedRows {
  mapping: string;
  table: string;
  /** False when the mapping's `when` does not hold for the object. */
  applies: boolean;
  rows: Array<{
    table: string;
    key: Record<string, unknown>;
    row: Record<string, unknown>;
    /** The lookups the row binds: a row by its GUID (`id`), or the one found by a column's value (`match`). */
    links?: BoundLink[];
  }>;
  /** The mapping engine's error for this object, when the mapping fails on it. */
  error: string | null;
}

/** The rows the event's object maps to under `version`, beside those under the active version. */
export interface MappingDryRun {
  eventId: string;
  type: string;
  objectType: string;
  version: { version: number; mappings: MappedRows[] };
  active: { version: number; mappings: MappedRows[] };
}

/** Stripe events applied, skipped or dead-lettered, by type (or `prefix.*`) and when Stripe created them. */
export interface MappingReplayRequest {
  type?: string;
  fromMs?: number;
  toMs?: number;
}

/**
 * The events queued to be applied again under the active version. An event older than the last one applied
 * to its object is superseded rather than applied, so the newest state stays.
 */
export interface MappingReplay {
  queued: number;
  activeVersion: number | null;
}

/** A column of the table model, as the mapping studio shows it. */
export interface StudioColumn {
  name: string;
  displayName: string;
  type: string;
  required: boolean;
  /** Text columns only. */
  maxLength: number | null;
  /** Choice columns: the option set's values (`externalValue` is Stripe's spelling when it differs). */
  options: Array<{ value: number; label: string; externalValue: string | null }> | null;
  /** Lookups are set by `links:`, keys by `key:`, system columns by Dataverse: not by a column expression. */
  mappable: boolean;
}

export interface StudioTable {
  table: string;
  displayName: string;
  columns: StudioColumn[];
}

/** A recorded Stripe event of the sample's object type, to preview a mapping with. */
export interface StudioEventChoice {
  /** The inbox id; null for the repository's recorded example. */
  inboxId: number | null;
  eventId: string;
  type: string;
  objectId: string;
  receivedAtMs: number | null;
  /** The newest event of the type of an object with an open dead letter (these come first). */
  deadLettered?: boolean;
}

export interface StudioSample {
  objectType: string;
  /** Where the sample comes from: an inbox event of the type (see `events`), or the repository's recorded example. */
  source: 'inbox' | 'fixture';
  /** The sample event (its `data.object` is the object mapped). */
  event: unknown;
  fields: Array<{ path: string; value: unknown }>;
  /**
   * For each object with an open dead letter, its newest event of the object type; then recent inbox events of
   * the type (newest first); then the recorded example. The sample is the first of them.
   */
  events: StudioEventChoice[];
}

export interface StudioSuggestRequest {
  table: string;
  /** The Stripe object (or event) the fields are taken from. */
  sample: unknown;
  /** Columns the mapping fills already: left out. */
  mapped?: string[];
}

export interface StudioSuggestions {
  columns: Array<{
    column: string;
    type: string;
    suggestions: Array<{ column: string; source: string; expression: string; score: number; reason: string }>;
  }>;
}

/** An edited mapping file previewed against an event: the file replaces its namesake in `baseVersion`. */
export interface StudioPreviewRequest {
  file: string;
  text: string;
  /** The version whose other files complete the set; the active one by default. */
  baseVersion?: number;
  inboxId?: number;
  payload?: unknown;
}

/** The rows the edited set writes for the event, beside those the active version writes. */
export interface StudioPreview {
  eventId: string;
  type: string;
  objectType: string;
  edited: { mappings: MappedRows[] };
  active: { version: number; mappings: MappedRows[] };
}

/** A mapping of a file as the studio edits it. */
export interface StudioFileMapping {
  name: string;
  source: string;
  table: string;
  /** Column → its expression (or constant, or default) as text. */
  columns: Record<string, string>;
  keys: string[];
  links: string[];
  /** Each link (lookup column) as the file spells it. */
  linkSpecs: Record<string, StudioLink>;
}

/** A link of a mapping: the target row's GUID (`id`), or the target column matched (`match`) and its `value`. */
export interface StudioLink {
  id: string | null;
  match: string | null;
  value: string | null;
  /** The tables looked in, when the file names them (else the lookup column's targets). */
  targets: string[] | null;
}

/** A mapping file's text, read (without `set`) or with one column of one mapping set to an expression. */
export interface StudioEditRequest {
  text: string;
  set?: { mapping: string; column: string; expression: string };
  /**
   * A link's `id` or `value` set to an expression. The edited file (named `file`) is compiled by the mapping
   * engine with the active version's other files first: an expression it refuses is 422 with its message.
   */
  setLink?: { file: string; mapping: string; link: string; field: 'id' | 'value'; expression: string };
}

export interface StudioEdit {
  text: string;
  mappings: StudioFileMapping[];
}
