/**
 * The operator console's pages at `/console`: the files `npm run build -w @stc/console` writes to console/dist,
 * served from memory. `/console`, `/console/` and any other `/console/*` path without a file extension answer
 * index.html (the page routes itself); the hashed bundle is cached for a year and sent gzipped when the browser
 * takes it. Every answer carries a strict Content-Security-Policy (scripts from the service only), denies
 * framing and sniffing. `/console/api/*` and `/console/signin/*` are left to the routes behind the session.
 *
 * The page is static and needs no sign-in; the API it calls does. In a checkout run from its sources (tsx, the
 * sandbox) without console/dist, the first request builds it with the console's own build script; a compiled
 * service without it answers 503 naming the build command.
 *
 * Written against the few members of Koa's context it uses rather than importing Koa, so that this folder stays
 * free of HTTP libraries (eslint/architecture.mjs); `intake/app.ts` mounts it.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';

/** console/dist beside the service: `service/src/console` in a checkout, `service/dist/console` when built. */
export const CONSOLE_DIST = resolve(__dirname, '../../../console/dist');
export const CONSOLE_BUILD_COMMAND = 'npm run build -w @stc/console';

export const CONSOLE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  // Fluent UI writes its styles into <style> elements at run time, hence 'unsafe-inline' for styles only.
  'Content-Security-Policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; '),
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};
/** esbuild's `[name]-[hash]` file names: their content never changes under the same name. */
const HASHED = /-[A-Z0-9]{8}\.[a-z0-9]+$/;
const YEAR_SECONDS = 365 * 24 * 3600;

interface Asset {
  body: Buffer;
  gzipped: Buffer | null;
  type: string;
  etag: string;
  cacheControl: string;
}

type Assets = Map<string, Asset>;

/** The members of Koa's context the console's pages need (Koa's own context satisfies it). */
export interface ConsoleContext {
  method: string;
  path: string;
  status: number;
  body: unknown;
  get(field: string): string;
  set(field: string, value: string): void;
}
export type ConsoleMiddleware = (ctx: ConsoleContext, next: () => Promise<unknown>) => Promise<unknown>;

export interface ConsolePagesOptions {
  /** The built console (default: console/dist). */
  dist?: string;
  /**
   * Builds the console into `dist` when it is missing; by default the console's build script when the service
   * runs from its TypeScript sources, and nothing in a compiled service.
   */
  build?: ((outdir: string) => Promise<unknown>) | null;
}

function readAssets(dist: string): Assets {
  const assets: Assets = new Map();
  for (const name of readdirSync(dist)) {
    if (name.endsWith('.gz')) continue;
    const body = readFileSync(join(dist, name));
    const gz = join(dist, `${name}.gz`);
    assets.set(name, {
      body,
      gzipped: existsSync(gz) ? readFileSync(gz) : null,
      type: TYPES[extname(name)] ?? 'application/octet-stream',
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
      cacheControl: HASHED.test(name) ? `public, max-age=${YEAR_SECONDS}, immutable` : 'no-cache',
    });
  }
  if (!assets.has('index.html')) throw new Error(`${dist} has no index.html`);
  return assets;
}

/** The console's build script, when the service runs from its sources (tsx) in a checkout that has it. */
function sourceBuild(): ((outdir: string) => Promise<unknown>) | null {
  const script = resolve(__dirname, '../../../console/scripts/build.ts');
  if (!__filename.endsWith('.ts') || !existsSync(script)) return null;
  return async (outdir) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { buildConsole } = require(script) as { buildConsole: (outdir: string) => Promise<unknown> };
    await buildConsole(outdir);
  };
}

/** The answer for a path under /console: the asset's name, or undefined for the routes the API serves. */
function assetName(path: string): string | undefined {
  const rest = path === '/console' ? '' : path.slice('/console/'.length);
  if (rest === 'api' || rest.startsWith('api/') || rest.startsWith('signin/')) return undefined;
  if (rest === '' || !extname(rest)) return 'index.html';
  return rest;
}

function send(ctx: ConsoleContext, asset: Asset): void {
  for (const [name, value] of Object.entries(CONSOLE_SECURITY_HEADERS)) ctx.set(name, value);
  ctx.set('Cache-Control', asset.cacheControl);
  ctx.set('ETag', asset.etag);
  ctx.set('Vary', 'Accept-Encoding');
  if (ctx.get('If-None-Match') === asset.etag) {
    ctx.status = 304;
    return;
  }
  ctx.set('Content-Type', asset.type);
  if (asset.gzipped && /\bgzip\b/.test(ctx.get('Accept-Encoding'))) {
    ctx.set('Content-Encoding', 'gzip');
    ctx.body = asset.gzipped;
  } else {
    ctx.body = asset.body;
  }
  ctx.status = 200;
}

function plain(ctx: ConsoleContext, status: number, text: string): void {
  for (const [name, value] of Object.entries(CONSOLE_SECURITY_HEADERS)) ctx.set(name, value);
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Content-Type', 'text/plain; charset=utf-8');
  ctx.status = status;
  ctx.body = text;
}

/** Serves the console's pages at /console (GET and HEAD); every other request goes on to the next middleware. */
export function serveConsolePages(options: ConsolePagesOptions = {}): ConsoleMiddleware {
  const dist = options.dist ?? CONSOLE_DIST;
  const build = options.build === undefined ? sourceBuild() : options.build;
  let loading: Promise<Assets | Error> | undefined;
  const assets = (): Promise<Assets | Error> => {
    loading ??= (async () => {
      try {
        if (!existsSync(join(dist, 'index.html')) && build) await build(dist);
        return readAssets(dist);
      } catch (error) {
        loading = undefined; // tried again at the next request, once the console is built
        return error instanceof Error ? error : new Error(String(error));
      }
    })();
    return loading;
  };

  return async (ctx, next) => {
    const inConsole = ctx.path === '/console' || ctx.path.startsWith('/console/');
    const name =
      inConsole && (ctx.method === 'GET' || ctx.method === 'HEAD') ? assetName(ctx.path) : undefined;
    if (!name) return next();
    const loaded = await assets();
    if (loaded instanceof Error) {
      const reason = existsSync(join(dist, 'index.html')) ? loaded.message : `${dist} is missing`;
      return plain(
        ctx,
        503,
        `The operator console is not built (${reason}). Run ${CONSOLE_BUILD_COMMAND}.\n`,
      );
    }
    const asset = loaded.get(name);
    if (!asset) return plain(ctx, 404, `No console file ${name}.\n`);
    send(ctx, asset);
  };
}
