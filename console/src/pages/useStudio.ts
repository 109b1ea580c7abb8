/**
 * The mapping studio's state: the active version's files, the file being edited (its text, changed node by
 * node by the service's `POST /console/api/studio/edit`, which keeps every other byte), the chosen mapping, its table's columns, the sample object's fields, and the
 * preview and suggestions, asked again (debounced) whenever the edited text or the chosen event changes.
 */
import * as React from 'react';
import type {
  MappingVersionFiles,
  StudioEdit,
  StudioEditRequest,
  StudioFileMapping,
  StudioPreview,
  StudioSample,
  StudioSuggestions,
  StudioTable,
} from '@stc/service/src/console/contract';
import { api } from '../api';

type FileMapping = StudioFileMapping;

/** How long the studio waits after the last edit before asking for a preview. */
export const PREVIEW_DEBOUNCE_MS = 400;

export interface StudioState {
  active: MappingVersionFiles | null;
  fileNames: string[];
  file: string;
  /** The file's text as edited (the active version's until something is mapped). */
  text: string;
  /** The file's mappings as the edited text has them; empty when the text does not parse. */
  mappings: FileMapping[];
  mapping: FileMapping | null;
  /** The chosen mapping as the active version has it (null for one the edits added). */
  original: FileMapping | null;
  table: StudioTable | null;
  sample: StudioSample | null;
  /** The recorded event previewed (an index into `sample.events`). */
  eventIndex: number;
  preview: StudioPreview | null;
  previewError: unknown;
  previewing: boolean;
  suggestions: StudioSuggestions | null;
  error: unknown;
}

