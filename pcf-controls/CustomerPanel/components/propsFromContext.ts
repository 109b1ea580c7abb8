import { formRecordOf } from '../../shared/formRecord';
import { formatMoney } from '../../shared/money';
import { hasPrivileges } from '../../shared/privileges';
import { translator } from '../../shared/strings';
import { customerTable } from './CustomerData';
import type { CustomerPanelProps } from './CustomerPanel';
import type { CustomerSource } from './types';

/** What the panel needs from the context: the bound customer id column and its field security. */
export interface CustomerPanelInputs {
  stripeCustomerId: { raw: string | null; security?: { editable: boolean; readable: boolean } };
}

export function propsFromContext(
  context: ComponentFramework.Context<CustomerPanelInputs>,
  source: CustomerSource,
): CustomerPanelProps {
  const t = translator(context.resources);
  const record = formRecordOf(context as ComponentFramework.Context<unknown>);
  const configurationError =
    record && !customerTable(record.entityTypeName)
      ? t('Customer_WrongTable', record.entityTypeName)
      : undefined;
  const security = context.parameters.stripeCustomerId?.security;
  const canWrite = record ? hasPrivileges(context.utils, [[record.entityTypeName, 'Write']]) : false;
  return {
    source,
    record,
    configurationError,
    t,
    formatMoney: (amount, currency) => formatMoney(context.formatting, amount, currency),
    formatDate: (date) => context.formatting.formatDateShort(date),
    readOnly: context.mode.isControlDisabled || security?.editable === false || !canWrite,
    idHidden: security?.readable === false,
    width: context.mode.allocatedWidth,
  };
}
