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
  boundField: { security?: { editable: boolean; readable: boolean } };
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
  const security = context.parameters.boundField?.security;
  const pollSeconds = context.parameters.pollIntervalSeconds?.raw ?? DEFAULT_POLL_SECONDS;
  return {
    ...panel,
    source,
    canRequestRefund: hasPrivileges(context.utils, [
      [RefundRequest.logicalName, 'Create'],
      [RefundRequest.logicalName, 'Append'],
      [Payment.logicalName, 'AppendTo'],
    ]),
    readOnly: context.mode.isControlDisabled || security?.editable === false,
    pollIntervalMs: Math.min(MAX_POLL_SECONDS, Math.max(MIN_POLL_SECONDS, pollSeconds)) * 1000,
    // Absent in the sandbox harness and unit tests: numberFormatOf then gives DEFAULT_NUMBER_FORMAT (en-US).
    numberFormat: numberFormatOf(context.userSettings?.numberFormattingInfo),
  };
}
