import * as React from 'react';
import { MessageBar, MessageBarType, Spinner, SpinnerSize, DefaultButton } from '@fluentui/react';
import type { LoadState } from './useLoad';
import type { Translate } from './strings';

interface PanelStateProps<T> {
  state: LoadState<T>;
  t: Translate;
  onRetry: () => void;
  loadingKey: string;
  errorKey: string;
}

/** Loading and error states look the same in every panel; undefined means "render the data". */
export function PanelState<T>({
  state,
  t,
  onRetry,
  loadingKey,
  errorKey,
}: PanelStateProps<T>): React.ReactElement | null {
  if (state.status === 'loading') {
    return <Spinner size={SpinnerSize.medium} label={t(loadingKey)} ariaLive="polite" />;
  }
  if (state.status === 'error') {
    return (
      <MessageBar
        messageBarType={MessageBarType.error}
        isMultiline
        actions={<DefaultButton onClick={onRetry}>{t('Common_Retry')}</DefaultButton>}
      >
        {t(errorKey, state.message)}
      </MessageBar>
    );
  }
  return null;
}

/** A configuration problem is shown where the control would be, never thrown into the form. */
export function ConfigurationProblem({ message }: { message: string }): React.ReactElement {
  return (
    <MessageBar messageBarType={MessageBarType.warning} isMultiline>
      {message}
    </MessageBar>
  );
}
