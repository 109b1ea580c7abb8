/**
 * The approval thresholds: Dataverse's `stc_RefundApprovalThresholds` environment variable (its value row,
 * else its default), a JSON object of currency codes to minor units. A malformed value is refused with a log
 * line naming the problem and the configured REFUND_APPROVAL_THRESHOLDS is used instead. An environment whose
 * solution predates that variable (0.1.0) may still hold `stc_RefundApprovalThreshold`, one number in major
 * units of every currency: it is read only while the new variable has no value at all, and said to be
 * deprecated once. Environments that serve no environment variables (the local emulator) use the configuration.
 */
import type { DataverseClient, Row } from '../../dataverse/types';
import type { HandlerLogger } from '../../pipeline/handler';
import { currencyExponent } from '../../mapping';
import {
  isGuid,
  parseApprovalThresholds,
  type ApprovalThresholds,
  type OutboundSettings,
} from '../../config/outbound';

export const APPROVAL_THRESHOLDS_VARIABLE = 'stc_RefundApprovalThresholds';
/** Solution 0.1.0's single threshold in major units; read only when the new variable has no value. */
export const DEPRECATED_THRESHOLD_VARIABLE = 'stc_RefundApprovalThreshold';

/**
 * Where a set of thresholds is read: its Dataverse environment variable and the configuration variable used
 * when Dataverse gives none that is valid (charge requests have their own, charge-requests/index.ts).
 */
export interface ThresholdSource {
  variable: string;
  /** The configuration variable named in log lines. */
  configName: string;
  /** A deprecated single-number variable read only while `variable` has no value. */
  legacyVariable?: string;
}

const REFUND_THRESHOLDS: ThresholdSource = {
  variable: APPROVAL_THRESHOLDS_VARIABLE,
  configName: 'REFUND_APPROVAL_THRESHOLDS',
  legacyVariable: DEPRECATED_THRESHOLD_VARIABLE,
};

export type ApprovalThreshold =
  | { kind: 'perCurrency'; minor: ApprovalThresholds; source: 'dataverse' | 'config' }
  /** The deprecated variable's one number, in major units of whichever currency the payment is in. */
  | { kind: 'major'; major: number; source: 'dataverse (deprecated)' };

/** The threshold of one currency in its minor units, or null when none is set for it. */
export function thresholdIn(limit: ApprovalThreshold, currency: string): number | null {
  const code = currency.toLowerCase();
  if (limit.kind === 'major') {
    // A threshold is a policy figure, not an amount to pay: finer than the currency's unit, it is rounded.
    return Math.round(limit.major * 10 ** currencyExponent(code));
  }
  return Object.hasOwn(limit.minor, code) ? limit.minor[code] : null;
}

/**
 * Reads the thresholds as the module comment says, kept for `settingsCacheMs`.
 */
export function approvalThresholdReader(
  settings: Pick<OutboundSettings, 'approvalThresholds' | 'settingsCacheMs'>,
  now: () => number = Date.now,
  source: ThresholdSource = REFUND_THRESHOLDS,
): (dataverse: DataverseClient, log: HandlerLogger) => Promise<ApprovalThreshold> {
  let cached: { threshold: ApprovalThreshold; atMs: number } | undefined;
  let deprecationLogged = false;
  const configured: ApprovalThreshold = {
    kind: 'perCurrency',
    minor: settings.approvalThresholds,
    source: 'config',
  };
  return async (dataverse, log) => {
    if (cached && now() - cached.atMs < settings.settingsCacheMs) return cached.threshold;
    const threshold = (await thresholdFromDataverse(dataverse, log, source)) ?? configured;
    if (threshold.kind === 'major' && !deprecationLogged) {
      deprecationLogged = true;
      log.warn(
        { variable: DEPRECATED_THRESHOLD_VARIABLE, replacement: APPROVAL_THRESHOLDS_VARIABLE },
        `${DEPRECATED_THRESHOLD_VARIABLE} is deprecated: set ${APPROVAL_THRESHOLDS_VARIABLE} (minor units by currency); until then its one number is read in major units of every currency`,
      );
    }
    cached = { threshold, atMs: now() };
    return threshold;
  };
}

/** What Dataverse sets, or null for the configured thresholds. */
async function thresholdFromDataverse(
  dataverse: DataverseClient,
  log: HandlerLogger,
  source: ThresholdSource,
): Promise<ApprovalThreshold | null> {
  const text = await variableValue(dataverse, source.variable);
  if (text === undefined) return null;
  if (text !== null) {
    const read = parseApprovalThresholds(text);
    if ('thresholds' in read) return { kind: 'perCurrency', minor: read.thresholds, source: 'dataverse' };
    log.error(
      { variable: source.variable, value: text, problem: read.problem },
      `${source.variable} in Dataverse is refused (${read.problem}); using ${source.configName} from the configuration`,
    );
    return null;
  }
  if (!source.legacyVariable) return null;
  const legacy = await variableValue(dataverse, source.legacyVariable);
  if (legacy === undefined || legacy === null) return null;
  const major = Number(legacy);
  if (!/^\d+(\.\d+)?$/.test(legacy.trim()) || !Number.isFinite(major)) {
    log.error(
      { variable: DEPRECATED_THRESHOLD_VARIABLE, value: legacy },
      `${DEPRECATED_THRESHOLD_VARIABLE} in Dataverse is not a number of at least 0; using REFUND_APPROVAL_THRESHOLDS from the configuration`,
    );
    return null;
  }
  return { kind: 'major', major, source: 'dataverse (deprecated)' };
}

/**
 * An environment variable's current value (its value row, else its default) as text; null when it has
 * neither or is not defined; undefined when the environment serves no environment variables.
 */
async function variableValue(
  dataverse: DataverseClient,
  schemaName: string,
): Promise<string | null | undefined> {
  let definitions: Row[];
  try {
    definitions = await dataverse.retrieveMultiple('environmentvariabledefinitions', {
      select: ['environmentvariabledefinitionid', 'defaultvalue'],
      filter: `schemaname eq '${schemaName}'`,
      top: 1,
    });
  } catch (error) {
    if ((error as { status?: number }).status === 404) return undefined;
    throw error;
  }
  const definition = definitions[0];
  if (!definition) return null;
  if (isGuid(definition.environmentvariabledefinitionid)) {
    const values = await dataverse.retrieveMultiple('environmentvariablevalues', {
      select: ['value'],
      filter: `_environmentvariabledefinitionid_value eq ${definition.environmentvariabledefinitionid}`,
      top: 1,
    });
    if (present(values[0]?.value)) return String(values[0].value);
  }
  return present(definition.defaultvalue) ? String(definition.defaultvalue) : null;
}

const present = (value: unknown) => value !== undefined && value !== null && String(value).trim() !== '';
