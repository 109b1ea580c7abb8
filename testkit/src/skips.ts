/**
 * Suites that need something this machine may lack (a PostgreSQL server, Chromium, the built controls) are
 * declared through `describeWhen`: where it is missing they are skipped with a marker in their title that the
 * skip-summary reporter gathers into one summary at the end of `npm test`, saying what was skipped, why, and how
 * to enable it. Where CI requires the suites (`STC_REQUIRE_POSTGRES=1`, `STC_REQUIRE_BROWSER=1`), a missing
 * part fails the run instead.
 */

export interface Requirement {
  /** Why the suites cannot run here, or null when they can. */
  missing: string | null;
  /** What enables them: a command or a variable to set. */
  enable: string;
  /** The variable that turns a skip into a failure (CI sets it). */
  requiredBy: string;
}

/** The marker the reporter parses: `[skipped: <why> | enable: <how>]`. */
export function skipMarker(missing: string, enable: string): string {
  return `[skipped: ${missing} | enable: ${enable}]`;
}

/** Throws when a required part is missing (CI), so the run fails instead of skipping. */
export function checkRequired(requirement: Requirement, env: NodeJS.ProcessEnv = process.env): void {
  if (requirement.missing && env[requirement.requiredBy] === '1')
    throw new Error(`${requirement.requiredBy}=1 but ${requirement.missing}: ${requirement.enable}`);
}

/** `describe` when the requirement is met; otherwise a skipped `describe` whose title carries the marker. */
export function describeWhen(requirement: Requirement, title: string, body: () => void): void {
  checkRequired(requirement);
  if (requirement.missing)
    describe.skip(`${title} ${skipMarker(requirement.missing, requirement.enable)}`, body);
  else describe(title, body);
}

export const POSTGRES_TEST_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** The PostgreSQL suites: STC_TEST_DATABASE_URL names the server. */
export function postgresRequirement(env: NodeJS.ProcessEnv = process.env): Requirement {
  return {
    missing: env.STC_TEST_DATABASE_URL ? null : 'STC_TEST_DATABASE_URL is not set',
    enable: `STC_TEST_DATABASE_URL=${POSTGRES_TEST_URL} npm test`,
    requiredBy: 'STC_REQUIRE_POSTGRES',
  };
}
