/**
 * CRUD over loopback HTTP, checked against what Microsoft Learn documents for the Dataverse Web API:
 * create-entity-web-api, update-delete-entities-using-web-api, perform-conditional-operations-using-web-api,
 * use-alternate-key-reference-record, web-api-client-errors, execute-batch-operations (string-too-long message).
 */
import type { DataverseEmulator } from '..';
import { call, expectError, expectErrorMessage, idFromEntityId, start } from './harness';

let dv: DataverseEmulator;
beforeAll(async () => {
  dv = await start();
});
afterAll(() => dv.close());
beforeEach(() => dv.store.clear());

const payment = (over: Record<string, unknown> = {}) => ({
  stc_name: 'Payment pi_1',
  stc_stripeid: 'pi_1',
  stc_amount: 12.5,
  stc_livemode: false,
  stc_status: 100000000,
  ...over,
});

describe('create (create-entity-web-api)', () => {
  test('POST answers 204 with OData-EntityId naming the new row', async () => {
    const r = await call(dv, 'POST', 'stc_payments', payment());
    expect(r.status).toBe(204);
    expect(r.text).toBe('');
    const entityId = r.headers.get('OData-EntityId');
    expect(entityId).toMatch(new RegExp(`^${dv.url.replace(/[.]/g, '\\.')}stc_payments\\([0-9a-f-]{36}\\)$`));
    expect(r.headers.get('OData-Version')).toBe('4.0');
    const row = dv.store.get('stc_payments', idFromEntityId(entityId));
    expect(row).toMatchObject({ stc_name: 'Payment pi_1', stc_amount: 12.5, stc_stripeid: 'pi_1' });
  });

  test('Prefer: return=representation answers 201 with the row, its etag and context', async () => {
    const r = await call(dv, 'POST', 'stc_payments?$select=stc_name,stc_amount', payment(), {
      Prefer: 'return=representation',
    });
    expect(r.status).toBe(201);
    expect(r.headers.get('Preference-Applied')).toBe('return=representation');
    expect(r.body['@odata.context']).toBe(`${dv.url}$metadata#stc_payments(stc_name,stc_amount)/$entity`);
    expect(r.body['@odata.etag']).toMatch(/^W\/"\d+"$/);
    expect(r.body).toMatchObject({ stc_name: 'Payment pi_1', stc_amount: 12.5 });
    expect(r.body.stc_paymentid).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.body).not.toHaveProperty('stc_stripeid');
  });

  test('a client-chosen id is kept; the same id twice is refused', async () => {
    const id = '11111111-2222-3333-4444-555555555555';
    expect((await call(dv, 'POST', 'stc_payments', payment({ stc_paymentid: id }))).status).toBe(204);
    const again = await call(
      dv,
      'POST',
      'stc_payments',
      payment({ stc_paymentid: id, stc_stripeid: 'pi_2' }),
    );
    expect(again.status).toBe(412);
    expect((await call(dv, 'GET', `stc_payments(${id})`)).status).toBe(200);
  });

  test('GET by id answers the row with platform columns and _x_value lookups', async () => {
    const created = await call(dv, 'POST', 'stc_payments', payment());
    const id = idFromEntityId(created.headers.get('OData-EntityId'));
    const r = await call(dv, 'GET', `stc_payments(${id})`);
    expect(r.status).toBe(200);
    expect(r.headers.get('Content-Type')).toBe('application/json; odata.metadata=minimal');
    expect(r.body['@odata.context']).toBe(`${dv.url}$metadata#stc_payments/$entity`);
    expect(r.body.stc_paymentid).toBe(id);
    expect(r.body.createdon).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(r.body._createdby_value).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.body._ownerid_value).toBe(r.body._createdby_value);
    expect(r.body._stc_customerid_value).toBeNull();
    expect(r.body.statecode).toBe(0);
    expect(r.body.statuscode).toBe(1);
    expect(r.body.stc_description).toBeNull();
  });
});

