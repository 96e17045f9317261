import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Event } from '../../src/payloads/index.js';

export interface Fixture {
  name: string;
  source: string;
  method: 'GET' | 'POST';
  payload: Record<string, unknown>;
  event: Omit<Event, 'raw'>;
}

const root = join(import.meta.dirname, '..', 'fixtures');

/** Every documented payload, each with the event it must become. */
export function loadFixtures(): Fixture[] {
  const out: Fixture[] = [];
  for (const dir of readdirSync(root).sort()) {
    for (const file of readdirSync(join(root, dir)).sort()) {
      if (!file.endsWith('.json')) continue;
      const parsed = JSON.parse(readFileSync(join(root, dir, file), 'utf8')) as Omit<Fixture, 'name'>;
      out.push({ name: `${dir}/${file.slice(0, -5)}`, ...parsed });
    }
  }
  return out;
}

/** A flat payload as a GET query string or form body: every value as text, objects as JSON. */
export function toFormFields(payload: Record<string, unknown>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(payload)) params.append(k, typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v));
  return params.toString();
}
