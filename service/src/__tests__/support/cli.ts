/**
 * Test support for the service CLI: the environment it needs on the Stripe and Dataverse emulators, and an io
 * that collects its output and error lines.
 */
import type { CliIo } from '../../cli';
import type { Store } from '../../store';

/** The service environment on the emulators at `stripe` and `dataverseUrl` (no Dataverse auth), plus `extra`. */
export function cliEnv(
  stripe: { apiKey: string; url: string },
  dataverseUrl: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    STRIPE_API_KEY: stripe.apiKey,
    STRIPE_MODE: 'test',
    STRIPE_API_BASE: stripe.url,
    STRIPE_WEBHOOK_SECRET: 'whsec_test',
    DATAVERSE_URL: dataverseUrl,
    DATAVERSE_AUTH: 'none',
    DATAVERSE_WEBHOOK_KEY: 'a-key-of-at-least-16',
    ADMIN_API_KEY: 'an-admin-key-of-at-least-32-characters',
    ...extra,
  };
}

/** An io on `env` (and `store`, when given) whose printed lines land in `out` and `err`. */
export function collectingIo(
  env: Record<string, string>,
  store?: Store,
): { io: CliIo; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { env, out: (l) => out.push(l), err: (l) => err.push(l), ...(store ? { store } : {}) };
  return { io, out, err };
}