describe('errors (web-api-client-errors)', () => {
  test('a missing row answers 404 0x80040217 "<table> With Id = <id> Does Not Exist"', async () => {
    const id = '00000000-0000-0000-0000-000000000001';
    const r = await call(dv, 'GET', `stc_payments(${id})`);
    expect(r.status).toBe(404);
    expect(r.body).toEqual({
      error: { code: '0x80040217', message: `stc_payment With Id = ${id} Does Not Exist` },
    });
  });

  test('an unknown entity set answers 404 "Resource not found for the segment"', async () => {
    const r = await call(dv, 'GET', 'Stc_Payments');
    expectError(r, 404, {
      code: '0x8006088a',
      message: "Resource not found for the segment 'Stc_Payments'.",
    });
  });

  test('an unknown column in the body answers 400 naming the property', async () => {
    const r = await call(dv, 'POST', 'stc_payments', payment({ Stc_Name: 'x' }));
    expectErrorMessage(
      r,
      400,
      "Invalid property 'Stc_Name' was found in entity 'Microsoft.Dynamics.CRM.stc_payment'.",
    );
    expect(dv.store.count('stc_payments')).toBe(0);
  });

  test('an unknown column in $select answers 400 "Could not find a property named"', async () => {
    const r = await call(dv, 'GET', 'stc_payments?$select=Name');
    expectError(r, 400, {
      code: '0x0',
      message: "Could not find a property named 'Name' on type 'Microsoft.Dynamics.CRM.stc_payment'.",
    });
  });

  test('a value of the wrong type is refused with the OData conversion message', async () => {
    const r = await call(dv, 'POST', 'stc_payments', payment({ stc_sequence: 'seven' }));
    expectErrorMessage(r, 400, "Cannot convert the literal 'seven' to the expected type 'Edm.Int32'.");
    const money = await call(dv, 'POST', 'stc_payments', payment({ stc_livemode: 'yes' }));
    expect(money.body.error.message).toContain("to the expected type 'Edm.Boolean'");
  });

  test('a string over its maximum length answers 0x80044331 with Dataverse wording', async () => {
    const r = await call(dv, 'POST', 'stc_payments', payment({ stc_name: 'x'.repeat(101) }));
    expectError(r, 400, {
      code: '0x80044331',
      message:
        "A validation error occurred.  The length of the 'stc_name' attribute of the 'stc_payment' entity exceeded the maximum allowed length of '100'.",
    });
  });

  test('a choice value outside its option set answers 0x8004431a listing the accepted values', async () => {
    const r = await call(dv, 'POST', 'stc_payments', payment({ stc_status: 5 }));
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('0x8004431a');
    expect(r.body.error.message).toBe(
      "A validation error occurred. The value 5 of 'stc_status' on record of type 'stc_payment' is outside the valid range. Accepted Values: 100000000,100000001,100000002",
    );
  });

  test('a missing system-required column is refused on create', async () => {
    const { stc_name: _omit, ...withoutName } = payment();
    const r = await call(dv, 'POST', 'stc_payments', withoutName);
    expectErrorMessage(r, 400, "'stc_name'");
    expect(dv.store.count('stc_payments')).toBe(0);
  });

  test('a duplicate alternate-key value answers 412 0x80060892', async () => {
    expect((await call(dv, 'POST', 'stc_payments', payment())).status).toBe(204);
    const r = await call(dv, 'POST', 'stc_payments', payment({ stc_name: 'again' }));
    expect(r.status).toBe(412);
    expect(r.body.error.code).toBe('0x80060892');
    expect(r.body.error.message).toBe(
      'A record that has the attribute values Stripe Id already exists. The entity key Stripe Id Key requires that this set of attributes contains unique values. Select unique values and try again.',
    );
    // Keys compare case-insensitively, as Dataverse's collation does.
    expect((await call(dv, 'POST', 'stc_payments', payment({ stc_stripeid: 'PI_1' }))).status).toBe(412);
    expect(dv.store.count('stc_payments')).toBe(1);
  });
});

