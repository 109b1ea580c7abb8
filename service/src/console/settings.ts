/**
 * `GET /console/api/settings`: the configuration the service runs with, in sections, every secret masked.
 * A secret is any value under a key that names one (key, secret, password, token, credential) and holds text, a password
 * or secret query value inside a URL, and alert webhook URLs (their path is the secret). As a last guard,
 * no entry may contain any secret value found in the configuration, whatever key it was under.
 */
import type Router from '@koa/router';
import { maskUrl } from '../alerts';
import type { ServiceConfig } from '../config';
import type { Settings } from './contract';

const SECRET_KEY = /key|secret|password|passwd|token|credential/i;
/** Keys that name a secret but hold none: the header a key is sent in, the key columns of a mapping. */
const NOT_SECRET = /header|keys?columns|keyid$/i;
const MASK = '••••';

const SECTION_NAMES: Record<string, string> = {
  stripe: 'Stripe',
  dataverse: 'Dataverse',
  store: 'Store',
  http: 'HTTP',
  worker: 'Workers',
  orders: 'Orders',
  reconciliation: 'Reconciliation',
  reporting: 'Reporting',
  outbound: 'Dynamics 365 to Stripe',
  alerts: 'Alerts',
  consoleEntra: 'Console sign-in (Entra ID)',
};

/** `••••` and the last four characters of a long secret; only `••••` for a short one. */
export function maskSecret(value: string): string {
  return value.length >= 16 ? `${MASK}${value.slice(-4)}` : MASK;
}

const isSecretKey = (key: string) => SECRET_KEY.test(key) && !NOT_SECRET.test(key);

/** A URL with its password and secret-looking query values masked; null when the text is not a URL. */
function maskedUrl(text: string): { value: string; masked: boolean } | null {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return null;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  let masked = false;
  if (url.password) {
    url.password = MASK;
    masked = true;
  }
  for (const [name] of [...url.searchParams]) {
    if (SECRET_KEY.test(name) || /^(sig|code)$/i.test(name)) {
      url.searchParams.set(name, MASK);
      masked = true;
    }
  }
  return { value: masked ? decodeURIComponent(url.toString()) : text, masked };
}

interface Entry {
  key: string;
  value: string;
  secret: boolean;
}

/** Every secret value of the configuration, to check no entry shows one. */
function secretValues(value: unknown, key = '', out: string[] = []): string[] {
  if (typeof value === 'string') {
    if (isSecretKey(key) && value.length > 0) out.push(value);
    const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? URL.parse(value) : null;
    if (url?.password) out.push(decodeURIComponent(url.password));
  } else if (Array.isArray(value)) {
    value.forEach((item) => secretValues(item, key, out));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) secretValues(v, k, out);
  }
  return out;
}

function flatten(value: unknown, path: string, key: string, out: Entry[], inReceivers: boolean): void {
  if (value === undefined || value === null) {
    out.push({ key: path, value: '(not set)', secret: false });
    return;
  }
  if (Array.isArray(value)) {
    if (value.every((item) => typeof item !== 'object' || item === null)) {
      const items = value.map((item) => describe(String(item), key, inReceivers));
      out.push({
        key: path,
        value: items.map((i) => i.value).join(', ') || '(none)',
        secret: items.some((i) => i.secret),
      });
      return;
    }
    value.forEach((item, i) => flatten(item, `${path}[${i}]`, key, out, inReceivers || key === 'receivers'));
    return;
  }
  if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value))
      flatten(v, path ? `${path}.${k}` : k, k, out, inReceivers || k === 'receivers');
    return;
  }
  // Numbers and flags are settings, never secrets.
  const shown =
    typeof value === 'string' ? describe(value, key, inReceivers) : { value: String(value), secret: false };
  out.push({ key: path, ...shown });
}

function describe(text: string, key: string, inReceivers: boolean): { value: string; secret: boolean } {
  // An alert webhook's URL is its credential (Teams, Slack): only its origin is shown.
  if (inReceivers && /^https?:\/\//i.test(text)) return { value: maskUrl(text), secret: true };
  if (isSecretKey(key)) return { value: maskSecret(text), secret: true };
  const url = maskedUrl(text);
  if (url) return { value: url.value, secret: url.masked };
  return { value: text, secret: false };
}

/** The configuration in sections, secrets masked (exported for the CLI and tests). */
export function maskedSettings(config: ServiceConfig): Settings {
  const general: Entry[] = [];
  const sections: Settings['sections'] = [];
  for (const [name, value] of Object.entries(config)) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const entries: Entry[] = [];
      flatten(value, '', name, entries, false);
      sections.push({ name: SECTION_NAMES[name] ?? name, entries });
    } else {
      flatten(value, name, name, general, false);
    }
  }
  if (general.length > 0) sections.unshift({ name: 'General', entries: general });
  // The last guard: a secret that reached an entry by a key not recognised is masked there too.
  const secrets = secretValues(config).filter((s) => s.length >= 4);
  for (const section of sections)
    for (const entry of section.entries)
      if (secrets.some((s) => entry.value.includes(s))) {
        entry.value = MASK;
        entry.secret = true;
      }
  return { sections };
}

export function registerSettings(router: Router, options: { config?: ServiceConfig }): void {
  router.get('/console/api/settings', async (ctx) => {
    const body: Settings = options.config ? maskedSettings(options.config) : { sections: [] };
    ctx.body = body;
  });
}
