/**
 * Console sign-in with Microsoft Entra ID (OpenID Connect, authorization code flow with PKCE), through
 * openid-client: `GET /console/signin/entra` sends the browser to the tenant's authorize endpoint, keeping the
 * state, nonce and PKCE verifier in a short-lived cookie sealed with AES-256-GCM (so no replica needs shared
 * state); `GET /console/signin/entra/callback` redeems the code, has the library validate the id token (issuer,
 * audience, signature against the tenant's keys, expiry, nonce), requires the app role or a group, and then
 * gives the same `stc_console` session cookie the admin key buys, with method `entra`.
 *
 * The session stays tied to Entra ID. The sign-in asks for `offline_access`; the refresh token and the id token
 * are kept in two more cookies (`stc_console_rt`, `stc_console_idt`), sealed with AES-256-GCM under a key derived
 * from the admin key and bound to the session by its id. Cookies rather than a table in the store: every replica
 * reads them without shared state (as the session itself), nothing is left behind when the browser drops them,
 * and a refresh token read out of one is of no use without the client secret (it is bound to this confidential
 * client). Two cookies because Entra's refresh and id tokens together can pass the 4 KB a browser keeps of one.
 * At most every CONSOLE_ROLE_RECHECK_MINUTES a request redeems the refresh token: the new id token must still
 * carry the role or group, else the session is refused (401 `session_ended`, cookies cleared); so is it when Entra
 * answers invalid_grant (sessions revoked, user disabled). When Entra cannot be reached the session goes on for up
 * to three intervals since the last good check, then is refused too.
 *
 * Sign-out clears the cookies and, when the discovery document has an `end_session_endpoint`, sends the browser
 * there with `id_token_hint` and `post_logout_redirect_uri` back to the console's sign-in page (OpenID Connect
 * RP-Initiated Logout 1.0, https://openid.net/specs/openid-connect-rpinitiated-1_0.html). The Microsoft identity
 * platform documents this as "Send a sign-out request"
 * (https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc#send-a-sign-out-request): GET
 * `https://login.microsoftonline.com/{tenant}/oauth2/v2.0/logout`; `post_logout_redirect_uri` must match one of the
 * redirect URIs registered for the app (so `<CONSOLE_PUBLIC_URL>/console/` is registered beside the callback),
 * else the user stays on Entra's "signed out" page; the user is signed out of Entra ID in that browser, which
 * ends the single sign-on other apps relied on there too.
 *
 * With CONSOLE_ENTRA_TENANTS the sign-in goes through the `organizations` authority and lets in the users of the
 * listed tenants only, each id token checked against its own tenant's issuer (`multiTenantCallback`).
 *
 * Failures answer a short page that says what happened and what to do; tokens, codes and the client secret are
 * never logged.
 */
import crypto from 'node:crypto';
import type Router from '@koa/router';
import type Koa from 'koa';
import {
  custom,
  errors,
  generators,
  Issuer,
  type BaseClient,
  type IdTokenClaims,
  type TokenSet,
} from 'openid-client';
import type { ConsoleEntraSettings } from '../config/console-entra';
import type { Logger } from '../observability/log';
import {
  apiError,
  SESSION_MS,
  sessionCookie,
  sessionSigner,
  type EntraSessions,
  type SessionClaims,
} from './session';
import type { ApiError } from './contract';
import { Agent } from 'node:https';
import { createRemoteJWKSet, decodeJwt, errors as joseErrors, jwtVerify } from 'jose';

export const ENTRA_SIGNIN_PATH = '/console/signin/entra';
const CALLBACK_PATH = `${ENTRA_SIGNIN_PATH}/callback`;
const FLOW_COOKIE = 'stc_console_signin';
/** Time to sign in at Entra ID (and consent) before the flow cookie lapses. */
const FLOW_MS = 10 * 60 * 1000;
const SCOPE = 'openid profile email offline_access';
const REFRESH_COOKIE = 'stc_console_rt';
const ID_TOKEN_COOKIE = 'stc_console_idt';
export const DEFAULT_ROLE_RECHECK_MINUTES = 10;
/** Entra unreachable: the session goes on until this many intervals since the last good check. */
const UNREACHABLE_INTERVALS = 3;

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