export interface StudioActions {
  chooseFile(file: string): void;
  chooseMapping(name: string): void;
  chooseEvent(index: number): void;
  /** Sets a column's expression in the edited text; false (and an error shown) when the file refuses it. */
  setColumn(column: string, expression: string): Promise<boolean>;
  /** Sets a link's `id` or `value` expression; false (and the engine's message shown) when it is refused. */
  setLink(link: string, field: 'id' | 'value', expression: string): Promise<boolean>;
  /** Forgets the edits of the file. */
  reset(): void;
  /** The whole set to save: the active version's files with the edited one. */
  filesToSave(): Record<string, string>;
  reloadActive(): Promise<void>;
  setError(error: unknown): void;
}

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = React.useState(value);
  React.useEffect(() => {
    const timer = window.setTimeout(() => setDebounced(value), ms);
    return () => window.clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

/** Calls `run` when `key` changes; an answer to an older key is dropped. */
function useLatest<T>(
  key: string | null,
  run: () => Promise<T>,
): { data: T | null; error: unknown; busy: boolean } {
  const [state, setState] = React.useState<{ data: T | null; error: unknown; busy: boolean }>({
    data: null,
    error: null,
    busy: false,
  });
  const runner = React.useRef(run);
  runner.current = run;
  React.useEffect(() => {
    if (key === null) return undefined;
    let current = true;
    setState((previous) => ({ ...previous, busy: true }));
    runner.current().then(
      (data) => current && setState({ data, error: null, busy: false }),
      (error: unknown) => current && setState({ data: null, error, busy: false }),
    );
    return () => {
      current = false;
    };
  }, [key]);
  return state;
}

/** The active version's files, the file chosen and the edited texts. */
function useActiveFiles() {
  const [active, setActive] = React.useState<MappingVersionFiles | null>(null);
  const [file, setFile] = React.useState('');
  /** The edited files: their text and mappings as the service gave them back. */
  const [edits, setEdits] = React.useState<Record<string, StudioEdit>>({});
  const [error, setError] = React.useState<unknown>(null);
  const reloadActive = React.useCallback(async () => {
    const { versions } = await api.mappingVersions();
    const current = versions.find((v) => v.active);
    if (!current) throw new Error('No mapping version is active yet: the service adopts its files at start.');
    const files = await api.mappingVersion(current.version);
    setActive(files);
    setEdits({});
    setFile((previous) => previous || mappingFileNames(files.files)[0] || '');
  }, []);
  React.useEffect(() => {
    reloadActive().catch(setError);
  }, [reloadActive]);
  return { active, file, setFile, edits, setEdits, error, setError, reloadActive };
}

/** The preview of the edited text and the suggestions for its unmapped columns, asked when typing pauses. */
function useRuns(input: {
  active: MappingVersionFiles | null;
  file: string;
  text: string;
  mapping: FileMapping | null;
  sample: StudioSample | null;
  eventIndex: number;
}) {
  const { active, file, text, mapping, sample, eventIndex } = input;
  const previewKey = useDebounced(
    active && mapping && sample ? JSON.stringify([file, text, eventIndex, sample.events.length]) : null,
    PREVIEW_DEBOUNCE_MS,
  );
  const preview = useLatest(previewKey, () => {
    const choice = sample!.events[eventIndex];
    return api.studioPreview({
      file,
      text,
      baseVersion: active!.version,
      ...(choice?.inboxId ? { inboxId: choice.inboxId } : { payload: sample!.event }),
    });
  });

  const mapped = mapping ? [...Object.keys(mapping.columns), ...mapping.keys, ...mapping.links] : [];
  const suggestKey = useDebounced(
    mapping && sample ? JSON.stringify([mapping.table, mapping.source, mapped]) : null,
    PREVIEW_DEBOUNCE_MS,
  );
  const suggestions = useLatest(suggestKey, () =>
    api.studioSuggest({ table: mapping!.table, sample: sample!.event, mapped }),
  ).data;

  return { preview, suggestions };
}

/**
 * Edits of the file run one after another, each on the text the one before gave back; each resolves to
 * whether the service took it (a refusal is shown as the page's error).
 */
function useEditQueue(
  text: string,
  file: string,
  setEdits: React.Dispatch<React.SetStateAction<Record<string, StudioEdit>>>,
  setError: (error: unknown) => void,
): (change: Omit<StudioEditRequest, 'text'>) => Promise<boolean> {
  const latest = React.useRef(text);
  latest.current = text;
  const queue = React.useRef<Promise<unknown>>(Promise.resolve());
  return (change) => {
    const next = queue.current.then(async () => {
      try {
        const edited = await api.studioEdit({ text: latest.current, ...change });
        latest.current = edited.text;
        setEdits((previous) => ({ ...previous, [file]: edited }));
        setError(null);
        return true;
      } catch (failure) {
        setError(failure);
        return false;
      }
    });
    queue.current = next;
    return next;
  };
}

export function useStudio(): [StudioState, StudioActions] {
  const { active, file, setFile, edits, setEdits, error, setError, reloadActive } = useActiveFiles();
  const [mappingName, setMappingName] = React.useState('');
  const [eventIndex, setEventIndex] = React.useState(0);

  const original = active?.files[file] ?? '';
  const read = useLatest(active && file ? `${active.version} ${file}` : null, () =>
    api.studioEdit({ text: original }),
  );
  const text = edits[file]?.text ?? original;
  const mappings = edits[file]?.mappings ?? read.data?.mappings ?? [];
  const mapping = mappings.find((m) => m.name === mappingName) ?? mappings[0] ?? null;
  const originals = read.data?.mappings ?? [];
  const edit = useEditQueue(text, file, setEdits, setError);

  const table = useLatest(mapping?.table || null, () => api.studioTable(mapping!.table)).data;
  const sampleState = useLatest(mapping?.source || null, () => api.studioSample(mapping!.source));
  const sample = sampleState.data;
  React.useEffect(() => setEventIndex(0), [sample]);

  const { preview, suggestions } = useRuns({ active, file, text, mapping, sample, eventIndex });

  const state: StudioState = {
    active,
    fileNames: active ? mappingFileNames(active.files) : [],
    file,
    text,
    mappings,
    mapping,
    original: originals.find((m) => m.name === mapping?.name) ?? null,
    table,
    sample,
    eventIndex,
    preview: preview.data,
    previewError: preview.error,
    previewing: preview.busy,
    suggestions,
    error: error ?? read.error ?? sampleState.error,
  };
  const actions: StudioActions = {
    chooseFile: (name) => {
      setFile(name);
      setMappingName('');
    },
    chooseMapping: setMappingName,
    chooseEvent: setEventIndex,
    setColumn: (column, expression) =>
      mapping ? edit({ set: { mapping: mapping.name, column, expression } }) : Promise.resolve(false),
    setLink: (link, field, expression) =>
      mapping
        ? edit({ setLink: { file, mapping: mapping.name, link, field, expression } })
        : Promise.resolve(false),
    reset: () =>
      setEdits((previous) => {
        const rest = { ...previous };
        delete rest[file];
        return rest;
      }),
    filesToSave: () => ({
      ...(active?.files ?? {}),
      ...Object.fromEntries(Object.entries(edits).map(([name, edited]) => [name, edited.text])),
    }),
    reloadActive,
    setError,
  };
  return [state, actions];
}

/** The mapping files of a version (its lookup tables left out), in name order. */
export function mappingFileNames(files: Record<string, string>): string[] {
  return Object.keys(files)
    .filter((name) => !name.includes('/') && /\.ya?ml$/.test(name))
    .sort();
}
