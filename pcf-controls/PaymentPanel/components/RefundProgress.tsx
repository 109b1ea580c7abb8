import * as React from 'react';
import { DefaultButton, MessageBar, MessageBarType, ProgressIndicator } from '@fluentui/react';
import type { Translate } from '../../shared/strings';
import { errorMessage } from '../../shared/useLoad';
import { FINAL_REQUEST_STATUSES, PaymentSource, RefundRequestView } from './types';

export interface RefundProgressProps {
  requestId: string;
  source: PaymentSource;
  t: Translate;
  pollIntervalMs: number;
  /** Called once when the request reaches a final status. */
  onFinal: (request: RefundRequestView) => void;
  onClose: () => void;
}

/**
 * Follows a refund request until the service marks it Succeeded, Failed or Rejected, reading the request row
 * (the browser never asks Stripe or the service). Polling stops when the panel unmounts.
 */
export function RefundProgress({
  requestId,
  source,
  t,
  pollIntervalMs,
  onFinal,
  onClose,
}: RefundProgressProps) {
  const [request, setRequest] = React.useState<RefundRequestView>();
  const [pollError, setPollError] = React.useState<string>();
  const onFinalRef = React.useRef(onFinal);
  onFinalRef.current = onFinal;

  React.useEffect(() => {
    let active = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const current = await source.refundRequest(requestId);
        if (!active) return;
        setRequest(current);
        setPollError(undefined);
        if (FINAL_REQUEST_STATUSES.includes(current.status)) {
          onFinalRef.current(current);
          return;
        }
      } catch (error) {
        if (!active) return;
        setPollError(errorMessage(error));
      }
      timer = setTimeout(poll, pollIntervalMs);
    };
    timer = setTimeout(poll, pollIntervalMs);
    return () => {
      active = false;
      if (timer) clearTimeout(timer);
    };
  }, [requestId, source, pollIntervalMs]);

  const final = request && FINAL_REQUEST_STATUSES.includes(request.status);
  const type = !final
    ? MessageBarType.info
    : request.status === 'succeeded'
      ? MessageBarType.success
      : MessageBarType.error;
  const label = request ? request.statusLabel : t('RefundStatus_pending');

  return (
    <div className="stc-refund-progress" role="status" aria-live="polite">
      <MessageBar
        messageBarType={type}
        isMultiline
        actions={final ? <DefaultButton text={t('Common_Close')} onClick={onClose} /> : undefined}
      >
        <span className="stc-refund-progress__status">{t('RefundProgress_Status', label)}</span>
        {request?.message && final && <span> {request.message}</span>}
        {pollError && <span> {t('RefundProgress_PollFailed', pollError)}</span>}
      </MessageBar>
      {!final && <ProgressIndicator ariaValueText={t('RefundProgress_Waiting')} />}
    </div>
  );
}
