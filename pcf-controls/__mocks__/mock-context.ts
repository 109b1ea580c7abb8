/**
 * A typed PCF context for tests: the parts of `ComponentFramework.Context` the controls use, with a jest-mocked
 * Web API whose calls a test counts, strings read from the control's real resx file, and a currency
 * formatter that behaves like the platform's (digits as asked, symbol before the number).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MockWebApi {
  createRecord: jest.Mock<
    Promise<{ id: string; entityType: string; name?: string }>,
    [string, Record<string, unknown>]
  >;
  updateRecord: jest.Mock<
    Promise<{ id: string; entityType: string; name?: string }>,
    [string, string, Record<string, unknown>]
  >;
  deleteRecord: jest.Mock<Promise<{ id: string; entityType: string; name?: string }>, [string, string]>;
  retrieveRecord: jest.Mock<Promise<Record<string, unknown>>, [string, string, string?]>;
  retrieveMultipleRecords: jest.Mock<
    Promise<{ entities: Record<string, unknown>[]; nextLink?: string }>,
    [string, string?, number?]
  >;
}

export interface MockContextOptions {
  control: 'PaymentPanel' | 'CustomerPanel';
  entityTypeName?: string;
  /** Undefined for a new, unsaved record. */
  entityId?: string;
  width?: number;
  isControlDisabled?: boolean;
  /** `table:Privilege` pairs the user lacks, e.g. `stc_refundrequest:Create`. */
  deniedPrivileges?: string[];
  languageId?: 1033 | 1031;
  security?: { editable: boolean; readable: boolean; secured: boolean };
  boundValue?: string | null;
  /** The user's number format; left out, the context has none (as in the sandbox harness). */
  numberFormattingInfo?: Partial<ComponentFramework.UserSettingApi.NumberFormattingInfo>;
}

const PRIVILEGE_NAMES: Record<number, string> = {
  1: 'Create',
  2: 'Read',
  3: 'Write',
  7: 'Append',
  8: 'AppendTo',
};

export function readResx(control: string, languageId: number): Record<string, string> {
  const xml = readFileSync(
    join(__dirname, '..', control, 'strings', `${control}.${languageId}.resx`),
    'utf8',
  );
  const strings: Record<string, string> = {};
  for (const match of xml.matchAll(/<data name="([^"]+)"[^>]*>\s*<value>([\s\S]*?)<\/value>/g)) {
    strings[match[1]] = match[2].replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  }
  return strings;
}

/** `formatCurrency(1234.5, 2, 'USD')` → `USD 1,234.50`, as the platform formats with a code for symbol. */
export function formatCurrency(value: number, precision = 2, symbol = ''): string {
  const number = value.toLocaleString('en-US', {
    minimumFractionDigits: precision,
    maximumFractionDigits: precision,
  });
  return symbol ? `${symbol} ${number}` : number;
}

export type MockContext<TInputs> = ComponentFramework.Context<TInputs> & {
  webAPI: MockWebApi & ComponentFramework.WebApi;
};

export function mockWebApi(): MockWebApi {
  return {
    createRecord: jest.fn(),
    updateRecord: jest.fn(),
    deleteRecord: jest.fn(),
    retrieveRecord: jest.fn(),
    retrieveMultipleRecords: jest.fn(),
  };
}

export function mockContext<TInputs>(
  parameters: TInputs,
  options: MockContextOptions,
  webAPI = mockWebApi(),
): MockContext<TInputs> {
  const strings = readResx(options.control, options.languageId ?? 1033);
  const denied = new Set(options.deniedPrivileges ?? []);
  const context = {
    parameters,
    webAPI,
    mode: {
      allocatedWidth: options.width ?? 900,
      allocatedHeight: -1,
      isControlDisabled: options.isControlDisabled ?? false,
      isVisible: true,
      label: options.control,
      setControlState: jest.fn(),
      setFullScreen: jest.fn(),
      trackContainerResize: jest.fn(),
      contextInfo: { entityId: options.entityId, entityTypeName: options.entityTypeName },
    },
    resources: {
      getString: (id: string) => strings[id] ?? id,
      getResource: jest.fn(),
    },
    formatting: {
      formatCurrency: jest.fn(formatCurrency),
      formatDateShort: (date: Date, includeTime?: boolean) =>
        includeTime ? date.toISOString().slice(0, 16).replace('T', ' ') : date.toISOString().slice(0, 10),
      formatDecimal: (value: number, precision = 2) => value.toFixed(precision),
      formatInteger: (value: number) => String(value),
    },
    utils: {
      hasEntityPrivilege: jest.fn(
        (table: string, privilege: number) =>
          !denied.has(`${table}:${PRIVILEGE_NAMES[privilege] ?? privilege}`),
      ),
      getEntityMetadata: jest.fn(),
      lookupObjects: jest.fn(),
    },
    userSettings: {
      userId: '{00000000-0000-0000-0000-0000000000aa}',
      languageId: options.languageId ?? 1033,
      userName: 'Test User',
      isRTL: false,
      securityRoles: [],
      ...(options.numberFormattingInfo ? { numberFormattingInfo: options.numberFormattingInfo } : {}),
    },
    navigation: { openUrl: jest.fn() },
    factory: { requestRender: jest.fn() },
    client: {
      getFormFactor: () => 1,
      getClient: () => 'Web',
      isOffline: () => false,
      isNetworkAvailable: () => true,
      disableScroll: false,
    },
    updatedProperties: [],
    events: {},
  };
  return context as unknown as MockContext<TInputs>;
}

/** A bound text property as the platform passes it. */
export function textProperty(value: string | null, security?: MockContextOptions['security']) {
  return {
    raw: value,
    formatted: value ?? '',
    error: false,
    errorMessage: '',
    security,
    type: 'SingleLine.Text',
    attributes: undefined,
  };
}
