/**
 * Service protection limits (Microsoft Learn, "Service protection API limits"): 429 with Retry-After and the
 * documented codes, per user, with a compressed window; a $batch counts as one request. Fault injection for
 * clients' retry tests: 5xx for the next N requests or a fraction, latency, dropped connections.
 */
import type { DataverseEmulator } from '..';
import { call, expectError, start } from './harness';

let dv: DataverseEmulator;
beforeAll(async () => {
  dv = await start();
});
afterAll(() => dv.close());
beforeEach(() => {
  dv.setLimits({ enabled: false });
  dv.clearFaults();
});

describe('service protection limits (api-limits)', () => {
  test('requests over the window limit answer 429 0x80072322 with Retry-After in seconds', async () => {
    dv.setLimits({ enabled: true, requests: 5, windowMs: 3000 });
    const first = await call(dv, 'GET', 'stc_payments?$top=1');
    // The budget headers Dataverse sends on every answer (api-limits, "Rate limit headers").
    expect(first.headers.get('x-ms-ratelimit-burst-remaining-xrm-requests')).toBe('4');
    expect(first.headers.get('x-ms-ratelimit-time-remaining-xrm-requests')).toMatch(
      /^1,200\.00$|^1,199\.\d\d$/,
    );
    for (let i = 0; i < 4; i++) expect((await call(dv, 'GET', 'stc_payments?$top=1')).status).toBe(200);
    const r = await call(dv, 'GET', 'stc_payments?$top=1');
    expectError(r, 429, {
      code: '0x80072322',
      message: 'Number of requests exceeded the limit of 5 over time window of 3 seconds.',
    });
    const retryAfter = Number(r.headers.get('Retry-After'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(3);
  });

  test('the window slides: after Retry-After the requests are admitted again', async () => {
    dv.setLimits({ enabled: true, requests: 2, windowMs: 1000 });
    await call(dv, 'GET', 'stc_payments?$top=1');
    await call(dv, 'GET', 'stc_payments?$top=1');
    const refused = await call(dv, 'GET', 'stc_payments?$top=1');
    expect(refused.status).toBe(429);
    await new Promise((r) => setTimeout(r, Number(refused.headers.get('Retry-After')) * 1000 + 50));
    expect((await call(dv, 'GET', 'stc_payments?$top=1')).status).toBe(200);
  });

  test('a $batch counts once however many operations it holds', async () => {
    dv.setLimits({ enabled: true, requests: 1, windowMs: 60_000 });
    const parts = Array.from(
      { length: 20 },
      (_, i) =>
        `--batch_x\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nPOST stc_payments HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{"stc_name":"n${i}"}`,
    );
    const response = await fetch(new URL('$batch', dv.url), {
      method: 'POST',
      headers: { 'Content-Type': 'multipart/mixed; boundary=batch_x' },
      body: `${parts.join('\r\n')}\r\n--batch_x--\r\n`,
    });
    expect(response.status).toBe(200);
    expect((await call(dv, 'GET', 'stc_payments?$top=1')).status).toBe(429);
  });

  test('concurrent requests over the limit answer 429 0x80072326 at once', async () => {
    dv.setLimits({ enabled: true, concurrent: 2 });
    dv.injectFault({ latencyMs: 300, count: 2 }); // a slow server holds two requests in flight
    const slow = [call(dv, 'GET', 'stc_payments?$top=1'), call(dv, 'GET', 'stc_payments?$top=1')];
    await new Promise((r) => setTimeout(r, 100));
    const refused = await call(dv, 'GET', 'stc_payments?$top=1');
    expectError(refused, 429, {
      code: '0x80072326',
      message: 'Number of concurrent requests exceeded the limit of 2.',
    });
    expect(refused.headers.get('Retry-After')).toBe('1');
    expect((await Promise.all(slow)).map((s) => s.status)).toEqual([200, 200]);
    expect((await call(dv, 'GET', 'stc_payments?$top=1')).status).toBe(200);
  });

  test('combined execution time over the limit answers 429 0x80072321', async () => {
    dv.setLimits({ enabled: true, executionMs: 100, windowMs: 10_000 });
    dv.injectFault({ latencyMs: 60, count: 2 });
    expect((await call(dv, 'GET', 'stc_payments?$top=1')).status).toBe(200);
    expect((await call(dv, 'GET', 'stc_payments?$top=1')).status).toBe(200);
    const r = await call(dv, 'GET', 'stc_payments?$top=1');
    expectError(r, 429, {
      code: '0x80072321',
      message:
        'Combined execution time of incoming requests exceeded limit of 100 milliseconds over time window of 10 seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later.',
    });
    expect(Number(r.headers.get('Retry-After'))).toBeGreaterThanOrEqual(1);
  });

  test('limits are counted per user: an impersonated call still counts for the caller', async () => {
    dv.setLimits({ enabled: true, requests: 1, windowMs: 60_000 });
    dv.addSystemUser({ systemuserid: '0f8fad5b-d9cb-469f-a165-70867728950e', fullname: 'Finance User' });
    expect((await call(dv, 'GET', 'WhoAmI')).status).toBe(200);
    const r = await call(dv, 'GET', 'WhoAmI', undefined, {
      MSCRMCallerID: '0f8fad5b-d9cb-469f-a165-70867728950e',
    });
    expect(r.status).toBe(429);
  });
});

describe('fault injection', () => {
  test('the next N requests fail with the given status, then service resumes', async () => {
    dv.injectFault({ status: 503, count: 2 });
    expect((await call(dv, 'GET', 'stc_payments?$top=1')).status).toBe(503);
    expect((await call(dv, 'GET', 'stc_payments?$top=1')).status).toBe(503);
    expect((await call(dv, 'GET', 'stc_payments?$top=1')).status).toBe(200);
  });

  test('a fraction fails exactly that share of matching requests', async () => {
    dv.injectFault({ status: 502, fraction: 0.25, match: { method: 'POST' } });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++)
      statuses.push((await call(dv, 'POST', 'stc_payments', { stc_name: `f${i}` })).status);
    expect(statuses.filter((s) => s === 502)).toHaveLength(2);
    expect(statuses.filter((s) => s === 204)).toHaveLength(6);
    expect((await call(dv, 'GET', 'stc_payments?$top=1')).status).toBe(200);
  });

  test('latency delays the answer', async () => {
    dv.injectFault({ latencyMs: 200, count: 1 });
    const t0 = Date.now();
    expect((await call(dv, 'GET', 'stc_payments?$top=1')).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
  });

  test('a dropped connection makes the client see a network error', async () => {
    dv.injectFault({ drop: true, count: 1 });
    await expect(fetch(new URL('stc_payments', dv.url))).rejects.toThrow();
    expect((await call(dv, 'GET', 'stc_payments?$top=1')).status).toBe(200);
  });

  test('the loopback admin route injects faults too', async () => {
    const origin = new URL(dv.url).origin;
    const r = await fetch(`${origin}/_emulator/faults`, {
      method: 'POST',
      body: JSON.stringify({ status: 504, count: 1 }),
    });
    expect(r.status).toBe(200);
    expect((await call(dv, 'GET', 'stc_payments?$top=1')).status).toBe(504);
    expect((await call(dv, 'GET', 'stc_payments?$top=1')).status).toBe(200);
  });
});
