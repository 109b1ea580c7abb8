import * as React from 'react';
import type { FormRecord } from './formRecord';

export type LoadState<T> =
  { status: 'loading' } | { status: 'error'; message: string } | { status: 'loaded'; data: T };

/**
 * Runs `load` once per `key` (and again on `reload()`), not once per render: the platform calls updateView
 * many times while a form loads, and each call must not cost a Web API request. A result that arrives after
 * the key changed is dropped.
 */
export function useLoad<T>(key: string, load: () => Promise<T>): [LoadState<T>, () => void] {
  const [state, setState] = React.useState<LoadState<T>>({ status: 'loading' });
  const [generation, setGeneration] = React.useState(0);
  const loadRef = React.useRef(load);
  loadRef.current = load;

  React.useEffect(() => {
    let current = true;
    setState({ status: 'loading' });
    loadRef.current().then(
      (data) => current && setState({ status: 'loaded', data }),
      (error: unknown) => current && setState({ status: 'error', message: errorMessage(error) }),
    );
    return () => {
      current = false;
    };
  }, [key, generation]);

  const reload = React.useCallback(() => setGeneration((g) => g + 1), []);
  return [state, reload];
}

/** Loads what a panel shows of the form's record, once per record (see useLoad). */
export function useRecordLoad<T>(
  record: FormRecord,
  load: (entityTypeName: string, id: string) => Promise<T>,
): [LoadState<T>, () => void] {
  return useLoad(`${record.entityTypeName}:${record.id}`, () => load(record.entityTypeName, record.id));
}

/** The platform rejects with `{ message, code }` objects, fetch with Errors; either way the user sees the text. */
export function errorMessage(error: unknown): string {
  if (error && typeof error === 'object' && 'message' in error) {
    const message = String((error as { message: unknown }).message);
    if (message) return message;
  }
  return String(error);
}
