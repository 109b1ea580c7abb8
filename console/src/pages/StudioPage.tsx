/**
 * The mapping studio: edit one mapping of the active version's files by mapping Stripe fields onto the
 * table's columns (drag and drop, or select a field, select a column and press Map), with a transform or an
 * expression typed in; see what the edit writes for a recorded event beside what the active version writes;
 * apply suggestions one by one; save the file as a new mapping version and activate it.
 */
import * as React from 'react';
import { DefaultButton, Dropdown, PrimaryButton, TextField, type IDropdownOption } from '@fluentui/react';
import { ErrorBar, Loading, PageHeading, Section, classes } from '../ui';
import { StudioLinks } from './StudioLinks';
import { StudioColumns, StudioFields, type Selection } from './StudioMapper';
import { StudioPreviewPanel, StudioSuggestionsPanel } from './StudioPreview';
import { StudioSave } from './StudioSave';
import { TRANSFORMS, buildExpression, type TransformKind, type TransformOptions } from './studio-transforms';
import { useStudio, type StudioActions, type StudioState } from './useStudio';

export function StudioPage(): JSX.Element {
  const [state, actions] = useStudio();
  const [selection, setSelection] = React.useState<Selection>({ field: null, column: null });
  const [transform, setTransform] = React.useState<TransformKind>('as-is');
  const [options, setOptions] = React.useState<TransformOptions>({});
  const [announcement, setAnnouncement] = React.useState('');

  const mapField = async (field: string, column: string) => {
    const expression = buildExpression(transform, field, options);
    if (await actions.setColumn(column, expression)) {
      setAnnouncement(`Mapped ${field} onto ${column}: ${expression}`);
      setSelection({ field: null, column });
    }
  };
  const linkField = async (field: string, link: string) => {
    const kind = TRANSFORMS.find((t) => t.kind === transform)?.forLinks ? transform : 'as-is';
    const expression = buildExpression(kind, field, options);
    if (await actions.setLink(link, 'id', expression)) {
      setAnnouncement(`Link ${link} finds its row by ${expression}`);
      setSelection({ field: null, column: null, link });
    }
  };

  const { mapping } = state;
  return (
    <>
      <PageHeading>Mapping studio</PageHeading>
      <p>
        Edits one mapping of the active version&apos;s files. Nothing changes in Dataverse until the file is
        saved as a new version and that version is activated.
      </p>
      <ErrorBar error={state.error} />
      {!state.active && !state.error && <Loading label="Loading the active mapping version…" />}
      {state.active && <FileChooser state={state} actions={actions} />}
      <div role="status" aria-live="polite" className="visually-hidden">
        {announcement}
      </div>
      {mapping && (
        <>
          <TransformPicker
            transform={transform}
            options={options}
            onTransform={setTransform}
            onOptions={setOptions}
            canMap={selection.field !== null && (selection.column !== null || Boolean(selection.link))}
            onMap={() =>
              void (selection.link
                ? linkField(selection.field!, selection.link)
                : mapField(selection.field!, selection.column!))
            }
            selection={selection}
          />
          <div style={{ display: 'grid', gridTemplateColumns: 'minmax(280px, 2fr) 3fr', gap: 24 }}>
            <StudioFields state={state} selection={selection} onSelect={setSelection} />
            <div>
              <StudioColumns
                state={state}
                actions={actions}
                selection={selection}
                onSelect={setSelection}
                onDropField={(field, column) => void mapField(field, column)}
              />
              <StudioLinks
                state={state}
                actions={actions}
                selection={selection}
                onSelect={setSelection}
                onDropField={(field, link) => void linkField(field, link)}
              />
            </div>
          </div>
          <StudioPreviewPanel state={state} actions={actions} />
          <StudioSuggestionsPanel state={state} actions={actions} onApplied={setAnnouncement} />
          <StudioSave state={state} actions={actions} />
        </>
      )}
    </>
  );
}

/** The file and the mapping of it edited. */
function FileChooser({ state, actions }: { state: StudioState; actions: StudioActions }): JSX.Element {
  return (
    <div className={classes.toolbar}>
      <Dropdown
        label="Mapping file"
        selectedKey={state.file}
        options={state.fileNames.map((name): IDropdownOption => ({ key: name, text: name }))}
        onChange={(_, option) => option && actions.chooseFile(String(option.key))}
        styles={{ root: { minWidth: 220 } }}
      />
      <Dropdown
        label="Mapping"
        selectedKey={state.mapping?.name}
        options={state.mappings.map((m): IDropdownOption => ({
          key: m.name,
          text: `${m.name} (${m.source} → ${m.table})`,
        }))}
        onChange={(_, option) => option && actions.chooseMapping(String(option.key))}
        styles={{ root: { minWidth: 320 } }}
      />
      <DefaultButton text="Discard edits of this file" onClick={actions.reset} />
    </div>
  );
}

function TransformPicker(props: {
  transform: TransformKind;
  options: TransformOptions;
  onTransform: (kind: TransformKind) => void;
  onOptions: (options: TransformOptions) => void;
  canMap: boolean;
  onMap: () => void;
  selection: Selection;
}): JSX.Element {
  const info = TRANSFORMS.find((t) => t.kind === props.transform)!;
  const forLink = Boolean(props.selection.link);
  return (
    <Section title="Map a field onto a column or a link">
      <p>
        Drag a Stripe field onto a column or a link, or select a field, then a column or a link, and press
        Map. The transform chosen here writes the column&apos;s expression, or the link&apos;s id expression
        (a link offers the transforms that can give a row&apos;s id or a value to find it by).
      </p>
      <div className={classes.toolbar}>
        <Dropdown
          label="Transform"
          selectedKey={props.transform}
          options={TRANSFORMS.map((t): IDropdownOption => ({
            key: t.kind,
            text: t.label,
            disabled: forLink && !t.forLinks,
          }))}
          onChange={(_, option) => option && props.onTransform(option.key as TransformKind)}
          styles={{ root: { minWidth: 280 } }}
        />
        {info.asks.map((ask) => (
          <TextField
            key={ask.option}
            label={ask.label}
            value={props.options[ask.option] ?? ''}
            onChange={(_, value) => props.onOptions({ ...props.options, [ask.option]: value ?? '' })}
          />
        ))}
        <PrimaryButton text="Map" disabled={!props.canMap} onClick={props.onMap} />
        <span aria-live="polite">
          {props.selection.field ? `Field: ${props.selection.field}` : 'No field selected'}
          {' · '}
          {props.selection.link
            ? `Link: ${props.selection.link}`
            : props.selection.column
              ? `Column: ${props.selection.column}`
              : 'no column selected'}
        </span>
      </div>
    </Section>
  );
}
