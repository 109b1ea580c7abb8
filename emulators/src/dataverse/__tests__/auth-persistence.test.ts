/**
 * Authentication as Dataverse does it for server-to-server callers (Microsoft Learn, "Use single-tenant
 * server-to-server authentication" and "Impersonate another user"): a bearer JWT checked for signature, issuer,
 * audience and expiry, 401 with WWW-Authenticate otherwise, the token's application mapped to its application
 * user; and persistence of rows in a SQLite file across a restart.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, type JWK, type KeyLike } from 'jose';
import type { DataverseEmulator } from '..';
import { call, idFromEntityId, start } from './harness';

const issuer = 'https://login.sandbox.test/0b1c2d3e-0000-4000-8000-000000000001/v2.0';
const audience = 'https://stcsandbox.crm.dynamics.com';
/** An Entra application (`appid`) and its application user in the environment. */
const appUser = (appid: string, user: string) => ({ appid, user });
const serviceApp = appUser('7d3c1b2a-1111-4222-8333-944455556666', '2a7b9c1d-0000-4000-8000-0000000000aa');
const otherApp = appUser('8e4d2c3b-1111-4222-8333-944455556667', '2a7b9c1d-0000-4000-8000-0000000000bb');

describe('auth mode entra', () => {
  let dv: DataverseEmulator;
  let privateKey: KeyLike;
  let strangerKey: KeyLike;

  const token = async (
    claims: Record<string, unknown>,
    options: { key?: KeyLike; aud?: string; iss?: string; exp?: number } = {},
  ) =>
    new SignJWT({ appid: serviceApp.appid, ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(options.iss ?? issuer)
      .setAudience(options.aud ?? audience)
      .setIssuedAt()
      .setExpirationTime(options.exp ?? Math.floor(Date.now() / 1000) + 600)
      .sign(options.key ?? privateKey);

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey as KeyLike;
    strangerKey = (await generateKeyPair('RS256')).privateKey as KeyLike;
    const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    dv = await start({
      auth: { mode: 'entra', issuer, audience, jwks: { keys: [jwk] } },
      systemUsers: [
        {
          systemuserid: serviceApp.user,
          fullname: 'Stripe Connector (application)',
          applicationid: serviceApp.appid,
          roles: ['Stripe Connector Service'],
        },
        { systemuserid: otherApp.user, fullname: 'Other application', applicationid: otherApp.appid },
      ],
    });
  });
  afterAll(() => dv.close());

  test('no token answers 401 with a Bearer challenge', async () => {
    const r = await call(dv, 'GET', 'WhoAmI');
    expect(r.status).toBe(401);
    expect(r.headers.get('WWW-Authenticate')).toMatch(
      /^Bearer authorization_uri=https:\/\/login\.sandbox\.test\/.+, resource_id=https:\/\/stcsandbox\.crm\.dynamics\.com$/,
    );
  });

  test.each([
    ['signed by another key', { key: 'stranger' }],
    ['for another audience', { aud: 'https://other.crm.dynamics.com' }],
    ['from another issuer', { iss: 'https://evil.test/v2.0' }],
    ['expired', { exp: Math.floor(Date.now() / 1000) - 120 }],
  ])('a token %s answers 401', async (_label, opts) => {
    const o = opts as { key?: string; aud?: string; iss?: string; exp?: number };
    const jwt = await token({}, { ...o, key: o.key === 'stranger' ? strangerKey : undefined });
    const r = await call(dv, 'GET', 'WhoAmI', undefined, { Authorization: `Bearer ${jwt}` });
    expect(r.status).toBe(401);
    expect(r.headers.get('WWW-Authenticate')).toMatch(/^Bearer /);
  });

  test("a valid token acts as the application's user", async () => {
    const jwt = await token({});
    const r = await call(dv, 'GET', 'WhoAmI', undefined, { Authorization: `Bearer ${jwt}` });
    expect(r.status).toBe(200);
    expect(r.body.UserId).toBe(serviceApp.user);
    const created = await call(
      dv,
      'POST',
      'stc_payments',
      { stc_name: 'by app' },
      { Authorization: `Bearer ${jwt}` },
    );
    expect(
      dv.store.get('stc_payments', idFromEntityId(created.headers.get('OData-EntityId')))?._createdby_value,
    ).toBe(serviceApp.user);
  });

  test('a token for an application with no application user answers 403', async () => {
    const jwt = await token({ appid: '99999999-1111-4222-8333-944455556666' });
    const r = await call(dv, 'GET', 'WhoAmI', undefined, { Authorization: `Bearer ${jwt}` });
    expect(r.status).toBe(403);
  });

  test('service protection limits are counted per user', async () => {
    dv.setLimits({ enabled: true, requests: 2, windowMs: 60_000 });
    const a = { Authorization: `Bearer ${await token({})}` };
    const b = { Authorization: `Bearer ${await token({ appid: otherApp.appid })}` };
    expect((await call(dv, 'GET', 'WhoAmI', undefined, a)).status).toBe(200);
    expect((await call(dv, 'GET', 'WhoAmI', undefined, a)).status).toBe(200);
    expect((await call(dv, 'GET', 'WhoAmI', undefined, a)).status).toBe(429);
    expect((await call(dv, 'GET', 'WhoAmI', undefined, b)).status).toBe(200);
    dv.setLimits({ enabled: false });
  });
});

