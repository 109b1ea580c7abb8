/** The form's record and the platform services the scripts use, read once per call from the form context. */
import type { WebApi } from '@stc/pcf-controls';

export interface FormRecord {
  entityTypeName: string;
  /** Lower-case GUID without braces; empty while the record is new. */
  id: string;
}

export function formRecord(formContext: Xrm.FormContext): FormRecord {
  return {
    entityTypeName: formContext.data.entity.getEntityName(),
    id: formContext.data.entity.getId().replace(/[{}]/g, '').toLowerCase(),
  };
}

/** The platform the scripts run on; `Xrm` on a form, a fake in tests. */
export interface Platform {
  webApi: WebApi;
  navigation: Pick<Xrm.Navigation, 'openAlertDialog' | 'openConfirmDialog' | 'openUrl' | 'openForm'>;
  languageId: number;
}

export function platform(xrm: Xrm.XrmStatic = Xrm): Platform {
  return {
    webApi: xrm.WebApi as unknown as WebApi,
    navigation: xrm.Navigation,
    languageId: xrm.Utility.getGlobalContext().userSettings.languageId,
  };
}

/** Dataverse rejects with `{ message }` objects; an Error or a string also says what happened. */
export function errorText(error: unknown): string {
  if (error && typeof error === 'object' && 'message' in error)
    return String((error as { message: unknown }).message);
  return String(error);
}

/** Money as the user reads it, with the currency's own number of decimals (JPY 0, BHD 3). */
export function moneyFormatter(languageId: number) {
  const locale = languageId === 1031 ? 'de-DE' : 'en-US';
  return {
    formatCurrency(value: number, precision = 2, symbol = ''): string {
      const number = new Intl.NumberFormat(locale, {
        minimumFractionDigits: precision,
        maximumFractionDigits: precision,
      }).format(value);
      return symbol ? `${symbol} ${number}` : number;
    },
  };
}
