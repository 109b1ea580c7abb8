/**
 * Test support: opens the SQLite store at STORE_PATH, stores one event, closes the store (or, with
 * STORE_LEAVE_OPEN=1, leaves it open) and says so, with nothing else keeping the process up.
 */
import { openStore } from '../../store';

void (async () => {
  const store = await openStore({ engine: 'sqlite', path: process.env.STORE_PATH! });
  await store.insertEvent({
    source: 'stripe',
    account: '',
    eventId: 'evt_store_close_child',
    type: 'charge.succeeded',
    objectId: 'ch_store_close_child',
    eventCreatedMs: Date.now(),
    payload: '{"id":"evt_store_close_child","object":"event"}',
    status: 'pending',
    receivedAtMs: Date.now(),
  });
  if (process.env.STORE_LEAVE_OPEN === '1') {
    process.stdout.write('left open\n');
    return;
  }
  await store.close();
  process.stdout.write('closed\n');
})();
