import request from 'supertest';
import { describeOnEachEngine, type TestDatabase } from '../../__tests__/support/engines';
import type { BulkRetry, DeadLetterPage, EventPage } from '../contract';
import { ADMIN_KEY, consoleHarness, type ConsoleHarness } from './support';

describeOnEachEngine('console dead letters', (engine) => {
  let db: TestDatabase;
  let console_: ConsoleHarness;
  let queued: number;
  beforeEach(async () => {
    db = await engine.open();
    queued = 0;
    console_ = consoleHarness(db.store, { onEventQueued: () => queued++ });
  });
  afterEach(() => db.destroy());

  const letters = async (query = '') =>
    (await console_.get(`/console/api/dead-letters${query}`).expect(200)).body as DeadLetterPage;

  it('retries exactly the open letters a filter matches, and wakes the workers', async () => {
    await console_.deliver('ch_fail_1');
    await console_.deliver('ch_fail_2', { type: 'charge.updated' });
    await console_.deliver('ch_fail_3');
    await console_.deliver('ch_ok_4');
    await console_.work();
    const before = await letters();
    expect(before.openCount).toBe(3);
    expect(before.deadLetters.map((d) => [d.objectId, d.type, d.error])).toEqual([
      ['ch_fail_3', 'charge.succeeded', 'refused'],
      ['ch_fail_2', 'charge.updated', 'refused'],
      ['ch_fail_1', 'charge.succeeded', 'refused'],
    ]);
    queued = 0;

    const bulk = (
      await console_.post('/console/api/dead-letters/retry', { type: 'charge.succeeded' }).expect(200)
    ).body as BulkRetry;
    const succeeded = before.deadLetters.filter((d) => d.type === 'charge.succeeded').map((d) => d.id);
    expect(bulk).toEqual({ retried: 2, ids: succeeded });
    expect(queued).toBe(1);

    const after = await letters();
    expect(after.openCount).toBe(1);
    expect(after.deadLetters.map((d) => d.objectId)).toEqual(['ch_fail_2']);
    const pending = (await console_.get('/console/api/events?outcome=pending').expect(200)).body as EventPage;
    expect(pending.events.map((e) => [e.objectId, e.attempts]).sort()).toEqual([
      ['ch_fail_1', 0],
      ['ch_fail_3', 0],
    ]);
    const all = await letters('?status=all');
    expect(all.deadLetters.map((d) => [d.objectId, d.resolution])).toEqual([
      ['ch_fail_3', 'retried'],
      ['ch_fail_2', null],
      ['ch_fail_1', 'retried'],
    ]);
    // Nothing left that matches: nothing retried, no wake-up.
    queued = 0;
    expect(
      (await console_.post('/console/api/dead-letters/retry', { type: 'charge.succeeded' })).body,
    ).toEqual({ retried: 0, ids: [] });
    expect(queued).toBe(0);
  });

  it('retries and discards one letter, 404 when it is not open, and pages the list', async () => {
    for (const id of ['ch_fail_a', 'ch_fail_b', 'ch_fail_c']) await console_.deliver(id);
    await console_.work();
    const first = await letters('?limit=2');
    expect(first.deadLetters).toHaveLength(2);
    const second = await letters(`?limit=2&cursor=${first.nextCursor}`);
    expect(second.deadLetters.map((d) => d.objectId)).toEqual(['ch_fail_a']);
    expect(second.nextCursor).toBeNull();

    const [c, b] = first.deadLetters;
    expect((await console_.post(`/console/api/dead-letters/${c.id}/retry`).expect(200)).body).toEqual({
      id: c.id,
      resolution: 'retried',
    });
    expect((await console_.post(`/console/api/dead-letters/${b.id}/discard`).expect(200)).body).toEqual({
      id: b.id,
      resolution: 'discarded',
    });
    expect((await console_.post(`/console/api/dead-letters/${b.id}/retry`)).status).toBe(404);
    expect((await letters()).openCount).toBe(1);
    expect((await letters(`?q=${b.eventId}&status=all`)).deadLetters[0].resolution).toBe('discarded');
  });

  it('refuses a malformed filter, and a cookie session without the CSRF header', async () => {
    const bad = await console_.post('/console/api/dead-letters/retry', { fromMs: 'yesterday' });
    expect(bad.status).toBe(400);
    // A body that is not JSON (a trailing comma) is refused, never taken for no filter: nothing is retried.
    await console_.deliver('ch_fail_1');
    await console_.deliver('ch_fail_2', { type: 'charge.updated' });
    await console_.work();
    queued = 0;
    const typo = await request(console_.server)
      .post('/console/api/dead-letters/retry')
      .set('Authorization', `Bearer ${ADMIN_KEY}`)
      .set('Content-Type', 'application/json')
      .send('{"type":"charge.updated",}');
    expect(typo.status).toBe(400);
    expect(typo.body.error.message).toMatch(/^The body must be JSON/);
    expect((await letters()).openCount).toBe(2);
    expect(queued).toBe(0);
    const signIn = await request(console_.server).post('/console/api/session').send({ adminKey: ADMIN_KEY });
    const cookie = String(signIn.headers['set-cookie'][0]).split(';')[0];
    const csrf = await request(console_.server)
      .post('/console/api/dead-letters/retry')
      .set('Cookie', cookie)
      .send({});
    expect(csrf.status).toBe(403);
    const ok = await request(console_.server)
      .post('/console/api/dead-letters/retry')
      .set('Cookie', cookie)
      .set('X-Requested-With', 'stc-console')
      .send({});
    expect(ok.body).toEqual({ retried: 2, ids: expect.any(Array) as number[] });
  });
});
