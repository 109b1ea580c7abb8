/**
 * The pure parts of the client: URL building for keys and queries, the $batch wire format, the error
 * classification, the token cache and the adaptive concurrency limiter.
 */
import { ConcurrencyLimiter } from '../concurrency';
import { createCredential, createTokenProvider, scopeFor } from '../credential';
import { createTransport } from '../transport';
import { DataverseError, isTransient, parseRetryAfter } from '../errors';
import { buildBatch, parseBatchResponse } from '../multipart';
import { idFromEntityId, idFromRow, keyFilter, keyFitsUrl, keyPath, queryString } from '../url';

describe('URLs', () => {
  it('puts safe key values in the URL, quoted, with quotes doubled and other characters encoded', () => {
    expect(keyPath('stc_payments', { stc_stripeid: 'pi_1' })).toBe('stc_payments(stc_stripeid=%27pi_1%27)');
    expect(keyPath('stc_payments', { stc_stripeid: "O'Brien #1" })).toBe(
      'stc_payments(stc_stripeid=%27O%27%27Brien%20%231%27)',
    );
    expect(keyPath('x_items', { a: 'v', b: 7 })).toBe('x_items(a=%27v%27,b=7)');
  });

  it.each(['a/b', 'a<b', 'a>b', 'a*b', 'a%b', 'a&b', 'a:b', 'a\\b', 'a?b', 'a+b', ''])(
    'does not let %j go in a URL',
    (value) => {
      expect(keyFitsUrl({ stc_stripeid: value })).toBe(false);
    },
  );

  it('builds a $filter for a key with quotes doubled', () => {
    expect(keyFilter({ name: "a'b/c", n: 3 })).toBe("name eq 'a''b/c' and n eq 3");
  });

  it('refuses ids and names that could address another resource', () => {
    expect(() => keyPath('stc_payments/../accounts', { a: 'x' })).toThrow(/entity set/);
    expect(() => keyPath('stc_payments', { 'a)': 'x' })).toThrow(/column/);
  });

  it('builds a query string without turning spaces into +', () => {
    expect(queryString({ select: ['a', 'b'], filter: "name eq 'x y'", orderBy: ['a desc'], top: 5 })).toBe(
      "?$select=a,b&$filter=name%20eq%20'x%20y'&$orderby=a%20desc&$top=5",
    );
    expect(queryString({})).toBe('');
  });

  it('finds row ids in OData-EntityId headers and returned rows', () => {
    expect(
      idFromEntityId(
        'https://org.crm.dynamics.com/api/data/v9.2/accounts(7D577253-3EF0-4A0A-BB7F-8335C2596E70)',
      ),
    ).toBe('7d577253-3ef0-4a0a-bb7f-8335c2596e70');
    expect(
      idFromRow(
        {
          '@odata.etag': 'W/"1"',
          stc_stripeid: 'pi_1',
          _ownerid_value: '11111111-1111-1111-1111-111111111111',
          stc_paymentid: '22222222-2222-2222-2222-222222222222',
        },
        ['stc_stripeid'],
      ),
    ).toBe('22222222-2222-2222-2222-222222222222');
  });
});

