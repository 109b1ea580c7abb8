/**
 * Console sign-in: the admin key, checked in constant time, buys a session cookie (`stc_console`) that any
 * replica can verify without shared state: the session is signed with HMAC-SHA256 under a key derived (HKDF)
 * from the admin key and carries its own expiry, so rotating the admin key also ends every session.
 * A Microsoft Entra ID sign-in (`entra.ts`) ends in the same cookie, with method `entra`.
 *
 * Every `/console/api/*` route but `POST /console/api/session` needs that cookie or `Authorization: Bearer
 * <admin key>`. A state-changing request made with the cookie must also carry `X-Requested-With: stc-console`:
 * a cross-site form or image cannot set that header, and a cross-site script needs CORS, which is never granted.
 */
import crypto from 'node:crypto';
import type Router from '@koa/router';
import type Koa from 'koa';
import getRawBody from 'raw-body';
import { constantTimeKeyCheck, presentedAdminKey } from '../intake/auth';
import type { ApiError, Me, SignedOut } from './contract';

export const SESSION_COOKIE = 'stc_console';
export const SESSION_MS = 8 * 60 * 60 * 1000;
export const CSRF_HEADER = 'x-requested-with';
export const CSRF_VALUE = 'stc-console';
const API_PREFIX = '/console/api';

export interface SessionClaims {
  /** Who signed in and how. */
  name: string;
  method: Me['method'];
  /** Ends at (ms since the epoch). */
  exp: number;
  /** An Entra ID session's id, which its sealed refresh cookie names too (`entra.ts`). */
  sid?: string;
}

/**
 * What an Entra ID sign-in adds to a session (`entra.ts`): the periodic re-check of the user's role or group, and
 * the sign-out that also ends the session at Entra ID.
 */
export interface EntraSessions {
  /** true: the session stands; false: it was refused and the answer (401, cookies cleared) is given. */
  check(ctx: Koa.Context, claims: SessionClaims): Promise<boolean>;
  /** The cookies to clear beside the session's, and the provider's end-session URL to send the browser to. */
  signOut(ctx: Koa.Context): Promise<{ cookies: string[]; signOutUrl?: string }>;
}

/** Signs and verifies session tokens: `<base64url claims>.<base64url HMAC>`. */
export interface SessionSigner {
  sign(claims: SessionClaims): string;
  verify(token: string | undefined, nowMs: number): SessionClaims | null;
}

export function sessionSigner(adminApiKey: string): SessionSigner {
  const key = Buffer.from(
    crypto.hkdfSync('sha256', adminApiKey, 'stc-console-session', 'stc_console v1 hmac-sha256', 32),
  );
  const mac = (body: string) => crypto.createHmac('sha256', key).update(body).digest();
  return {
    sign(claims) {
      const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
      return `${body}.${mac(body).toString('base64url')}`;
    },
    verify(token, nowMs) {
      if (!token) return null;
      const dot = token.indexOf('.');
      if (dot <= 0) return null;
      const body = token.slice(0, dot);
      const presented = Buffer.from(token.slice(dot + 1), 'base64url');
      const expected = mac(body);
      if (presented.length !== expected.length || !crypto.timingSafeEqual(presented, expected)) return null;
      let claims: SessionClaims;
      try {
        claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as SessionClaims;
      } catch {
        return null;
      }
      if (typeof claims.exp !== 'number' || claims.exp <= nowMs) return null;
      return claims;
    },
  };
}

/** What the guard leaves in `ctx.state.console` for the routes. */
export interface ConsoleCaller {
  name: string;
  method: Me['method'];
  expiresAtMs: number;
  /** Signed in by cookie (state changes then need the CSRF header), or by the Bearer key. */
  viaCookie: boolean;
}

