/**
 * Console sign-in with Microsoft Entra ID (OpenID Connect, authorization code flow with PKCE), through
 * openid-client: `GET /console/signin/entra` sends the browser to the tenant's authorize endpoint, keeping the
 * state, nonce and PKCE verifier in a short-lived cookie sealed with AES-256-GCM (so no replica needs shared
 * state); `GET /console/signin/entra/callback` redeems the code, has the library validate the id token (issuer,
 * audience, signature against the tenant's keys, expiry, nonce), requires the app role or a group, and then
 * gives the same `stc_console` session cookie the admin key buys, with method `entra`.
 *
 * Failures answer a short page that says what happened and what to do; tokens, codes and the client secret are
 * never logged.
 */
import crypto from 'node:crypto';
import type Router from '@koa/router';
import type Koa from 'koa';
import { custom, errors, generators, Issuer, type BaseClient, type IdTokenClaims } from 'openid-client';
import type { ConsoleEntraSettings } from '../config/console-entra';
import type { Logger } from '../observability/log';
import { SESSION_MS, sessionCookie, sessionSigner } from './session';

export const ENTRA_SIGNIN_PATH = '/console/signin/entra';
const CALLBACK_PATH = `${ENTRA_SIGNIN_PATH}/callback`;
const FLOW_COOKIE = 'stc_console_signin';
/** Time to sign in at Entra ID (and consent) before the flow cookie lapses. */
const FLOW_MS = 10 * 60 * 1000;
const SCOPE = 'openid profile email';

export interface EntraSignInDeps {
  settings: ConsoleEntraSettings;
  /**
   * PEM of CAs to trust for the authority beyond Node's own (a local Entra ID emulator); a deployment that
   * needs one sets NODE_EXTRA_CA_CERTS instead.
   */
  ca?: string;
}

interface Flow {
  state: string;
  nonce: string;
  verifier: string;
  /** Ends at (ms since the epoch). */
  exp: number;
}

/** Seals and opens the flow cookie with a key derived (HKDF) from the admin key, like the session's. */
function flowSealer(adminApiKey: string) {
  const key = Buffer.from(
    crypto.hkdfSync('sha256', adminApiKey, 'stc-console-signin', 'stc_console_signin v1 aes-256-gcm', 32),
  );
  return {
    seal(flow: Flow): string {
      const iv = crypto.randomBytes(12);
      const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(JSON.stringify(flow), 'utf8'), cipher.final()]);
      return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
    },
    open(value: string | undefined, nowMs: number): Flow | null {
      if (!value) return null;
      const raw = Buffer.from(value, 'base64url');
      if (raw.length < 12 + 16 + 2) return null;
      try {
        const decipher = crypto.createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
        decipher.setAuthTag(raw.subarray(raw.length - 16));
        const text = Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]);
        const flow = JSON.parse(text.toString('utf8')) as Flow;
        return typeof flow.exp === 'number' && flow.exp > nowMs ? flow : null;
      } catch {
        return null;
      }
    },
  };
}

/**
 * The flow cookie: HttpOnly, only sent to the sign-in routes, SameSite=Lax because the callback is a top-level
 * navigation coming from Entra ID's site (a Strict cookie would not be sent with it).
 */
function flowCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  const parts = [
    `${FLOW_COOKIE}=${value}`,
    `Path=${ENTRA_SIGNIN_PATH}`,
    `Max-Age=${maxAgeSeconds}`,
    'HttpOnly',
    'SameSite=Lax',
  ];
  if (secure) parts.push('Secure');
  return parts.join('; ');
}

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

/** A short page that says why the sign-in did not happen and leads back to the sign-in page. */
function signInFailed(ctx: Koa.Context, status: number, message: string): void {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'");
  ctx.body = [
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in failed · Stripe connector</title>',
    '<meta name="viewport" content="width=device-width, initial-scale=1"></head>',
    '<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; padding: 0 1rem">',
    '<h1 style="font-size: 1.4rem">You are not signed in</h1>',
    `<p id="message">${escapeHtml(message)}</p>`,
    '<p><a href="/console/">Back to the sign-in page</a></p>',
    '</body></html>',
  ].join('\n');
}

/** The first line of Entra's error description (`AADSTS65004: User declined …`), without trace ids. */
function entraDescription(error: errors.OPError): string {
  const first = (error.error_description ?? '').split(/\r?\n/)[0]?.trim();
  const code = error.error ?? 'error';
  return first ? `${code}: ${first}` : code;
}

