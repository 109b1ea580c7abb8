/**
 * Access tokens for Dataverse: an @azure/identity credential chosen by configuration, and a cache that
 * asks it again only shortly before the token expires (one token call per hour, not per request).
 */
import {
  ClientCertificateCredential,
  ClientSecretCredential,
  DefaultAzureCredential,
  ManagedIdentityCredential,
  type AccessToken,
  type TokenCredential,
} from '@azure/identity';

export type CredentialKind = 'client-secret' | 'certificate' | 'managed-identity' | 'default';

export interface CredentialConfig {
  kind: CredentialKind;
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  /** PEM file holding the private key and the certificate. */
  certificatePath?: string;
  /** Entra ID host, e.g. `https://login.microsoftonline.com` (default) or a local test endpoint. */
  authorityHost?: string;
  /** Must be true for an authority host Entra's instance discovery does not know (a local endpoint). */
  disableInstanceDiscovery?: boolean;
}

/** The environment variables the service reads each setting from (those of @azure/identity). */
const ENV_NAMES: Partial<Record<keyof CredentialConfig, string>> = {
  tenantId: 'AZURE_TENANT_ID',
  clientId: 'AZURE_CLIENT_ID',
  clientSecret: 'AZURE_CLIENT_SECRET',
  certificatePath: 'AZURE_CLIENT_CERTIFICATE_PATH',
};

function required(config: CredentialConfig, ...names: (keyof CredentialConfig)[]): void {
  const missing = names.filter((n) => !config[n]);
  if (missing.length > 0) {
    throw new Error(
      `Dataverse credential '${config.kind}' needs ${missing.join(', ')}: set ${missing.map((n) => ENV_NAMES[n] ?? n).join(', ')}.`,
    );
  }
}

/** The @azure/identity credential for a configuration; a missing setting is named in the error. */
export function createCredential(config: CredentialConfig): TokenCredential {
  const options = {
    ...(config.authorityHost ? { authorityHost: config.authorityHost } : {}),
    ...(config.disableInstanceDiscovery !== undefined
      ? { disableInstanceDiscovery: config.disableInstanceDiscovery }
      : {}),
  };
  switch (config.kind) {
    case 'client-secret':
      required(config, 'tenantId', 'clientId', 'clientSecret');
      return new ClientSecretCredential(config.tenantId!, config.clientId!, config.clientSecret!, options);
    case 'certificate':
      required(config, 'tenantId', 'clientId', 'certificatePath');
      return new ClientCertificateCredential(
        config.tenantId!,
        config.clientId!,
        { certificatePath: config.certificatePath! },
        options,
      );
    case 'managed-identity':
      // A user-assigned identity is named by its client id; without one the system-assigned identity is used.
      return config.clientId
        ? new ManagedIdentityCredential({ clientId: config.clientId })
        : new ManagedIdentityCredential();
    case 'default':
      return new DefaultAzureCredential({
        ...options,
        ...(config.tenantId ? { tenantId: config.tenantId } : {}),
        ...(config.clientId ? { managedIdentityClientId: config.clientId } : {}),
      });
    default:
      throw new Error(
        `Unknown Dataverse credential kind '${String((config as { kind: unknown }).kind)}': use client-secret, certificate, managed-identity or default.`,
      );
  }
}

/** A token as a string, or with its expiry (as @azure/identity gives it). */
export type TokenSource = () => Promise<string | { token: string; expiresOnTimestamp: number }>;

export interface TokenProvider {
  /** A valid token, from the cache when it has more than the refresh margin left. */
  getToken(): Promise<string>;
  /** Forget the cached token (after a 401), so the next call asks again. */
  invalidate(): void;
}

/** The scope for an environment: `https://org.crm.dynamics.com/.default` from any URL under it. */
export function scopeFor(baseUrl: string): string {
  return `${new URL(baseUrl).origin}/.default`;
}

/** Expiry from a JWT's `exp`, for token sources that give a bare string. */
function jwtExpiry(token: string): number | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

const REFRESH_MARGIN_MS = 5 * 60_000;
const UNKNOWN_EXPIRY_CACHE_MS = 5 * 60_000;

/** How long a token request may take before it counts as Entra not answering (a transient failure). */
export const TOKEN_TIMEOUT_MS = 30_000;

export function createTokenProvider(
  source: { getToken: TokenSource } | { credential: TokenCredential; scope: string },
  now: () => number = Date.now,
  timeoutMs = TOKEN_TIMEOUT_MS,
): TokenProvider {
  const fetchToken: TokenSource =
    'credential' in source
      ? async () => {
          const token: AccessToken | null = await source.credential.getToken(source.scope);
          if (!token) throw new Error(`The credential returned no token for ${source.scope}.`);
          return token;
        }
      : source.getToken;

  let cached: { token: string; refreshAt: number; expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;

  const refresh = (): Promise<string> => {
    pending ??= (async () => {
      try {
        // A token request that never settles would hold every Dataverse request behind it: it is given up.
        const got = await withTimeout(fetchToken(), timeoutMs);
        const token = typeof got === 'string' ? got : got.token;
        const obtained = now();
        const expiresAt =
          (typeof got === 'string' ? jwtExpiry(got) : got.expiresOnTimestamp) ??
          obtained + UNKNOWN_EXPIRY_CACHE_MS;
        // Refresh five minutes early, or halfway through a token that lives less than ten minutes.
        const margin = Math.min(REFRESH_MARGIN_MS, Math.max(0, (expiresAt - obtained) / 2));
        cached = { token, expiresAt, refreshAt: expiresAt - margin };
        return token;
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };

  return {
    async getToken() {
      const t = now();
      if (cached && t < cached.refreshAt) return cached.token;
      if (cached && t < cached.expiresAt - 10_000) {
        // Still valid: refresh, but fall back to the current token if the refresh fails.
        const current = cached.token;
        return refresh().catch(() => current);
      }
      return refresh();
    },
    invalidate() {
      cached = undefined;
    },
  };
}

/** The promise's value, or an error once `ms` have passed without one (the timer does not hold the process). */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`No token within ${ms} ms`)), ms);
    timer.unref?.();
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
