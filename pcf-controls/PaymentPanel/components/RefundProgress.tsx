import * as React from 'react';
import { DefaultButton, MessageBar, MessageBarType, ProgressIndicator } from '@fluentui/react';
import type { Translate } from '../../shared/strings';
import { errorMessage } from '../../shared/useLoad';
import { RESTING_REQUEST_STATUSES, type PaymentSource, type RefundRequestView } from './types';

export interface RefundProgressProps {
  requestId: string;
  source: PaymentSource;
  t: Translate;
  pollIntervalMs: number;
  /**
   * Called once when the request comes to rest: Succeeded, Failed or Rejected, or Awaiting approval (the
   * service does nothing more with it until a finance approver decides).
   */
  onSettled: (request: RefundRequestView) => void;
  onClose: () => void;
}

/** The message bar's look for a request at rest. */
function settledType(request: RefundRequestView): MessageBarType {
  if (request.status === 'succeeded') return MessageBarType.success;
  if (request.status === 'awaiting_approval') return MessageBarType.info;
  return MessageBarType.error;
}

/**
 * Follows a refund request until it comes to rest, reading the request row (the browser never asks Stripe or
 * the service): Succeeded, Failed or Rejected, or Awaiting approval, which may wait days for a finance approver
 * and is not polled for. Polling stops then, and when the panel unmounts.
 */
export function RefundProgress({
  requestId,
  source,
  t,
  pollIntervalMs,
  onSettled,
  onClose,
}: RefundProgressProps) {
  const [request, setRequest] = React.useState<RefundRequestView>();
  const [pollError, setPollError] = React.useState<string>();
  const onSettledRef = React.useRef(onSettled);
  onSettledRef.current = onSettled;

  React.useEffect(() => {
    let active = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const current = await source.refundRequest(requestId);
        if (!active) return;
        setRequest(current);
        setPollError(undefined);
        if (RESTING_REQUEST_STATUSES.includes(current.status)) {
          onSettledRef.current(current);
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

  const settled = request && RESTING_REQUEST_STATUSES.includes(request.status) ? request : undefined;
  const label = request ? request.statusLabel : t('RefundStatus_pending');

  return (
    <div className="stc-refund-progress" role="status" aria-live="polite">
      <MessageBar
        messageBarType={settled ? settledType(settled) : MessageBarType.info}
        isMultiline
        actions={settled ? <DefaultButton text={t('Common_Close')} onClick={onClose} /> : undefined}
      >
        <span className="stc-refund-progress__status">{t('RefundProgress_Status', label)}</span>
        {settled?.status === 'awaiting_approval' && <div>{t('RefundProgress_AwaitingApproval')}</div>}
        {settled?.message && <span> {settled.message}</span>}
        {pollError && <span> {t('RefundProgress_PollFailed', pollError)}</span>}
      </MessageBar>
      {!settled && <ProgressIndicator ariaValueText={t('RefundProgress_Waiting')} />}
    </div>
  );
}
