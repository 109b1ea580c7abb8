import * as React from 'react';
import { Link, Text } from '@fluentui/react';
import type { FormRecord } from './formRecord';
import { ConfigurationProblem, PanelState } from './PanelState';
import { isNarrow, type PanelProps } from './panelContext';
import { dashboardUrl, type DashboardObject } from './stripeDashboard';
import type { Translate } from './strings';
import { useRecordLoad, type LoadState } from './useLoad';

/** What makes a record panel: its class, its strings' prefix (`<strings>_SaveFirst`, `_Title`, …) and its load. */
export interface RecordPanelSpec<P, T> {
  className: string;
  strings: string;
  /** What the panel shows of the saved record, loaded when the record changes. */
  load: (props: P, entityTypeName: string, id: string) => Promise<T>;
}

/** What a panel's content gets besides the panel's props: the saved record, its load state and a reload. */
export interface LoadedRecord<T> {
  record: FormRecord;
  state: LoadState<T>;
  reload: () => void;
}

/**
 * A panel's outer shell, the same for every panel: a configuration problem in its place, a "save first" line
 * while the record is new, and otherwise the panel's section for the saved record, with what was loaded for
 * it, around the panel's `Content`.
 */
export function recordPanel<P extends PanelProps<unknown>, T>(
  spec: RecordPanelSpec<P, T>,
  Content: React.ComponentType<P & LoadedRecord<T>>,
): React.NamedExoticComponent<P> {
  function LoadedPanel(props: P & { record: FormRecord }) {
    const [state, reload] = useRecordLoad(props.record, (table, id) => spec.load(props, table, id));
    return (
      <PanelSection
        className={spec.className}
        strings={spec.strings}
        narrow={isNarrow(props.width)}
        state={state}
        t={props.t}
        onRetry={reload}
      >
        <Content {...props} state={state} reload={reload} />
      </PanelSection>
    );
  }
  return React.memo(function RecordPanel(props: P) {
    const { record, configurationError, t } = props;
    if (configurationError) return <ConfigurationProblem message={configurationError} />;
    if (!record) {
      return (
        <div className={spec.className}>
          <Text>{t(`${spec.strings}_SaveFirst`)}</Text>
        </div>
      );
    }
    return <LoadedPanel {...props} record={record} />;
  });
}

/**
 * A panel for a record: a section named by `<strings>_Title`, with a `--narrow` modifier class in a narrow
 * column, and its loading or load-failure state (`<strings>_Loading`, `<strings>_LoadFailed`) above the rest.
 */
function PanelSection<T>({
  className,
  strings,
  narrow,
  state,
  t,
  onRetry,
  children,
}: {
  className: string;
  strings: string;
  narrow: boolean;
  state: LoadState<T>;
  t: Translate;
  onRetry: () => void;
  children: React.ReactNode;
}): React.ReactElement {
  return (
    <section
      className={`${className}${narrow ? ` ${className}--narrow` : ''}`}
      aria-label={t(`${strings}_Title`)}
    >
      <PanelState
        state={state}
        t={t}
        onRetry={onRetry}
        loadingKey={`${strings}_Loading`}
        errorKey={`${strings}_LoadFailed`}
      />
      {children}
    </section>
  );
}

/** Marks a test-mode object; live objects carry no badge. */
export function ModeBadge({ livemode, t }: { livemode: boolean; t: Translate }): React.ReactElement | null {
  return livemode ? null : <span className="stc-badge stc-badge--test">{t('Common_TestMode')}</span>;
}

export interface StripeObjectRef {
  stripeId: string;
  livemode: boolean;
  stripeAccount?: string | null;
}

/** A link that opens a Stripe object in the Dashboard, in a new tab, in its account and mode. */
export function StripeLink({
  kind,
  object,
  ariaLabel,
  children,
}: {
  kind: DashboardObject;
  object: StripeObjectRef;
  ariaLabel?: string;
  children: React.ReactNode;
}): React.ReactElement {
  return (
    <Link
      href={dashboardUrl(kind, object.stripeId, object.livemode, object.stripeAccount)}
      target="_blank"
      rel="noopener noreferrer"
      aria-label={ariaLabel}
    >
      {children}
    </Link>
  );
}
