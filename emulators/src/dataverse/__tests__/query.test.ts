/**
 * Queries as Microsoft Learn documents them (query-data-web-api, filter-rows, select-columns, order-rows,
 * page-results, join-tables, "Formatted values" in query-data-web-api): $select, $filter, $orderby, $top,
 * $count, Prefer: odata.maxpagesize with a working @odata.nextLink, $expand both ways, annotations.
 */
import type { DataverseEmulator } from '..';
import { call, expectErrorMessage, start } from './harness';

let dv: DataverseEmulator;
let accountId: string;
beforeAll(async () => {
  dv = await start();
  accountId = dv.store.insert('accounts', { name: 'Contoso', stc_stripecustomerid: 'cus_1' });
  const rows = [
    {
      stc_stripeid: 'pi_1',
      stc_amount: 10,
      stc_status: 100000000,
      stc_livemode: false,
      stc_paidon: '2026-01-05T10:00:00Z',
      stc_description: 'Coffee beans',
    },
    {
      stc_stripeid: 'pi_2',
      stc_amount: 25.5,
      stc_status: 100000001,
      stc_livemode: true,
      stc_paidon: '2026-02-05T10:00:00Z',
      stc_description: 'Tea',
    },
    {
      stc_stripeid: 'pi_3',
      stc_amount: 99.99,
      stc_status: 100000000,
      stc_livemode: true,
      stc_paidon: '2026-03-05T10:00:00Z',
      stc_description: "O'Brien's order",
    },
    { stc_stripeid: 'pi_4', stc_amount: 1234.5, stc_status: 100000002, stc_livemode: false },
  ];
  for (const r of rows) {
    dv.store.insert('stc_payments', {
      stc_name: `Payment ${r.stc_stripeid}`,
      ...r,
      'stc_customerid_account@odata.bind': `/accounts(${accountId})`,
    });
  }
  const pi1 = dv.store.rows('stc_payments').find((r) => r.stc_stripeid === 'pi_1')!;
  dv.store.insert('stc_refunds', {
    stc_stripeid: 're_1',
    stc_amount: 4,
    'stc_paymentid@odata.bind': `/stc_payments(${pi1.stc_paymentid})`,
  });
  dv.store.insert('stc_refunds', {
    stc_stripeid: 're_2',
    stc_amount: 6,
    'stc_paymentid@odata.bind': `/stc_payments(${pi1.stc_paymentid})`,
  });
});
afterAll(() => dv.close());

const ids = (body: { value: Array<{ stc_stripeid: string }> }) => body.value.map((v) => v.stc_stripeid);
const q = (query: string, headers: Record<string, string> = {}) =>
  call(dv, 'GET', `stc_payments?${query.replace(/ /g, '%20')}`, undefined, headers);

