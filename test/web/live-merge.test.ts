import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Call } from '../../src/calls/call-schema.js';
import { LiveMerge, withCall } from '../../src/web/live-merge.js';

// only the fields the merge reads; the rest of a call does not matter here
const call = (id: string, status: Call['status'], eventCount: number, stale = false) => ({ id, status, event_count: eventCount, stale }) as Partial<Call> as Call;
const ids = (calls: ReadonlyMap<string, Call> | null) => (calls ? [...calls.keys()].sort() : null);

/** Asks for a snapshot, and answers it later with `snapshot`. */
function ask(merge: LiveMerge) {
  const ticket = merge.request();
  return (snapshot: Call[]) => {
    const merged = merge.answered(ticket, snapshot);
    merge.settled();
    return merged;
  };
}

describe('Live page merge of snapshots and the stream', () => {
  it('keeps a streamed call that an older snapshot, answering last, does not have', () => {
    // the page loads, then the stream opens and asks again; the first answer comes back before
    // the call is stored, the second was read before it too but arrives after the stream's call
    const merge = new LiveMerge();
    const first = ask(merge);
    merge.gap();
    const second = ask(merge);
    assert.equal(first([call('a', 'waiting', 1)]), null, 'a superseded snapshot is not used');
    const shown = withCall(new Map(), call('new', 'waiting', 1));
    merge.streamed(call('new', 'waiting', 1));
    assert.deepEqual(ids(shown), ['new']);
    assert.deepEqual(ids(second([call('a', 'waiting', 1)])), ['a', 'new']);
  });

  it('lets the later of the two states win: a newer snapshot over the stream, an ended call over an older snapshot', () => {
    const merge = new LiveMerge();
    const answer = ask(merge);
    merge.streamed(call('a', 'waiting', 1));
    merge.streamed(call('b', 'ended', 3));
    const merged = answer([call('a', 'in_progress', 2), call('b', 'in_progress', 2)]);
    assert.deepEqual(ids(merged), ['a']);
    assert.equal(merged?.get('a')?.status, 'in_progress');
  });

  it('keeps a call the snapshot had live only until a stale close arrives with the same event count', () => {
    const merge = new LiveMerge();
    const answer = ask(merge);
    merge.streamed(call('a', 'missed', 1, true));
    assert.deepEqual(ids(answer([call('a', 'waiting', 1)])), []);
  });

  it('forgets streamed calls once no snapshot is on its way, and across a gap in the stream', () => {
    const merge = new LiveMerge();
    ask(merge)([]);
    // nothing was on its way: a later snapshot is read after this call was stored, so it decides
    merge.streamed(call('a', 'waiting', 1));
    assert.deepEqual(ids(ask(merge)([])), []);

    const before = ask(merge);
    merge.streamed(call('b', 'waiting', 1));
    merge.gap();
    assert.deepEqual(ids(before([])), [], 'what was seen before the gap may have ended unseen');
  });

  it('shows a live call and drops an ended one', () => {
    const shown = withCall(new Map([['a', call('a', 'waiting', 1)]]), call('b', 'ringing', 1));
    assert.deepEqual(ids(shown), ['a', 'b']);
    assert.deepEqual(ids(withCall(shown, call('a', 'answered', 2))), ['b']);
  });
});
