/**
 * The studio's two lists: the Stripe fields of the mapping's source object with their sample values (each a
 * button to select, and draggable), and the table's columns with their expression (each a button to select
 * and a drop target, with the expression editable in place).
 */
import * as React from 'react';
import { TextField, getTheme, mergeStyleSets } from '@fluentui/react';
import type { StudioColumn } from '@stc/service/src/console/contract';
import { Section, classes } from '../ui';
import type { StudioActions, StudioState } from './useStudio';

/** The field and the target chosen: a column, or a link (whose `id` the Map button sets). */
export interface Selection {
  field: string | null;
  column: string | null;
  link?: string | null;
}

export const DRAG_TYPE = 'application/x-stc-stripe-field';

const theme = getTheme();
export const styles = mergeStyleSets({
  list: { listStyle: 'none', margin: 0, padding: 0, maxHeight: 560, overflow: 'auto' },
  choice: {
    display: 'flex',
    width: '100%',
    justifyContent: 'space-between',
    gap: 12,
    textAlign: 'left',
    background: theme.palette.white,
    border: `1px solid ${theme.palette.neutralLight}`,
    borderRadius: 2,
    padding: '4px 8px',
    margin: '2px 0',
    cursor: 'pointer',
    font: 'inherit',
    selectors: {
      '&[aria-pressed="true"]': {
        background: theme.palette.themeLighter,
        borderColor: theme.palette.themePrimary,
      },
      ':focus-visible': { outline: `2px solid ${theme.palette.themeDark}` },
    },
  },
  value: {
    color: theme.palette.neutralSecondary,
    overflow: 'hidden',
    textOverflow: 'ellipsis',
    maxWidth: 200,
  },
  dropping: { outline: `2px dashed ${theme.palette.themePrimary}` },
  changed: { color: theme.palette.themeDarker, fontWeight: 600 },
});

const shown = (value: unknown): string => {
  const text = JSON.stringify(value);
  return text === undefined ? '' : text.length > 48 ? `${text.slice(0, 45)}…` : text;
};

export function StudioFields(props: {
  state: StudioState;
  selection: Selection;
  onSelect: (selection: Selection) => void;
}): JSX.Element {
  const { sample, mapping } = props.state;
  return (
    <Section title={`Stripe fields of a ${mapping?.source ?? 'object'}`}>
      {sample && (
        <p>
          Sample values from{' '}
          {sample.source === 'fixture'
            ? `Stripe's example object`
            : sample.events[0]?.deadLettered
              ? `${sample.events[0].eventId}, the newest event of ${sample.events[0].objectId}, which has an open dead letter`
              : `the newest ${sample.objectType} event received`}
          .
        </p>
      )}
      <ul className={styles.list} aria-label="Stripe fields">
        {sample?.fields.map((field) => (
          <li key={field.path}>
            <button
              type="button"
              className={styles.choice}
              aria-pressed={props.selection.field === field.path}
              draggable
              onDragStart={(event) => {
                event.dataTransfer.setData(DRAG_TYPE, field.path);
                event.dataTransfer.setData('text/plain', field.path);
                event.dataTransfer.effectAllowed = 'copy';
              }}
              onClick={() =>
                props.onSelect({
                  ...props.selection,
                  field: props.selection.field === field.path ? null : field.path,
                })
              }
            >
              <span className={classes.code}>{field.path}</span>
              <span className={styles.value}>{shown(field.value)}</span>
            </button>
          </li>
        ))}
      </ul>
    </Section>
  );
}

function describe(column: StudioColumn): string {
  const parts = [column.type];
  if (column.required) parts.push('required');
  if (column.maxLength) parts.push(`max ${column.maxLength}`);
  if (column.options) parts.push(`${column.options.length} options`);
  return parts.join(', ');
}

export function StudioColumns(props: {
  state: StudioState;
  actions: StudioActions;
  selection: Selection;
  onSelect: (selection: Selection) => void;
  onDropField: (field: string, column: string) => void;
}): JSX.Element {
  const { table, mapping, original } = props.state;
  const [dropping, setDropping] = React.useState<string | null>(null);
  if (!table || !mapping) return <Section title="Columns">{null}</Section>;
  const columns = table.columns.filter((c) => c.mappable || c.name in mapping.columns);
  return (
    <Section title={`Columns of ${table.displayName} (${table.table})`}>
      <table className={classes.table}>
        <caption>Drop a field on a column, or select one and press Map.</caption>
        <thead>
          <tr>
            <th scope="col">Column</th>
            <th scope="col">Expression</th>
          </tr>
        </thead>
        <tbody>
          {columns.map((column) => (
            <tr
              key={column.name}
              className={dropping === column.name ? styles.dropping : undefined}
              onDragOver={(event) => {
                if (!event.dataTransfer.types.includes(DRAG_TYPE)) return;
                event.preventDefault();
                event.dataTransfer.dropEffect = 'copy';
                setDropping(column.name);
              }}
              onDragLeave={() => setDropping(null)}
              onDrop={(event) => {
                event.preventDefault();
                setDropping(null);
                const field = event.dataTransfer.getData(DRAG_TYPE);
                if (field) props.onDropField(field, column.name);
              }}
            >
              <td style={{ width: '40%' }}>
                <button
                  type="button"
                  className={styles.choice}
                  aria-pressed={props.selection.column === column.name}
                  onClick={() =>
                    props.onSelect({
                      ...props.selection,
                      link: null,
                      column: props.selection.column === column.name ? null : column.name,
                    })
                  }
                >
                  <span className={classes.code}>{column.name}</span>
                  <span className={styles.value}>{describe(column)}</span>
                </button>
              </td>
              <td>
                <ExpressionCell
                  column={column.name}
                  expression={mapping.columns[column.name] ?? ''}
                  changed={(original?.columns[column.name] ?? '') !== (mapping.columns[column.name] ?? '')}
                  onChange={(expression) => props.actions.setColumn(column.name, expression)}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}

/** How long typing in an expression waits before the file is edited. */
const TYPING_MS = 500;

/** An expression edited in place: applied to the file when typing pauses and it is not empty. */
export function ExpressionCell(props: {
  column: string;
  /** The text box's name; `Expression of <column>` unless given. */
  label?: string;
  expression: string;
  changed: boolean;
  onChange: (expression: string) => Promise<boolean>;
}): JSX.Element {
  const [draft, setDraft] = React.useState(props.expression);
  // Whether the draft was typed since the expression last changed: an expression set elsewhere (Map, a
  // suggestion) replaces the draft, and a typed draft it replaces is never sent late.
  const typed = React.useRef(false);
  React.useEffect(() => {
    typed.current = false;
    setDraft(props.expression);
  }, [props.expression]);
  const onChange = React.useRef(props.onChange);
  onChange.current = props.onChange;
  React.useEffect(() => {
    if (draft === props.expression || draft.trim() === '') return undefined;
    const timer = window.setTimeout(() => {
      if (typed.current) void onChange.current(draft);
    }, TYPING_MS);
    return () => window.clearTimeout(timer);
  }, [draft, props.expression]);
  return (
    <TextField
      ariaLabel={props.label ?? `Expression of ${props.column}`}
      value={draft}
      multiline={draft.includes('\n')}
      autoAdjustHeight
      placeholder="not mapped"
      className={props.changed ? styles.changed : undefined}
      onChange={(_, value) => {
        typed.current = true;
        setDraft(value ?? '');
      }}
    />
  );
}
