export { startHarness } from './server';
export type { Harness, HarnessOptions, HarnessPage, PrivilegeName, WebApiRequestRecord } from './server';
export { parseControlManifest, parseResx } from './manifest';
export type { ControlManifestInfo, ControlProperty } from './manifest';
