import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeLooseObject, dedupKey, parseWebhook, canonicalHash } from '../../src/payloads/index.js';
import { loadFixtures } from '../helpers/fixtures.js';

const fixtures = loadFixtures();

function assertResultShape(result: ReturnType<typeof parseWebhook>): void {
  if (result.ok) {
    assert.equal(typeof result.event.kind, 'string');
    assert.equal(typeof dedupKey(result.event), 'string');
  } else {
    assert.match(result.error.code, /^[a-z_]+$/);
    assert.ok(result.error.message.length > 0);
  }
}

describe('parseWebhook never throws', () => {
  it('over arbitrary JSON values as decoded bodies', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => assertResultShape(parseWebhook({ body: value }))), { numRuns: 2000 });
  });
  it('over arbitrary JSON text with any content type', () => {
    fc.assert(
      fc.property(fc.json(), fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', ''), (text, contentType) =>
        assertResultShape(parseWebhook({ rawBody: text, contentType })),
      ),
      { numRuns: 2000 },
    );
  });
  it('over arbitrary strings as bodies and query strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string(), (body, query) => assertResultShape(parseWebhook({ rawBody: body, query }))),
      { numRuns: 2000 },
    );
  });
  it('over arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array(), (bytes) => assertResultShape(parseWebhook({ rawBody: bytes }))), { numRuns: 1000 });
  });
  it('over documented payloads with fields replaced by arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.constantFrom(...fixtures), fc.dictionary(fc.constantFrom('type', 'status', 'direction', 'time', 'from', 'custom', 'extra_params', 'team', 'appid', 'call_rate', 'start_time', 'record', 'leg', 'cmiuuid', 'user'), fc.jsonValue()), (fx, patch) =>
        assertResultShape(parseWebhook({ rawBody: JSON.stringify({ ...fx.payload, ...patch }) })),
      ),
      { numRuns: 2000 },
    );
  });
  it('on a body nested half a million levels deep', () => {
    const deep = '{"a":'.repeat(500_000) + '1' + '}'.repeat(500_000);
    assertResultShape(parseWebhook({ rawBody: deep }));
    assert.equal(typeof canonicalHash(JSON.parse('['.repeat(100_000) + ']'.repeat(100_000))), 'string');
  });
});

describe('decodeLooseObject', () => {
  it('reads JSON, Python-dict and bare-key styles', () => {
    assert.deepEqual(decodeLooseObject('{"crm":"true"}'), { crm: 'true' });
    assert.deepEqual(decodeLooseObject("{ 'Name': 'Akil', 'ID':8915726 }"), { Name: 'Akil', ID: 8915726 });
    assert.deepEqual(decodeLooseObject('{key: value}'), { key: 'value' });
    assert.deepEqual(decodeLooseObject("{'ok': True, 'none': None, 'zip': 007}"), { ok: true, none: null, zip: '007' });
  });
  it('keeps what is not an object as the raw string', () => {
    for (const s of ['plain text', '{unclosed', '[1,2]', '{"a":1} trailing', '{:}']) assert.equal(decodeLooseObject(s), s);
  });
  it('never throws and never sets a prototype', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const out = decodeLooseObject(s);
        assert.ok(typeof out === 'string' || (typeof out === 'object' && out !== null));
      }),
      { numRuns: 3000 },
    );
    const out = decodeLooseObject("{'__proto__': {'polluted': 1}}");
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.ok(typeof out === 'object' && out !== null && Object.hasOwn(out, '__proto__'));
  });
});

