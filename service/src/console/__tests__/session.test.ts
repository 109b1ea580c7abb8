import request from 'supertest';
import { createLogger } from '../../observability/log';
import { createSqliteStore, type Store } from '../../store';
import { createApp } from '../../intake/app';
import type { Me } from '../contract';
import type { ServiceConfig } from '../../config';

const ADMIN_KEY = 'admin-api-key-0123456789abcdef';

describe('console sign-in', () => {
  let store: Store;
  let nowMs: number;
  let server: ReturnType<ReturnType<typeof createApp>['callback']>;

  /** The service's app on this test's store and clock, with what the console is given. */
  const appWith = (console?: Parameters<typeof createApp>[0]['console']) =>
    createApp({
      store,
      logger: createLogger({ level: 'silent' }),
      takes: () => true,
      stripeWebhookSecrets: ['whsec_console_test'],
      dataverseWebhook: { key: 'dataverse-webhook-key-0123456789' },
      adminApiKey: ADMIN_KEY,
      now: () => nowMs,
      console,
    }).callback();

  beforeEach(async () => {
    store = createSqliteStore({ path: ':memory:' });
    await store.migrate();
    nowMs = Date.UTC(2026, 0, 5, 9, 0, 0);
    server = appWith();
  });
  afterEach(() => store.close());

  const signIn = async () => {
    const res = await request(server).post('/console/api/session').send({ adminKey: ADMIN_KEY });
    expect(res.status).toBe(204);
    return String(res.headers['set-cookie'][0]).split(';')[0];
  };

  it('answers 401 with an ApiError without a session or the admin key', async () => {
    for (const path of ['/console/api/me', '/console/api/events', '/console/api/no-such-route']) {
      const res = await request(server).get(path);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
    }
    const wrong = await request(server)
      .get('/console/api/me')
      .set('Authorization', 'Bearer not-the-key-at-all');
    expect(wrong.status).toBe(401);
  });

  it('guards the API whatever the case or encoding of its path', async () => {
    await store.insertEvent({
      source: 'stripe',
      account: '',
      eventId: 'evt_guarded',
      type: 'charge.succeeded',
      objectId: 'ch_guarded',
      eventCreatedMs: nowMs,
      payload: '{"id":"evt_guarded"}',
      status: 'pending',
      receivedAtMs: nowMs,
    });
    // The API's routes answer a path in another case (the router matches without case): the guard must too.
    // A GET the console's page takes (any /console/ path but /console/api/…) is the page, never data.
    const answers: Record<string, string> = {};
    const paths = [
      '/Console/api/events',
      '/CONSOLE/API/events',
      '/console/API/events',
      '/console/%61pi/events',
    ];
    for (const path of paths) {
      const res = await request(server).get(path);
      answers[path] = `${res.status} ${String(res.headers['content-type']).split(';')[0]}`;
      expect(JSON.stringify(res.body)).not.toContain('evt_guarded');
    }
    expect(answers).toEqual({
      '/Console/api/events': '401 application/json',
      '/CONSOLE/API/events': '401 application/json',
      '/console/API/events': '200 text/html',
      '/console/%61pi/events': '200 text/html',
    });
    expect((await request(server).post('/CONSOLE/api/dead-letters/retry').send({})).status).toBe(401);
    // Signed in, the API answers on its own path only.
    const authorized = (path: string) =>
      request(server).get(path).set('Authorization', `Bearer ${ADMIN_KEY}`);
    expect((await authorized('/console/api/events')).status).toBe(200);
    expect((await authorized('/Console/api/events')).status).toBe(404);
  });

  it('refuses a wrong admin key at sign-in and sets no cookie', async () => {
    const res = await request(server).post('/console/api/session').send({ adminKey: 'admin-api-key-wrong' });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthorized');
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('sets an HttpOnly, SameSite=Strict cookie on /console that signs the operator in for 8 hours', async () => {
    const res = await request(server).post('/console/api/session').send({ adminKey: ADMIN_KEY });
    expect(res.status).toBe(204);
    const cookie = String(res.headers['set-cookie'][0]);
    expect(cookie).toMatch(/^stc_console=[^;]+/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Path=/console');
    expect(cookie).toContain('Max-Age=28800');
    // Plain http here and no https address configured: the cookie is not marked Secure.
    expect(cookie).not.toContain('Secure');
    expect(cookie).not.toContain(ADMIN_KEY);

    const me = await request(server).get('/console/api/me').set('Cookie', cookie.split(';')[0]);
    expect(me.status).toBe(200);
    expect(me.body as Me).toEqual({
      name: 'Administrator',
      method: 'admin-key',
      expiresAtMs: nowMs + 8 * 3600_000,
    });
  });

  it('marks the cookie Secure behind a TLS proxy when the service\u2019s public address is https', async () => {
    const behindProxy = appWith({
      config: { reporting: { intervalMs: 60_000, publicUrl: 'https://stc.contoso.com' } } as ServiceConfig,
    });
    // The proxy forwards plain http; the service does not trust its X-Forwarded-Proto.
    const res = await request(behindProxy)
      .post('/console/api/session')
      .set('X-Forwarded-Proto', 'https')
      .send({ adminKey: ADMIN_KEY });
    expect(res.status).toBe(204);
    expect(String(res.headers['set-cookie'][0])).toMatch(/; Secure(;|$)/);
    const out = await request(behindProxy)
      .delete('/console/api/session')
      .set('Authorization', `Bearer ${ADMIN_KEY}`);
    expect(String(out.headers['set-cookie'][0])).toMatch(/^stc_console=;.*; Secure(;|$)/);
  });

  it('ends the session after 8 hours, on a forged cookie and when the admin key changes', async () => {
    const cookie = await signIn();
    nowMs += 8 * 3600_000;
    expect((await request(server).get('/console/api/me').set('Cookie', cookie)).status).toBe(401);
    nowMs -= 60_000;
    expect((await request(server).get('/console/api/me').set('Cookie', cookie)).status).toBe(200);

    const [body, mac] = cookie.slice('stc_console='.length).split('.');
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString());
    const longer = Buffer.from(JSON.stringify({ ...claims, exp: claims.exp + 3600_000 })).toString(
      'base64url',
    );
    const forged = await request(server).get('/console/api/me').set('Cookie', `stc_console=${longer}.${mac}`);
    expect(forged.status).toBe(401);

    const rotated = createApp({
      store,
      logger: createLogger({ level: 'silent' }),
      takes: () => true,
      stripeWebhookSecrets: ['whsec_console_test'],
      dataverseWebhook: { key: 'dataverse-webhook-key-0123456789' },
      adminApiKey: 'a-new-admin-api-key-0123456789',
      now: () => nowMs,
    }).callback();
    expect((await request(rotated).get('/console/api/me').set('Cookie', cookie)).status).toBe(401);
  });

  it('takes the admin key as a Bearer token without a cookie', async () => {
    const me = await request(server).get('/console/api/me').set('Authorization', `Bearer ${ADMIN_KEY}`);
    expect(me.status).toBe(200);
    expect(me.body.method).toBe('admin-key');
  });

  it('refuses a change made with the cookie without the X-Requested-With header', async () => {
    const cookie = await signIn();
    const bare = await request(server).delete('/console/api/session').set('Cookie', cookie);
    expect(bare.status).toBe(403);
    expect(bare.body.error.code).toBe('csrf');
    expect(bare.headers['set-cookie']).toBeUndefined();

    const out = await request(server)
      .delete('/console/api/session')
      .set('Cookie', cookie)
      .set('X-Requested-With', 'stc-console');
    expect(out.status).toBe(204);
    expect(String(out.headers['set-cookie'][0])).toMatch(/^stc_console=;.*Max-Age=0/);
  });
});
