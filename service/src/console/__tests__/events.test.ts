import { describeOnEachEngine, type TestDatabase } from '../../__tests__/support/engines';
import type { EventPage, Lineage } from '../contract';
import { consoleHarness, DATAVERSE_URL, type ConsoleHarness } from './support';

describeOnEachEngine('console events', (engine) => {
  let db: TestDatabase;
  let console_: ConsoleHarness;
  beforeEach(async () => {
    db = await engine.open();
    console_ = consoleHarness(db.store);
  });
  afterEach(() => db.destroy());

  it("finds the event that wrote a payment row by the row's id, and lists the write with its link", async () => {
    const { eventId } = await console_.deliver('ch_console_1');
    await console_.deliver('ch_console_2');
    await console_.work();
    const rowId = console_.rowId('ch_console_1');

    const page = (await console_.get(`/console/api/events?q=${rowId.toUpperCase()}`).expect(200))
      .body as EventPage;
    expect(page.events.map((e) => [e.eventId, e.objectId, e.status])).toEqual([
      [eventId, 'ch_console_1', 'applied'],
    ]);
    expect(page.nextCursor).toBeNull();

    const lineage = (await console_.get(`/console/api/events/${page.events[0].id}`).expect(200))
      .body as Lineage;
    expect(lineage.writes).toEqual([
      expect.objectContaining({
        attempt: 1,
        table: 'stc_payment',
        rowId,
        operation: 'upsert',
        method: 'PATCH',
        path: "stc_payments(stc_stripeid='ch_console_1')",
        status: 201,
        error: null,
        dynamicsUrl: `${DATAVERSE_URL}/main.aspx?etn=stc_payment&id=${rowId}&pagetype=entityrecord`,
      }),
    ]);
    expect(lineage.attempts).toEqual([expect.objectContaining({ attempt: 1, outcome: 'applied' })]);
    expect(lineage.signature.scheme).toBe('stripe-signature');
    expect((lineage.payload as { id: string }).id).toBe(eventId);
    expect(lineage.stripeUrls).toEqual({
      event: `https://dashboard.stripe.com/test/events/${eventId}`,
      object: 'https://dashboard.stripe.com/test/payments/ch_console_1',
    });
    expect(lineage.supersededBy).toBeNull();
  });

  it('searches by event id, object id, type and outcome, newest first, in pages', async () => {
    const delivered = [];
    for (const id of ['ch_a', 'ch_b', 'ch_fail_c', 'ch_d']) delivered.push(await console_.deliver(id));
    await console_.work();

    const byEvent = (await console_.get(`/console/api/events?q=${delivered[1].eventId}`)).body as EventPage;
    expect(byEvent.events.map((e) => e.objectId)).toEqual(['ch_b']);
    const dead = (await console_.get('/console/api/events?outcome=dead')).body as EventPage;
    expect(dead.events.map((e) => [e.objectId, e.lastError])).toEqual([['ch_fail_c', 'refused']]);
    const none = (await console_.get('/console/api/events?type=charge.refunded')).body as EventPage;
    expect(none.events).toEqual([]);

    const first = (await console_.get('/console/api/events?limit=3')).body as EventPage;
    expect(first.events.map((e) => e.objectId)).toEqual(['ch_d', 'ch_fail_c', 'ch_b']);
    expect(first.nextCursor).not.toBeNull();
    const second = (await console_.get(`/console/api/events?limit=3&cursor=${first.nextCursor}`))
      .body as EventPage;
    expect(second.events.map((e) => e.objectId)).toEqual(['ch_a']);
    expect(second.nextCursor).toBeNull();

    const bad = await console_.get('/console/api/events?outcome=exploded');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('outcome must be one of');
    expect((await console_.get('/console/api/events/999999')).status).toBe(404);
  });
});