describe('persistence in a SQLite file', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dv-emulator-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('rows, etags, keys and lookups survive a restart; rolled-back writes do not', async () => {
    const file = path.join(dir, 'dataverse.sqlite');
    let dv = await start({ sqlitePath: file });
    const created = await call(
      dv,
      'PATCH',
      "stc_payments(stc_stripeid='pi_keep')",
      { stc_name: 'kept', stc_amount: 9.99 },
      { Prefer: 'return=representation' },
    );
    await call(dv, 'POST', 'stc_refunds', {
      stc_stripeid: 're_keep',
      'stc_paymentid@odata.bind': "/stc_payments(stc_stripeid='pi_keep')",
    });
    const cs = `--batch_p\r\nContent-Type: multipart/mixed; boundary=changeset_p\r\n\r\n--changeset_p\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nPOST stc_payments HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{"stc_name":"lost","stc_stripeid":"pi_lost"}\r\n--changeset_p\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nPOST stc_payments HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{"stc_name":"lost","stc_stripeid":"pi_keep"}\r\n--changeset_p--\r\n--batch_p--\r\n`;
    const batch = await fetch(new URL('$batch', dv.url), {
      method: 'POST',
      headers: { 'Content-Type': 'multipart/mixed; boundary=batch_p' },
      body: cs,
    });
    expect(batch.status).toBe(400);
    await dv.close();

    dv = await start({ sqlitePath: file });
    try {
      const r = await call(
        dv,
        'GET',
        "stc_payments(stc_stripeid='pi_keep')?$expand=stc_payment_refunds($select=stc_stripeid)",
      );
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({
        stc_name: 'kept',
        stc_amount: 9.99,
        stc_paymentid: created.body.stc_paymentid,
      });
      expect(r.body['@odata.etag']).toBe(created.body['@odata.etag']);
      expect(r.body.stc_payment_refunds.map((x: { stc_stripeid: string }) => x.stc_stripeid)).toEqual([
        're_keep',
      ]);
      expect((await call(dv, 'GET', "stc_payments(stc_stripeid='pi_lost')")).status).toBe(404);
      expect(
        (await call(dv, 'POST', 'stc_payments', { stc_name: 'dup', stc_stripeid: 'PI_KEEP' })).status,
      ).toBe(412);
      const updated = await call(
        dv,
        'PATCH',
        "stc_payments(stc_stripeid='pi_keep')",
        { stc_amount: 1 },
        { Prefer: 'return=representation' },
      );
      expect(Number(/\d+/.exec(updated.body['@odata.etag'])![0])).toBeGreaterThan(
        Number(/\d+/.exec(created.body['@odata.etag'])![0]),
      );
    } finally {
      await dv.close();
    }
  });
});
