/**
 * Dead letters: inspect (the event's lineage), retry or discard one, or retry every open letter a filter
 * matches after a confirmation.
 */
import * as React from 'react';
import {
  DefaultButton,
  Dialog,
  DialogFooter,
  DialogType,
  Dropdown,
  Link,
  PrimaryButton,
  Stack,
  TextField,
} from '@fluentui/react';
import type { DeadLetterFilter, DeadLetterSummary } from '@stc/service/src/console/contract';
import { api } from '../api';
import { dateTime } from '../format';
import { href } from '../routes';
import { ErrorBar, Notice, PageHeading, PagedTable, Section, classes, usePaged, type Column } from '../ui';

const PAGE_SIZE = 50;

function state(letter: DeadLetterSummary): string {
  if (!letter.resolution) return 'Open';
  return `${letter.resolution === 'retried' ? 'Retried' : 'Discarded'} ${dateTime(letter.resolvedAtMs)}`;
}

function describeFilter(filter: DeadLetterFilter): string {
  const parts = [
    filter.type && `of type ${filter.type}`,
    filter.errorCode && `with error code ${filter.errorCode}`,
  ].filter(Boolean);
  return parts.length ? parts.join(' and ') : 'of every type';
}

function BulkRetry({ onDone }: { onDone: (message: string) => void }): JSX.Element {
  const [filter, setFilter] = React.useState<DeadLetterFilter>({});
  const [confirming, setConfirming] = React.useState(false);
  const [error, setError] = React.useState<unknown>(null);
  const [busy, setBusy] = React.useState(false);
  const retry = async () => {
    setBusy(true);
    setError(null);
    try {
      const result = await api.retryDeadLetters(filter);
      setConfirming(false);
      onDone(`${result.retried} dead letter${result.retried === 1 ? '' : 's'} sent back to the inbox.`);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  const set = (name: 'type' | 'errorCode') => (_: unknown, value?: string) =>
    setFilter((f) => ({ ...f, [name]: value?.trim() ? value.trim() : undefined }));
  return (
    <Section title="Retry by filter">
      <div className={classes.toolbar}>
        <TextField
          label="Event type to retry"
          value={filter.type ?? ''}
          onChange={set('type')}
          placeholder="any"
        />
        <TextField
          label="Error code to retry"
          value={filter.errorCode ?? ''}
          onChange={set('errorCode')}
          placeholder="any"
        />
        <DefaultButton text="Retry matching…" onClick={() => setConfirming(true)} />
      </div>
      <Dialog
        hidden={!confirming}
        onDismiss={() => setConfirming(false)}
        dialogContentProps={{
          type: DialogType.normal,
          title: 'Retry dead letters?',
          subText: `Every open dead letter ${describeFilter(filter)} goes back to the inbox and is processed again.`,
        }}
        modalProps={{ isBlocking: true }}
      >
        <ErrorBar error={error} />
        <DialogFooter>
          <PrimaryButton
            text={busy ? 'Retrying…' : 'Retry them'}
            disabled={busy}
            onClick={() => void retry()}
          />
          <DefaultButton text="Cancel" onClick={() => setConfirming(false)} />
        </DialogFooter>
      </Dialog>
    </Section>
  );
}

function letterColumns(
  act: (letter: DeadLetterSummary, action: 'retry') => void,
  discard: (letter: DeadLetterSummary) => void,
): Array<Column<DeadLetterSummary>> {
  return [
    { header: 'Created', nowrap: true, render: (l) => dateTime(l.createdAtMs) },
    {
      header: 'Event',
      render: (l) => (
        <Link href={href.event(l.inboxId)} className={classes.id} aria-label={`Inspect ${l.eventId}`}>
          {l.eventId}
        </Link>
      ),
    },
    { header: 'Type', render: (l) => l.type },
    { header: 'Error', render: (l) => `${l.errorCode ? `${l.errorCode}: ` : ''}${l.error}` },
    { header: 'Attempts', numeric: true, render: (l) => l.attempts },
    { header: 'State', render: state },
    {
      header: 'Actions',
      render: (l) =>
        l.resolution ? null : (
          <Stack horizontal tokens={{ childrenGap: 8 }}>
            <DefaultButton text="Retry" ariaLabel={`Retry ${l.eventId}`} onClick={() => act(l, 'retry')} />
            <DefaultButton text="Discard" ariaLabel={`Discard ${l.eventId}`} onClick={() => discard(l)} />
          </Stack>
        ),
    },
  ];
}

function DiscardDialog(props: {
  letter: DeadLetterSummary | null;
  onDiscard: (letter: DeadLetterSummary) => void;
  onCancel: () => void;
}): JSX.Element {
  const { letter, onDiscard, onCancel } = props;
  return (
    <Dialog
      hidden={!letter}
      onDismiss={onCancel}
      dialogContentProps={{
        type: DialogType.normal,
        title: 'Discard this dead letter?',
        subText: `${letter?.eventId ?? ''} will not be processed again.`,
      }}
    >
      <DialogFooter>
        <PrimaryButton text="Discard" onClick={() => letter && onDiscard(letter)} />
        <DefaultButton text="Cancel" onClick={onCancel} />
      </DialogFooter>
    </Dialog>
  );
}

/** Which letters the list shows: open or all, of a type, matching an event or object id; kept in the address. */
function LetterFilters({ query }: { query: URLSearchParams }): JSX.Element {
  const [draft, setDraft] = React.useState(() => ({
    status: query.get('status') === 'all' ? 'all' : 'open',
    type: query.get('type') ?? '',
    q: query.get('q') ?? '',
  }));
  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    window.location.hash = href.deadLetters({
      status: draft.status === 'all' ? 'all' : undefined,
      type: draft.type.trim() || undefined,
      q: draft.q.trim() || undefined,
    });
  };
  return (
    <form role="search" aria-label="Filter dead letters" onSubmit={submit} className={classes.toolbar}>
      <Dropdown
        label="Show"
        options={[
          { key: 'open', text: 'Open letters' },
          { key: 'all', text: 'All letters' },
        ]}
        selectedKey={draft.status}
        onChange={(_, option) => setDraft((d) => ({ ...d, status: String(option?.key ?? 'open') }))}
        styles={{ root: { width: 160 } }}
      />
      <TextField
        label="Event type"
        value={draft.type}
        onChange={(_, value) => setDraft((d) => ({ ...d, type: value ?? '' }))}
      />
      <TextField
        label="Event or object id"
        type="search"
        value={draft.q}
        onChange={(_, value) => setDraft((d) => ({ ...d, q: value ?? '' }))}
      />
      <PrimaryButton type="submit" text="Filter" />
    </form>
  );
}

export function DeadLettersPage({ query }: { query: URLSearchParams }): JSX.Element {
  const status = query.get('status') === 'all' ? 'all' : 'open';
  const type = query.get('type') ?? undefined;
  const q = query.get('q') ?? undefined;
  const [openCount, setOpenCount] = React.useState<number | null>(null);
  const [notice, setNotice] = React.useState<string | null>(null);
  const [discarding, setDiscarding] = React.useState<DeadLetterSummary | null>(null);
  const letters = usePaged(async (cursor) => {
    const page = await api.deadLetters({ status, type, q, cursor, limit: PAGE_SIZE });
    setOpenCount(page.openCount);
    return { items: page.deadLetters, nextCursor: page.nextCursor };
  }, query.toString());

  const act = async (letter: DeadLetterSummary, action: 'retry' | 'discard') => {
    setDiscarding(null);
    setNotice(null);
    try {
      const done = await (action === 'retry'
        ? api.retryDeadLetter(letter.id)
        : api.discardDeadLetter(letter.id));
      await letters.load();
      setNotice(
        `${letter.eventId} ${done.resolution === 'retried' ? 'sent back to the inbox' : 'discarded'}.`,
      );
    } catch (failure) {
      letters.setError(failure);
    }
  };

  return (
    <>
      <PageHeading>Dead letters</PageHeading>
      <p>
        {openCount === null ? '' : `${openCount} open. `}A retried letter&apos;s event is processed again;
        follow it in its lineage.
      </p>
      <LetterFilters query={query} />
      <Notice text={notice} onDismiss={() => setNotice(null)} />
      <PagedTable
        paged={letters}
        noun={['dead letter', 'dead letters']}
        columns={letterColumns((l, action) => void act(l, action), setDiscarding)}
        rowKey={(l) => l.id}
        empty={status === 'open' ? 'No open dead letter.' : 'No dead letter.'}
        more="Older letters"
      />
      <DiscardDialog
        letter={discarding}
        onDiscard={(l) => void act(l, 'discard')}
        onCancel={() => setDiscarding(null)}
      />
      <BulkRetry
        onDone={(message) => {
          void letters.load().then(() => setNotice(message));
        }}
      />
    </>
  );
}
