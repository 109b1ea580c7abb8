/** What the pages share: loading a resource, the error bar, headings, fact lists and accessible tables. */
import * as React from 'react';
import {
  DefaultButton,
  MessageBar,
  MessageBarType,
  Spinner,
  SpinnerSize,
  getTheme,
  mergeStyleSets,
} from '@fluentui/react';
import { ApiFailure } from './api';

const theme = getTheme();

export const classes = mergeStyleSets({
  table: {
    borderCollapse: 'collapse',
    width: '100%',
    fontSize: theme.fonts.medium.fontSize,
    selectors: {
      'th, td': {
        textAlign: 'left',
        padding: '6px 10px',
        borderBottom: `1px solid ${theme.palette.neutralLight}`,
        verticalAlign: 'top',
      },
      th: {
        fontWeight: 600,
        color: theme.palette.neutralPrimary,
        background: theme.palette.neutralLighterAlt,
      },
      'td.numeric, th.numeric': { textAlign: 'right', fontVariantNumeric: 'tabular-nums' },
      'td.nowrap': { whiteSpace: 'nowrap' },
      tfoot: { fontWeight: 600 },
      caption: { textAlign: 'left', padding: '4px 0', color: theme.palette.neutralSecondary },
    },
  },
  code: { fontFamily: 'Consolas, Menlo, monospace', fontSize: 13, wordBreak: 'break-all' },
  /** An id (evt_…, pi_…, po_…): one unbroken word. */
  id: { fontFamily: 'Consolas, Menlo, monospace', fontSize: 13, whiteSpace: 'nowrap' },
  facts: {
    display: 'grid',
    gridTemplateColumns: 'max-content 1fr',
    gap: '4px 16px',
    margin: '8px 0',
    selectors: { dt: { color: theme.palette.neutralSecondary }, dd: { margin: 0 } },
  },
  section: { margin: '24px 0' },
  toolbar: { display: 'flex', flexWrap: 'wrap', gap: 12, alignItems: 'flex-end', margin: '12px 0' },
  pre: {
    background: theme.palette.neutralLighterAlt,
    padding: 12,
    overflow: 'auto',
    maxHeight: 480,
    fontFamily: 'Consolas, Menlo, monospace',
    fontSize: 12,
  },
});

export function errorText(error: unknown): string {
  if (error instanceof ApiFailure) return error.message;
  return error instanceof Error ? error.message : String(error);
}

/** An API failure as the API worded it. */
export function ErrorBar({
  error,
  onDismiss,
}: {
  error: unknown;
  onDismiss?: () => void;
}): JSX.Element | null {
  if (!error) return null;
  return (
    <MessageBar messageBarType={MessageBarType.error} isMultiline onDismiss={onDismiss} role="alert">
      {errorText(error)}
    </MessageBar>
  );
}

