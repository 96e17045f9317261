/**
 * Events parsed per second over the fixture mix and the simulator's mix, beside JSON.parse of the
 * same bodies in the same run (the floor: parseWebhook has to do at least that).
 */
import { parseWebhook } from '../src/payloads/index.js';
import { generateDeliveries } from '../src/simulator/index.js';
import { loadFixtures } from '../test/helpers/fixtures.js';

const seconds = Number(process.env['BENCH_SECONDS'] ?? 2);
const fixtureBodies = loadFixtures().map((f) => JSON.stringify(f.payload));
const simBodies = generateDeliveries({ calls: 500, seed: 3 }).deliveries.map((d) => JSON.stringify(d.payload));

function run(name: string, bodies: string[], fn: (body: string) => unknown): number {
  for (let i = 0; i < 20_000; i++) fn(bodies[i % bodies.length]!);
  let n = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) fn(bodies[(n + i) % bodies.length]!);
    n += 1000;
  }
  const rate = n / seconds;
  console.log(`${name.padEnd(40)} ${Math.round(rate).toLocaleString('en-US').padStart(12)} /s`);
  return rate;
}

for (const [mix, bodies] of [['fixtures', fixtureBodies], ['simulator mix', simBodies]] as const) {
  console.log(`\n${mix} (${bodies.length} bodies)`);
  const base = run('JSON.parse (baseline)', bodies, (b) => JSON.parse(b));
  const parsed = run('parseWebhook', bodies, (b) => parseWebhook({ rawBody: b, contentType: 'application/json' }));
  console.log(`${'ratio parseWebhook / JSON.parse'.padEnd(40)} ${(parsed / base).toFixed(2).padStart(12)}`);
}
