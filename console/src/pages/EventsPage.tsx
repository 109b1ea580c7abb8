/** Events: search by event, Stripe object or Dataverse row id, filter by type, outcome and time, page back. */
import * as React from 'react';
import { Dropdown, Link, PrimaryButton, TextField, type IDropdownOption } from '@fluentui/react';
import type { EventStatus, EventSummary } from '@stc/service/src/console/contract';
import { api, type EventQuery } from '../api';
import { dateTime } from '../format';
import { href } from '../routes';
import { PageHeading, PagedTable, classes, usePaged } from '../ui';

const STATUSES: EventStatus[] = [
  'pending',
  'processing',
  'applied',
  'skipped',
  'superseded',
  'ignored',
  'dead',
  'discarded',
];
const STATUS_OPTIONS: IDropdownOption[] = [
  { key: '', text: 'Any outcome' },
  ...STATUSES.map((s) => ({ key: s, text: s[0]!.toUpperCase() + s.slice(1) })),
];
const RANGES: Array<IDropdownOption & { ms: number }> = [
  { key: '', text: 'Any time', ms: 0 },
  { key: '1h', text: 'Last hour', ms: 3_600_000 },
  { key: '24h', text: 'Last 24 hours', ms: 86_400_000 },
  { key: '7d', text: 'Last 7 days', ms: 7 * 86_400_000 },
  { key: '30d', text: 'Last 30 days', ms: 30 * 86_400_000 },
];
const PAGE_SIZE = 50;

interface Filters {
  q: string;
  type: string;
  outcome: string;
  range: string;
}

function filtersOf(query: URLSearchParams): Filters {
  return {
    q: query.get('q') ?? '',
    type: query.get('type') ?? '',
    outcome: query.get('outcome') ?? '',
    range: query.get('range') ?? '',
  };
}

function apiQuery(filters: Filters, cursor?: string): EventQuery {
  const range = RANGES.find((r) => r.key === filters.range);
  return {
    q: filters.q.trim() || undefined,
    type: filters.type.trim() || undefined,
    outcome: filters.outcome || undefined,
    fromMs: range && range.ms > 0 ? Date.now() - range.ms : undefined,
    cursor,
    limit: PAGE_SIZE,
  };
}

export const eventColumns = [
  { header: 'Received', nowrap: true, render: (e: EventSummary) => dateTime(e.receivedAtMs) },
  {
    header: 'Event',
    render: (e: EventSummary) => (
      <Link href={href.event(e.id)} className={classes.id}>
        {e.eventId}
      </Link>
    ),
  },
  { header: 'Type', render: (e: EventSummary) => e.type },
  { header: 'Object', render: (e: EventSummary) => <span className={classes.id}>{e.objectId}</span> },
  { header: 'Status', render: (e: EventSummary) => e.status },
  { header: 'Attempts', numeric: true, render: (e: EventSummary) => e.attempts },
  { header: 'Last error', render: (e: EventSummary) => e.lastError ?? '' },
];

export function EventsPage({ query }: { query: URLSearchParams }): JSX.Element {
  const applied = filtersOf(query);
  const appliedKey = JSON.stringify(applied);
  const [draft, setDraft] = React.useState<Filters>(applied);
  const events = usePaged(async (cursor) => {
    const page = await api.events(apiQuery(JSON.parse(appliedKey) as Filters, cursor));
    return { items: page.events, nextCursor: page.nextCursor };
  }, appliedKey);
  React.useEffect(() => setDraft(JSON.parse(appliedKey) as Filters), [appliedKey]);

  const search = (event: React.FormEvent) => {
    event.preventDefault();
    const target = href.events({ ...draft });
    if (window.location.hash === target) void events.load();
    else window.location.hash = target;
  };
  const set = (name: keyof Filters) => (_: unknown, value?: string | IDropdownOption) =>
    setDraft((d) => ({ ...d, [name]: typeof value === 'string' ? value : String(value?.key ?? '') }));

  return (
    <>
      <PageHeading>Events</PageHeading>
      <form role="search" aria-label="Search events" onSubmit={search} className={classes.toolbar}>
        <TextField
          label="Event, object or row id"
          type="search"
          placeholder="evt_…, pi_…, or a row GUID"
          value={draft.q}
          onChange={set('q')}
          styles={{ root: { width: 320 } }}
        />
        <TextField
          label="Type"
          placeholder="payment_intent.succeeded"
          value={draft.type}
          onChange={set('type')}
          styles={{ root: { width: 240 } }}
        />
        <Dropdown
          label="Outcome"
          options={STATUS_OPTIONS}
          selectedKey={draft.outcome}
          onChange={set('outcome')}
          styles={{ root: { width: 160 } }}
        />
        <Dropdown label="Received" options={RANGES} selectedKey={draft.range} onChange={set('range')} />
        <PrimaryButton type="submit" text="Search" />
      </form>
      <PagedTable
        paged={events}
        noun={['event', 'events']}
        columns={eventColumns}
        rowKey={(e) => e.id}
        empty="No event matches."
        more="Older events"
      />
    </>
  );
}
