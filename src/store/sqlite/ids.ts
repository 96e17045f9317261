/**
 * Time-ordered integer ids: milliseconds since the epoch times 2048, plus a counter for ids made
 * in the same millisecond. They are the tables' rowids (no separate id index), they sort by time,
 * and a range of received times is a range of ids. 2^53 / 2048 ms is in the year 2109, so every id
 * is an exact JavaScript number. One writer per SQLite database makes them unique.
 */
const PER_MS = 2048;

export class IdGenerator {
  private last: number;

  /** `floor` is the largest id already stored: ids keep growing even if the clock went back. */
  constructor(floor: number) {
    this.last = floor;
  }

  next(now = Date.now()): number {
    this.last = Math.max(this.last + 1, now * PER_MS);
    return this.last;
  }
}

/** The smallest id that can be made at `iso` or later. */
export function idAtTime(iso: string): number {
  return Date.parse(iso) * PER_MS;
}
