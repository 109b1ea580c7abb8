/** The console's pages at /console: index for the page's routes, cached assets, the security headers, 503. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Koa from 'koa';
import request from 'supertest';
import { createLogger } from '../../observability/log';
import { createSqliteStore, type Store } from '../../store';
import { createApp } from '../../intake/app';
import { serveConsolePages, type ConsolePagesOptions } from '../static';

const INDEX =
  '<!doctype html><title>console</title><script defer src="/console/console-ABCD1234.js"></script>';
const BUNDLE = 'console.log("the console");'.repeat(50);

function server(options: ConsolePagesOptions) {
  const app = new Koa();
  app.use(serveConsolePages(options));
  app.use((ctx) => {
    ctx.status = 418;
    ctx.body = 'next';
  });
  return app.callback();
}

describe('the console pages', () => {
  let dist: string;
  beforeAll(() => {
    dist = mkdtempSync(join(tmpdir(), 'stc-console-dist-'));
    writeFileSync(join(dist, 'index.html'), INDEX);
    writeFileSync(join(dist, 'console-ABCD1234.js'), BUNDLE);
    writeFileSync(join(dist, 'console-ABCD1234.js.gz'), gzipSync(BUNDLE));
  });
  afterAll(() => rmSync(dist, { recursive: true, force: true }));

  it('answers index.html for /console, /console/ and the page routes, never cached, with a strict policy', async () => {
    const app = server({ dist, build: null });
    for (const path of ['/console', '/console/', '/console/events/12', '/console/dead-letters']) {
      const res = await request(app).get(path);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.text).toBe(INDEX);
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['content-security-policy']).toContain("script-src 'self'");
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('sends the hashed bundle as JavaScript cached for a year, gzipped when the browser takes it', async () => {
    const app = server({ dist, build: null });
    const gzipped = await request(app).get('/console/console-ABCD1234.js').set('Accept-Encoding', 'gzip');
    expect(gzipped.status).toBe(200);
    expect(gzipped.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gzipped.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(gzipped.text).toBe(BUNDLE);
    const plain = await request(app).get('/console/console-ABCD1234.js').set('Accept-Encoding', 'identity');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.text).toBe(BUNDLE);
    const again = await request(app)
      .get('/console/console-ABCD1234.js')
      .set('If-None-Match', plain.headers.etag!);
    expect(again.status).toBe(304);
    expect((await request(app).get('/console/nothing.js')).status).toBe(404);
  });

  it('leaves the API, the Entra sign-in, other methods and other paths to the next middleware', async () => {
    const app = server({ dist, build: null });
    for (const path of [
      '/console/api/me',
      '/console/api',
      '/console/signin/entra',
      '/consoles',
      '/healthz',
    ]) {
      expect((await request(app).get(path)).status).toBe(418);
    }
    expect((await request(app).post('/console/')).status).toBe(418);
  });

  it('answers 503 naming the build command when the console is not built and cannot be', async () => {
    const res = await request(server({ dist: join(dist, 'missing'), build: null })).get('/console/');
    expect(res.status).toBe(503);
    expect(res.text).toContain('npm run build -w @stc/console');
  });

  it('builds the console at the first request when the service runs from its sources without it', async () => {
    const outdir = join(mkdtempSync(join(tmpdir(), 'stc-console-build-')), 'dist');
    try {
      const app = server({ dist: outdir });
      const index = await request(app).get('/console/');
      expect(index.status).toBe(200);
      const bundle = /src="\/console\/(console-[A-Z0-9]+\.js)"/.exec(index.text)?.[1];
      expect(bundle).toBeDefined();
      const js = await request(app).get(`/console/${bundle}`);
      expect(js.status).toBe(200);
      expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
      expect(js.text).toContain('/console/api');
    } finally {
      rmSync(join(outdir, '..'), { recursive: true, force: true });
    }
  }, 60_000);
});

describe('the service app', () => {
  let store: Store;
  beforeEach(async () => {
    store = createSqliteStore({ path: ':memory:' });
    await store.migrate();
  });
  afterEach(() => store.close());

  it('serves the console page without sign-in and keeps its API behind the session', async () => {
    const app = createApp({
      store,
      logger: createLogger({ level: 'silent' }),
      takes: () => true,
      stripeWebhookSecrets: ['whsec_console_static_test'],
      dataverseWebhook: { key: 'dataverse-webhook-key-0123456789' },
      adminApiKey: 'admin-api-key-0123456789abcdef',
    }).callback();
    const page = await request(app).get('/console/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<div id="root"></div>');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect((await request(app).get('/console/api/me')).status).toBe(401);
  }, 60_000);
});