describe('errors', () => {
  it('gives a stable code for each malformed input', () => {
    const cases: [Parameters<typeof parseWebhook>[0], string][] = [
      [{ rawBody: '' }, 'empty_body'],
      [{ rawBody: '   ' }, 'empty_body'],
      [{ rawBody: '{"type":', contentType: 'application/json' }, 'invalid_json'],
      [{ rawBody: '[1,2,3]' }, 'not_an_object'],
      [{ rawBody: '"text"' }, 'not_an_object'],
      [{ rawBody: 'null', contentType: 'application/json' }, 'not_an_object'],
      [{ rawBody: 'hello world', contentType: 'text/plain' }, 'undecodable_body'],
      [{ body: [1] }, 'not_an_object'],
    ];
    for (const [input, code] of cases) {
      const result = parseWebhook(input);
      assert.equal(result.ok, false, JSON.stringify(input));
      if (!result.ok) assert.equal(result.error.code, code, JSON.stringify(input));
    }
  });
  it('reads JSON whatever the content type claims', () => {
    const fx = fixtures[0]!;
    const result = parseWebhook({ rawBody: JSON.stringify(fx.payload), contentType: 'application/x-www-form-urlencoded' });
    assert.ok(result.ok);
    assert.equal(result.event.kind, fx.event.kind);
  });
});

describe('normalization', () => {
  it('lets the caller override the platform', () => {
    const fx = fixtures.find((f) => f.name === 'telecmi/event-inbound-waiting')!;
    const result = parseWebhook({ body: fx.payload, platform: 'piopiy' });
    assert.ok(result.ok);
    assert.equal(result.event.platform, 'piopiy');
  });
  it('keeps a leading zero and never writes a phone number as a float', () => {
    const result = parseWebhook({ body: { type: 'cdr', direction: 'inbound', status: 'missed', cmiuuid: 'x', from: '04471000000', to: 440000000000123 } });
    assert.ok(result.ok);
    assert.equal(result.event.from, '04471000000');
    assert.equal(result.event.to, '440000000000123');
  });
  it('reads "true" and true alike', () => {
    for (const record of [true, 'true', 'TRUE']) {
      const result = parseWebhook({ body: { type: 'cdr', direction: 'inbound', status: 'answered', cmiuuid: 'x', record, filename: 'f.mp3' } });
      assert.ok(result.ok);
      assert.equal(result.event.has_recording, true);
      assert.equal(result.event.recording, 'f.mp3');
    }
  });
  it('turns an unknown status into kind unknown with a reason, keeping the fields', () => {
    const result = parseWebhook({ body: { type: 'cdr', direction: 'inbound', status: 'transferred', cmiuuid: 'abc' } });
    assert.ok(result.ok);
    assert.equal(result.event.kind, 'unknown');
    assert.match(result.event.unknown_reason ?? '', /transferred/);
    assert.equal(result.event.call_uuid, 'abc');
  });
});

describe('dedupKey', () => {
  it('is the same for every redelivery of a CDR and differs per leg and status', () => {
    const fx = fixtures.find((f) => f.name === 'piopiy/cdr-inbound-missed-leg-a')!;
    const parse = (p: Record<string, unknown>) => {
      const r = parseWebhook({ body: p });
      assert.ok(r.ok);
      return dedupKey(r.event);
    };
    const key = parse(fx.payload);
    assert.equal(parse({ ...fx.payload }), key);
    assert.equal(parse(Object.fromEntries(Object.entries(fx.payload).reverse())), key);
    assert.notEqual(parse({ ...fx.payload, leg: 'b' }), key);
    assert.notEqual(parse({ ...fx.payload, status: 'answered' }), key);
    assert.notEqual(parse({ ...fx.payload, cmiuuid: 'other' }), key);
  });
  it('keys unknown objects by canonical body: key order does not matter, content does', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const a = parseWebhook({ body: { ...obj, type: 'nope' } });
        const b = parseWebhook({ body: Object.fromEntries(Object.entries({ ...obj, type: 'nope' }).reverse()) });
        const c = parseWebhook({ body: { ...obj, type: 'nope', extra: 1 } });
        assert.ok(a.ok && b.ok && c.ok);
        assert.equal(dedupKey(a.event), dedupKey(b.event));
        assert.notEqual(dedupKey(a.event), dedupKey(c.event));
      }),
      { numRuns: 500 },
    );
  });
});