describe('$filter (filter-rows)', () => {
  test.each([
    ["stc_stripeid eq 'pi_2'", ['pi_2']],
    ["stc_stripeid eq 'PI_2'", ['pi_2']],
    ["stc_stripeid ne 'pi_2'", ['pi_1', 'pi_3', 'pi_4']],
    ['stc_amount gt 25.5', ['pi_3', 'pi_4']],
    ['stc_amount ge 25.5', ['pi_2', 'pi_3', 'pi_4']],
    ['stc_amount lt 25.5', ['pi_1']],
    ['stc_amount le 10', ['pi_1']],
    ['stc_livemode eq true and stc_status eq 100000000', ['pi_3']],
    ["stc_livemode eq false or stc_stripeid eq 'pi_2'", ['pi_1', 'pi_2', 'pi_4']],
    ["not (stc_stripeid eq 'pi_1' or stc_stripeid eq 'pi_2')", ['pi_3', 'pi_4']],
    ["contains(stc_description,'bean')", ['pi_1']],
    ["startswith(stc_description,'o''brien')", ['pi_3']],
    ["endswith(stc_description,'tea')", ['pi_2']],
    ['stc_paidon eq null', ['pi_4']],
    ['stc_paidon ne null and stc_paidon lt 2026-02-10T00:00:00Z', ['pi_1', 'pi_2']],
    ['stc_paidon ge 2026-03-01', ['pi_3']],
    ['statecode eq 0 and (stc_amount gt 20 and stc_amount lt 100)', ['pi_2', 'pi_3']],
    [
      "Microsoft.Dynamics.CRM.In(PropertyName='stc_stripeid',PropertyValues=['pi_1','PI_3','pi_9'])",
      ['pi_1', 'pi_3'],
    ],
    [
      "Microsoft.Dynamics.CRM.NotIn(PropertyName='stc_status',PropertyValues=['100000000'])",
      ['pi_2', 'pi_4'],
    ],
  ])('%s', async (filter, expected) => {
    const r = await q(`$select=stc_stripeid&$filter=${encodeURIComponent(filter)}&$orderby=stc_stripeid`);
    expect(r.status).toBe(200);
    expect(ids(r.body)).toEqual(expected);
  });

  test('lookups filter by _x_value with a GUID literal', async () => {
    const r = await q(`$select=stc_stripeid&$filter=_stc_customerid_value eq ${accountId}`);
    expect(ids(r.body)).toHaveLength(4);
    const none = await q(
      `$select=stc_stripeid&$filter=_stc_customerid_value eq 00000000-0000-0000-0000-000000000000`,
    );
    expect(none.body.value).toEqual([]);
  });

  test('an unknown property in $filter answers 400 naming it', async () => {
    const r = await q(`$filter=${encodeURIComponent("stc_bogus eq 'x'")}`);
    expect(r.status).toBe(400);
    expect(r.body.error.message).toBe(
      "Could not find a property named 'stc_bogus' on type 'Microsoft.Dynamics.CRM.stc_payment'.",
    );
  });

  test('a query function the emulator does not know answers 400 naming it', async () => {
    const r = await q(
      `$filter=${encodeURIComponent("Microsoft.Dynamics.CRM.Today(PropertyName='stc_paidon')")}`,
    );
    expectErrorMessage(r, 400, 'Microsoft.Dynamics.CRM.Today');
  });

  test('a filter with a syntax error answers 400', async () => {
    const r = await q(`$filter=${encodeURIComponent("stc_stripeid eq 'unterminated")}`);
    expect(r.status).toBe(400);
  });
});

describe('$select, $orderby, $top, $count', () => {
  test('$select returns only the named columns plus the primary id and etag', async () => {
    const r = await q('$select=stc_stripeid,stc_amount&$top=1&$orderby=stc_stripeid');
    expect(Object.keys(r.body.value[0]).sort()).toEqual([
      '@odata.etag',
      'stc_amount',
      'stc_paymentid',
      'stc_stripeid',
    ]);
    expect(r.body['@odata.context']).toBe(`${dv.url}$metadata#stc_payments(stc_stripeid,stc_amount)`);
  });

  test('$orderby descending and $top', async () => {
    const r = await q('$select=stc_stripeid&$orderby=stc_amount desc&$top=2');
    expect(ids(r.body)).toEqual(['pi_4', 'pi_3']);
  });

  test('$count=true adds @odata.count of every matching row', async () => {
    const r = await q('$select=stc_stripeid&$count=true&$top=1&$filter=stc_livemode eq true');
    expect(r.body['@odata.count']).toBe(2);
    expect(r.body.value).toHaveLength(1);
  });
});

test('/$count answers the number of matching rows as plain text', async () => {
  const r = await call(
    dv,
    'GET',
    `stc_payments/$count?$filter=${encodeURIComponent('stc_livemode eq true')}`,
  );
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toBe('text/plain');
  expect(r.text).toBe('2');
});

describe('paging (page-results)', () => {
  test('Prefer: odata.maxpagesize pages with an @odata.nextLink that works', async () => {
    const prefer = { Prefer: 'odata.maxpagesize=3' };
    const first = await q('$select=stc_stripeid&$orderby=stc_stripeid', prefer);
    expect(first.headers.get('Preference-Applied')).toBe('odata.maxpagesize=3');
    expect(ids(first.body)).toEqual(['pi_1', 'pi_2', 'pi_3']);
    const next: string = first.body['@odata.nextLink'];
    expect(next.startsWith(`${dv.url}stc_payments?`)).toBe(true);
    expect(decodeURIComponent(next)).toContain('$skiptoken=<cookie pagenumber="2"');
    const second = await fetch(next, { headers: { Accept: 'application/json', ...prefer } });
    const body = (await second.json()) as {
      value: Array<{ stc_stripeid: string }>;
      '@odata.nextLink'?: string;
    };
    expect(ids(body)).toEqual(['pi_4']);
    expect(body['@odata.nextLink']).toBeUndefined();
  });
});