/** Who is let in: the required app role, or membership of an allowed group. */
function allowed(claims: IdTokenClaims, settings: ConsoleEntraSettings): boolean {
  const roles = Array.isArray(claims.roles) ? (claims.roles as unknown[]) : [];
  const groups = Array.isArray(claims.groups) ? (claims.groups as unknown[]) : [];
  if (settings.requiredRole !== undefined && roles.includes(settings.requiredRole)) return true;
  return settings.allowedGroups.some((group) =>
    groups.some((g) => String(g).toLowerCase() === group.toLowerCase()),
  );
}

/** True when Entra left the groups out of the token (more than 200: "group overage"). */
function groupOverage(claims: IdTokenClaims): boolean {
  const names = claims._claim_names as Record<string, unknown> | undefined;
  return typeof names === 'object' && names !== null && 'groups' in names;
}

function accessNeeded(settings: ConsoleEntraSettings, claims: IdTokenClaims): string {
  const overage =
    settings.allowedGroups.length > 0 && groupOverage(claims)
      ? ' (Microsoft Entra ID sent no groups for this user, who is in more than 200: use the app role, or have the app registration emit only the groups assigned to the application)'
      : '';
  return accessWays(settings) + overage;
}

function accessWays(settings: ConsoleEntraSettings): string {
  const ways = [
    settings.requiredRole !== undefined ? `the app role ${settings.requiredRole}` : undefined,
    settings.allowedGroups.length > 0 ? 'membership of one of the allowed groups' : undefined,
  ].filter(Boolean);
  return ways.join(' or ');
}

/** The OpenID Connect client, from the tenant's discovery document (fetched once; again after a failure). */
function relyingParty(deps: EntraSignInDeps): () => Promise<BaseClient> {
  const { settings } = deps;
  const httpOptions = deps.ca ? () => ({ ca: deps.ca }) : undefined;
  let client: Promise<BaseClient> | undefined;
  const discover = async (): Promise<BaseClient> => {
    // A subclass carries the CA for discovery without changing openid-client's defaults for the process.
    class TenantIssuer extends Issuer<BaseClient> {}
    if (httpOptions) TenantIssuer[custom.http_options] = httpOptions;
    const issuer = await TenantIssuer.discover(`${settings.authorityHost}/${settings.tenantId}/v2.0`);
    if (httpOptions) issuer[custom.http_options] = httpOptions;
    const rp = new issuer.Client({
      client_id: settings.clientId,
      client_secret: settings.clientSecret,
      redirect_uris: [settings.redirectUri],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
      id_token_signed_response_alg: 'RS256',
    });
    if (httpOptions) rp[custom.http_options] = httpOptions;
    rp[custom.clock_tolerance] = 120;
    return rp;
  };
  return () => {
    client ??= discover().catch((error: unknown) => {
      client = undefined;
      throw error;
    });
    return client;
  };
}

interface SignIn {
  settings: ConsoleEntraSettings;
  logger: Logger;
  now: () => number;
  sealer: ReturnType<typeof flowSealer>;
  signer: ReturnType<typeof sessionSigner>;
  client: () => Promise<BaseClient>;
}

/** Cookies marked Secure over https, also when a TLS proxy in front of the service makes the request look plain. */
function secure(signIn: SignIn, ctx: Koa.Context): boolean {
  return ctx.secure || signIn.settings.redirectUri.startsWith('https://');
}

function unreachable(signIn: SignIn, ctx: Koa.Context, error: unknown): void {
  signIn.logger.warn(
    { reason: (error as Error).message },
    'console Entra ID sign-in: the authority did not answer',
  );
  signInFailed(
    ctx,
    502,
    'Microsoft Entra ID could not be reached or did not answer as expected. Try again in a moment; if it keeps failing, check CONSOLE_ENTRA_TENANT_ID and CONSOLE_ENTRA_AUTHORITY_HOST.',
  );
}

/** `GET /console/signin/entra`: to the authorize endpoint, with PKCE (S256), state and nonce. */
async function startSignIn(signIn: SignIn, ctx: Koa.Context): Promise<void> {
  ctx.set('Cache-Control', 'no-store');
  let rp: BaseClient;
  try {
    rp = await signIn.client();
  } catch (error) {
    return unreachable(signIn, ctx, error);
  }
  const flow: Flow = {
    state: generators.state(),
    nonce: generators.nonce(),
    verifier: generators.codeVerifier(),
    exp: signIn.now() + FLOW_MS,
  };
  ctx.set('Set-Cookie', flowCookie(signIn.sealer.seal(flow), FLOW_MS / 1000, secure(signIn, ctx)));
  ctx.redirect(
    rp.authorizationUrl({
      scope: SCOPE,
      response_mode: 'query',
      state: flow.state,
      nonce: flow.nonce,
      code_challenge: generators.codeChallenge(flow.verifier),
      code_challenge_method: 'S256',
    }),
  );
}

