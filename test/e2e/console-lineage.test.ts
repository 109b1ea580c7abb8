/**
 * The operator console's lineage through the whole system: a card payment made in the Stripe emulator reaches
 * the service by webhook and becomes an stc_payment row in the Dataverse emulator; an operator signed in to
 * the console finds the event that wrote it by the row's id and sees the write with the row's address in
 * Dynamics 365 and the payment in the Stripe dashboard.
 */
import { StcPaymentStatus } from '@stc/solution';
import type { EventPage, Lineage } from '@stc/service/src/console/contract';
import { ADMIN_KEY, startRoundTrip, waitFor, type RoundTrip } from './roundtrip';

const SERVICE_USER = {
  systemuserid: '7d2e9c33-0000-4000-8000-0000000000a1',
  fullname: 'Stripe Connector Service',
  roles: ['Stripe Connector Service'],
};
let world: RoundTrip;

beforeAll(async () => {
  world = await startRoundTrip([SERVICE_USER]);
}, 60_000);
afterAll(() => world?.close());

/** Signs in as an operator does: the admin key once, then the session cookie. */
async function signIn(): Promise<string> {
  const res = await fetch(`${world.service.url}/console/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ adminKey: ADMIN_KEY }),
  });
  expect(res.status).toBe(204);
  return (res.headers.get('set-cookie') ?? '').split(';')[0];
}

async function consoleGet<T>(cookie: string, path: string): Promise<T> {
  const res = await fetch(`${world.service.url}${path}`, { headers: { cookie } });
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

describe('console lineage of a payment', () => {
  it("finds the event that wrote a payment row by the row's id, with the write and its links", async () => {
    const intent = await world.stripe.paymentIntents.create({
      amount: 2_500,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const row = await waitFor('the payment row', () =>
      world.dataverse.store
        .rows('stc_payments')
        .find((r) => r.stc_stripeid === intent.id && r.stc_status === StcPaymentStatus.Succeeded),
    );
    await world.settle();
    const rowId = String(row.stc_paymentid);
    const cookie = await signIn();

    expect((await fetch(`${world.service.url}/console/api/events?q=${rowId}`)).status).toBe(401);
    const page = await consoleGet<EventPage>(cookie, `/console/api/events?q=${rowId.toUpperCase()}`);
    expect(page.events.length).toBeGreaterThan(0);
    for (const event of page.events) expect([event.objectId, event.status]).toEqual([intent.id, 'applied']);

    const lineage = await consoleGet<Lineage>(cookie, `/console/api/events/${page.events[0].id}`);
    const root = world.dataverse.url.replace(/\/api\/data\/v[\d.]+\/?$/, '');
    const write = lineage.writes.find((w) => w.rowId === rowId.toLowerCase());
    expect(write).toMatchObject({
      table: 'stc_payment',
      operation: 'upsert',
      method: 'PATCH',
      path: `stc_payments(stc_stripeid='${intent.id}')`,
      error: null,
      dynamicsUrl: `${root}/main.aspx?etn=stc_payment&id=${rowId.toLowerCase()}&pagetype=entityrecord`,
    });
    expect([200, 201, 204]).toContain(write!.status);
    expect(write!.mapping).toEqual(expect.any(String));
    expect(write!.mappingVersion).toEqual(expect.any(String));
    expect(lineage.attempts.at(-1)).toMatchObject({ outcome: 'applied' });
    expect(lineage.stripeUrls.event).toBe(
      `https://dashboard.stripe.com/test/events/${lineage.event.eventId}`,
    );
    expect(lineage.stripeUrls.object).toMatch(/^https:\/\/dashboard\.stripe\.com\/test\/payments\/(pi|ch)_/);
  }, 30_000);
});
