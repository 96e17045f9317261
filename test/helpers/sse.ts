import assert from 'node:assert/strict';

export interface SseMessage {
  event: string | null;
  id: string | null;
  data: string;
  /** The message exactly as it came over the wire. */
  text: string;
}

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
  let buffer = '';
  const messages: SseMessage[] = [];
  const waiters = new Set<() => void>();
  if (res.ok && res.body) {
    void (async () => {
      const decoder = new TextDecoder();
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          const text = decoder.decode(chunk, { stream: true });
          raw += text;
          buffer += text;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) !== -1) {
            const block = buffer.slice(0, end + 2);
            buffer = buffer.slice(end + 2);
            if (block.startsWith(':')) continue;
            const field = (name: string) => block.split('\n').find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2) ?? null;
            messages.push({ event: field('event'), id: field('id'), data: field('data') ?? '', text: block });
          }
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
