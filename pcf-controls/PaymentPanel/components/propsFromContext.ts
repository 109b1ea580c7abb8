import { formRecordOf } from '../../shared/formRecord';
import { formatMoney } from '../../shared/money';
import { hasPrivileges } from '../../shared/privileges';
import { translator } from '../../shared/strings';
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
  const t = translator(context.resources);
  const record = formRecordOf(context as ComponentFramework.Context<unknown>);
  const configurationError =
    record && !lookupFor(Payment.lookup, record.entityTypeName)
      ? t('Payments_WrongTable', record.entityTypeName)
      : undefined;
  const security = context.parameters.boundField?.security;
  const pollSeconds = context.parameters.pollIntervalSeconds?.raw ?? DEFAULT_POLL_SECONDS;
  return {
    source,
    record,
    configurationError,
    t,
    formatMoney: (amount, currency) => formatMoney(context.formatting, amount, currency),
    formatDate: (date) => context.formatting.formatDateShort(date, true),
    canRequestRefund: hasPrivileges(context.utils, [
      [RefundRequest.logicalName, 'Create'],
      [RefundRequest.logicalName, 'Append'],
      [Payment.logicalName, 'AppendTo'],
    ]),
    readOnly: context.mode.isControlDisabled || security?.editable === false,
    width: context.mode.allocatedWidth,
    pollIntervalMs: Math.min(MAX_POLL_SECONDS, Math.max(MIN_POLL_SECONDS, pollSeconds)) * 1000,
  };
}
