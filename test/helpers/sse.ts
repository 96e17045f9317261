import assert from 'node:assert/strict';
import { SseParser, type SseMessage } from '../../src/cli/sse.js';

export type { SseMessage };

export interface SseConnection {
  status: number;
  /** Everything received, byte for byte. */
  raw: () => string;
  messages: SseMessage[];
  waitFor: (count: number, timeoutMs?: number) => Promise<void>;
  close: () => void;
}

/** Reads an SSE response as it arrives; comment lines are in raw() but not in messages. */
export async function openStream(url: string, headers: Record<string, string> = {}): Promise<SseConnection> {
  const controller = new AbortController();
  const res = await fetch(url, { headers, signal: controller.signal });
  let raw = '';
  const parser = new SseParser();
  const messages: SseMessage[] = [];
  const waiters = new Set<() => void>();
  if (res.ok && res.body) {
    void (async () => {
      const decoder = new TextDecoder();
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          const text = decoder.decode(chunk, { stream: true });
          raw += text;
          messages.push(...parser.push(text));
          for (const w of waiters) w();
        }
      } catch {
        // aborted by close()
      }
    })();
  }
  return {
    status: res.status,
    raw: () => raw,
    messages,
    waitFor: (count, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        if (messages.length >= count) return resolve();
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`got ${messages.length} of ${count} messages:\n${raw}`));
        }, timeoutMs);
        const check = () => {
          if (messages.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
      }),
    close: () => controller.abort(),
  };
}

/** Every block is a comment or `event: …\nid: …\ndata: …\n\n` (or a call without id): nothing else. */
export function assertWellFormed(raw: string): void {
  const block = /(: [^\n]*\n\n|event: [a-z._]+\n(id: [0-9]+(:call)?\n)?data: [^\n]+\n\n)/y;
  const complete = raw.slice(0, raw.lastIndexOf('\n\n') + 2);
  let at = 0;
  while (at < complete.length) {
    block.lastIndex = at;
    const m = block.exec(complete);
    assert.ok(m, `malformed stream at ${at}: ${JSON.stringify(complete.slice(at, at + 200))}`);
    at += m[0].length;
  }
}