export function Notice({
  text,
  onDismiss,
}: {
  text: string | null;
  onDismiss: () => void;
}): JSX.Element | null {
  if (!text) return null;
  return (
    <MessageBar messageBarType={MessageBarType.success} onDismiss={onDismiss} role="status">
      {text}
    </MessageBar>
  );
}

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Calls `load` when `key` changes (and on reload); an answer to an older key is dropped. */
export function useLoad<T>(load: () => Promise<T>, key: string): Loaded<T> {
  const [state, setState] = React.useState<{ data?: T; error: unknown; loading: boolean }>({
    error: null,
    loading: true,
  });
  const [round, setRound] = React.useState(0);
  const loader = React.useRef(load);
  loader.current = load;
  React.useEffect(() => {
    let current = true;
    setState((previous) => ({ ...previous, loading: true }));
    loader.current().then(
      (data) => current && setState({ data, error: null, loading: false }),
      (error: unknown) => current && setState((previous) => ({ ...previous, error, loading: false })),
    );
    return () => {
      current = false;
    };
  }, [key, round]);
  const reload = React.useCallback(() => setRound((r) => r + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

export function Loading({ label }: { label: string }): JSX.Element {
  return <Spinner size={SpinnerSize.medium} label={label} ariaLive="polite" labelPosition="right" />;
}

/** Headings shown so far: the first page loaded keeps the browser's focus (and the skip link first). */
let headingsShown = 0;

/** The page's heading, focused when another page opens so that a screen reader announces it. */
export function PageHeading({ children }: { children: React.ReactNode }): JSX.Element {
  const heading = React.useRef<HTMLHeadingElement>(null);
  React.useEffect(() => {
    if (headingsShown++ > 0) heading.current?.focus();
  }, []);
  return (
    <h1 ref={heading} tabIndex={-1} style={{ outline: 'none', fontWeight: 600, fontSize: 28 }}>
      {children}
    </h1>
  );
}

export function Section({ title, children }: { title: string; children: React.ReactNode }): JSX.Element {
  const id = `section-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return (
    <section className={classes.section} aria-labelledby={id}>
      <h2 id={id} style={{ fontWeight: 600, fontSize: 20 }}>
        {title}
      </h2>
      {children}
    </section>
  );
}

export function Facts({ items }: { items: Array<[string, React.ReactNode]> }): JSX.Element {
  return (
    <dl className={classes.facts}>
      {items.map(([term, value]) => (
        <React.Fragment key={term}>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </React.Fragment>
      ))}
    </dl>
  );
}

export interface Column<T> {
  header: string;
  render: (row: T) => React.ReactNode;
  numeric?: boolean;
  /** Kept on one line (times, dates). */
  nowrap?: boolean;
  footer?: React.ReactNode;
}

/** A table with a caption and column headers, so that a screen reader names every cell. */
export function DataTable<T>(props: {
  caption: string;
  columns: Array<Column<T>>;
  rows: T[];
  rowKey: (row: T) => string | number;
  empty: string;
}): JSX.Element {
  const { caption, columns, rows, rowKey, empty } = props;
  const hasFooter = columns.some((c) => c.footer !== undefined);
  return (
    <table className={classes.table}>
      <caption>{caption}</caption>
      <thead>
        <tr>
          {columns.map((c) => (
            <th key={c.header} scope="col" className={c.numeric ? 'numeric' : undefined}>
              {c.header}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 ? (
          <tr>
            <td colSpan={columns.length}>{empty}</td>
          </tr>
        ) : (
          rows.map((row) => (
            <tr key={rowKey(row)}>
              {columns.map((c) => (
                <td
                  key={c.header}
                  className={
                    [c.numeric && 'numeric', c.nowrap && 'nowrap'].filter(Boolean).join(' ') || undefined
                  }
                >
                  {c.render(row)}
                </td>
              ))}
            </tr>
          ))
        )}
      </tbody>
      {hasFooter && (
        <tfoot>
          <tr>
            {columns.map((c) => (
              <td key={c.header} className={c.numeric ? 'numeric' : undefined}>
                {c.footer}
              </td>
            ))}
          </tr>
        </tfoot>
      )}
    </table>
  );
}

export interface Paged<T> {
  items: T[] | null;
  next: string | null;
  error: unknown;
  loading: boolean;
  /** The first page again, or with a cursor the next page added below. */
  load: (cursor?: string) => Promise<void>;
  setError: (error: unknown) => void;
}

/** A list read page by page (`nextCursor`), from the first page again whenever `key` changes. */
export function usePaged<T>(
  fetchPage: (cursor?: string) => Promise<{ items: T[]; nextCursor: string | null }>,
  key: string,
): Paged<T> {
  const [items, setItems] = React.useState<T[] | null>(null);
  const [next, setNext] = React.useState<string | null>(null);
  const [error, setError] = React.useState<unknown>(null);
  const [loading, setLoading] = React.useState(false);
  const fetcher = React.useRef(fetchPage);
  fetcher.current = fetchPage;
  const load = React.useCallback(async (cursor?: string) => {
    setLoading(true);
    setError(null);
    try {
      const page = await fetcher.current(cursor);
      setItems((previous) => (cursor && previous ? [...previous, ...page.items] : page.items));
      setNext(page.nextCursor);
    } catch (failure) {
      setError(failure);
    } finally {
      setLoading(false);
    }
  }, []);
  React.useEffect(() => {
    void load();
  }, [key, load]);
  return { items, next, error, loading, load, setError };
}

/** A paged list as a table, its error, and the button that reads the next page. */
export function PagedTable<T>(props: {
  paged: Paged<T>;
  noun: [string, string];
  columns: Array<Column<T>>;
  rowKey: (row: T) => string | number;
  empty: string;
  more: string;
  caption?: string;
}): JSX.Element {
  const { paged, noun, more } = props;
  const items = paged.items;
  return (
    <>
      <ErrorBar error={paged.error} onDismiss={() => paged.setError(null)} />
      {items && (
        <DataTable
          caption={props.caption ?? `${items.length} ${items.length === 1 ? noun[0] : noun[1]}, newest first`}
          columns={props.columns}
          rows={items}
          rowKey={props.rowKey}
          empty={props.empty}
        />
      )}
      {paged.loading && <Loading label={`Loading ${noun[1]}…`} />}
      {paged.next && !paged.loading && (
        <DefaultButton style={{ marginTop: 12 }} text={more} onClick={() => void paged.load(paged.next!)} />
      )}
    </>
  );
}
