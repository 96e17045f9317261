import assert from 'node:assert/strict';
import { it } from 'node:test';
import { StreamHub, type StreamClient } from '../../src/api/stream-hub.js';
import type { Store, StreamEntry } from '../../src/store/port.js';

/** A store whose stream is an array: only what the hub reads. */
function fakeStore(entries: StreamEntry[]): Store {
  const partial: Pick<Store, 'streamAfter' | 'streamHead'> = {
    streamAfter: async (after, limit) => entries.filter((e) => after === null || BigInt(e.seq) > BigInt(after)).slice(0, limit),
    streamHead: async () => entries[entries.length - 1]?.seq ?? null,
  };
  return partial as Store;
}

function entry(seq: number): StreamEntry {
  const event = { id: String(100 + seq), kind: 'cdr.inbound.missed' } as StreamEntry['event'];
  return { seq: String(seq), event, call: null };
}

function client(buffered: () => number): StreamClient & { chunks: string[]; closed: boolean } {
  const c = { chunks: [] as string[], closed: false, position: null as string | null, buffered, write: (chunk: string) => (c.chunks.push(chunk), true), close: () => void (c.closed = true) };
  return c;
}

it('drops a client that stops reading, without waiting for it, and keeps serving the others', async () => {
  const entries: StreamEntry[] = [];
  const hub = new StreamHub(fakeStore(entries));
  await hub.start();
  let backlog = 0;
  const slow = client(() => backlog);
  const fast = client(() => 0);
  await hub.add(slow, null);
  await hub.add(fast, null);
  assert.equal(hub.size, 2);

  entries.push(entry(1));
  hub.advance();
  await hub.add(client(() => 0), null); // queued after the advance: it has run when this resolves
  assert.ok(slow.chunks.some((c) => c.includes('id: 101')));

  backlog = 2 * 1024 * 1024; // the slow client has stopped reading
  entries.push(entry(2), entry(3));
  hub.advance();
  await hub.add(client(() => 0), null);
  assert.equal(slow.closed, true);
  assert.ok(!slow.chunks.some((c) => c.includes('id: 102')), 'nothing more is written to it');
  assert.deepEqual(fast.chunks.filter((c) => c.startsWith('event:')).map((c) => /id: (\d+)/.exec(c)?.[1]), ['101', '102', '103']);
  assert.equal(hub.size, 3, 'the slow client is gone; the others stay');
});

it('sends a new client its first bytes only once its position is fixed, so an event stored as it sees them reaches it', async () => {
  const entries: StreamEntry[] = [];
  const hub = new StreamHub(fakeStore(entries));
  await hub.start();
  // with no client, a projection only marks the head stale: the next client reads it
  entries.push(entry(1));
  hub.advance();
  const c = client(() => 0);
  // the client stores an event the moment it sees the stream open, as the dashboard's user does
  c.write = (chunk: string) => {
    if (c.chunks.length === 0) entries.push(entry(2));
    c.chunks.push(chunk);
    return true;
  };
  await hub.add(c, null);
  hub.advance();
  await hub.add(client(() => 0), null); // queued after the advance: it has run when this resolves
  assert.deepEqual(c.chunks.filter((x) => x.startsWith('event:')).map((x) => /id: (\d+)/.exec(x)?.[1]), ['102'], 'the event stored after the stream opened is sent; the one before is not');
});
