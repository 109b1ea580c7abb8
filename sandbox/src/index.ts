/** The sandbox's public surface: the runner, its users and token helper, and the UI harness. */
export { parseSandboxArgs, runSandbox } from './cli';
export type { RunningPart, SandboxOptions, SandboxPart } from './cli';
export { freePort, SANDBOX_USERS } from './parts/run';
export { requestToken, type ScriptCredentials } from './parts/token';
export { startHarness, type Harness } from './harness';