describe('update, upsert and delete (update-delete-entities, use-alternate-key)', () => {
  test('PATCH by alternate key creates when missing, then updates the same row', async () => {
    const first = await call(dv, 'PATCH', "stc_payments(stc_stripeid='pi_9')", {
      stc_name: 'first',
      stc_amount: 1,
    });
    expect(first.status).toBe(204);
    const id = idFromEntityId(first.headers.get('OData-EntityId'));
    const second = await call(dv, 'PATCH', "stc_payments(stc_stripeid='pi_9')", { stc_amount: 2 });
    expect(second.status).toBe(204);
    expect(idFromEntityId(second.headers.get('OData-EntityId'))).toBe(id);
    const r = await call(
      dv,
      'GET',
      "stc_payments(stc_stripeid='pi_9')?$select=stc_name,stc_amount,stc_stripeid",
    );
    expect(r.body).toMatchObject({
      stc_paymentid: id,
      stc_name: 'first',
      stc_amount: 2,
      stc_stripeid: 'pi_9',
    });
    expect(dv.store.count('stc_payments')).toBe(1);
  });

  test('upsert with return=representation answers 201 on create and 200 on update', async () => {
    const prefer = { Prefer: 'return=representation' };
    const created = await call(dv, 'PATCH', "stc_payments(stc_stripeid='pi_r')", { stc_name: 'r' }, prefer);
    expect(created.status).toBe(201);
    const updated = await call(dv, 'PATCH', "stc_payments(stc_stripeid='pi_r')", { stc_name: 'r2' }, prefer);
    expect(updated.status).toBe(200);
    expect(updated.body.stc_name).toBe('r2');
    expect(updated.body['@odata.etag']).not.toBe(created.body['@odata.etag']);
  });

  test("key values with a quote use OData's doubled quote", async () => {
    const r = await call(dv, 'PATCH', "stc_payments(stc_stripeid='o''brien')", { stc_name: 'quoted' });
    expect(r.status).toBe(204);
    expect(dv.store.rows('stc_payments')[0].stc_stripeid).toBe("o'brien");
    expect((await call(dv, 'GET', "stc_payments(stc_stripeid='o''brien')")).status).toBe(200);
  });

  test('a two-column key addresses a row by both values', async () => {
    const path = "stc_payments(stc_stripeaccount='acct_1',stc_sequence=2)";
    expect((await call(dv, 'PATCH', path, { stc_name: 'two' })).status).toBe(204);
    const r = await call(dv, 'GET', path);
    expect(r.body).toMatchObject({ stc_stripeaccount: 'acct_1', stc_sequence: 2, stc_name: 'two' });
    expect((await call(dv, 'GET', "stc_payments(stc_stripeaccount='acct_1',stc_sequence=3)")).status).toBe(
      404,
    );
  });

  test('If-Match: * prevents the create: 404 by id, 404 0x80060891 by key (conditional operations)', async () => {
    const byId = await call(
      dv,
      'PATCH',
      'stc_payments(00000000-0000-0000-0000-000000000002)',
      { stc_name: 'x' },
      { 'If-Match': '*' },
    );
    expect(byId.status).toBe(404);
    expect(byId.body.error.code).toBe('0x80040217');
    const byKey = await call(
      dv,
      'PATCH',
      "stc_payments(stc_stripeid='nope')",
      { stc_name: 'x' },
      { 'If-Match': '*' },
    );
    expectError(byKey, 404, {
      code: '0x80060891',
      message: 'A record with the specified key values does not exist in stc_payment entity',
    });
    expect(dv.store.count('stc_payments')).toBe(0);
  });

  test('If-None-Match: * prevents the update: 412 "A record with matching key values already exists."', async () => {
    await call(dv, 'PATCH', "stc_payments(stc_stripeid='pi_1')", { stc_name: 'one' });
    const r = await call(
      dv,
      'PATCH',
      "stc_payments(stc_stripeid='pi_1')",
      { stc_name: 'two' },
      { 'If-None-Match': '*' },
    );
    expect(r.status).toBe(412);
    expect(r.body.error.message).toBe('A record with matching key values already exists.');
    expect(dv.store.rows('stc_payments')[0].stc_name).toBe('one');
  });

  test('If-Match with a stale etag answers 412; with the current etag it updates (optimistic concurrency)', async () => {
    const created = await call(dv, 'POST', 'stc_payments', payment(), { Prefer: 'return=representation' });
    const id = created.body.stc_paymentid;
    const etag = created.body['@odata.etag'];
    expect(
      (await call(dv, 'PATCH', `stc_payments(${id})`, { stc_amount: 3 }, { 'If-Match': etag })).status,
    ).toBe(204);
    const stale = await call(dv, 'PATCH', `stc_payments(${id})`, { stc_amount: 4 }, { 'If-Match': etag });
    expectError(stale, 412, {
      code: '0x80060882',
      message: "The version of the existing record doesn't match the RowVersion property provided.",
    });
    const staleDelete = await call(dv, 'DELETE', `stc_payments(${id})`, undefined, { 'If-Match': etag });
    expect(staleDelete.status).toBe(412);
    expect(dv.store.get('stc_payments', id)?.stc_amount).toBe(3);
  });

  test('GET with If-None-Match of the current etag answers 304', async () => {
    const created = await call(dv, 'POST', 'stc_payments', payment(), { Prefer: 'return=representation' });
    const r = await call(dv, 'GET', `stc_payments(${created.body.stc_paymentid})`, undefined, {
      'If-None-Match': created.body['@odata.etag'],
    });
    expect(r.status).toBe(304);
  });

  test('DELETE answers 204, then the row is gone; deleting again answers 404', async () => {
    const created = await call(dv, 'POST', 'stc_payments', payment());
    const id = idFromEntityId(created.headers.get('OData-EntityId'));
    expect((await call(dv, 'DELETE', `stc_payments(${id})`)).status).toBe(204);
    expect((await call(dv, 'GET', `stc_payments(${id})`)).status).toBe(404);
    expect((await call(dv, 'DELETE', `stc_payments(${id})`)).status).toBe(404);
    expect((await call(dv, 'DELETE', "stc_payments(stc_stripeid='pi_x')")).body.error.code).toBe(
      '0x80060891',
    );
  });

  test('a single property can be read, set with PUT and cleared with DELETE', async () => {
    const created = await call(dv, 'POST', 'stc_payments', payment());
    const id = idFromEntityId(created.headers.get('OData-EntityId'));
    const read = await call(dv, 'GET', `stc_payments(${id})/stc_name`);
    expect(read.body.value).toBe('Payment pi_1');
    expect((await call(dv, 'PUT', `stc_payments(${id})/stc_name`, { value: 'renamed' })).status).toBe(204);
    expect((await call(dv, 'DELETE', `stc_payments(${id})/stc_description`)).status).toBe(204);
    expect(dv.store.get('stc_payments', id)?.stc_name).toBe('renamed');
  });
});

