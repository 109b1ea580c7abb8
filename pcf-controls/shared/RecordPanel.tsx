import * as React from 'react';
import { Link, Text } from '@fluentui/react';
import type { FormRecord } from './formRecord';
import { ConfigurationProblem, PanelState } from './PanelState';
import type { PanelProps } from './panelContext';
import { dashboardUrl, type DashboardObject } from './stripeDashboard';
import type { Translate } from './strings';
import type { LoadState } from './useLoad';

/**
 * A panel's outer shell, the same for every panel: a configuration problem in its place, a "save first" line
 * while the record is new, and otherwise the panel for the saved record.
 */
export function recordPanel<P extends PanelProps<unknown>>(
  className: string,
  saveFirstKey: string,
  ForRecord: React.ComponentType<P & { record: FormRecord }>,
): React.NamedExoticComponent<P> {
  return React.memo(function RecordPanel(props: P) {
    const { record, configurationError, t } = props;
    if (configurationError) return <ConfigurationProblem message={configurationError} />;
    if (!record) {
      return (
        <div className={className}>
          <Text>{t(saveFirstKey)}</Text>
        </div>
      );
    }
    return <ForRecord {...props} record={record} />;
  });
}

/**
 * A panel for a record: a section named by `<strings>_Title`, with a `--narrow` modifier class in a narrow
 * column, and its loading or load-failure state (`<strings>_Loading`, `<strings>_LoadFailed`) above the rest.
 */
export function PanelSection<T>({
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
