/**
 * Microsoft Entra ID sign-in to the operator console (OpenID Connect, authorization code with PKCE): off unless
 * CONSOLE_ENTRA_TENANT_ID or CONSOLE_ENTRA_CLIENT_ID is set, and then complete or refused at start. A required
 * app role or a list of allowed groups is mandatory, so that not every user of the tenant operates the connector.
 */

export interface ConsoleEntraSettings {
  /** The tenant (id or domain), or `organizations` when `tenants` lists the tenants let in. */
  tenantId: string;
  /**
   * Multi-tenant sign-in (CONSOLE_ENTRA_TENANTS): through the `organizations` authority, only users of these
   * tenant ids, each id token's issuer checked as `<authorityHost>/<its tid>/v2.0`.
   */
  tenants?: string[];
  clientId: string;
  clientSecret: string;
  /** `https://login.microsoftonline.com` unless a national cloud (or a local emulator) is used. */
  authorityHost: string;
  /** `https://<service>/console/signin/entra/callback`, registered as the app's web redirect URI. */
  redirectUri: string;
  /** An app role (the id token's `roles` claim) that lets a user in, e.g. `Connector.Admin`. */
  requiredRole?: string;
  /** Group object ids (the id token's `groups` claim); a member of any of them is let in. */
  allowedGroups: string[];
  /** How often (minutes) a session's role or group is re-checked with a refresh at Entra ID; 10 when unset. */
  roleRecheckMinutes?: number;
}

export const CONSOLE_ENTRA_VARIABLES = [
  'CONSOLE_ENTRA_TENANT_ID',
  'CONSOLE_ENTRA_TENANTS',
  'CONSOLE_ENTRA_CLIENT_ID',
  'CONSOLE_ENTRA_CLIENT_SECRET',
  'CONSOLE_ENTRA_AUTHORITY_HOST',
  'CONSOLE_PUBLIC_URL',
  'CONSOLE_ENTRA_REQUIRED_ROLE',
  'CONSOLE_ENTRA_ALLOWED_GROUPS',
  'CONSOLE_ROLE_RECHECK_MINUTES',
] as const;

export const DEFAULT_ENTRA_AUTHORITY_HOST = 'https://login.microsoftonline.com';
export const ENTRA_CALLBACK_PATH = '/console/signin/entra/callback';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function httpsUrl(text: string): URL | null {
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : null;
  } catch {
    return null;
  }
}

/**
 * The console's Entra sign-in settings (undefined when it is off), or problems added to `problems`. No problem
 * message repeats the client secret.
 */
export function readConsoleEntraSettings(
  env: NodeJS.ProcessEnv,
  problems: string[],
): ConsoleEntraSettings | undefined {
  const value = (name: (typeof CONSOLE_ENTRA_VARIABLES)[number]) => (env[name] ?? '').trim();
  const tenants = value('CONSOLE_ENTRA_TENANTS')
    .split(/[\s,]+/)
    .filter(Boolean);
  const multiTenant = tenants.length > 0;
  const tenantId = value('CONSOLE_ENTRA_TENANT_ID') || (multiTenant ? 'organizations' : '');
  const clientId = value('CONSOLE_ENTRA_CLIENT_ID');
  if (!tenantId && !clientId) return undefined;
  const before = problems.length;
  const missing = (name: string) => problems.push(`${name} is required for the console's Entra ID sign-in`);
  if (!tenantId) missing('CONSOLE_ENTRA_TENANT_ID');
  if (multiTenant && tenantId !== 'organizations')
    problems.push(
      'CONSOLE_ENTRA_TENANTS signs users in through the organizations authority: leave CONSOLE_ENTRA_TENANT_ID empty (or organizations)',
    );
  if (tenants.some((tenant) => !GUID.test(tenant)))
    problems.push('CONSOLE_ENTRA_TENANTS must list tenant ids (GUIDs), comma apart');
  if (!clientId) missing('CONSOLE_ENTRA_CLIENT_ID');
  else if (!GUID.test(clientId))
    problems.push('CONSOLE_ENTRA_CLIENT_ID must be the app registration’s Application (client) ID, a GUID');
  const clientSecret = value('CONSOLE_ENTRA_CLIENT_SECRET');
  if (!clientSecret) missing('CONSOLE_ENTRA_CLIENT_SECRET');

  const authorityHost = (value('CONSOLE_ENTRA_AUTHORITY_HOST') || DEFAULT_ENTRA_AUTHORITY_HOST).replace(
    /\/+$/,
    '',
  );
  if (httpsUrl(authorityHost)?.protocol !== 'https:')
    problems.push(
      'CONSOLE_ENTRA_AUTHORITY_HOST must be an https URL such as https://login.microsoftonline.com',
    );

  const publicUrl = value('CONSOLE_PUBLIC_URL');
  const base = publicUrl ? httpsUrl(publicUrl) : null;
  if (!publicUrl) missing('CONSOLE_PUBLIC_URL');
  else if (!base)
    problems.push(
      'CONSOLE_PUBLIC_URL must be the service’s address as browsers reach it, e.g. https://stc.contoso.com',
    );

  const requiredRole = value('CONSOLE_ENTRA_REQUIRED_ROLE') || undefined;
  const allowedGroups = value('CONSOLE_ENTRA_ALLOWED_GROUPS')
    .split(/[\s,]+/)
    .filter(Boolean);
  if (!requiredRole && allowedGroups.length === 0)
    problems.push(
      'CONSOLE_ENTRA_REQUIRED_ROLE (an app role such as Connector.Admin) or CONSOLE_ENTRA_ALLOWED_GROUPS (group object ids) is required, so that not every user of the tenant can operate the connector',
    );
  if (allowedGroups.some((group) => !GUID.test(group)))
    problems.push('CONSOLE_ENTRA_ALLOWED_GROUPS must list group object ids (GUIDs), comma apart');
  const recheckText = value('CONSOLE_ROLE_RECHECK_MINUTES');
  const roleRecheckMinutes = recheckText === '' ? 10 : Number(recheckText);
  if (!Number.isInteger(roleRecheckMinutes) || roleRecheckMinutes < 1 || roleRecheckMinutes > 480)
    problems.push(
      'CONSOLE_ROLE_RECHECK_MINUTES must be a whole number of minutes from 1 to 480 (default 10)',
    );
  if (problems.length > before || !base) return undefined;

  return {
    tenantId,
    ...(multiTenant ? { tenants: tenants.map((tenant) => tenant.toLowerCase()) } : {}),
    clientId,
    clientSecret,
    authorityHost,
    // Only the origin counts: `https://stc.contoso.com/console` names the same service.
    redirectUri: `${base.origin}${ENTRA_CALLBACK_PATH}`,
    requiredRole,
    allowedGroups,
    roleRecheckMinutes,
  };
}
