import { createHash } from 'node:crypto';
import type { Event } from './event-schema.js';

/**
 * The idempotency key of a delivery. The platform resends a CDR immediately, then after 5, 10 and
 * 15 minutes (vendor-docs §2); every resend has the same leg id, leg, type and status, and so the
 * same key. Payloads without a leg id (unknown kinds, callbacks without one) are keyed by a hash of
 * their canonical body, so only a byte-for-byte equal redelivery counts as the same.
 */
export function dedupKey(event: Event): string {
  if (event.kind !== 'unknown' && event.call_uuid !== null) {
    return [event.platform, event.type, event.status, event.leg ?? '-', event.call_uuid].map(escapePart).join(':');
  }
  return `${event.platform}:body:${canonicalHash(event.raw)}`;
}

function escapePart(part: string | null): string {
  return (part ?? '-').replace(/[%:]/g, (c) => (c === '%' ? '%25' : '%3A'));
}

/** SHA-256 of the value written with sorted keys, so that key order does not matter. */
export function canonicalHash(value: unknown): string {
  const hash = createHash('sha256');
  writeCanonical(hash, value);
  return hash.digest('base64url');
}

type Sink = { update(chunk: string): unknown };

/** A piece of punctuation or an object key, as opposed to a value still to be written. */
class Token {
  constructor(readonly text: string) {}
}
const CLOSE_OBJECT = new Token('}');
const CLOSE_ARRAY = new Token(']');
const COMMA = new Token(',');

/**
 * Iterative, so that an attacker's deeply nested body cannot overflow the stack (a recursive
 * writer throws at a few thousand levels; a 1 MiB body can nest half a million).
 */
function writeCanonical(sink: Sink, root: unknown): void {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const item = stack.pop();
    if (item instanceof Token) sink.update(item.text);
    else if (Array.isArray(item)) {
      sink.update('[');
      stack.push(CLOSE_ARRAY);
      for (let i = item.length - 1; i >= 0; i--) {
        stack.push(item[i]);
        if (i > 0) stack.push(COMMA);
      }
    } else if (typeof item === 'object' && item !== null) {
      const obj = item as Record<string, unknown>;
      const keys = Object.keys(obj).sort();
      sink.update('{');
      stack.push(CLOSE_OBJECT);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i] as string;
        stack.push(obj[key]);
        stack.push(new Token(`${JSON.stringify(key)}:`));
        if (i > 0) stack.push(COMMA);
      }
    } else {
      sink.update(JSON.stringify(item) ?? 'null');
    }
  }
}
