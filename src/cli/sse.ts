/** One Server-Sent Events message: the fields callhook's stream uses. */
export interface SseMessage {
  event: string | null;
  id: string | null;
  data: string;
  /** The message as it came over the wire. */
  text: string;
}

/**
 * Takes text as it arrives and returns the whole messages in it; what is left over waits for the
 * next chunk. Comment blocks (heartbeats) are dropped.
 */
export class SseParser {
  private buffer = '';

  push(text: string): SseMessage[] {
    this.buffer += text;
    const out: SseMessage[] = [];
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) !== -1) {
      const block = this.buffer.slice(0, end + 2);
      this.buffer = this.buffer.slice(end + 2);
      if (block.startsWith(':')) continue;
      const field = (name: string) => block.split('\n').find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2) ?? null;
      out.push({ event: field('event'), id: field('id'), data: field('data') ?? '', text: block });
    }
    return out;
  }
}
