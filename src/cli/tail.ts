import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../config.js';
import type { StoredEvent } from '../store/port.js';
import { SseParser } from './sse.js';

export const tailHelp = `callhook tail: follow the live stream of a running callhook, one line per event

Usage: callhook tail [--url http://127.0.0.1:5000] [--token T] [--kind cdr.*] [--json]

  --url     the callhook server (default http://127.0.0.1:$PORT)
  --token   the API token (default CALLHOOK_API_TOKEN, else the one in the data directory)
  --kind    only these kinds: an exact kind, or a prefix ending in * (cdr.*, event.inbound.*)
  --json    print each event as one JSON line

It reconnects by itself and resumes where it left off.

Example:
  callhook tail --kind 'cdr.*'`;

/** One readable line: time, kind, numbers, agent or team, and the figures that matter. */
export function describeEvent(e: StoredEvent): string {
  const time = (e.occurred_at ?? e.received_at).replace('T', ' ').slice(0, 19);
  const who = [e.agent, e.team].filter((v) => v !== null).join(' ');
  const figures = [
    e.waited_sec !== null ? `waited ${e.waited_sec}s` : null,
    e.answered_sec !== null ? `talked ${e.answered_sec}s` : null,
    e.duration_sec !== null ? `${e.duration_sec}s` : null,
    e.hangup_reason,
    e.voicemail !== null ? 'voicemail' : null,
  ].filter((v) => v !== null);
  return [time, e.kind.padEnd(30), `${e.from ?? '?'} -> ${e.to ?? e.virtual_number ?? '?'}`, who, figures.join(', ')].filter((v) => v !== '').join('  ');
}

function matchesKind(kind: string, filter: string | undefined): boolean {
  if (filter === undefined) return true;
  return filter.endsWith('*') ? kind.startsWith(filter.slice(0, -1)) : kind === filter;
}

export async function runTail(args: Record<string, string | undefined>, json: boolean, signal?: AbortSignal): Promise<number> {
  const config = loadConfig({ 'data-dir': args['data-dir'] });
  const tokenFile = join(config.dataDir, 'api-token');
  const token = args['token'] ?? config.apiToken ?? (existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : undefined);
  if (!token) throw new Error(`no API token: pass --token, set CALLHOOK_API_TOKEN, or run from where ${tokenFile} is`);
  const base = (args['url'] ?? `http://127.0.0.1:${config.port}`).replace(/\/$/, '');
  let lastId: string | null = null;
  while (!signal?.aborted) {
    try {
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      if (lastId) headers['last-event-id'] = lastId;
      const res = await fetch(`${base}/api/stream`, { headers, signal: signal ?? null });
      if (res.status === 401) throw new Error('the server refused the API token');
      if (!res.ok || !res.body) throw new Error(`the server answered ${res.status}`);
      process.stderr.write(`following ${base}/api/stream${args['kind'] ? ` (${args['kind']})` : ''}\n`);
      const parser = new SseParser();
      const decoder = new TextDecoder();
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        for (const m of parser.push(decoder.decode(chunk, { stream: true }))) {
          if (m.id) lastId = m.id;
          if (m.event === 'call' || !m.event || !matchesKind(m.event, args['kind'])) continue;
          const event = JSON.parse(m.data) as StoredEvent;
          process.stdout.write(`${json ? JSON.stringify(event) : describeEvent(event)}\n`);
        }
      }
    } catch (err) {
      if (signal?.aborted) break;
      if (err instanceof Error && err.message.startsWith('the server refused')) throw err;
      process.stderr.write(`stream lost (${err instanceof Error ? err.message : String(err)}); reconnecting\n`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  return 0;
}