describe('$batch wire format', () => {
  it('writes change sets as nested multipart parts with Content-IDs and CRLF line ends', () => {
    const { contentType, body } = buildBatch([
      {
        changeSet: true,
        requests: [
          { method: 'POST', url: 'https://o/api/data/v9.2/accounts', body: { name: 'a' }, contentId: '1' },
          { method: 'PATCH', url: '$1', body: { name: 'b' }, contentId: '2' },
        ],
      },
      { changeSet: false, request: { method: 'GET', url: 'https://o/api/data/v9.2/accounts?$top=1' } },
    ]);
    const boundary = /boundary=(.+)$/.exec(contentType)![1];
    expect(boundary).toMatch(/^batch_/);
    expect(body.endsWith(`--${boundary}--\r\n`)).toBe(true);
    expect(body).toContain('Content-Type: multipart/mixed; boundary=changeset_');
    expect(body).toContain(
      'Content-ID: 1\r\n\r\nPOST https://o/api/data/v9.2/accounts HTTP/1.1\r\nContent-Type: application/json; type=entry\r\n\r\n{"name":"a"}',
    );
    expect(body).toContain('PATCH $1 HTTP/1.1');
    expect(body).toContain('GET https://o/api/data/v9.2/accounts?$top=1 HTTP/1.1');
    expect(body.split('\n').every((line, i, all) => i === all.length - 1 || line.endsWith('\r'))).toBe(true);
  });

  it('reads a Dataverse batch answer: a change set of two and a failed request', () => {
    const text = [
      '--batchresponse_c1',
      'Content-Type: multipart/mixed; boundary=changesetresponse_c2',
      '',
      '--changesetresponse_c2',
      'Content-Type: application/http',
      'Content-Transfer-Encoding: binary',
      'Content-ID: 1',
      '',
      'HTTP/1.1 204 No Content',
      'OData-Version: 4.0',
      'Location: https://o/api/data/v9.2/tasks(a4b5c6d7-0000-0000-0000-000000000001)',
      'OData-EntityId: https://o/api/data/v9.2/tasks(a4b5c6d7-0000-0000-0000-000000000001)',
      '',
      '',
      '--changesetresponse_c2',
      'Content-Type: application/http',
      'Content-Transfer-Encoding: binary',
      'Content-ID: 2',
      '',
      'HTTP/1.1 201 Created',
      'Content-Type: application/json; odata.metadata=minimal',
      '',
      '{"taskid":"a4b5c6d7-0000-0000-0000-000000000002"}',
      '--changesetresponse_c2--',
      '--batchresponse_c1',
      'Content-Type: application/http',
      'Content-Transfer-Encoding: binary',
      '',
      'HTTP/1.1 400 Bad Request',
      'Content-Type: application/json; odata.metadata=minimal',
      '',
      '{"error":{"code":"0x80044331","message":"A validation error occurred."}}',
      '--batchresponse_c1--',
      '',
    ].join('\r\n');
    const groups = parseBatchResponse('multipart/mixed; boundary=batchresponse_c1', text);
    expect(groups).toHaveLength(2);
    expect(groups[0].map((r) => [r.status, r.contentId])).toEqual([
      [204, '1'],
      [201, '2'],
    ]);
    expect(idFromEntityId(groups[0][0].headers.get('odata-entityid'))).toBe(
      'a4b5c6d7-0000-0000-0000-000000000001',
    );
    expect(JSON.parse(groups[0][1].body)).toEqual({ taskid: 'a4b5c6d7-0000-0000-0000-000000000002' });
    expect(groups[1][0].status).toBe(400);
    expect(JSON.parse(groups[1][0].body).error.code).toBe('0x80044331');
  });
});