/** What the refresh cookie holds: the session it belongs to, the refresh token, the last good check. */
interface Held {
  sid: string;
  /** The tenant the session belongs to: its refreshes go to that tenant's client. */
  tenant: string;
  rt: string;
  checkedAt: number;
  exp: number;
}

/** What the id token cookie holds, for the sign-out's `id_token_hint`. */
interface HeldIdToken {
  sid: string;
  idt: string;
  exp: number;
}

/**
 * Seals and opens a cookie's JSON with AES-256-GCM under a key derived (HKDF) from the admin key, like the
 * session's; `purpose` keeps the keys of the flow, refresh and id token cookies apart.
 */
function sealer<T extends { exp: number }>(adminApiKey: string, salt: string, info: string) {
  const key = Buffer.from(crypto.hkdfSync('sha256', adminApiKey, salt, info, 32));
  return {
    seal(flow: T): string {
      const iv = crypto.randomBytes(12);
      const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(JSON.stringify(flow), 'utf8'), cipher.final()]);
      return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
    },
    open(value: string | undefined, nowMs: number): T | null {
      if (!value) return null;
      const raw = Buffer.from(value, 'base64url');
      if (raw.length < 12 + 16 + 2) return null;
      try {
        const decipher = crypto.createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
        decipher.setAuthTag(raw.subarray(raw.length - 16));
        const text = Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]);
        const flow = JSON.parse(text.toString('utf8')) as T;
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

/**
 * The OpenID Connect client of a tenant (the configured one by default; with CONSOLE_ENTRA_TENANTS, the
 * `organizations` authority, or the tenant a session belongs to), from its discovery document: fetched once,
 * again after a failure.
 */
