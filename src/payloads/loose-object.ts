/**
 * `custom` and `extra_params` arrive as strings that are JSON (`'{"crm":"true"}'`), Python-dict style
 * (`"{ 'Name': 'Akil', 'ID':8915726 }"`) or bare-key style (`'{key: value}'`); vendor-docs §5.6.
 * JSON, JSON5 and YAML parsers each reject one of those, so this is a small recursive-descent reader
 * for that superset. It never throws: anything it cannot read, or too large or deep, comes back as
 * the raw string.
 */

const MAX_LENGTH = 64 * 1024;
const MAX_DEPTH = 32;

type Loose = Record<string, unknown>;

export function decodeLooseObject(value: unknown): Loose | string | null {
  if (value === undefined || value === null) return null;
  if (isPlainObject(value)) return value;
  if (typeof value !== 'string') return String(value);
  const text = value.trim();
  if (text === '') return value;
  if (text.length > MAX_LENGTH || text[0] !== '{') return value;
  try {
    const parsed: unknown = JSON.parse(text);
    if (isPlainObject(parsed)) return parsed;
  } catch {
    // not strict JSON: read it leniently below
  }
  const reader = new LooseReader(text);
  const parsed = reader.readDocument();
  return parsed !== undefined && isPlainObject(parsed) ? parsed : value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const BARE_WORDS: Record<string, unknown> = {
  true: true,
  True: true,
  false: false,
  False: false,
  null: null,
  None: null,
};

const FAIL = Symbol('fail');

class LooseReader {
  private pos = 0;
  constructor(private readonly text: string) {}

  readDocument(): unknown {
    const value = this.readValue(0);
    this.skipSpace();
    return value === FAIL || this.pos !== this.text.length ? undefined : value;
  }

  private readValue(depth: number): unknown {
    if (depth > MAX_DEPTH) return FAIL;
    this.skipSpace();
    const ch = this.text[this.pos];
    if (ch === '{') return this.readObject(depth);
    if (ch === '[') return this.readArray(depth);
    if (ch === '"' || ch === "'") return this.readQuoted(ch);
    return this.readBare(true);
  }

  private readObject(depth: number): unknown {
    this.pos++;
    const out: Loose = {};
    this.skipSpace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      const ch = this.text[this.pos];
      const key = ch === '"' || ch === "'" ? this.readQuoted(ch) : this.readBare(false);
      if (key === FAIL || typeof key !== 'string' || key === '') return FAIL;
      this.skipSpace();
      if (this.text[this.pos] !== ':') return FAIL;
      this.pos++;
      const value = this.readValue(depth + 1);
      if (value === FAIL) return FAIL;
      // defineProperty so that a key named __proto__ stays data, never a prototype
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      this.skipSpace();
      const sep = this.text[this.pos];
      this.pos++;
      if (sep === '}') return out;
      if (sep !== ',') return FAIL;
      this.skipSpace();
      if (this.text[this.pos] === '}') {
        this.pos++;
        return out;
      }
    }
  }

  private readArray(depth: number): unknown {
    this.pos++;
    const out: unknown[] = [];
    this.skipSpace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      const value = this.readValue(depth + 1);
      if (value === FAIL) return FAIL;
      out.push(value);
      this.skipSpace();
      const sep = this.text[this.pos];
      this.pos++;
      if (sep === ']') return out;
      if (sep !== ',') return FAIL;
    }
  }

  private readQuoted(quote: string): unknown {
    this.pos++;
    let out = '';
    while (this.pos < this.text.length) {
      const ch = this.text[this.pos++];
      if (ch === quote) return out;
      if (ch === '\\') {
        const next = this.text[this.pos++];
        if (next === undefined) return FAIL;
        out += next === 'n' ? '\n' : next === 't' ? '\t' : next === 'r' ? '\r' : next;
      } else {
        out += ch;
      }
    }
    return FAIL;
  }

  /** A bare word: a key (`key`), or a value (`value`, `8915726`, `True`, `None`). */
  private readBare(asValue: boolean): unknown {
    const start = this.pos;
    const stop = asValue ? /[,}\]]/ : /[:,{}[\]]/;
    while (this.pos < this.text.length && !stop.test(this.text[this.pos] as string)) this.pos++;
    const word = this.text.slice(start, this.pos).trim();
    if (word === '') return FAIL;
    if (!asValue) return word;
    if (Object.hasOwn(BARE_WORDS, word)) return BARE_WORDS[word];
    if (/^-?(0|[1-9]\d{0,14})(\.\d+)?$/.test(word)) return Number(word);
    return word;
  }

  private skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos] as string)) this.pos++;
  }
}
