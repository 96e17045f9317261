import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

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

/** A destination's signing secret in the Standard Webhooks form: whsec_ and 24 random bytes in base64. */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/**
 * The webhook-signature header of Standard Webhooks: `v1,<base64 HMAC-SHA256 of id.timestamp.body>`
 * per secret, space-separated, so that during a rotation either secret verifies. A few lines of
 * node:crypto; the tests verify them with the specification's own library.
 */
export function webhookSignature(secrets: readonly string[], id: string, timestamp: number, body: string): string {
  return secrets
    .map((secret) => {
      const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
      return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`, 'utf8').digest('base64')}`;
    })
    .join(' ');
}

/**
 * A stateless credential that expires: `<expires ms>.<HMAC of it>`, keyed by the API token and a
 * purpose, so that it needs no storage, is good for that purpose only and dies when the token changes.
 */
export function signExpiry(apiToken: string, purpose: string, expires: number): string {
  return `${expires}.${expirySignature(apiToken, purpose, expires)}`;
}

export function expiryIsValid(apiToken: string, purpose: string, value: string, now = Date.now()): boolean {
  const [expires, signature, extra] = value.split('.');
  if (!expires || !signature || extra !== undefined || !/^\d{1,15}$/.test(expires) || Number(expires) < now) return false;
  return matchesAnySecret(signature, [expirySignature(apiToken, purpose, Number(expires))]);
}

function expirySignature(apiToken: string, purpose: string, expires: number): string {
  return createHmac('sha256', `callhook ${purpose}:${apiToken}`).update(String(expires)).digest('base64url');
}
