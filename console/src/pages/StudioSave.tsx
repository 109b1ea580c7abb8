/**
 * Saving the studio's edits: the active version's files with the edited ones become a new mapping version
 * (the service checks them against the table model: its message is shown when they do not load), which is
 * then activated by its own button. The versions list shows which one is active and can roll back.
 */
import * as React from 'react';
import { DefaultButton, MessageBar, MessageBarType, PrimaryButton, TextField } from '@fluentui/react';
import type { MappingVersionSummary } from '@stc/service/src/console/contract';
import { api } from '../api';
import { dateTime } from '../format';
import { DataTable, ErrorBar, Section, classes, useLoad } from '../ui';
import type { StudioActions, StudioState } from './useStudio';

export function StudioSave(props: { state: StudioState; actions: StudioActions }): JSX.Element {
  const [note, setNote] = React.useState('');
  const [saved, setSaved] = React.useState<MappingVersionSummary | null>(null);
  const [busy, setBusy] = React.useState(false);
  const [error, setError] = React.useState<unknown>(null);
  const [notice, setNotice] = React.useState<string | null>(null);
  const versions = useLoad(() => api.mappingVersions(), 'versions');
  const edited = props.state.text !== (props.state.active?.files[props.state.file] ?? '');

  const run = async (work: () => Promise<string>) => {
    setBusy(true);
    setError(null);
    try {
      setNotice(await work());
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
      versions.reload();
    }
  };
  const save = () =>
    run(async () => {
      const created = await api.createMappingVersion(props.actions.filesToSave(), note);
      setSaved(created);
      return `Saved as version ${created.version}. It maps nothing until it is activated.`;
    });
  const activate = (version: number) =>
    run(async () => {
      const result = await api.activateMappingVersion(version);
      setSaved(null);
      await props.actions.reloadActive();
      return `Version ${result.active} is active (it was ${result.previous ?? 'none'}).`;
    });
  const rollback = () =>
    run(async () => {
      const result = await api.rollbackMappingVersion();
      await props.actions.reloadActive();
      return `Rolled back: version ${result.active} is active again.`;
    });

  return (
    <Section title="Save">
      <ErrorBar error={error} />
      {notice && (
        <MessageBar messageBarType={MessageBarType.success} role="status">
          {notice}
        </MessageBar>
      )}
      <div className={classes.toolbar}>
        <TextField
          label="Note for the new version"
          value={note}
          onChange={(_, value) => setNote(value ?? '')}
          styles={{ root: { minWidth: 360 } }}
        />
        <PrimaryButton text="Save as new version" disabled={busy || !edited} onClick={() => void save()} />
        {saved && (
          <PrimaryButton
            text={`Activate version ${saved.version}`}
            disabled={busy}
            onClick={() => void activate(saved.version)}
          />
        )}
      </div>
      <VersionsTable versions={versions.data?.versions} error={versions.error} />
      <DefaultButton
        text="Roll back to the previously active version"
        disabled={busy}
        onClick={() => void rollback()}
        style={{ marginTop: 12 }}
      />
    </Section>
  );
}

function VersionsTable(props: {
  versions: MappingVersionSummary[] | undefined;
  error: unknown;
}): JSX.Element {
  return (
    <>
      <h3>Mapping versions</h3>
      <ErrorBar error={props.error} />
      <DataTable<MappingVersionSummary>
        caption="Mapping versions, newest first"
        columns={[
          { header: 'Version', render: (v) => v.version },
          { header: 'Active', render: (v) => (v.active ? 'Active' : '') },
          { header: 'Created', render: (v) => dateTime(v.createdAtMs) },
          { header: 'By', render: (v) => v.createdBy },
          { header: 'Note', render: (v) => v.note ?? '' },
        ]}
        rows={[...(props.versions ?? [])].sort((a, b) => b.version - a.version)}
        rowKey={(v) => String(v.version)}
        empty="No versions."
      />
    </>
  );
}
