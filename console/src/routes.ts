/**
 * The console's pages and their addresses. Hash routing (`/console/#/events?q=pi_1`): the page is one static
 * file, every address works when bookmarked or reloaded, and no server route is needed for a page.
 */
export type Route =
  | { page: 'overview' }
  | { page: 'events'; query: URLSearchParams }
  | { page: 'event'; id: number }
  | { page: 'dead-letters'; query: URLSearchParams }
  | { page: 'payouts'; query: URLSearchParams }
  | { page: 'payout'; id: string }
  | { page: 'settings' }
  | { page: 'studio' }
  | { page: 'not-found'; path: string };

export function parseRoute(hash: string): Route {
  const [path = '', search = ''] = hash.replace(/^#/, '').split('?', 2);
  const query = new URLSearchParams(search);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const [first, second] = parts;
  if (parts.length === 0 || (first === 'overview' && !second)) return { page: 'overview' };
  if (first === 'events' && !second) return { page: 'events', query };
  if (first === 'events' && second && /^\d+$/.test(second)) return { page: 'event', id: Number(second) };
  if (first === 'dead-letters' && !second) return { page: 'dead-letters', query };
  if (first === 'payouts' && !second) return { page: 'payouts', query };
  if (first === 'payouts' && second) return { page: 'payout', id: second };
  if (first === 'settings' && !second) return { page: 'settings' };
  if (first === 'studio' && !second) return { page: 'studio' };
  return { page: 'not-found', path };
}

function withQuery(path: string, query?: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) if (value) params.set(name, value);
  const text = params.toString();
  return `#${path}${text ? `?${text}` : ''}`;
}

export const href = {
  overview: () => '#/overview',
  events: (query?: Record<string, string | undefined>) => withQuery('/events', query),
  event: (id: number) => `#/events/${id}`,
  deadLetters: (query?: Record<string, string | undefined>) => withQuery('/dead-letters', query),
  payouts: (query?: Record<string, string | undefined>) => withQuery('/payouts', query),
  payout: (id: string) => `#/payouts/${encodeURIComponent(id)}`,
  settings: () => '#/settings',
  studio: () => '#/studio',
};

/** The pages in the navigation, in order. */
export const NAVIGATION: Array<{ page: Route['page']; label: string; href: string }> = [
  { page: 'overview', label: 'Overview', href: href.overview() },
  { page: 'events', label: 'Events', href: href.events() },
  { page: 'dead-letters', label: 'Dead letters', href: href.deadLetters() },
  { page: 'payouts', label: 'Payouts', href: href.payouts() },
  { page: 'studio', label: 'Mapping studio', href: href.studio() },
  { page: 'settings', label: 'Settings', href: href.settings() },
];

/** The navigation entry a page belongs to (an event's lineage to Events, a payout to Payouts). */
export function section(route: Route): Route['page'] {
  if (route.page === 'event') return 'events';
  if (route.page === 'payout') return 'payouts';
  return route.page;
}
