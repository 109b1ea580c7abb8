import * as React from 'react';
import {
  DefaultButton,
  Dialog,
  DialogFooter,
  DialogType,
  Dropdown,
  IDropdownOption,
  MessageBar,
  MessageBarType,
  PrimaryButton,
  Spinner,
  SpinnerSize,
  TextField,
} from '@fluentui/react';
import type { Translate } from '../../shared/strings';
import { errorMessage } from '../../shared/useLoad';
import { NOTE_MAX_LENGTH, RefundErrors, validateRefund, ValidRefund, Message } from './RefundValidation';
import type { PaymentView, RefundReason } from './types';

export interface RefundDialogProps {
  payment: PaymentView;
  t: Translate;
  formatMoney: (amount: number, currency: string) => string;
  onSubmit: (value: ValidRefund) => Promise<void>;
  onDismiss: () => void;
}

const REASONS: RefundReason[] = ['requested_by_customer', 'duplicate', 'fraudulent'];

export const RefundDialog = React.memo(function RefundDialog({
  payment,
  t,
  formatMoney,
  onSubmit,
  onDismiss,
}: RefundDialogProps) {
  const formattedRefundable = formatMoney(payment.refundable, payment.currency);
  const [amountText, setAmountText] = React.useState(String(payment.refundable));
  const [reason, setReason] = React.useState<RefundReason | undefined>('requested_by_customer');
  const [note, setNote] = React.useState('');
  const [errors, setErrors] = React.useState<RefundErrors>({});
  const [submitting, setSubmitting] = React.useState(false);
  const [failure, setFailure] = React.useState<string>();

  const say = (message?: Message) => (message ? t(message.key, ...message.args) : undefined);
  const reasonOptions: IDropdownOption[] = REASONS.map((key) => ({ key, text: t(`Reason_${key}`) }));

  const submit = async () => {
    const result = validateRefund(
      { amountText, reason, note },
      payment.refundable,
      payment.currency,
      formattedRefundable,
    );
    setErrors(result.errors);
    if (!result.value) return;
    setSubmitting(true);
    setFailure(undefined);
    try {
      await onSubmit(result.value);
    } catch (error) {
      setFailure(errorMessage(error));
      setSubmitting(false);
    }
  };

  return (
    <Dialog
      hidden={false}
      onDismiss={submitting ? undefined : onDismiss}
      dialogContentProps={{
        type: DialogType.normal,
        title: t('Refund_Title'),
        subText: t('Refund_Subtitle', payment.stripeId, formattedRefundable),
      }}
      modalProps={{ className: 'stc-payment-panel-dialog' }}
    >
      <form
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        {failure && (
          <MessageBar messageBarType={MessageBarType.error} isMultiline>
            {t('Refund_CreateFailed', failure)}
          </MessageBar>
        )}
        <TextField
          label={t('Refund_Amount', payment.currency.toUpperCase())}
          value={amountText}
          onChange={(_event, value) => {
            setAmountText(value ?? '');
            setErrors((current) => ({ ...current, amount: undefined }));
          }}
          errorMessage={say(errors.amount)}
          inputMode="decimal"
          autoComplete="off"
          required
          disabled={submitting}
        />
        <Dropdown
          label={t('Refund_Reason')}
          options={reasonOptions}
          selectedKey={reason}
          onChange={(_event, option) => setReason(option?.key as RefundReason)}
          errorMessage={say(errors.reason)}
          required
          disabled={submitting}
        />
        <TextField
          label={t('Refund_Note')}
          value={note}
          onChange={(_event, value) => setNote(value ?? '')}
          errorMessage={say(errors.note)}
          multiline
          rows={3}
          description={t('Refund_NoteHint', NOTE_MAX_LENGTH)}
          disabled={submitting}
        />
        <DialogFooter>
          {submitting && (
            <Spinner size={SpinnerSize.small} label={t('Refund_Submitting')} ariaLive="polite" />
          )}
          <PrimaryButton type="submit" text={t('Refund_Submit')} disabled={submitting} />
          <DefaultButton text={t('Common_Cancel')} onClick={onDismiss} disabled={submitting} />
        </DialogFooter>
      </form>
    </Dialog>
  );
});