function relyingParty(deps: EntraSignInDeps): (tenant?: string) => Promise<BaseClient> {
  const { settings } = deps;
  const httpOptions = deps.ca ? () => ({ ca: deps.ca }) : undefined;
  const clients = new Map<string, Promise<BaseClient>>();
  const discover = async (tenant: string): Promise<BaseClient> => {
    // A subclass carries the CA for discovery without changing openid-client's defaults for the process.
    class TenantIssuer extends Issuer<BaseClient> {}
    if (httpOptions) TenantIssuer[custom.http_options] = httpOptions;
    const issuer = await TenantIssuer.discover(`${settings.authorityHost}/${tenant}/v2.0`);
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
  return (tenant = settings.tenantId) => {
    let client = clients.get(tenant);
    if (!client) {
      client = discover(tenant).catch((error: unknown) => {
        clients.delete(tenant);
        throw error;
      });
      clients.set(tenant, client);
    }
    return client;
  };
}

interface SignIn {
  settings: ConsoleEntraSettings;
  logger: Logger;
  now: () => number;
  sealer: ReturnType<typeof sealer<Flow>>;
  refreshSealer: ReturnType<typeof sealer<Held>>;
  idTokenSealer: ReturnType<typeof sealer<HeldIdToken>>;
  signer: ReturnType<typeof sessionSigner>;
  client: (tenant?: string) => Promise<BaseClient>;
  /** A tenant's signing keys (its discovery document's `jwks_uri`), for the multi-tenant callback. */
  keys: (tenant: string, rp: BaseClient) => ReturnType<typeof createRemoteJWKSet>;
  recheckMs: number;
}

/** The refresh and id token cookies: HttpOnly, SameSite=Strict, under /console like the session's. */
function heldCookie(name: string, value: string, maxAgeSeconds: number, secure: boolean): string {
  return sessionCookie(value, maxAgeSeconds, secure).replace(/^stc_console=/, `${name}=`);
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

const STATE_MISMATCH =
  'The answer from Microsoft Entra ID does not belong to the sign-in this browser started (state mismatch). Start again from the sign-in page.';
const DID_NOT_VALIDATE =
  'The answer from Microsoft Entra ID did not validate (its id token). Start again from the sign-in page.';

/** A callback refused with a page of its own (multi-tenant sign-in). */
class CallbackRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

/**
 * The callback of a multi-tenant sign-in (CONSOLE_ENTRA_TENANTS, through `organizations`). openid-client 5
 * checks an id token's issuer against the discovery document's, which for `organizations` is the placeholder
 * `…/{tenantid}/v2.0` (it substitutes it only for login.microsoftonline.com, and then lets every tenant in), so
 * here the library redeems the code (`grant`) and the id token is verified with jose against its own tenant:
 * the tenant must be listed, and the signature (that tenant's keys), issuer `<authorityHost>/<tid>/v2.0`,
 * audience, expiry and nonce must hold. Later refreshes go through the tenant's own client, which openid-client
 * validates as usual.
 */
async function multiTenantCallback(
  signIn: SignIn,
  rp: BaseClient,
  ctx: Koa.Context,
  flow: Flow,
): Promise<TokenSet> {
  const { settings } = signIn;
  const params = rp.callbackParams(ctx.req);
  if (params.error)
    throw new errors.OPError({ error: params.error, error_description: params.error_description });
  if (params.state !== flow.state) throw new CallbackRefused(400, STATE_MISMATCH, 'state mismatch');
  const tokens = await rp.grant({
    grant_type: 'authorization_code',
    code: params.code,
    redirect_uri: settings.redirectUri,
    code_verifier: flow.verifier,
  });
  if (!tokens.id_token) throw new CallbackRefused(400, DID_NOT_VALIDATE, 'no id token');
  const tid = String(decodeJwt(tokens.id_token).tid ?? '').toLowerCase();
  if (!settings.tenants!.includes(tid))
    throw new CallbackRefused(
      403,
      `Users of the Microsoft Entra ID tenant ${tid || '(none named)'} may not operate this connector: it lets in only the tenants listed in CONSOLE_ENTRA_TENANTS. Sign in with an account of an allowed organization.`,
      `tenant ${tid} not allowed`,
    );
  const tenantRp = await signIn.client(tid);
  const { payload } = await jwtVerify(tokens.id_token, signIn.keys(tid, tenantRp), {
    issuer: `${settings.authorityHost}/${tid}/v2.0`,
    audience: settings.clientId,
    algorithms: ['RS256'],
    clockTolerance: 120,
  });
  if (payload.nonce !== flow.nonce || String(payload.tid).toLowerCase() !== tid)
    throw new CallbackRefused(400, DID_NOT_VALIDATE, 'nonce or tid mismatch');
  return tokens;
}

/** The tokens once the library has redeemed the code and validated the id token; null when answered. */
async function validatedTokens(signIn: SignIn, ctx: Koa.Context, flow: Flow): Promise<TokenSet | null> {
  let rp: BaseClient;
  try {
    rp = await signIn.client();
  } catch (error) {
    unreachable(signIn, ctx, error);
    return null;
  }
  try {
    if (signIn.settings.tenants) return await multiTenantCallback(signIn, rp, ctx, flow);
    const tokens = await rp.callback(signIn.settings.redirectUri, rp.callbackParams(ctx.req), {
      state: flow.state,
      nonce: flow.nonce,
      code_verifier: flow.verifier,
      response_type: 'code',
    });
    return tokens;
  } catch (error) {
    if (error instanceof CallbackRefused) {
      signIn.logger.warn({ reason: error.reason }, 'console Entra ID sign-in refused');
      signInFailed(ctx, error.status, error.message);
    } else if (error instanceof joseErrors.JOSEError) {
      signIn.logger.warn({ reason: error.code }, 'console Entra ID sign-in: the answer did not validate');
      signInFailed(ctx, 400, DID_NOT_VALIDATE);
    } else if (error instanceof errors.OPError) {
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
      signInFailed(ctx, 400, stateMismatch ? STATE_MISMATCH : DID_NOT_VALIDATE);
    } else {
      unreachable(signIn, ctx, error);
    }
    return null;
  }
}

/** `GET /console/signin/entra/callback`: the code redeemed, the user checked, the session cookies given. */
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
  const tokens = await validatedTokens(signIn, ctx, flow);
  if (!tokens) return;
  const claims = tokens.claims();
  const name = displayName(claims);
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
  const now = signIn.now();
  const exp = now + SESSION_MS;
  const sid = crypto.randomUUID();
  const secureCookies = secure(signIn, ctx);
  const token = signIn.signer.sign({ name, method: 'entra', exp, sid });
  const cookies = [clearFlow, sessionCookie(token, SESSION_MS / 1000, secureCookies)];
  // Without a refresh token (Entra gives one for offline_access) the session is refused at its first re-check.
  if (tokens.refresh_token)
    cookies.push(
      heldCookie(
        REFRESH_COOKIE,
        signIn.refreshSealer.seal({
          sid,
          tenant: settings.tenants ? String(claims.tid).toLowerCase() : settings.tenantId,
          rt: tokens.refresh_token,
          checkedAt: now,
          exp,
        }),
        SESSION_MS / 1000,
        secureCookies,
      ),
    );
  if (tokens.id_token)
    cookies.push(
      heldCookie(
        ID_TOKEN_COOKIE,
        signIn.idTokenSealer.seal({ sid, idt: tokens.id_token, exp }),
        SESSION_MS / 1000,
        secureCookies,
      ),
    );
  ctx.set('Set-Cookie', cookies);
  signIn.logger.info(user, 'console sign-in with Entra ID');
  ctx.redirect('/console/');
}

function displayName(claims: IdTokenClaims): string {
  return String(claims.name ?? claims.preferred_username ?? claims.sub);
}

function clearedHeldCookies(secureCookies: boolean): string[] {
  return [
    heldCookie(REFRESH_COOKIE, '', 0, secureCookies),
    heldCookie(ID_TOKEN_COOKIE, '', 0, secureCookies),
  ];
}

/** Refuses the session: 401 `session_ended` with the reason, every console cookie cleared. */
function endSession(signIn: SignIn, ctx: Koa.Context, message: string): false {
  const secureCookies = secure(signIn, ctx);
  ctx.set('Set-Cookie', [sessionCookie('', 0, secureCookies), ...clearedHeldCookies(secureCookies)]);
  ctx.set('WWW-Authenticate', 'Bearer');
  apiError(ctx, 401, 'session_ended', message);
  (ctx.body as ApiError).entraSignIn = true;
  return false;
}

/**
 * The periodic re-check of an Entra ID session (see the top of this file): the refresh token redeemed at most
 * every `recheckMs`, the new id token (validated by openid-client: issuer, audience, signature, expiry) checked
 * for the role or group like a sign-in, the new tokens sealed back into their cookies.
 */
async function checkSession(signIn: SignIn, ctx: Koa.Context, claims: SessionClaims): Promise<boolean> {
  const now = signIn.now();
  const held = signIn.refreshSealer.open(ctx.cookies.get(REFRESH_COOKIE), now);
  if (!held || held.sid !== claims.sid)
    return endSession(
      signIn,
      ctx,
      'Your Microsoft Entra ID sign-in can no longer be checked (this browser lacks its refresh cookie). Sign in again.',
    );
  const { tenants } = signIn.settings;
  if (tenants && !tenants.includes(held.tenant))
    return endSession(
      signIn,
      ctx,
      `Users of the Microsoft Entra ID tenant ${held.tenant} may no longer operate this connector (CONSOLE_ENTRA_TENANTS): you are signed out of the console.`,
    );
  if (now - held.checkedAt < signIn.recheckMs) return true;
  let tokens: TokenSet;
  try {
    const rp = await signIn.client(held.tenant);
    tokens = await rp.refresh(held.rt);
    if (!tokens.id_token) throw new Error('the refresh answered no id token');
  } catch (error) {
    if (error instanceof errors.OPError && error.error === 'invalid_grant') {
      signIn.logger.warn(
        { user: claims.name, error: error.error },
        'console Entra ID session ended: Entra ID refused its refresh token',
      );
      return endSession(
        signIn,
        ctx,
        `Microsoft Entra ID no longer accepts your sign-in (${entraDescription(error)}): you are signed out of the console. Sign in again.`,
      );
    }
    signIn.logger.warn(
      { user: claims.name, reason: (error as Error).message },
      'console Entra ID session: the role could not be re-checked',
    );
    if (now - held.checkedAt < UNREACHABLE_INTERVALS * signIn.recheckMs) return true;
    return endSession(
      signIn,
      ctx,
      `Your role could not be re-checked with Microsoft Entra ID for ${Math.round((now - held.checkedAt) / 60_000)} minutes: you are signed out of the console. Sign in again.`,
    );
  }
  const fresh = tokens.claims();
  if (!allowed(fresh, signIn.settings)) {
    signIn.logger.warn(
      { user: fresh.preferred_username, oid: fresh.oid },
      'console Entra ID session ended: the user no longer has the role or group',
    );
    return endSession(
      signIn,
      ctx,
      `${displayName(fresh)} no longer has ${accessWays(signIn.settings)} in Microsoft Entra ID: you are signed out of the console.`,
    );
  }
  const secureCookies = secure(signIn, ctx);
  const maxAge = Math.max(0, Math.floor((held.exp - now) / 1000));
  ctx.append(
    'Set-Cookie',
    heldCookie(
      REFRESH_COOKIE,
      signIn.refreshSealer.seal({ ...held, rt: tokens.refresh_token ?? held.rt, checkedAt: now }),
      maxAge,
      secureCookies,
    ),
  );
  ctx.append(
    'Set-Cookie',
    heldCookie(
      ID_TOKEN_COOKIE,
      signIn.idTokenSealer.seal({ sid: held.sid, idt: tokens.id_token!, exp: held.exp }),
      maxAge,
      secureCookies,
    ),
  );
  return true;
}

/**
 * Sign-out of an Entra ID session: its cookies cleared, and the provider's end-session URL when its discovery
 * document names one, with the id token as `id_token_hint` and the console's sign-in page as
 * `post_logout_redirect_uri`.
 */
async function signOut(
  signIn: SignIn,
  ctx: Koa.Context,
): Promise<{ cookies: string[]; signOutUrl?: string }> {
  const cookies = clearedHeldCookies(secure(signIn, ctx));
  const held = signIn.idTokenSealer.open(ctx.cookies.get(ID_TOKEN_COOKIE), signIn.now());
  let rp: BaseClient;
  try {
    rp = await signIn.client();
  } catch (error) {
    signIn.logger.warn(
      { reason: (error as Error).message },
      'console sign-out: Entra ID could not be reached, its session is not ended',
    );
    return { cookies };
  }
  if (!rp.issuer.metadata.end_session_endpoint) return { cookies };
  const signOutUrl = rp.endSessionUrl({
    post_logout_redirect_uri: `${new URL(signIn.settings.redirectUri).origin}/console/`,
    ...(held ? { id_token_hint: held.idt } : {}),
  });
  return { cookies, signOutUrl };
}

/**
 * Entra ID sign-in to the console: `register` adds `GET /console/signin/entra` and its callback; `sessions` is
 * what the console's guard and sign-out use for the sessions it gives.
 */
export function createEntraSignIn(
  options: EntraSignInDeps & { adminApiKey: string; logger: Logger; now?: () => number },
): { register(router: Router): void; sessions: EntraSessions } {
  const { adminApiKey } = options;
  const signIn: SignIn = {
    settings: options.settings,
    logger: options.logger,
    now: options.now ?? Date.now,
    sealer: sealer<Flow>(adminApiKey, 'stc-console-signin', 'stc_console_signin v1 aes-256-gcm'),
    refreshSealer: sealer<Held>(adminApiKey, 'stc-console-rt', 'stc_console_rt v1 aes-256-gcm'),
    idTokenSealer: sealer<HeldIdToken>(adminApiKey, 'stc-console-idt', 'stc_console_idt v1 aes-256-gcm'),
    signer: sessionSigner(adminApiKey),
    client: relyingParty(options),
    keys: tenantKeys(options.ca),
    recheckMs: (options.settings.roleRecheckMinutes ?? DEFAULT_ROLE_RECHECK_MINUTES) * 60_000,
  };
  return {
    register(router) {
      router.get(ENTRA_SIGNIN_PATH, (ctx) => startSignIn(signIn, ctx));
      router.get(CALLBACK_PATH, (ctx) => finishSignIn(signIn, ctx));
    },
    sessions: {
      check: (ctx, claims) => checkSession(signIn, ctx, claims),
      signOut: (ctx) => signOut(signIn, ctx),
    },
  };
}

/** Signing key sets by tenant, fetched (through the CA given, if any) and cached by jose. */
function tenantKeys(ca: string | undefined): SignIn['keys'] {
  const agent = ca ? new Agent({ ca }) : undefined;
  const sets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
  return (tenant, rp) => {
    let set = sets.get(tenant);
    if (!set) {
      set = createRemoteJWKSet(new URL(String(rp.issuer.metadata.jwks_uri)), agent ? { agent } : {});
      sets.set(tenant, set);
    }
    return set;
  };
}
