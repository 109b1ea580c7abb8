/**
 * $batch as Microsoft Learn's "Execute batch operations using the Web API" page shows it: requests, change
 * sets with Content-ID and $n references, the batchresponse_/changesetresponse_ format, atomic change sets,
 * stop-at-first-error (400) versus Prefer: odata.continue-on-error (200), and the 1,000-request limit.
 */
import type { DataverseEmulator } from '..';
import { start } from './harness';

let dv: DataverseEmulator;
beforeAll(async () => {
  dv = await start();
});
afterAll(() => dv.close());
beforeEach(() => dv.store.clear());

type Part = {
  method: string;
  url: string;
  body?: unknown;
  contentId?: string;
  headers?: Record<string, string>;
};
type Item = Part | { changeset: Part[] };

const part = (method: string, url: string, body?: unknown, contentId?: string): Part => ({
  method,
  url,
  body,
  contentId,
});
const changeset = (...parts: Part[]): Item => ({ changeset: parts });

function renderPart(p: Part): string {
  const lines = ['Content-Type: application/http', 'Content-Transfer-Encoding: binary'];
  if (p.contentId) lines.push(`Content-ID: ${p.contentId}`);
  lines.push('', `${p.method} ${p.url} HTTP/1.1`);
  if (p.body !== undefined) lines.push('Content-Type: application/json; type=entry');
  for (const [k, v] of Object.entries(p.headers ?? {})) lines.push(`${k}: ${v}`);
  lines.push('', p.body !== undefined ? JSON.stringify(p.body) : '');
  return lines.join('\r\n');
}

function batchBody(items: Item[], boundary = 'batch_80dd1615'): string {
  const out: string[] = [];
  items.forEach((item, i) => {
    if ('changeset' in item) {
      const cs = `changeset_${i}aa`;
      const inner = item.changeset.map((p) => `--${cs}\r\n${renderPart(p)}`).join('\r\n');
      out.push(
        `--${boundary}\r\nContent-Type: multipart/mixed; boundary=${cs}\r\n\r\n${inner}\r\n--${cs}--\r\n`,
      );
    } else out.push(`--${boundary}\r\n${renderPart(item)}`);
  });
  return `${out.join('\r\n')}\r\n--${boundary}--\r\n`;
}

async function postBatch(items: Item[], prefer?: string) {
  const response = await fetch(new URL('$batch', dv.url), {
    method: 'POST',
    headers: {
      'Content-Type': 'multipart/mixed; boundary="batch_80dd1615"',
      Accept: 'application/json',
      'OData-Version': '4.0',
      'OData-MaxVersion': '4.0',
      ...(prefer ? { Prefer: prefer } : {}),
    },
    body: batchBody(items),
  });
  const text = await response.text();
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', text };
}

/** Statuses of the response parts in order, change-set parts flattened. */
function statuses(text: string): number[] {
  return [...text.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1]));
}

const payment = (id: string, extra: Record<string, unknown> = {}) => ({
  stc_name: `Payment ${id}`,
  stc_stripeid: id,
  ...extra,
});

test('a change set of creates and a GET answer 200 in the documented multipart format', async () => {
  const r = await postBatch([
    changeset(
      part('POST', '/api/data/v9.2/stc_payments', payment('pi_1'), '1'),
      part('POST', '/api/data/v9.2/stc_payments', payment('pi_2'), '2'),
    ),
    { method: 'GET', url: '/api/data/v9.2/stc_payments?$select=stc_stripeid&$orderby=stc_stripeid' },
  ]);
  expect(r.status).toBe(200);
  const boundary = /boundary=(batchresponse_[0-9a-f-]+)/.exec(r.contentType)?.[1];
  expect(boundary).toBeDefined();
  expect(r.text.endsWith(`--${boundary}--\r\n`)).toBe(true);
  expect(r.text).toMatch(
    /Content-Type: multipart\/mixed; boundary=changesetresponse_[0-9a-f-]+\r\n\r\n--changesetresponse_/,
  );
  expect(r.text).toContain(
    'Content-ID: 1\r\n\r\nHTTP/1.1 204 No Content\r\nOData-Version: 4.0\r\nLocation: ',
  );
  expect(r.text).toMatch(
    new RegExp(`OData-EntityId: ${dv.url.replace(/\./g, '\\.')}stc_payments\\([0-9a-f-]{36}\\)`),
  );
  expect(statuses(r.text)).toEqual([204, 204, 200]);
  const json = JSON.parse(r.text.slice(r.text.indexOf('{'), r.text.lastIndexOf('}') + 1));
  expect(json.value.map((v: { stc_stripeid: string }) => v.stc_stripeid)).toEqual(['pi_1', 'pi_2']);
  expect(r.text).toContain('Content-Type: application/json; odata.metadata=minimal');
});

