import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { SETTINGS } from '../../src/config.js';

it('the README documents every setting with its flag', () => {
  const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
  for (const s of SETTINGS) assert.match(readme, new RegExp(`\\| \`${s.env}\` \\| \`--${s.flag}\` \\|`), s.env);
});
