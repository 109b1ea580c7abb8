/** The overview: events per minute by outcome, the backlog, the two platforms' latency and throttling, alerts. */
import * as React from 'react';
import { Dropdown, Stack, Text, getTheme } from '@fluentui/react';
import type { LatencySummary, Overview, OutcomeCounts } from '@stc/service/src/console/contract';
import { api } from '../api';
import { count, dateTime, duration } from '../format';
import { DataTable, ErrorBar, Facts, Loading, PageHeading, Section, classes, useLoad } from '../ui';
import { OUTCOMES, OutcomeChart } from './OutcomeChart';

const WINDOWS = [
  { key: 15, text: 'Last 15 minutes' },
  { key: 60, text: 'Last hour' },
  { key: 240, text: 'Last 4 hours' },
  { key: 1440, text: 'Last 24 hours' },
];
const REFRESH_MS = 30_000;
const theme = getTheme();

function totals(perMinute: Overview['perMinute']): OutcomeCounts {
  const sum: OutcomeCounts = { applied: 0, skipped: 0, superseded: 0, ignored: 0, retried: 0, dead: 0 };
  for (const minute of perMinute) for (const { outcome } of OUTCOMES) sum[outcome] += minute[outcome];
  return sum;
}

function Tile({ label, value, detail }: { label: string; value: string; detail?: string }): JSX.Element {
  return (
    <div
      style={{
        background: theme.palette.white,
        boxShadow: theme.effects.elevation4,
        borderRadius: 2,
        padding: '12px 16px',
        minWidth: 160,
      }}
    >
      <Text block variant="small" style={{ color: theme.palette.neutralSecondary }}>
        {label}
      </Text>
      <Text block variant="xLarge" style={{ fontWeight: 600 }}>
        {value}
      </Text>
      {detail && <Text variant="small">{detail}</Text>}
    </div>
  );
}

function latencyFacts(summary: LatencySummary): Array<[string, React.ReactNode]> {
  return [
    ['Requests', count(summary.requests)],
    ['Median', duration(summary.p50Ms)],
    ['95th percentile', duration(summary.p95Ms)],
    ['Throttled (429)', count(summary.throttled)],
    ['Failed (5xx or unreachable)', count(summary.failed)],
  ];
}

function OverviewBody({ overview, minutes }: { overview: Overview; minutes: number }): JSX.Element {
  const sum = totals(overview.perMinute);
  const all = OUTCOMES.reduce((n, { outcome }) => n + sum[outcome], 0);
  const window = WINDOWS.find((w) => w.key === minutes)?.text.toLowerCase() ?? `last ${minutes} minutes`;
  const summary = `Events per minute by outcome, ${window}: ${OUTCOMES.map(
    ({ outcome, label }) => `${sum[outcome]} ${label.toLowerCase()}`,
  ).join(', ')}.`;
  return (
    <>
      <Stack horizontal wrap tokens={{ childrenGap: 16 }} style={{ margin: '16px 0' }}>
        <Tile
          label="Waiting"
          value={count(overview.backlog.pending)}
          detail={`${overview.backlog.processing} in progress`}
        />
        <Tile label="Oldest waiting" value={duration(overview.oldestPendingAgeMs)} />
        <Tile label="Dead letters" value={count(overview.backlog.dead)} />
        <Tile
          label="Last event"
          value={overview.lastEvent ? dateTime(overview.lastEvent.receivedAtMs) : 'None yet'}
          detail={overview.lastEvent?.type}
        />
      </Stack>
      <Section title="Events per minute">
        <OutcomeChart perMinute={overview.perMinute} summary={summary} />
        <DataTable
          caption={`Outcomes, ${window} (${count(all)} in all)`}
          columns={OUTCOMES.map(({ outcome, label }) => ({
            header: label,
            numeric: true,
            render: (row: OutcomeCounts) => count(row[outcome]),
          }))}
          rows={[sum]}
          rowKey={() => 'totals'}
          empty="No events."
        />
      </Section>
      <Stack horizontal wrap tokens={{ childrenGap: 48 }}>
        <Section title="Dataverse">
          <Facts items={latencyFacts(overview.dataverse)} />
        </Section>
        <Section title="Stripe">
          <Facts items={latencyFacts(overview.stripe)} />
        </Section>
      </Stack>
      <Section title="Open alerts">
        <DataTable
          caption="Alerts firing now"
          columns={[
            { header: 'Rule', render: (a) => <span className={classes.code}>{a.rule}</span> },
            { header: 'Summary', render: (a) => a.summary },
            { header: 'Since', render: (a) => dateTime(a.sinceMs) },
          ]}
          rows={overview.alerts}
          rowKey={(a) => a.rule}
          empty="No alert is firing."
        />
      </Section>
      <Text variant="small">Updated {dateTime(overview.generatedAtMs)}; refreshed every 30 seconds.</Text>
    </>
  );
}

export function OverviewPage(): JSX.Element {
  const [minutes, setMinutes] = React.useState(60);
  const loaded = useLoad(() => api.overview(minutes), String(minutes));
  const { reload } = loaded;
  React.useEffect(() => {
    const timer = setInterval(reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);
  return (
    <>
      <PageHeading>Overview</PageHeading>
      <div className={classes.toolbar}>
        <Dropdown
          label="Time window"
          options={WINDOWS}
          selectedKey={minutes}
          onChange={(_, option) => option && setMinutes(Number(option.key))}
          styles={{ root: { width: 200 } }}
        />
      </div>
      <ErrorBar error={loaded.error} />
      {loaded.data ? (
        <OverviewBody overview={loaded.data} minutes={minutes} />
      ) : (
        loaded.loading && <Loading label="Loading the overview…" />
      )}
    </>
  );
}
