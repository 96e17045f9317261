import assert from 'node:assert/strict';
import { it } from 'node:test';
import { deriveCall, type CallEvent } from '../../src/calls/derive.js';
import { normalizePayload } from '../../src/payloads/index.js';
import { loadFixtures } from '../helpers/fixtures.js';

const fixture = (name: string): CallEvent => {
  const { raw: _raw, ...e } = normalizePayload(loadFixtures().find((f) => f.name === name)!.payload);
  return { ...e, id: name };
};

it('a per-agent missed CDR that arrives alone is a missed call, not a live one', () => {
  const call = deriveCall('telecmi:5e1b6c2a-0b8f-4a53-9d8e-1f2d3c4b5a69', [fixture('telecmi/cdr-inbound-user-missed')]);
  assert.equal(call.status, 'missed');
  assert.equal(call.provisional, false);
});

it('a leg-b missed CDR beside leg-a live events leaves the call provisional until its own CDR', () => {
  const waiting = fixture('telecmi/event-inbound-waiting');
  const legB = { ...fixture('telecmi/cdr-inbound-user-missed'), conversation_uuid: waiting.conversation_uuid };
  const call = deriveCall(`telecmi:${waiting.conversation_uuid}`, [waiting, legB]);
  assert.deepEqual([call.status, call.provisional], ['waiting', true]);
});
