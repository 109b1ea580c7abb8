/** The service's settings as it runs, read-only; the service masks secrets before they leave it. */
import * as React from 'react';
import type { Settings } from '@stc/service/src/console/contract';
import { api } from '../api';
import { DataTable, ErrorBar, Loading, PageHeading, Section, classes, useLoad } from '../ui';

type Entry = Settings['sections'][number]['entries'][number];

export function SettingsPage(): JSX.Element {
  const loaded = useLoad(() => api.settings(), 'settings');
  return (
    <>
      <PageHeading>Settings</PageHeading>
      <p>Read-only: the service reads its settings from its environment at start. Secrets are masked.</p>
      <ErrorBar error={loaded.error} />
      {!loaded.data && loaded.loading && <Loading label="Loading the settings…" />}
      {loaded.data?.sections.map((section) => (
        <Section key={section.name} title={section.name}>
          <div style={{ maxWidth: 960 }}>
            <DataTable<Entry>
              caption={`${section.name} settings`}
              columns={[
                { header: 'Setting', render: (e) => <span className={classes.code}>{e.key}</span> },
                {
                  header: 'Value',
                  render: (e) => (
                    <span className={classes.code}>
                      {e.value}
                      {e.secret && <span className="visually-hidden"> (secret, masked)</span>}
                    </span>
                  ),
                },
              ]}
              rows={section.entries}
              rowKey={(e) => e.key}
              empty="Nothing set."
            />
          </div>
        </Section>
      ))}
    </>
  );
}
