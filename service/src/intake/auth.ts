/** Shared-secret checks in constant time: both sides are hashed first so lengths never leak or throw. */
import crypto from 'node:crypto';

export type KeyCheck = (presented: string | undefined) => boolean;

export function constantTimeKeyCheck(expected: string): KeyCheck {
  const expectedDigest = crypto.createHash('sha256').update(expected).digest();
  return (presented) => {
    if (!presented) return false;
    const digest = crypto.createHash('sha256').update(presented).digest();
    return crypto.timingSafeEqual(digest, expectedDigest);
  };
}

/** The admin key from `Authorization: Bearer <key>` or `x-api-key`. */
export function presentedAdminKey(
  headers: Record<string, string | string[] | undefined>,
): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string' && auth.toLowerCase().startsWith('bearer ')) return auth.slice(7).trim();
  const key = headers['x-api-key'];
  return typeof key === 'string' ? key : undefined;
}