export function apiError(ctx: Koa.Context, status: number, code: string, message: string): void {
  ctx.status = status;
  const body: ApiError = { error: { code, message } };
  ctx.body = body;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The console API's guard, for every path under `/console/api` (routes registered anywhere): 401 without a
 * session cookie or the admin key, 403 for a cookie-signed state change without the CSRF header.
 */
export function consoleGuard(
  adminApiKey: string,
  now: () => number = Date.now,
  options: { entraSignIn?: boolean; entraSessions?: EntraSessions } = {},
): Koa.Middleware {
  const isAdminKey = constantTimeKeyCheck(adminApiKey);
  const signer = sessionSigner(adminApiKey);
  return async (ctx, next) => {
    // Compared in lower case: a route answering /Console/api/… in another case must not pass unguarded.
    const path = ctx.path.toLowerCase();
    if (path !== API_PREFIX && !path.startsWith(`${API_PREFIX}/`)) return next();
    ctx.set('Cache-Control', 'no-store');
    if (path === `${API_PREFIX}/session` && ctx.method === 'POST') return next();
    const bearer = presentedAdminKey(ctx.headers);
    let caller: ConsoleCaller | null = null;
    if (bearer !== undefined && isAdminKey(bearer)) {
      caller = {
        name: 'Administrator',
        method: 'admin-key',
        expiresAtMs: now() + SESSION_MS,
        viaCookie: false,
      };
    } else {
      const claims = signer.verify(ctx.cookies.get(SESSION_COOKIE), now());
      if (claims) {
        const signingOut = path === `${API_PREFIX}/session` && ctx.method === 'DELETE';
        // An Entra ID session's role is re-checked (at most every CONSOLE_ROLE_RECHECK_MINUTES); not to sign out.
        if (claims.method === 'entra' && options.entraSessions && !signingOut) {
          if (!(await options.entraSessions.check(ctx, claims))) return;
        }
        caller = { name: claims.name, method: claims.method, expiresAtMs: claims.exp, viaCookie: true };
      }
    }
    if (!caller) {
      ctx.set('WWW-Authenticate', 'Bearer');
      apiError(ctx, 401, 'unauthorized', 'Sign in to the console (or send the admin key as a Bearer token)');
      if (options.entraSignIn) (ctx.body as ApiError).entraSignIn = true;
      return;
    }
    if (caller.viaCookie && !SAFE_METHODS.has(ctx.method) && ctx.get(CSRF_HEADER) !== CSRF_VALUE) {
      apiError(
        ctx,
        403,
        'csrf',
        `A change made with the session cookie needs the header X-Requested-With: ${CSRF_VALUE}`,
      );
      return;
    }
    ctx.state.console = caller;
    await next();
  };
}

/** The `Set-Cookie` value: HttpOnly, SameSite=Strict, Path=/console, Secure over https. */
export function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  const parts = [
    `${SESSION_COOKIE}=${value}`,
    'Path=/console',
    `Max-Age=${maxAgeSeconds}`,
    'HttpOnly',
    'SameSite=Strict',
  ];
  if (maxAgeSeconds === 0) parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  if (secure) parts.push('Secure');
  return parts.join('; ');
}

/** What `readJson` answers for a body that is not JSON, over 64 KiB or could not be read. */
export const UNREADABLE_BODY: unique symbol = Symbol('unreadable body');

/**
 * A JSON body of at most 64 KiB; `undefined` when there is none, `UNREADABLE_BODY` when there is one that
 * cannot be taken (not JSON, too large, cut off), so that a route never takes a mistyped body for none.
 */
export async function readJson(ctx: Koa.Context): Promise<unknown> {
  try {
    const text = await getRawBody(ctx.req, { limit: 65_536, encoding: 'utf8' });
    return text.trim() === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return UNREADABLE_BODY;
  }
}

/** `POST /console/api/session`, `DELETE /console/api/session`, `GET /console/api/me`. */
export function registerSession(
  router: Router,
  options: {
    adminApiKey: string;
    now?: () => number;
    entraSessions?: EntraSessions;
    /**
     * Browsers reach the service over https (its public address says so) while a TLS proxy in front of it
     * makes requests look plain: the session cookie is marked Secure all the same.
     */
    httpsAddress?: boolean;
  },
): void {
  const now = options.now ?? Date.now;
  const secure = (ctx: Koa.Context) => ctx.secure || options.httpsAddress === true;
  const isAdminKey = constantTimeKeyCheck(options.adminApiKey);
  const signer = sessionSigner(options.adminApiKey);

  router.post(`${API_PREFIX}/session`, async (ctx) => {
    const body = (await readJson(ctx)) as { adminKey?: unknown } | undefined;
    const presented = typeof body?.adminKey === 'string' ? body.adminKey : undefined;
    if (!isAdminKey(presented)) {
      apiError(ctx, 401, 'unauthorized', 'That is not the admin key of this service');
      return;
    }
    const token = signer.sign({ name: 'Administrator', method: 'admin-key', exp: now() + SESSION_MS });
    ctx.set('Set-Cookie', sessionCookie(token, SESSION_MS / 1000, secure(ctx)));
    ctx.status = 204;
  });

  // An Entra ID session also ends at Entra ID: the answer names its end-session URL for the browser to open.
  router.delete(`${API_PREFIX}/session`, async (ctx) => {
    const caller = ctx.state.console as ConsoleCaller;
    const entra =
      caller.viaCookie && caller.method === 'entra' && options.entraSessions
        ? await options.entraSessions.signOut(ctx)
        : undefined;
    ctx.set('Set-Cookie', [sessionCookie('', 0, secure(ctx)), ...(entra?.cookies ?? [])]);
    if (entra?.signOutUrl) {
      const body: SignedOut = { signOutUrl: entra.signOutUrl };
      ctx.body = body;
    } else {
      ctx.status = 204;
    }
  });

  router.get(`${API_PREFIX}/me`, async (ctx) => {
    const caller = ctx.state.console as ConsoleCaller;
    const me: Me = { name: caller.name, method: caller.method, expiresAtMs: caller.expiresAtMs };
    ctx.body = me;
  });
}