/** The id token's claims once the library has redeemed the code and validated it; null when answered. */
async function validatedClaims(signIn: SignIn, ctx: Koa.Context, flow: Flow): Promise<IdTokenClaims | null> {
  let rp: BaseClient;
  try {
    rp = await signIn.client();
  } catch (error) {
    unreachable(signIn, ctx, error);
    return null;
  }
  try {
    const tokens = await rp.callback(signIn.settings.redirectUri, rp.callbackParams(ctx.req), {
      state: flow.state,
      nonce: flow.nonce,
      code_verifier: flow.verifier,
      response_type: 'code',
    });
    return tokens.claims();
  } catch (error) {
    if (error instanceof errors.OPError) {
      signIn.logger.warn({ error: error.error }, 'console Entra ID sign-in refused by Entra ID');
      const denied = error.error === 'access_denied' || error.error === 'consent_required';
      signInFailed(
        ctx,
        denied ? 403 : 400,
        `Microsoft Entra ID did not sign you in (${entraDescription(error)}). Start again from the sign-in page.`,
      );
    } else if (error instanceof errors.RPError) {
      const stateMismatch = /^state mismatch|^state missing/.test(error.message);
      signIn.logger.warn(
        { reason: stateMismatch ? 'state mismatch' : error.message.replace(/, got: .*$/, '') },
        'console Entra ID sign-in: the answer did not validate',
      );
      signInFailed(
        ctx,
        400,
        stateMismatch
          ? 'The answer from Microsoft Entra ID does not belong to the sign-in this browser started (state mismatch). Start again from the sign-in page.'
          : 'The answer from Microsoft Entra ID did not validate (its id token). Start again from the sign-in page.',
      );
    } else {
      unreachable(signIn, ctx, error);
    }
    return null;
  }
}

/** `GET /console/signin/entra/callback`: the code redeemed, the user checked, the session cookie given. */
async function finishSignIn(signIn: SignIn, ctx: Koa.Context): Promise<void> {
  ctx.set('Cache-Control', 'no-store');
  const { settings } = signIn;
  const flow = signIn.sealer.open(ctx.cookies.get(FLOW_COOKIE), signIn.now());
  const clearFlow = flowCookie('', 0, secure(signIn, ctx));
  ctx.set('Set-Cookie', clearFlow);
  if (!flow) {
    signInFailed(
      ctx,
      400,
      'This sign-in was not started in this browser, or took longer than 10 minutes. Start again from the sign-in page.',
    );
    return;
  }
  const claims = await validatedClaims(signIn, ctx, flow);
  if (!claims) return;
  const name = String(claims.name ?? claims.preferred_username ?? claims.sub);
  const user = { user: claims.preferred_username, oid: claims.oid };
  if (!allowed(claims, settings)) {
    signIn.logger.warn(user, 'console Entra ID sign-in refused: the user lacks the role or group');
    signInFailed(
      ctx,
      403,
      `${name} is signed in to Microsoft Entra ID but may not operate this connector: it needs ${accessNeeded(settings, claims)}. Ask an administrator of the tenant to assign it.`,
    );
    return;
  }
  const token = signIn.signer.sign({ name, method: 'entra', exp: signIn.now() + SESSION_MS });
  ctx.set('Set-Cookie', [clearFlow, sessionCookie(token, SESSION_MS / 1000, secure(signIn, ctx))]);
  signIn.logger.info(user, 'console sign-in with Entra ID');
  ctx.redirect('/console/');
}

/** `GET /console/signin/entra` and `GET /console/signin/entra/callback`. */
export function registerEntraSignIn(
  router: Router,
  options: EntraSignInDeps & { adminApiKey: string; logger: Logger; now?: () => number },
): void {
  const signIn: SignIn = {
    settings: options.settings,
    logger: options.logger,
    now: options.now ?? Date.now,
    sealer: flowSealer(options.adminApiKey),
    signer: sessionSigner(options.adminApiKey),
    client: relyingParty(options),
  };
  router.get(ENTRA_SIGNIN_PATH, (ctx) => startSignIn(signIn, ctx));
  router.get(CALLBACK_PATH, (ctx) => finishSignIn(signIn, ctx));
}
