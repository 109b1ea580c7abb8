import { panelContext } from '../../shared/panelContext';
import { hasPrivileges } from '../../shared/privileges';
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
  const panel = panelContext(context as ComponentFramework.Context<unknown>, {
    fitsTable: (table) => customerTable(table) !== undefined,
    wrongTableKey: 'Customer_WrongTable',
  });
  const security = context.parameters.stripeCustomerId?.security;
  const canWrite = panel.record
    ? hasPrivileges(context.utils, [[panel.record.entityTypeName, 'Write']])
    : false;
  return {
    ...panel,
    source,
    readOnly: context.mode.isControlDisabled || security?.editable === false || !canWrite,
    idHidden: security?.readable === false,
  };
}
