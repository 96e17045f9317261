import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { SETTINGS } from '../../src/config.js';
import { DIALECTS, freshDatabase } from '../helpers/dialects.js';
import { tempDir } from '../helpers/server.js';

const run = promisify(execFile);
const main = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

async function callhook(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', main, ...args], { env: { ...process.env, DATABASE_URL: '', ...env } });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

describe('callhook serve --help', () => {
  it('lists every setting with its environment variable and default', async () => {
    const { code, out } = await callhook(['serve', '--help']);
    assert.equal(code, 0);
    for (const s of SETTINGS) {
      assert.ok(out.includes(`--${s.flag}`), s.flag);
      assert.ok(out.includes(s.env), s.env);
      if (s.default !== undefined) assert.ok(out.includes(`(default: ${String(s.default)})`), `${s.env} default`);
    }
  });

  it('fails with a message that names a bad setting', async () => {
    const { code, out } = await callhook(['serve'], { PORT: 'http' });
    assert.equal(code, 2);
    assert.match(out, /PORT must be a whole number/);
    const unknown = await callhook(['serve', '--prot', '80']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.out, /Unknown option '--prot'/);
  });
});

for (const dialect of DIALECTS) {
  describe(`callhook migrate (${dialect})`, () => {
    it('lists with --dry-run, applies, then is up to date', async () => {
      const temp = tempDir();
      const db = dialect === 'postgres' ? await freshDatabase() : null;
      const env = { CALLHOOK_DATA_DIR: temp.dir, DATABASE_URL: db?.url ?? '' };
      try {
        const dry = await callhook(['migrate', '--dry-run'], env);
        assert.equal(dry.code, 0, dry.out);
        assert.match(dry.out, /would apply 001_receiver/);
        const again = await callhook(['migrate', '--dry-run'], env);
        assert.match(again.out, /would apply 001_receiver/, 'a dry run applies nothing');
        const applied = await callhook(['migrate'], env);
        assert.match(applied.out, /applied 001_receiver/);
        const done = await callhook(['migrate'], env);
        assert.match(done.out, /up to date/);
      } finally {
        temp.remove();
        await db?.drop();
      }
    });
  });
}
