/**
 * What every panel takes from its host alike, and how it is read from the PCF context: strings, the record
 * on the form (or why the control does not fit the table it was put on), formatting and the width.
 */
import { formRecordOf, type FormRecord } from './formRecord';
import { formatMoney } from './money';
import { translator, type Translate } from './strings';

export interface PanelProps<Source> {
  source: Source;
  /** The record on the form; undefined while it is new. */
  record?: FormRecord;
  /** A problem with how the control is set up, shown instead of the panel. */
  configurationError?: string;
  t: Translate;
  formatMoney: (amount: number, currency: string) => string;
  formatDate: (date: Date) => string;
  /** Nothing can be changed from the panel (form, field or the user's privileges). */
  readOnly: boolean;
  /** Width the platform allocated, in pixels (-1 when unknown). */
  width: number;
}

/** Below this width a panel lays itself out for the mobile app's form column. */
export const NARROW_WIDTH = 560;

export function isNarrow(width: number): boolean {
  return width > 0 && width < NARROW_WIDTH;
}

export interface PanelContextOptions {
  /** Whether the panel works on a form of this table. */
  fitsTable: (entityTypeName: string) => boolean;
  /** String shown (with the table's name) when it does not. */
  wrongTableKey: string;
  /** Dates shown with their time of day. */
  dateWithTime?: boolean;
}

export function panelContext(
  context: ComponentFramework.Context<unknown>,
  options: PanelContextOptions,
): Omit<PanelProps<never>, 'source' | 'readOnly'> {
  const t = translator(context.resources);
  const record = formRecordOf(context);
  return {
    record,
    configurationError:
      record && !options.fitsTable(record.entityTypeName)
        ? t(options.wrongTableKey, record.entityTypeName)
        : undefined,
    t,
    formatMoney: (amount, currency) => formatMoney(context.formatting, amount, currency),
    formatDate: (date) => context.formatting.formatDateShort(date, options.dateWithTime),
    width: context.mode.allocatedWidth,
  };
}
