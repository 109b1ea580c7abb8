import { createHash } from 'node:crypto';

/**
 * A GUID derived from a name (name-based, SHA-1, RFC 4122 version 5 layout), so that a role, a step or a
 * web resource keeps the same id in every build and an upgrade updates it instead of adding a second one.
 */
export function stableGuid(name: string): string {
  const hash = createHash('sha1').update(`StripeConnector:${name}`).digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
