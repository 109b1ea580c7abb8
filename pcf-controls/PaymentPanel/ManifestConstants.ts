/** Property names as the manifest declares them. */
export const ManifestConstants = {
  boundField: 'boundField',
  pollIntervalSeconds: 'pollIntervalSeconds',
} as const;

export const DEFAULT_POLL_SECONDS = 3;
/** Bounds keep a mistyped setting from flooding the Web API or leaving the user waiting for minutes. */
export const MIN_POLL_SECONDS = 1;
export const MAX_POLL_SECONDS = 60;
