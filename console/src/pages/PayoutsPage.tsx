/** Payouts as reconciled against their balance transactions, and one payout's journal lines with their totals. */
import * as React from 'react';
import { Dropdown, Link, MessageBar, MessageBarType } from '@fluentui/react';
import type { PayoutSummary } from '@stc/service/src/console/contract';
import { api } from '../api';
import { day, money } from '../format';
import { href } from '../routes';
import {
  DataTable,
  ErrorBar,
  Facts,
  Loading,
  PageHeading,
  PagedTable,
  Section,
  classes,
  useLoad,
  usePaged,
  type Column,
} from '../ui';
import { ExternalLink } from './LineagePage';

const STATUSES: Array<PayoutSummary['status']> = [
  'reconciled',
  'mismatched',
  'pending',
  'not_reconcilable',
  'failed',
  'reversed',
];
const label = (status: string) => (status[0]!.toUpperCase() + status.slice(1)).replace(/_/g, ' ');

function difference(p: PayoutSummary): string {
  if (p.differenceMinor === null) return '—';
  return p.differenceMinor === 0 ? 'None' : money(p.differenceMinor, p.currency);
}

const payoutColumns: Array<Column<PayoutSummary>> = [
  { header: 'Arrival', nowrap: true, render: (p) => day(p.arrivalDateMs) },
  {
    header: 'Payout',
    render: (p) => (
      <Link href={href.payout(p.payoutId)} className={classes.id}>
        {p.payoutId}
      </Link>
    ),
  },
  { header: 'Account', render: (p) => p.account || '—' },
  { header: 'Amount', numeric: true, render: (p) => money(p.amount, p.currency) },
  { header: 'Status', render: (p) => label(p.status) },
  { header: 'Difference', numeric: true, render: difference },
  { header: 'Reason', render: (p) => p.reason ?? '' },
];

export function PayoutsPage({ query }: { query: URLSearchParams }): JSX.Element {
  const status = query.get('status') ?? '';
  const payouts = usePaged(async (cursor) => {
    const page = await api.payouts({ status: status || undefined, cursor, limit: 50 });
    return { items: page.payouts, nextCursor: page.nextCursor };
  }, status);
  return (
    <>
      <PageHeading>Payouts</PageHeading>
      <div className={classes.toolbar}>
        <Dropdown
          label="Status"
          options={[{ key: '', text: 'Any status' }, ...STATUSES.map((s) => ({ key: s, text: label(s) }))]}
          selectedKey={status}
          onChange={(_, option) => {
            window.location.hash = href.payouts({ status: option?.key ? String(option.key) : undefined });
          }}
          styles={{ root: { width: 200 } }}
        />
      </div>
      <PagedTable
        paged={payouts}
        noun={['payout', 'payouts']}
        caption="Payouts, newest arrival first; the difference is the payout minus its balance transactions"
        columns={payoutColumns}
        rowKey={(p) => `${p.account}/${p.payoutId}`}
        empty="No payout."
        more="Older payouts"
      />
    </>
  );
}

export function PayoutPage({ id }: { id: string }): JSX.Element {
  const loaded = useLoad(() => api.payout(id), id);
  const payout = loaded.data;
  const debit = payout?.lines.reduce((n, l) => n + l.debitMinor, 0) ?? 0;
  const credit = payout?.lines.reduce((n, l) => n + l.creditMinor, 0) ?? 0;
  return (
    <>
      <PageHeading>Payout {id}</PageHeading>
      <Link href={href.payouts()}>Back to payouts</Link>
      <ErrorBar error={loaded.error} />
      {!payout && loaded.loading && <Loading label="Loading the payout…" />}
      {payout && (
        <>
          <Facts
            items={[
              ['Account', payout.account || '—'],
              ['Amount', money(payout.amount, payout.currency)],
              ['Arrival', day(payout.arrivalDateMs)],
              ['Status', label(payout.status)],
              ['Difference', difference(payout)],
              ['Reason', payout.reason ?? '—'],
              [
                'Dynamics 365',
                payout.dynamicsUrl ? (
                  <ExternalLink url={payout.dynamicsUrl}>Open the payout row</ExternalLink>
                ) : (
                  '—'
                ),
              ],
            ]}
          />
          <Section title="Journal lines">
            {debit !== credit && (
              <MessageBar messageBarType={MessageBarType.warning}>
                Debits and credits differ by {money(Math.abs(debit - credit), payout.currency)}.
              </MessageBar>
            )}
            <DataTable
              caption="The payout's journal, one line per account"
              columns={[
                { header: 'Account', render: (l) => l.account, footer: 'Total' },
                { header: 'Description', render: (l) => l.description },
                {
                  header: 'Group',
                  render: (l) => <span className={classes.code}>{l.group ?? ''}</span>,
                },
                {
                  header: 'Debit',
                  numeric: true,
                  render: (l) => (l.debitMinor ? money(l.debitMinor, l.currency) : ''),
                  footer: money(debit, payout.currency),
                },
                {
                  header: 'Credit',
                  numeric: true,
                  render: (l) => (l.creditMinor ? money(l.creditMinor, l.currency) : ''),
                  footer: money(credit, payout.currency),
                },
              ]}
              rows={payout.lines}
              rowKey={(l) => `${l.account}-${l.group}-${payout.lines.indexOf(l)}`}
              empty="No journal line."
            />
          </Section>
        </>
      )}
    </>
  );
}
