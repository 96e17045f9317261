import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Whether `candidate` equals any of `secrets`, in time that depends neither on where they differ
 * nor on their lengths (both sides are hashed to 32 bytes first), and checking every secret so
 * that which one matched does not show either.
 */
export function matchesAnySecret(candidate: string | null | undefined, secrets: readonly string[]): boolean {
  if (typeof candidate !== 'string') return false;
  const c = digest(candidate);
  let match = false;
  for (const secret of secrets) match = timingSafeEqual(c, digest(secret)) || match;
  return match;
}

export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}
