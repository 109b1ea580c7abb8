import { numberFormatOf } from '../../shared/money';
import { panelContext } from '../../shared/panelContext';
import { hasPrivileges } from '../../shared/privileges';
import { Payment, RefundRequest } from '@stc/solution/tables';
import { lookupFor } from '../../shared/rows';
import { DEFAULT_POLL_SECONDS, MAX_POLL_SECONDS, MIN_POLL_SECONDS } from '../ManifestConstants';
import type { PaymentPanelProps } from './PaymentPanel';
import type { PaymentSource } from './types';

/** What the panel needs from the context; a subset, so that tests and the harness can build it. */
export interface PaymentPanelInputs {
  pollIntervalSeconds?: { raw: number | null };
}

/** Maps the platform's context to the panel's props: the whole of what index.ts does on each updateView. */
export function propsFromContext(
  context: ComponentFramework.Context<PaymentPanelInputs>,
  source: PaymentSource,
): PaymentPanelProps {
  const panel = panelContext(context as ComponentFramework.Context<unknown>, {
    fitsTable: (table) => lookupFor(Payment.lookup, table) !== undefined,
    wrongTableKey: 'Payments_WrongTable',
    dateWithTime: true,
  });
  const pollSeconds = context.parameters.pollIntervalSeconds?.raw ?? DEFAULT_POLL_SECONDS;
  const canRequestRefund = hasPrivileges(context.utils, [
    [RefundRequest.logicalName, 'Create'],
    [RefundRequest.logicalName, 'Append'],
    [Payment.logicalName, 'AppendTo'],
  ]);
  return {
    ...panel,
    source,
    canRequestRefund,
    // The panel's one write is a new stc_refundrequest row: it changes neither the order or invoice on the form
    // nor the column the panel is bound to (which only places it). A read-only form (a paid invoice, a user
    // with only Read on orders and invoices) or field security on that column does not stop a refund request;
    // the user's privileges on the request do.
    readOnly: !canRequestRefund,
    pollIntervalMs: Math.min(MAX_POLL_SECONDS, Math.max(MIN_POLL_SECONDS, pollSeconds)) * 1000,
    // Absent in the sandbox harness and unit tests: numberFormatOf then gives DEFAULT_NUMBER_FORMAT (en-US).
    numberFormat: numberFormatOf(context.userSettings?.numberFormattingInfo),
  };
}
