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
import { newGuid } from '../../shared/guid';
import { amountText as writeAmount, type NumberFormat } from '../../shared/money';
import type { Translate } from '../../shared/strings';
import { errorMessage } from '../../shared/useLoad';
import { NOTE_MAX_LENGTH, RefundErrors, validateRefund, ValidRefund, Message } from './RefundValidation';
import type { PaymentView, RefundReason } from './types';

export interface RefundDialogProps {
  payment: PaymentView;
  t: Translate;
  formatMoney: (amount: number, currency: string) => string;
  /** The user's number format: the amount is shown and read with its separators. */
  numberFormat: NumberFormat;
  /** `requestId`: the new request's row id, the same for every attempt from one opening of the dialog. */
  onSubmit: (value: RefundSubmission) => Promise<void>;
  /**
   * `afterFailedSave`: a save failed while the dialog was open. Its request may have been saved all the same
   * (an answer lost on the way back), so what the payment still allows is worth reading again.
   */
  onDismiss: (afterFailedSave: boolean) => void;
}

/** A valid refund and the id its request row is saved under. */
export interface RefundSubmission extends ValidRefund {
  requestId: string;
}

const REASONS: RefundReason[] = ['requested_by_customer', 'duplicate', 'fraudulent'];

/** The dialog's form state, and its submit: validate, then hand the valid refund on, showing a failure. */
interface RefundForm {
  amountText: string;
  /** Sets the amount and clears its error, which the new amount may no longer have. */
  setAmount(value: string): void;
  reason: RefundReason | undefined;
  setReason(value: RefundReason | undefined): void;
  note: string;
  setNote(value: string): void;
  errors: RefundErrors;
  submitting: boolean;
  failure: string | undefined;
  /** Some attempt to save failed (the failure shown may since have been cleared by another attempt). */
  saveFailed: boolean;
  submit(): Promise<void>;
}

function useRefundForm(
  payment: PaymentView,
  formattedRefundable: string,
  numberFormat: NumberFormat,
  onSubmit: (value: RefundSubmission) => Promise<void>,
): RefundForm {
  // Chosen once per opening: a second click after a failed or unanswered save sends the same id, so Dataverse
  // cannot hold two requests from one dialog.
  const [requestId] = React.useState(newGuid);
  const [amountText, setAmountText] = React.useState(() =>
    writeAmount(payment.refundable, payment.currency, numberFormat),
  );
  const [reason, setReason] = React.useState<RefundReason | undefined>('requested_by_customer');
  const [note, setNote] = React.useState('');
  const [errors, setErrors] = React.useState<RefundErrors>({});
  const [submitting, setSubmitting] = React.useState(false);
  const [failure, setFailure] = React.useState<string>();
  const [saveFailed, setSaveFailed] = React.useState(false);

  const submit = async () => {
    const result = validateRefund(
      { amountText, reason, note },
      payment.refundable,
      payment.currency,
      formattedRefundable,
      numberFormat,
    );
    setErrors(result.errors);
    if (!result.value) return;
    setSubmitting(true);
    setFailure(undefined);
    try {
      await onSubmit({ ...result.value, requestId });
    } catch (error) {
      setFailure(errorMessage(error));
      setSaveFailed(true);
      setSubmitting(false);
    }
  };
  const setAmount = (value: string) => {
    setAmountText(value);
    setErrors((current) => ({ ...current, amount: undefined }));
  };
  return {
    amountText,
    setAmount,
    reason,
    setReason,
    note,
    setNote,
    errors,
    submitting,
    failure,
    saveFailed,
    submit,
  };
}

/** The amount, reason and note fields, each with its validation message. */
function RefundFields({ form, currency, t }: { form: RefundForm; currency: string; t: Translate }) {
  const say = (message?: Message) => (message ? t(message.key, ...message.args) : undefined);
  const reasonOptions: IDropdownOption[] = REASONS.map((key) => ({ key, text: t(`Reason_${key}`) }));
  return (
    <>
      <TextField
        label={t('Refund_Amount', currency.toUpperCase())}
        value={form.amountText}
        onChange={(_event, value) => form.setAmount(value ?? '')}
        errorMessage={say(form.errors.amount)}
        inputMode="decimal"
        autoComplete="off"
        required
        disabled={form.submitting}
      />
      <Dropdown
        label={t('Refund_Reason')}
        options={reasonOptions}
        selectedKey={form.reason}
        onChange={(_event, option) => form.setReason(option?.key as RefundReason)}
        errorMessage={say(form.errors.reason)}
        required
        disabled={form.submitting}
      />
      <TextField
        label={t('Refund_Note')}
        value={form.note}
        onChange={(_event, value) => form.setNote(value ?? '')}
        errorMessage={say(form.errors.note)}
        multiline
        rows={3}
        description={t('Refund_NoteHint', NOTE_MAX_LENGTH)}
        disabled={form.submitting}
      />
    </>
  );
}

export const RefundDialog = React.memo(function RefundDialog({
  payment,
  t,
  formatMoney,
  numberFormat,
  onSubmit,
  onDismiss,
}: RefundDialogProps) {
  const formattedRefundable = formatMoney(payment.refundable, payment.currency);
  const form = useRefundForm(payment, formattedRefundable, numberFormat, onSubmit);
  const { submitting, failure } = form;
  const dismiss = () => onDismiss(form.saveFailed);

  return (
    <Dialog
      hidden={false}
      onDismiss={submitting ? undefined : dismiss}
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
          void form.submit();
        }}
      >
        {failure && (
          <MessageBar messageBarType={MessageBarType.error} isMultiline>
            {t('Refund_CreateFailed', failure)}
          </MessageBar>
        )}
        <RefundFields form={form} currency={payment.currency} t={t} />
        <DialogFooter>
          {submitting && (
            <Spinner size={SpinnerSize.small} label={t('Refund_Submitting')} ariaLive="polite" />
          )}
          <PrimaryButton type="submit" text={t('Refund_Submit')} disabled={submitting} />
          <DefaultButton text={t('Common_Cancel')} onClick={dismiss} disabled={submitting} />
        </DialogFooter>
      </form>
    </Dialog>
  );
});
