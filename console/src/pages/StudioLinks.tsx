/**
 * The studio's links: the mapping's lookup columns (`links:` in the file), each bound to a row of its target
 * table by the GUID its `id` expression gives, or to the row whose `match` column equals its `value`. A link is
 * a button to select (the Map button then sets its id from the selected field and transform) and a drop target
 * for a field; both expressions are edited in place. Which links a mapping has stays the file's.
 */
import * as React from 'react';
import type { StudioLink } from '@stc/service/src/console/contract';
import { Section, classes } from '../ui';
import { DRAG_TYPE, ExpressionCell, styles, type Selection } from './StudioMapper';
import type { StudioActions, StudioState } from './useStudio';

function finds(link: StudioLink): string {
  const where = link.targets ? ` in ${link.targets.join(', ')}` : '';
  const byId = link.id !== null ? `the row${where} whose id the id expression gives` : '';
  const byMatch = link.match !== null ? `the row${where} whose ${link.match} equals the value` : '';
  return byId && byMatch ? `${byId}, else ${byMatch}` : byId || byMatch;
}

export function StudioLinks(props: {
  state: StudioState;
  actions: StudioActions;
  selection: Selection;
  onSelect: (selection: Selection) => void;
  onDropField: (field: string, link: string) => void;
}): JSX.Element | null {
  const { mapping, original } = props.state;
  const [dropping, setDropping] = React.useState<string | null>(null);
  const links = Object.entries(mapping?.linkSpecs ?? {});
  if (!mapping || links.length === 0) return null;
  return (
    <Section title={`Links of ${mapping.name}`}>
      <table className={classes.table}>
        <caption>
          Lookups: drop a field on a link, or select one and press Map, to set the expression giving the
          row&apos;s id.
        </caption>
        <thead>
          <tr>
            <th scope="col">Link</th>
            <th scope="col">Id expression</th>
            <th scope="col">Match value expression</th>
          </tr>
        </thead>
        <tbody>
          {links.map(([name, link]) => (
            <LinkRow
              key={name}
              name={name}
              link={link}
              was={original?.linkSpecs[name]}
              dropping={dropping === name}
              onDropping={setDropping}
              actions={props.actions}
              selection={props.selection}
              onSelect={props.onSelect}
              onDropField={props.onDropField}
            />
          ))}
        </tbody>
      </table>
    </Section>
  );
}

function LinkRow(props: {
  name: string;
  link: StudioLink;
  was: StudioLink | undefined;
  dropping: boolean;
  onDropping: (name: string | null) => void;
  actions: StudioActions;
  selection: Selection;
  onSelect: (selection: Selection) => void;
  onDropField: (field: string, link: string) => void;
}): JSX.Element {
  const { name, link } = props;
  return (
    <tr
      className={props.dropping ? styles.dropping : undefined}
      onDragOver={(event) => {
        if (!event.dataTransfer.types.includes(DRAG_TYPE)) return;
        event.preventDefault();
        event.dataTransfer.dropEffect = 'copy';
        props.onDropping(name);
      }}
      onDragLeave={() => props.onDropping(null)}
      onDrop={(event) => {
        event.preventDefault();
        props.onDropping(null);
        const field = event.dataTransfer.getData(DRAG_TYPE);
        if (field) props.onDropField(field, name);
      }}
    >
      <td style={{ width: '40%' }}>
        <button
          type="button"
          className={styles.choice}
          aria-pressed={props.selection.link === name}
          title={finds(link)}
          onClick={() =>
            props.onSelect({
              ...props.selection,
              column: null,
              link: props.selection.link === name ? null : name,
            })
          }
        >
          <span className={classes.code}>{name}</span>
          <span className={styles.value}>{link.match ? `id, else ${link.match}` : 'id'}</span>
        </button>
      </td>
      <td>
        <ExpressionCell
          column={name}
          label={`Id expression of ${name}`}
          expression={link.id ?? ''}
          changed={(props.was?.id ?? null) !== link.id}
          onChange={(expression) => props.actions.setLink(name, 'id', expression)}
        />
      </td>
      <td>
        {link.match !== null ? (
          <ExpressionCell
            column={name}
            label={`Value of ${link.match} for ${name}`}
            expression={link.value ?? ''}
            changed={(props.was?.value ?? null) !== link.value}
            onChange={(expression) => props.actions.setLink(name, 'value', expression)}
          />
        ) : (
          <span>no match column</span>
        )}
      </td>
    </tr>
  );
}