test('Content-ID references ($1) work in a body bind and in a URL of the same change set', async () => {
  const r = await postBatch([
    changeset(
      part('POST', 'stc_payments', payment('pi_1'), '1'),
      part('POST', 'stc_refunds', { stc_stripeid: 're_1', 'stc_paymentid@odata.bind': '$1' }, '2'),
      part('PATCH', '$1', { stc_amount: 7 }, '3'),
    ),
  ]);
  expect(r.status).toBe(200);
  expect(statuses(r.text)).toEqual([204, 204, 204]);
  const [p] = dv.store.rows('stc_payments');
  expect(p.stc_amount).toBe(7);
  expect(dv.store.rows('stc_refunds')[0]._stc_paymentid_value).toBe(p.stc_paymentid);
});

test('a change set with one bad part leaves no row (atomic) and the batch answers 400 with that error', async () => {
  const r = await postBatch([
    changeset(
      part('POST', 'stc_payments', payment('pi_1'), '1'),
      part('PATCH', "stc_payments(stc_stripeid='pi_2')", { stc_name: 'upserted' }, '2'),
      part('POST', 'stc_payments', payment('pi_3', { stc_name: 'x'.repeat(101) }), '3'),
    ),
  ]);
  expect(r.status).toBe(400);
  expect(statuses(r.text)).toEqual([400]);
  expect(r.text).toContain('"code":"0x80044331"');
  expect(r.text).toContain('Content-ID: 3');
  expect(dv.store.count('stc_payments')).toBe(0);
});

test('without continue-on-error the batch stops at the first failure', async () => {
  const r = await postBatch([
    { method: 'POST', url: 'stc_payments', body: payment('pi_1') },
    { method: 'POST', url: 'stc_payments', body: payment('pi_1') }, // duplicate key
    { method: 'POST', url: 'stc_payments', body: payment('pi_3') },
  ]);
  expect(r.status).toBe(400);
  expect(statuses(r.text)).toEqual([204, 412]);
  expect(r.text).toContain('"code":"0x80060892"');
  expect(dv.store.rows('stc_payments').map((p) => p.stc_stripeid)).toEqual(['pi_1']);
});

test('with Prefer: odata.continue-on-error the batch answers 200 and every part', async () => {
  const r = await postBatch(
    [
      { method: 'POST', url: 'stc_payments', body: payment('pi_1', { stc_name: 'x'.repeat(101) }) },
      changeset(part('POST', 'stc_payments', payment('pi_2')), part('POST', 'stc_payments', { stc_name: 1 })),
      { method: 'POST', url: 'stc_payments', body: payment('pi_3') },
      { method: 'GET', url: "stc_payments(stc_stripeid='pi_404')" },
    ],
    'odata.continue-on-error',
  );
  expect(r.status).toBe(200);
  expect(statuses(r.text)).toEqual([400, 400, 204, 404]);
  expect(dv.store.rows('stc_payments').map((p) => p.stc_stripeid)).toEqual(['pi_3']);
});

test('a GET inside a change set is refused', async () => {
  const r = await postBatch([{ changeset: [{ method: 'GET', url: 'stc_payments' }] }]);
  expect(r.status).toBe(400);
});

test('an undeclared Content-ID reference answers 400', async () => {
  const r = await postBatch([
    changeset(part('POST', 'stc_refunds', { 'stc_paymentid@odata.bind': '$1' }, '2')),
  ]);
  expect(r.status).toBe(400);
  expect(r.text).toContain("Content-ID Reference: '$1' does not exist in the batch context.");
});

test('more than 1,000 requests in a batch answers 400 and writes nothing', async () => {
  const parts: Part[] = Array.from({ length: 1001 }, (_, i) => ({
    method: 'POST',
    url: 'stc_payments',
    body: payment(`pi_${i}`),
  }));
  const r = await postBatch([{ changeset: parts }]);
  expect(r.status).toBe(400);
  expect(JSON.parse(r.text).error.message).toContain('1000');
  expect(dv.store.count('stc_payments')).toBe(0);
  const ok = await postBatch([{ changeset: parts.slice(0, 1000) }]);
  expect(ok.status).toBe(200);
  expect(dv.store.count('stc_payments')).toBe(1000);
});

test('a batch body with LF line endings is read too', async () => {
  const body = batchBody([{ method: 'POST', url: 'stc_payments', body: payment('pi_lf') }]).replace(
    /\r\n/g,
    '\n',
  );
  const response = await fetch(new URL('$batch', dv.url), {
    method: 'POST',
    headers: { 'Content-Type': 'multipart/mixed; boundary=batch_80dd1615' },
    body,
  });
  expect(response.status).toBe(200);
  expect(dv.store.count('stc_payments')).toBe(1);
});
