/**
 * Dataverse webhooks out, received by a local HTTP server, compared with the RemoteExecutionContext sample on
 * Microsoft Learn's "Use WebHooks to create external handlers for server events" page (headers, body shape,
 * the 256 KB rule) and "Register a WebHook" (authentication options), with the retry rule (502/503/504, once).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DataverseEmulator } from '..';
import { call, idFromEntityId, start } from './harness';
import sample from './fixtures/remote-execution-context.sample.json';

interface Received {
  url: string;
  headers: http.IncomingHttpHeaders;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

let dv: DataverseEmulator;
let receiver: http.Server;
let receiverUrl: string;
const received: Received[] = [];
let answers: number[] = [];

beforeAll(async () => {
  dv = await start({ webhooks: { retryDelayMs: 20, timeoutMs: 5000 } });
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        url: req.url ?? '',
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
      });
      res.writeHead(answers.shift() ?? 200);
      res.end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/dataverse`;
});
afterAll(async () => {
  await dv.close();
  await new Promise((r) => receiver.close(r));
});

const registrations: Array<{ unregister(): void }> = [];
beforeEach(() => {
  dv.store.clear();
  received.length = 0;
  answers = [];
});
afterEach(async () => {
  await dv.webhooksIdle();
  registrations.splice(0).forEach((r) => r.unregister());
});

const register = (...args: Parameters<DataverseEmulator['registerWebhook']>) => {
  const r = dv.registerWebhook(...args);
  registrations.push(r);
  return r;
};

/** Same keys, recursively, for objects; arrays compared by their first element. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.length > 0 ? [shape(value[0])] : [];
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .filter((k) => k !== '_source')
        .sort()
        .map((k) => [k, shape((value as Record<string, unknown>)[k])]),
    );
  }
  return value === null ? null : typeof value;
}

test('a Create step POSTs the RemoteExecutionContext with the documented headers and shape', async () => {
  const step = register({
    table: 'stc_payment',
    message: 'Create',
    url: receiverUrl,
    auth: { type: 'HttpHeader', headers: { 'x-stc-webhook-key': 'k3y' } },
  });
  const created = await call(dv, 'POST', 'stc_payments', {
    stc_name: 'P',
    stc_amount: 12.5,
    stc_status: 100000000,
    stc_paidon: '2026-01-05T10:00:00Z',
  });
  const id = idFromEntityId(created.headers.get('OData-EntityId'));
  await dv.webhooksIdle();
  expect(received).toHaveLength(1);
  const { headers, body, url } = received[0];
  expect(url).toBe('/webhooks/dataverse');
  expect(headers['content-type']).toBe('application/json');
  expect(headers['x-stc-webhook-key']).toBe('k3y');
  expect(headers['x-ms-dynamics-organization']).toBe('stcsandbox.crm.dynamics.com');
  expect(headers['x-ms-dynamics-entity-name']).toBe('stc_payment');
  expect(headers['x-ms-dynamics-request-name']).toBe('Create');
  expect(headers['x-ms-correlation-request-id']).toBe(body.CorrelationId);
  expect(headers['x-ms-dynamics-msg-size-exceeded']).toBeUndefined();

  // Every top-level property of the documented sample, with the same JSON types.
  const ours = shape(body) as Record<string, unknown>;
  const theirs = shape(sample) as Record<string, unknown>;
  for (const key of Object.keys(theirs).filter(
    (k) => !['InputParameters', 'PostEntityImages', 'OutputParameters', 'OwningExtension'].includes(k),
  )) {
    expect([key, ours[key]]).toEqual([key, theirs[key]]);
  }
  expect(body).toMatchObject({
    MessageName: 'Create',
    PrimaryEntityName: 'stc_payment',
    PrimaryEntityId: id,
    Stage: 40,
    Mode: 1,
    Depth: 1,
  });
  expect(body.OwningExtension).toMatchObject({ Id: step.id, LogicalName: 'sdkmessageprocessingstep' });
  expect(body.OutputParameters).toEqual([{ key: 'id', value: id }]);

  const target = body.InputParameters[0];
  expect(target.key).toBe('Target');
  expect(Object.keys(target.value).sort()).toEqual(Object.keys(sample.InputParameters[0].value).sort());
  expect(target.value).toMatchObject({
    __type: 'Entity:http://schemas.microsoft.com/xrm/2011/Contracts',
    Id: id,
    LogicalName: 'stc_payment',
  });
  const attribute = (name: string) =>
    target.value.Attributes.find((a: { key: string }) => a.key === name)?.value;
  expect(attribute('stc_name')).toBe('P');
  expect(attribute('stc_amount')).toEqual({
    __type: 'Money:http://schemas.microsoft.com/xrm/2011/Contracts',
    Value: 12.5,
  });
  expect(attribute('stc_status')).toEqual({
    __type: 'OptionSetValue:http://schemas.microsoft.com/xrm/2011/Contracts',
    Value: 100000000,
  });
  expect(attribute('stc_paidon')).toBe(`/Date(${Date.parse('2026-01-05T10:00:00Z')})/`);
  expect(Object.keys(attribute('createdby')).sort()).toEqual(
    Object.keys(sample.InputParameters[0].value.Attributes[3].value).sort(),
  );
  expect(attribute('createdby').__type).toBe(
    'EntityReference:http://schemas.microsoft.com/xrm/2011/Contracts',
  );
  expect(target.value.FormattedValues).toContainEqual({ key: 'stc_status', value: 'Succeeded' });
});

test('an Update step fires only for its filtering attributes and carries the images asked for', async () => {
  register({
    table: 'stc_payment',
    message: 'Update',
    url: receiverUrl,
    filteringAttributes: ['stc_status'],
    preImage: { name: 'before', attributes: ['stc_status', 'stc_name'] },
    postImage: {},
  });
  const id = dv.store.insert('stc_payments', { stc_name: 'P', stc_status: 100000000 });
  await call(dv, 'PATCH', `stc_payments(${id})`, { stc_name: 'renamed' });
  await dv.webhooksIdle();
  expect(received).toHaveLength(0);
  await call(dv, 'PATCH', `stc_payments(${id})`, { stc_status: 100000002 });
  await dv.webhooksIdle();
  expect(received).toHaveLength(1);
  const body = received[0].body;
  expect(body.MessageName).toBe('Update');
  const targetKeys = body.InputParameters[0].value.Attributes.map((a: { key: string }) => a.key).sort();
  expect(targetKeys).toEqual(['modifiedby', 'modifiedon', 'stc_paymentid', 'stc_status']);
  const pre = body.PreEntityImages[0];
  expect(pre.key).toBe('before');
  expect(pre.value.Attributes).toEqual(
    expect.arrayContaining([
      {
        key: 'stc_status',
        value: { __type: 'OptionSetValue:http://schemas.microsoft.com/xrm/2011/Contracts', Value: 100000000 },
      },
    ]),
  );
  expect(pre.value.Attributes.map((a: { key: string }) => a.key).sort()).toEqual([
    'stc_name',
    'stc_paymentid',
    'stc_status',
  ]);
  expect(body.PostEntityImages[0].key).toBe('PostImage');
});

test('a Delete step sends an EntityReference target; WebhookKey auth goes in ?code=', async () => {
  register({
    table: 'stc_payment',
    message: 'Delete',
    url: receiverUrl,
    auth: { type: 'WebhookKey', key: 'abc+/=' },
  });
  const id = dv.store.insert('stc_payments', { stc_name: 'P' });
  await call(dv, 'DELETE', `stc_payments(${id})`);
  await dv.webhooksIdle();
  expect(received).toHaveLength(1);
  expect(new URL(received[0].url, 'http://x').searchParams.get('code')).toBe('abc+/=');
  expect(received[0].body.InputParameters[0].value).toEqual({
    __type: 'EntityReference:http://schemas.microsoft.com/xrm/2011/Contracts',
    Id: id,
    KeyAttributes: [],
    LogicalName: 'stc_payment',
    Name: null,
    RowVersion: null,
  });
});

test('UserId is the impersonated user, InitiatingUserId the caller (MSCRMCallerID)', async () => {
  register({ table: 'stc_payment', message: 'Create', url: receiverUrl });
  const finance = '0f8fad5b-d9cb-469f-a165-70867728950e';
  dv.addSystemUser({ systemuserid: finance, fullname: 'Finance User' });
  await call(dv, 'POST', 'stc_payments', { stc_name: 'P' }, { MSCRMCallerID: finance });
  await dv.webhooksIdle();
  expect(received[0].body.UserId).toBe(finance);
  expect(received[0].body.InitiatingUserId).not.toBe(finance);
  expect(dv.store.rows('stc_payments')[0]._createdby_value).toBe(finance);
});

test('502/503/504 are retried once; other failures are not', async () => {
  const step = register({ table: 'stc_payment', message: 'Create', url: receiverUrl });
  answers = [503, 200];
  dv.store.insert('stc_payments', { stc_name: 'a' });
  await dv.webhooksIdle();
  answers = [500];
  dv.store.insert('stc_payments', { stc_name: 'b' });
  await dv.webhooksIdle();
  answers = [504, 502];
  dv.store.insert('stc_payments', { stc_name: 'c' });
  await dv.webhooksIdle();
  const deliveries = dv.webhookDeliveries().filter((d) => d.stepId === step.id);
  expect(deliveries.map((d) => [d.attempts, d.status, d.delivered])).toEqual([
    [2, 200, true],
    [1, 500, false],
    [2, 502, false],
  ]);
  expect(received).toHaveLength(5);
});

test('above 256 KB the parameters and images are dropped and x-ms-dynamics-msg-size-exceeded is sent', async () => {
  register({ table: 'stc_payment', message: 'Create', url: receiverUrl, postImage: {} });
  await call(dv, 'POST', 'stc_payments', { stc_name: 'big', stc_payload: 'x'.repeat(300 * 1024) });
  await dv.webhooksIdle();
  expect(received).toHaveLength(1);
  expect(received[0].headers['x-ms-dynamics-msg-size-exceeded']).toBeDefined();
  expect(received[0].body.InputParameters).toBeUndefined();
  expect(received[0].body.PostEntityImages).toBeUndefined();
  expect(received[0].body.PreEntityImages).toBeUndefined();
  expect(received[0].body.MessageName).toBe('Create');
});

test('writes rolled back in a $batch change set send nothing', async () => {
  register({ table: 'stc_payment', message: 'Create', url: receiverUrl });
  const cs = 'changeset_1';
  const part = (json: string) =>
    `--${cs}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nPOST stc_payments HTTP/1.1\r\nContent-Type: application/json\r\n\r\n${json}`;
  const body = `--batch_w\r\nContent-Type: multipart/mixed; boundary=${cs}\r\n\r\n${part('{"stc_name":"ok"}')}\r\n${part('{"stc_name":5}')}\r\n--${cs}--\r\n--batch_w--\r\n`;
  const r = await fetch(new URL('$batch', dv.url), {
    method: 'POST',
    headers: { 'Content-Type': 'multipart/mixed; boundary=batch_w' },
    body,
  });
  expect(r.status).toBe(400);
  await dv.webhooksIdle();
  expect(received).toHaveLength(0);
  expect(dv.store.count('stc_payments')).toBe(0);
});

test('steps registered as serviceendpoint + sdkmessageprocessingstep rows fire like a solution registration', async () => {
  const endpoint = await call(dv, 'POST', 'serviceendpoints', {
    name: 'Stripe Connector Service',
    contract: 8,
    url: receiverUrl,
    authtype: 5,
    authvalue: '<settings><setting name="x-stc-webhook-key" value="s3cr&amp;t" /></settings>',
    messageformat: 2,
  });
  expect(endpoint.status).toBe(204);
  const endpointId = idFromEntityId(endpoint.headers.get('OData-EntityId'));
  const updateMessage = '20bebb1b-ea3e-db11-86a7-000a3a5473e8';
  const filters = await call(
    dv,
    'GET',
    `sdkmessagefilters?$select=sdkmessagefilterid&$filter=primaryobjecttypecode eq 'stc_payment' and _sdkmessageid_value eq ${updateMessage}`.replace(
      / /g,
      '%20',
    ),
  );
  expect(filters.body.value).toHaveLength(1);
  const step = await call(dv, 'POST', 'sdkmessageprocessingsteps', {
    name: 'Stripe Connector: Update of stc_payment',
    stage: 40,
    mode: 1,
    rank: 1,
    supporteddeployment: 0,
    filteringattributes: 'stc_status',
    'sdkmessageid@odata.bind': `/sdkmessages(${updateMessage})`,
    'sdkmessagefilterid@odata.bind': `/sdkmessagefilters(${filters.body.value[0].sdkmessagefilterid})`,
    'eventhandler_serviceendpoint@odata.bind': `/serviceendpoints(${endpointId})`,
  });
  const stepId = idFromEntityId(step.headers.get('OData-EntityId'));
  await call(dv, 'POST', 'sdkmessageprocessingstepimages', {
    name: 'PostImage',
    entityalias: 'PostImage',
    imagetype: 1,
    messagepropertyname: 'Target',
    attributes: 'stc_status,stc_name',
    'sdkmessageprocessingstepid@odata.bind': `/sdkmessageprocessingsteps(${stepId})`,
  });

  const id = dv.store.insert('stc_payments', { stc_name: 'P', stc_status: 100000000 });
  await call(dv, 'PATCH', `stc_payments(${id})`, { stc_status: 100000001 });
  await dv.webhooksIdle();
  expect(received).toHaveLength(1);
  expect(received[0].headers['x-stc-webhook-key']).toBe('s3cr&t');
  expect(received[0].body.OwningExtension.Id).toBe(stepId);
  expect(
    received[0].body.PostEntityImages[0].value.Attributes.map((a: { key: string }) => a.key).sort(),
  ).toEqual(['stc_name', 'stc_paymentid', 'stc_status']);

  await call(dv, 'PATCH', `sdkmessageprocessingsteps(${stepId})`, { statecode: 1 });
  await call(dv, 'PATCH', `stc_payments(${id})`, { stc_status: 100000002 });
  await dv.webhooksIdle();
  expect(received).toHaveLength(1);
});

test('close() does not wait for a receiver that never answers', async () => {
  const silent = http.createServer(() => undefined); // accepts, never answers
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  const other = await start();
  other.registerWebhook({
    table: 'stc_payment',
    message: 'Create',
    url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`,
  });
  other.store.insert('stc_payments', { stc_name: 'x' });
  await new Promise((r) => setTimeout(r, 50));
  const t0 = Date.now();
  await other.close();
  // Waiting would take the delivery's 60 s timeout.
  expect(Date.now() - t0).toBeLessThan(10_000);
  expect(other.webhookDeliveries()[0]).toMatchObject({ delivered: false, attempts: 1 });
  silent.closeAllConnections();
  await new Promise((r) => silent.close(r));
});
