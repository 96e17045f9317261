import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Compile } from 'typebox/compile';
import { EventSchema, parseWebhook, dedupKey, KNOWN_KINDS } from '../../src/payloads/index.js';
import { loadFixtures, toFormFields } from '../helpers/fixtures.js';

const fixtures = loadFixtures();
const validateEvent = Compile(EventSchema);

describe('every documented payload parses to its expected event', () => {
  for (const fx of fixtures) {
    it(fx.name, () => {
      const result = parseWebhook({ rawBody: JSON.stringify(fx.payload), contentType: 'application/json' });
      assert.ok(result.ok, JSON.stringify(result));
      const { raw, ...event } = result.event;
      assert.deepEqual(event, fx.event);
      assert.deepEqual(raw, fx.payload);
      assert.ok(validateEvent.Check(result.event), `schema: ${JSON.stringify([...validateEvent.Errors(result.event)])}`);
    });
  }
});

it('the fixtures cover every documented CDR kind and the live-event kinds the vendor shows', () => {
  const seen = new Set(fixtures.map((f) => f.event.kind));
  for (const kind of KNOWN_KINDS) {
    // inbound ringing/started/bridged and stream events with an inbound direction are tolerated, not documented
    if (/^event\.inbound\.(started|bridged|stream_)/.test(kind) || kind === 'event.outbound.waiting') continue;
    assert.ok(seen.has(kind), `no fixture for ${kind}`);
  }
});

describe('GET query strings and form bodies give the same kind and ids as JSON', () => {
  for (const fx of fixtures) {
    it(fx.name, () => {
      const fields = toFormFields(fx.payload);
      const viaQuery = parseWebhook({ query: fields });
      const viaForm = parseWebhook({ rawBody: fields, contentType: 'application/x-www-form-urlencoded' });
      for (const result of [viaQuery, viaForm]) {
        assert.ok(result.ok);
        for (const field of ['kind', 'platform', 'call_uuid', 'from', 'to', 'agent', 'team', 'occurred_at', 'answered_sec', 'waited_sec', 'call_rate', 'balance', 'recording', 'voicemail', 'has_recording', 'has_voicemail', 'custom', 'extra_params'] as const) {
          assert.deepEqual(result.event[field], fx.event[field], field);
        }
        // unknown kinds are keyed by their body, which differs once numbers become text
        if (fx.event.kind !== 'unknown') assert.equal(dedupKey(result.event), dedupKey({ ...fx.event, raw: fx.payload }));
      }
    });
  }
});
