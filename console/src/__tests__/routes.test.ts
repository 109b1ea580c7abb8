/** The console's addresses: every page's link leads back to that page, with its filters. */
import { href, parseRoute, section } from '../routes';

test('each link the pages make opens the page it names, filters included', () => {
  expect(parseRoute(href.overview())).toEqual({ page: 'overview' });
  expect(parseRoute('')).toEqual({ page: 'overview' });
  expect(parseRoute(href.event(42))).toEqual({ page: 'event', id: 42 });
  expect(parseRoute(href.payout('po_1 2/3'))).toEqual({ page: 'payout', id: 'po_1 2/3' });
  expect(parseRoute(href.settings())).toEqual({ page: 'settings' });
  expect(parseRoute(href.studio())).toEqual({ page: 'studio' });

  const events = parseRoute(href.events({ q: 'pi_123', outcome: 'dead', type: undefined }));
  expect(events.page).toBe('events');
  const query = (events as { query: URLSearchParams }).query;
  expect([...query.entries()]).toEqual([
    ['q', 'pi_123'],
    ['outcome', 'dead'],
  ]);
  const letters = parseRoute(href.deadLetters({ status: 'all' }));
  expect((letters as { query: URLSearchParams }).query.get('status')).toBe('all');
});

test('an unknown address is a page of its own, and a lineage or payout belongs to its list', () => {
  expect(parseRoute('#/events/not-a-number')).toEqual({ page: 'not-found', path: '/events/not-a-number' });
  expect(parseRoute('#/nothing')).toEqual({ page: 'not-found', path: '/nothing' });
  expect(section(parseRoute(href.event(1)))).toBe('events');
  expect(section(parseRoute(href.payout('po_1')))).toBe('payouts');
});
