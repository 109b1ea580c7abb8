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
  onSubmit: (value: ValidRefund) => Promise<void>;
  onDismiss: () => void;
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
  submit(): Promise<void>;
}

function useRefundForm(
  payment: PaymentView,
  formattedRefundable: string,
  numberFormat: NumberFormat,
  onSubmit: (value: ValidRefund) => Promise<void>,
): RefundForm {
  const [amountText, setAmountText] = React.useState(() =>
    writeAmount(payment.refundable, payment.currency, numberFormat),
  );
  const [reason, setReason] = React.useState<RefundReason | undefined>('requested_by_customer');
  const [note, setNote] = React.useState('');
  const [errors, setErrors] = React.useState<RefundErrors>({});
  const [submitting, setSubmitting] = React.useState(false);
  const [failure, setFailure] = React.useState<string>();

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
      await onSubmit(result.value);
    } catch (error) {
      setFailure(errorMessage(error));
      setSubmitting(false);
    }
  };
  const setAmount = (value: string) => {
    setAmountText(value);
    setErrors((current) => ({ ...current, amount: undefined }));
  };
  return { amountText, setAmount, reason, setReason, note, setNote, errors, submitting, failure, submit };
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
          <DefaultButton text={t('Common_Cancel')} onClick={onDismiss} disabled={submitting} />
        </DialogFooter>
      </form>
    </Dialog>
  );
});
