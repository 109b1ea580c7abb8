/**
 * What the edited mapping writes for a recorded event, column by column beside what the active version
 * writes; and suggestions for the columns no mapping fills, each applied only by its own button.
 */
import * as React from 'react';
import { DefaultButton, Dropdown, type IDropdownOption } from '@fluentui/react';
import type { BoundLink, MappedRows } from '@stc/service/src/console/contract';
import { ErrorBar, Loading, Section, classes } from '../ui';
import type { StudioActions, StudioState } from './useStudio';

const rowOf = (mappings: MappedRows[] | undefined, name: string) => mappings?.find((m) => m.mapping === name);

const cell = (value: unknown): string => (value === undefined ? '—' : JSON.stringify(value));

/** What a link binds: the target row by its GUID, or the row found by a column's value. */
function bound(link: BoundLink | undefined): string {
  if (!link) return 'not bound';
  if (link.id !== null) return `${link.tables[0] ?? ''} ${link.id}`;
  if (link.match)
    return `${link.tables.join(' or ')} whose ${link.match.column} is ${JSON.stringify(link.match.value)}`;
  return 'not bound';
}

/** The links the edit binds beside those the active version binds (or the error it fails with). */
function PreviewLinks(props: {
  edited: MappedRows | undefined;
  active: MappedRows | undefined;
  version: number;
}) {
  const editedLinks = props.edited?.rows[0]?.links ?? [];
  const activeLinks = props.active?.rows[0]?.links ?? [];
  const names = [...new Set([...editedLinks, ...activeLinks].map((link) => link.column))].sort();
  if (names.length === 0 && !props.active?.error) return null;
  const activeText = (name: string) =>
    props.active?.error ? 'fails (see above)' : bound(activeLinks.find((l) => l.column === name));
  return (
    <>
      {props.active?.error && (
        <p>
          Active version {props.version} fails on this event:{' '}
          <span className={classes.code}>{props.active.error}</span>
        </p>
      )}
      <table className={classes.table} aria-label="Preview links">
        <caption>The lookups the row is bound to</caption>
        <thead>
          <tr>
            <th scope="col">Link</th>
            <th scope="col">Edited</th>
            <th scope="col">Active version {props.version}</th>
          </tr>
        </thead>
        <tbody>
          {names.map((name) => {
            const edited = bound(editedLinks.find((l) => l.column === name));
            return (
              <tr key={name} data-link={name}>
                <th scope="row" className={classes.code}>
                  {name}
                </th>
                <td
                  className={classes.code}
                  style={edited !== activeText(name) ? { fontWeight: 600 } : undefined}
                >
                  {edited}
                </td>
                <td className={classes.code}>{activeText(name)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}

export function StudioPreviewPanel(props: { state: StudioState; actions: StudioActions }): JSX.Element {
  const { sample, preview, mapping, eventIndex } = props.state;
  const name = mapping?.name ?? '';
  const edited = rowOf(preview?.edited.mappings, name);
  const active = rowOf(preview?.active.mappings, name);
  const editedRow = edited?.rows[0]?.row ?? {};
  const activeRow = active?.rows[0]?.row ?? {};
  const columns = [...new Set([...Object.keys(editedRow), ...Object.keys(activeRow)])].sort();
  const options = (sample?.events ?? [])
    .filter((choice) => choice.inboxId !== null || sample?.source === 'fixture')
    .map((choice): IDropdownOption => ({
      key: sample!.events.indexOf(choice),
      text: `${choice.deadLettered ? 'Dead-lettered: ' : ''}${choice.type} · ${choice.objectId}${choice.inboxId === null ? ' (Stripe example)' : ` (inbox ${choice.inboxId})`}`,
    }));
  return (
    <Section title="Preview: what the edit writes">
      <div className={classes.toolbar}>
        <Dropdown
          label="Recorded event"
          selectedKey={eventIndex}
          options={options}
          onChange={(_, option) => option && props.actions.chooseEvent(Number(option.key))}
          styles={{ root: { minWidth: 420 } }}
        />
        {props.state.previewing && <Loading label="Mapping the event…" />}
      </div>
      <ErrorBar error={props.state.previewError} />
      {preview && !edited?.applies && (
        <p>The mapping does not apply to this event (its `when` does not hold).</p>
      )}
      {edited?.error && <ErrorBar error={new Error(`Edited mapping: ${edited.error}`)} />}
      {preview && (
        <table className={classes.table} aria-label="Preview rows">
          <caption>
            {preview.type} {preview.eventId}: the edited file beside version {preview.active.version} (active)
          </caption>
          <thead>
            <tr>
              <th scope="col">Column</th>
              <th scope="col">Edited</th>
              <th scope="col">Active version {preview.active.version}</th>
            </tr>
          </thead>
          <tbody>
            {columns.map((column) => {
              const differs = cell(editedRow[column]) !== cell(activeRow[column]);
              return (
                <tr key={column} data-column={column}>
                  <th scope="row" className={classes.code}>
                    {column}
                  </th>
                  <td className={classes.code} style={differs ? { fontWeight: 600 } : undefined}>
                    {cell(editedRow[column])}
                    {differs && <span className="visually-hidden"> (changed)</span>}
                  </td>
                  <td className={classes.code}>{cell(activeRow[column])}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {preview && <PreviewLinks edited={edited} active={active} version={preview.active.version} />}
    </Section>
  );
}

export function StudioSuggestionsPanel(props: {
  state: StudioState;
  actions: StudioActions;
  onApplied: (text: string) => void;
}): JSX.Element {
  const columns = (props.state.suggestions?.columns ?? []).filter((c) => c.suggestions.length > 0);
  return (
    <Section title="Suggestions for unmapped columns">
      {columns.length === 0 && <p>No suggestion for the columns this mapping leaves empty.</p>}
      <ul aria-label="Suggestions">
        {columns.flatMap((column) =>
          column.suggestions.slice(0, 2).map((suggestion) => (
            <li key={`${column.column} ${suggestion.source}`} style={{ margin: '6px 0' }}>
              <span className={classes.code}>
                {column.column} ← {suggestion.expression}
              </span>{' '}
              ({Math.round(suggestion.score * 100)}%): {suggestion.reason}{' '}
              <DefaultButton
                text="Apply"
                ariaLabel={`Apply ${suggestion.expression} to ${column.column}`}
                onClick={async () => {
                  if (await props.actions.setColumn(column.column, suggestion.expression))
                    props.onApplied(`Applied ${suggestion.expression} to ${column.column}`);
                }}
              />
            </li>
          )),
        )}
      </ul>
    </Section>
  );
}