describe('errors', () => {
  it.each([
    [429, '0x80072322', true],
    [503, '', true],
    [0, '', true],
    [500, '0x80040265', false],
    [412, '0x80060892', false],
    [400, '0x80044331', false],
    [404, '0x80040217', false],
  ])('status %i code %s is transient: %s', (status, code, transient) => {
    expect(isTransient(status, code)).toBe(transient);
  });

  it('keeps the code and says what to do', () => {
    const e = new DataverseError({
      status: 429,
      code: '0x80072322',
      message: 'Number of requests exceeded',
      request: 'POST $batch',
    });
    expect(e.message).toMatch(
      /Number of requests exceeded \(POST \$batch, HTTP 429, 0x80072322\).*fewer concurrent/,
    );
    expect(e.transient).toBe(true);
  });

  it('reads Retry-After as seconds or a date', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter('0.25')).toBe(250);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

describe('tokens', () => {
  it('asks the credential once while the token is fresh and again shortly before it expires', async () => {
    let clock = 1_000_000;
    let calls = 0;
    const credential = {
      getToken: async () => {
        calls += 1;
        return { token: `t${calls}`, expiresOnTimestamp: clock + 3_600_000 };
      },
    };
    const provider = createTokenProvider({ credential, scope: 'https://o/.default' }, () => clock);
    expect(await Promise.all([provider.getToken(), provider.getToken(), provider.getToken()])).toEqual([
      't1',
      't1',
      't1',
    ]);
    clock += 3_000_000;
    expect(await provider.getToken()).toBe('t1');
    clock += 400_000; // within five minutes of expiry
    expect(await provider.getToken()).toBe('t2');
    expect(calls).toBe(2);
    provider.invalidate();
    expect(await provider.getToken()).toBe('t3');
  });

  it('tells Entra not reached (transient: events wait) from a refusal (permanent)', async () => {
    const attempt = async (error: Error) => {
      const transport = createTransport({
        baseUrl: 'https://org.crm.dynamics.com/api/data/v9.2/',
        getToken: () => Promise.reject(error),
        timeoutMs: 1_000,
        fetch: () => Promise.reject(new Error('no request may be sent without a token')),
      });
      const failed = (await transport
        .exchange(
          { method: 'GET', url: 'https://org.crm.dynamics.com/api/data/v9.2/WhoAmI', describe: 'GET WhoAmI' },
          1,
        )
        .catch((e: unknown) => e)) as DataverseError;
      return { status: failed.status, transient: failed.transient };
    };
    const unavailable = (message: string) =>
      Object.assign(new Error(message), { name: 'CredentialUnavailableError' });
    // @azure/identity when login.microsoftonline.com cannot be resolved or refuses the connection.
    expect(
      await attempt(
        unavailable(
          'ClientSecretCredential: endpoints_resolution_error: getaddrinfo ENOTFOUND login.microsoftonline.com',
        ),
      ),
    ).toEqual({ status: 0, transient: true });
    expect(
      await attempt(unavailable('ManagedIdentityCredential: connect ECONNREFUSED 169.254.169.254:80')),
    ).toEqual({
      status: 0,
      transient: true,
    });
    // Refused: a wrong secret, or no managed identity configured at all.
    expect(await attempt(new Error('AADSTS7000215: Invalid client secret provided.'))).toEqual({
      status: 401,
      transient: false,
    });
    expect(
      await attempt(unavailable('ManagedIdentityCredential: No managed identity endpoint found.')),
    ).toEqual({ status: 401, transient: false });
  });

  it('gives up a token request that never settles, so that it holds nothing for ever', async () => {
    let asked = 0;
    const provider = createTokenProvider(
      { getToken: () => (++asked === 1 ? new Promise<string>(() => {}) : Promise.resolve('token-2')) },
      Date.now,
      50,
    );
    await expect(provider.getToken()).rejects.toThrow('No token within 50 ms');
    await expect(provider.getToken()).resolves.toBe('token-2');
    expect(asked).toBe(2);
  });

  it('names the missing setting of a credential', () => {
    expect(() => createCredential({ kind: 'client-secret', tenantId: 't', clientId: 'c' })).toThrow(
      /clientSecret.*AZURE_CLIENT_SECRET/,
    );
    expect(() => createCredential({ kind: 'certificate', tenantId: 't', clientId: 'c' })).toThrow(
      /certificatePath/,
    );
    expect(() => createCredential({ kind: 'nope' as never })).toThrow(/Unknown Dataverse credential kind/);
    expect(scopeFor('https://org.crm4.dynamics.com/api/data/v9.2/')).toBe(
      'https://org.crm4.dynamics.com/.default',
    );
  });
});

describe('adaptive concurrency', () => {
  it('starts at 10, halves once per burst of 429s, waits Retry-After, and grows back one at a time', async () => {
    let clock = 0;
    const limiter = new ConcurrencyLimiter({ initial: 10, max: 52, now: () => clock });
    const generations = await Promise.all(Array.from({ length: 10 }, () => limiter.acquire()));
    expect(limiter.state().inFlight).toBe(10);
    let eleventh = false;
    void limiter.acquire().then(() => (eleventh = true));
    await Promise.resolve();
    expect(eleventh).toBe(false);
    // Three 429s from requests started together halve the limit once, not three times.
    limiter.release(generations[0], { throttled: true, retryAfterMs: 1000 });
    limiter.release(generations[1], { throttled: true, retryAfterMs: 1000 });
    limiter.release(generations[2], { throttled: true, retryAfterMs: 1000 });
    expect(limiter.limit).toBe(5);
    for (const g of generations.slice(3)) limiter.release(g, { throttled: false });
    await Promise.resolve();
    expect(eleventh).toBe(false); // paused by Retry-After
    clock = 1000;
    await new Promise((r) => setTimeout(r, 1100));
    expect(eleventh).toBe(true);
    const before = limiter.limit;
    for (let i = 0; i < before; i += 1) limiter.release(await limiter.acquire(), { throttled: false });
    expect(limiter.limit).toBeGreaterThanOrEqual(before);
  });
});
