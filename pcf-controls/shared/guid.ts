/** Row ids chosen in the browser, for a create that may be sent again and must then find the row it made. */

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/**
 * A random (version 4) GUID in lower case: `crypto.randomUUID` where the browser has it, else the same from
 * `crypto.getRandomValues` (older mobile web views).
 */
export function newGuid(): string {
  const crypto = globalThis.crypto;
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID().toLowerCase();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => HEX[byte]).join('');
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join('-');
}

/** Dataverse's DuplicateRecord error (0x80040237, "Cannot insert duplicate key"): the row id is taken. */
const DUPLICATE_RECORD = 0x80040237;

/**
 * Whether a failed create was refused because a row with its id exists. The platform's error carries the
 * code as a number (`errorCode`, signed or unsigned) or as hex text (`code`, e.g. `0x80040237`); the message is
 * in the user's language and is not read.
 */
export function isDuplicateRecord(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const { errorCode, code } = error as { errorCode?: unknown; code?: unknown };
  const codes = [errorCode, code].map((value) => {
    if (typeof value === 'number') return value >>> 0;
    if (typeof value === 'string' && /^(0x)?[0-9a-f]{8}$/i.test(value.trim()))
      return parseInt(value.trim(), 16) >>> 0;
    return undefined;
  });
  return codes.includes(DUPLICATE_RECORD);
}