describe('lookups (associate-disassociate-entities, web-api-navigation-properties)', () => {
  test('@odata.bind by id and by alternate key; read back as _x_value', async () => {
    const p = await call(dv, 'POST', 'stc_payments', payment());
    const paymentId = idFromEntityId(p.headers.get('OData-EntityId'));
    await call(dv, 'POST', 'stc_refunds', {
      stc_stripeid: 're_1',
      'stc_paymentid@odata.bind': `/stc_payments(${paymentId})`,
    });
    await call(dv, 'POST', 'stc_refunds', {
      stc_stripeid: 're_2',
      'stc_paymentid@odata.bind': "/stc_payments(stc_stripeid='pi_1')",
    });
    const refunds = dv.store.rows('stc_refunds');
    expect(refunds.map((r) => r._stc_paymentid_value)).toEqual([paymentId, paymentId]);
  });

  test('a customer lookup takes either navigation and reports the target table', async () => {
    const a = idFromEntityId(
      (await call(dv, 'POST', 'accounts', { name: 'Contoso' })).headers.get('OData-EntityId'),
    );
    const c = idFromEntityId(
      (await call(dv, 'POST', 'contacts', { fullname: 'Ana' })).headers.get('OData-EntityId'),
    );
    await call(dv, 'PATCH', "stc_payments(stc_stripeid='pi_a')", {
      stc_name: 'a',
      'stc_customerid_account@odata.bind': `/accounts(${a})`,
    });
    await call(dv, 'PATCH', "stc_payments(stc_stripeid='pi_c')", {
      stc_name: 'c',
      'stc_customerid_contact@odata.bind': `contacts(${c})`,
    });
    const r = await call(
      dv,
      'GET',
      'stc_payments?$select=_stc_customerid_value&$orderby=stc_stripeid',
      undefined,
      {
        Prefer: 'odata.include-annotations="*"',
      },
    );
    expect(r.body.value.map((v: Record<string, unknown>) => v._stc_customerid_value)).toEqual([a, c]);
    expect(r.body.value[0]['_stc_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname']).toBe('account');
    expect(r.body.value[0]['_stc_customerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty']).toBe(
      'stc_customerid_account',
    );
    expect(r.body.value[0]['_stc_customerid_value@OData.Community.Display.V1.FormattedValue']).toBe(
      'Contoso',
    );
    expect(r.body.value[1]['_stc_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname']).toBe('contact');
  });

  test('an unknown navigation property answers 400 0x80048d19 "An undeclared property"', async () => {
    const r = await call(dv, 'POST', 'contacts', {
      fullname: 'x',
      'parentcustomerid@odata.bind': '/accounts(00000000-0000-0000-0000-000000000001)',
    });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('0x80048d19');
    expect(r.body.error.message).toContain(
      "An undeclared property 'parentcustomerid' which only has property annotations",
    );
  });

  test('binding to a row that does not exist answers 404; null unbinds', async () => {
    const missing = await call(dv, 'POST', 'stc_refunds', {
      'stc_paymentid@odata.bind': '/stc_payments(00000000-0000-0000-0000-000000000009)',
    });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('0x80040217');
    const p = idFromEntityId(
      (await call(dv, 'POST', 'stc_payments', payment())).headers.get('OData-EntityId'),
    );
    const refund = idFromEntityId(
      (
        await call(dv, 'POST', 'stc_refunds', { 'stc_paymentid@odata.bind': `/stc_payments(${p})` })
      ).headers.get('OData-EntityId'),
    );
    await call(dv, 'PATCH', `stc_refunds(${refund})`, { 'stc_paymentid@odata.bind': null });
    expect(dv.store.get('stc_refunds', refund)?._stc_paymentid_value).toBeNull();
  });

  test('deleting a payment cascades to its refunds; deleting an account removes the link only', async () => {
    const a = idFromEntityId(
      (await call(dv, 'POST', 'accounts', { name: 'Contoso' })).headers.get('OData-EntityId'),
    );
    const p = idFromEntityId(
      (
        await call(
          dv,
          'POST',
          'stc_payments',
          payment({ 'stc_customerid_account@odata.bind': `/accounts(${a})` }),
        )
      ).headers.get('OData-EntityId'),
    );
    await call(dv, 'POST', 'stc_refunds', { 'stc_paymentid@odata.bind': `/stc_payments(${p})` });
    expect((await call(dv, 'DELETE', `accounts(${a})`)).status).toBe(204);
    expect(dv.store.get('stc_payments', p)?._stc_customerid_value).toBeNull();
    expect((await call(dv, 'DELETE', `stc_payments(${p})`)).status).toBe(204);
    expect(dv.store.count('stc_refunds')).toBe(0);
  });
});
