/**
 * One event's lineage: as received, its signature check, every attempt with its error, each Dataverse request
 * with the mapping and version that made it and Dataverse's answer, the rows written (to Dynamics 365) and the
 * event in the Stripe dashboard.
 */
import * as React from 'react';
import { Link } from '@fluentui/react';
import type { AttemptDetail, DataverseWrite, Lineage } from '@stc/service/src/console/contract';
import { api } from '../api';
import { dateTime, duration } from '../format';
import { href } from '../routes';
import {
  DataTable,
  ErrorBar,
  Facts,
  Loading,
  PageHeading,
  Section,
  classes,
  useLoad,
  type Column,
} from '../ui';

/** A link that leaves the console (Dynamics 365, the Stripe dashboard), opened in a new tab. */
export function ExternalLink({ url, children }: { url: string; children: React.ReactNode }): JSX.Element {
  return (
    <Link href={url} target="_blank" rel="noopener noreferrer">
      {children}
      <span className="visually-hidden"> (opens in a new tab)</span>
    </Link>
  );
}

/** The rows the event wrote: successful writes that name a row, once each. */
export function rowsWritten(writes: DataverseWrite[]): DataverseWrite[] {
  const seen = new Map<string, DataverseWrite>();
  for (const write of writes) {
    if (write.operation === 'read' || write.status >= 400 || !write.rowId) continue;
    seen.set(`${write.table}/${write.rowId}`, write);
  }
  return [...seen.values()];
}

function ReceivedSection({ lineage }: { lineage: Lineage }): JSX.Element {
  const { event, signature, supersededBy } = lineage;
  const superseded: Array<[string, React.ReactNode]> = supersededBy
    ? [
        [
          'Superseded by',
          supersededBy.id !== null ? (
            <Link href={href.event(supersededBy.id)}>{supersededBy.eventId}</Link>
          ) : (
            supersededBy.eventId
          ),
        ],
      ]
    : [];
  return (
    <>
      <Section title="Received">
        <Facts
          items={[
            ['Source', event.source === 'stripe' ? 'Stripe' : 'Dataverse'],
            ['Account', event.account || '—'],
            ['Type', event.type],
            ['Object', <span className={classes.code}>{event.objectId}</span>],
            ['Status', event.status],
            ['Created', dateTime(event.eventCreatedMs)],
            ['Received', dateTime(event.receivedAtMs)],
            ['Updated', dateTime(event.updatedAtMs)],
            ...superseded,
          ]}
        />
      </Section>
      <Section title="Signature">
        <Facts
          items={[
            [
              'Checked',
              signature.scheme === 'stripe-signature' ? 'Stripe-Signature header' : 'Dataverse webhook key',
            ],
            ['Verified', dateTime(signature.verifiedAtMs)],
          ]}
        />
      </Section>
    </>
  );
}

const attemptColumns: Array<Column<AttemptDetail>> = [
  { header: 'Attempt', numeric: true, render: (a) => a.attempt },
  { header: 'Worker', render: (a) => a.worker },
  { header: 'Started', nowrap: true, render: (a) => dateTime(a.startedAtMs) },
  { header: 'Took', numeric: true, render: (a) => duration(a.finishedAtMs - a.startedAtMs) },
  { header: 'Outcome', render: (a) => a.outcome },
  { header: 'Mapping version', render: (a) => a.mappingVersion ?? '—' },
  { header: 'Error', render: (a) => (a.error ? `${a.errorCode ? `${a.errorCode}: ` : ''}${a.error}` : '') },
];

const requestColumns: Array<Column<DataverseWrite>> = [
  { header: 'Attempt', numeric: true, render: (w) => w.attempt },
  {
    header: 'Mapping',
    render: (w) =>
      w.mapping ? `${w.mapping}${w.mappingVersion ? ` (version ${w.mappingVersion})` : ''}` : '—',
  },
  { header: 'Request', render: (w) => <span className={classes.code}>{`${w.method} ${w.path}`}</span> },
  { header: 'Answer', numeric: true, render: (w) => w.status },
  { header: 'Took', numeric: true, render: (w) => duration(w.durationMs) },
  { header: 'Error', render: (w) => w.error ?? '' },
];

const rowColumns: Array<Column<DataverseWrite>> = [
  { header: 'Table', render: (w) => <span className={classes.code}>{w.table}</span> },
  { header: 'Row id', render: (w) => <span className={classes.code}>{w.rowId}</span> },
  { header: 'Mapping', render: (w) => w.mapping ?? '—' },
  {
    header: 'Open',
    render: (w) =>
      w.dynamicsUrl ? <ExternalLink url={w.dynamicsUrl}>Open {w.table} in Dynamics 365</ExternalLink> : '—',
  },
];

function StripeSection({ lineage }: { lineage: Lineage }): JSX.Element {
  const { stripeUrls, event } = lineage;
  return (
    <Section title="Stripe">
      {stripeUrls.event || stripeUrls.object ? (
        <ul>
          {stripeUrls.event && (
            <li>
              <ExternalLink url={stripeUrls.event}>The event in the Stripe dashboard</ExternalLink>
            </li>
          )}
          {stripeUrls.object && (
            <li>
              <ExternalLink url={stripeUrls.object}>{event.objectId} in the Stripe dashboard</ExternalLink>
            </li>
          )}
        </ul>
      ) : (
        <p>Not a Stripe event.</p>
      )}
    </Section>
  );
}

function LineageBody({ lineage }: { lineage: Lineage }): JSX.Element {
  const { attempts, writes } = lineage;
  return (
    <>
      <ReceivedSection lineage={lineage} />
      <Section title="Attempts">
        <DataTable
          caption="Each time a worker took the event"
          columns={attemptColumns}
          rows={attempts}
          rowKey={(a) => a.attempt}
          empty="No attempt yet."
        />
      </Section>
      <Section title="Dataverse requests">
        <DataTable
          caption="Each request to the Dataverse Web API and its answer"
          columns={requestColumns}
          rows={writes}
          rowKey={(w) => writes.indexOf(w)}
          empty="No Dataverse request."
        />
      </Section>
      <Section title="Rows written">
        <DataTable
          caption="The rows in Dynamics 365 this event wrote"
          columns={rowColumns}
          rows={rowsWritten(writes)}
          rowKey={(w) => `${w.table}/${w.rowId}`}
          empty="No row written."
        />
      </Section>
      <StripeSection lineage={lineage} />
      <Section title="Payload">
        <details>
          <summary>The event as received</summary>
          <pre className={classes.pre}>{JSON.stringify(lineage.payload, null, 2)}</pre>
        </details>
      </Section>
    </>
  );
}

export function LineagePage({ id }: { id: number }): JSX.Element {
  const loaded = useLoad(() => api.lineage(id), String(id));
  return (
    <>
      <PageHeading>{loaded.data ? `Event ${loaded.data.event.eventId}` : `Event ${id}`}</PageHeading>
      <Link href={href.events()}>Back to events</Link>
      <ErrorBar error={loaded.error} />
      {loaded.data ? (
        <LineageBody lineage={loaded.data} />
      ) : (
        loaded.loading && <Loading label="Loading the lineage…" />
      )}
    </>
  );
}
