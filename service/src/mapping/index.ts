/**
 * The mapping engine: declarative Stripe → Dataverse mappings in YAML, JSONata expressions compiled once
 * at load, checked against the table model, applied per event by the sync handlers.
 */
import type Stripe from 'stripe';
import {
  applyMapping,
  mappingApplies,
  type CompiledMapping,
  type EventEnvelope,
  type MappedRow,
} from './engine';

export { MappingError, type MappingErrorCode, type MappingErrorLocation } from './errors';
export {
  currencyExponent,
  majorToMinor,
  minorToMajor,
  minorToMajorString,
  decimalToNumber,
  MoneyError,
} from './money';
export { unixToDateTime, unixToDate, fullName, firstName, lastName, type LookupTables } from './functions';
export { countryCode, countryName, nameCase, normalizeEmail, phoneE164 } from './normalize';
export {
  suggestColumns,
  mappedColumns,
  flattenSample,
  type ColumnSuggestions,
  type Suggestion,
  type SampleField,
  type SuggestOptions,
} from './suggest';
export {
  applyMapping,
  mappingApplies,
  compileMapping,
  STAMP_EVENT_ID,
  STAMP_EVENT_CREATED,
  type CompiledMapping,
  type EventEnvelope,
  type MappedRow,
  type PendingLink,
  type LinkTarget,
} from './engine';
export {
  loadMappings,
  loadMappingFiles,
  readMappingFolder,
  loadMappingFile,
  parseMappingFile,
  MappingSet,
  type MappingFile,
  type MappingFiles,
  type LoadOptions,
} from './loader';
export { hashMappingFiles, compileMappingFiles } from './versions';
export { mappingFileSchema, mappingFileJsonSchema, type MappingSpec, type MappingFileSpec } from './schema';

/** The event fields a mapping sees as `$event`. */
export function eventEnvelope(
  event: Pick<Stripe.Event, 'id' | 'type' | 'created' | 'livemode'> & { account?: string | null },
): EventEnvelope {
  return {
    id: event.id,
    type: event.type,
    created: event.created,
    account: event.account ?? null,
    livemode: event.livemode,
  };
}

/**
 * What a mapping would write for a real event, without writing: the event's own object is mapped as it
 * is (no re-read from Stripe). Empty when the mapping's `when` does not hold or the object is of
 * another type.
 */
export async function dryRun(mapping: CompiledMapping, event: Stripe.Event): Promise<MappedRow[]> {
  const object = event.data.object as { object?: string };
  if (object.object !== mapping.source) return [];
  const envelope = eventEnvelope(event as Stripe.Event & { account?: string });
  if (!(await mappingApplies(mapping, object, envelope))) return [];
  return [await applyMapping(mapping, object, envelope)];
}