describe('$expand (join-tables)', () => {
  test('a single-valued navigation expands to the related row with its own $select', async () => {
    const r = await q(
      `$select=stc_stripeid&$filter=stc_stripeid eq 'pi_1'&$expand=stc_customerid_account($select=name,stc_stripecustomerid)`,
    );
    expect(r.status).toBe(200);
    expect(r.body.value[0].stc_customerid_account).toMatchObject({
      accountid: accountId,
      name: 'Contoso',
      stc_stripecustomerid: 'cus_1',
    });
    expect(r.body.value[0].stc_customerid_contact).toBeUndefined();
  });

  test('a collection-valued navigation expands to the child rows with nested $select and $orderby', async () => {
    const r = await call(
      dv,
      'GET',
      `stc_payments(stc_stripeid='pi_1')?$select=stc_stripeid&$expand=stc_payment_refunds($select=stc_stripeid,stc_amount;$orderby=stc_amount desc)`,
    );
    expect(r.status).toBe(200);
    expect(r.body.stc_payment_refunds.map((x: { stc_stripeid: string }) => x.stc_stripeid)).toEqual([
      're_2',
      're_1',
    ]);
    expect(Object.keys(r.body.stc_payment_refunds[0]).sort()).toEqual([
      '@odata.etag',
      'stc_amount',
      'stc_refundid',
      'stc_stripeid',
    ]);
  });

  test('a collection expand over many rows gives each row its own children', async () => {
    const r = await q(
      '$select=stc_stripeid&$orderby=stc_stripeid&$expand=stc_payment_refunds($select=stc_stripeid;$orderby=stc_stripeid)',
    );
    const shape = r.body.value.map(
      (p: { stc_stripeid: string; stc_payment_refunds: Array<{ stc_stripeid: string }> }) => [
        p.stc_stripeid,
        p.stc_payment_refunds.map((x) => x.stc_stripeid),
      ],
    );
    expect(shape).toEqual([
      ['pi_1', ['re_1', 're_2']],
      ['pi_2', []],
      ['pi_3', []],
      ['pi_4', []],
    ]);
  });

  test('the related collection can also be read as a path', async () => {
    const r = await call(
      dv,
      'GET',
      `stc_payments(stc_stripeid='pi_1')/stc_payment_refunds?$select=stc_stripeid&$orderby=stc_stripeid`,
    );
    expect(r.body.value.map((x: { stc_stripeid: string }) => x.stc_stripeid)).toEqual(['re_1', 're_2']);
  });

  test('an unknown navigation in $expand answers 400', async () => {
    const r = await q('$expand=stc_nothing');
    expectErrorMessage(r, 400, "'stc_nothing'");
  });
});

describe('annotations (Prefer: odata.include-annotations)', () => {
  test('"*" adds formatted values for choices, booleans, money, dates and lookups', async () => {
    const r = await call(dv, 'GET', `stc_payments(stc_stripeid='pi_4')`, undefined, {
      Prefer: 'odata.include-annotations="*"',
    });
    const F = '@OData.Community.Display.V1.FormattedValue';
    expect(r.headers.get('Preference-Applied')).toBe('odata.include-annotations="*"');
    expect(r.body[`stc_status${F}`]).toBe('Refunded');
    expect(r.body[`stc_livemode${F}`]).toBe('Test');
    expect(r.body[`stc_amount${F}`]).toBe('1,234.50');
    expect(r.body[`statecode${F}`]).toBe('Active');
    expect(r.body[`_stc_customerid_value${F}`]).toBe('Contoso');
    expect(r.body[`createdon${F}`]).toMatch(/^\d{1,2}\/\d{1,2}\/\d{4} \d{1,2}:\d\d (AM|PM)$/);
  });

  test('only the requested annotation family is added', async () => {
    const r = await call(dv, 'GET', `stc_payments(stc_stripeid='pi_4')`, undefined, {
      Prefer: 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"',
    });
    expect(r.body['stc_status@OData.Community.Display.V1.FormattedValue']).toBe('Refunded');
    expect(r.body['_stc_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname']).toBeUndefined();
  });

  test('without the preference no annotation is sent', async () => {
    const r = await call(dv, 'GET', `stc_payments(stc_stripeid='pi_4')`);
    expect(
      Object.keys(r.body).filter((k) => k.includes('@') && k !== '@odata.etag' && k !== '@odata.context'),
    ).toEqual([]);
  });
});

test('WhoAmI answers the caller', async () => {
  const r = await call(dv, 'GET', 'WhoAmI');
  expect(r.status).toBe(200);
  expect(r.body.UserId).toMatch(/^[0-9a-f-]{36}$/);
  expect(r.body).toHaveProperty('BusinessUnitId');
  expect(r.body).toHaveProperty('OrganizationId');
});
