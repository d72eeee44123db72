/**
 * A set of bigints kept as sorted, disjoint, non-adjacent closed intervals. IPAM keeps the free addresses of a pool
 * in one: a fresh IPv6 /64 is a single interval, not a 2^64 bitmap. Finding the first member at or after a value
 * is a binary search; taking or returning one member changes one interval (or splits or merges two), so the cost
 * is O(log k) comparisons plus one array insertion or removal, k being the number of intervals (the pool's
 * fragmentation), not its size.
 */
export class IntervalSet {
  /** Starts and ends, parallel arrays: intervals [starts[i], ends[i]]. */
  private starts: bigint[] = [];
  private ends: bigint[] = [];
  private count = 0n;

  static of(first: bigint, last: bigint): IntervalSet {
    const set = new IntervalSet();
    if (first <= last) {
      set.starts.push(first);
      set.ends.push(last);
      set.count = last - first + 1n;
    }
    return set;
  }

  get size(): bigint {
    return this.count;
  }

  get intervals(): readonly (readonly [bigint, bigint])[] {
    return this.starts.map((s, i) => [s, this.ends[i]!] as const);
  }

  /** Index of the first interval whose end is >= value (intervals.length if none). */
  private findFrom(value: bigint): number {
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ends[mid]! < value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  has(value: bigint): boolean {
    const i = this.findFrom(value);
    return i < this.starts.length && this.starts[i]! <= value;
  }

  /** The smallest member >= from; undefined when there is none. */
  firstAtOrAfter(from: bigint): bigint | undefined {
    const i = this.findFrom(from);
    if (i === this.starts.length) return undefined;
    return this.starts[i]! > from ? this.starts[i] : from;
  }

  /** Removes value; returns false when it was not a member. */
  delete(value: bigint): boolean {
    const i = this.findFrom(value);
    if (i === this.starts.length || this.starts[i]! > value) return false;
    const start = this.starts[i]!;
    const end = this.ends[i]!;
    if (start === end) {
      this.starts.splice(i, 1);
      this.ends.splice(i, 1);
    } else if (value === start) {
      this.starts[i] = start + 1n;
    } else if (value === end) {
      this.ends[i] = end - 1n;
    } else {
      this.ends[i] = value - 1n;
      this.starts.splice(i + 1, 0, value + 1n);
      this.ends.splice(i + 1, 0, end);
    }
    this.count--;
    return true;
  }

  /** Adds value; returns false when it was already a member. */
  add(value: bigint): boolean {
    const i = this.findFrom(value - 1n); // an interval ending at value-1 is adjacent
    if (i < this.starts.length && this.starts[i]! <= value && value <= this.ends[i]!) return false;
    const joinsLeft = i < this.starts.length && this.ends[i] === value - 1n;
    const rightIndex = joinsLeft ? i + 1 : i;
    const joinsRight = rightIndex < this.starts.length && this.starts[rightIndex] === value + 1n;
    if (joinsLeft && joinsRight) {
      this.ends[i] = this.ends[rightIndex]!;
      this.starts.splice(rightIndex, 1);
      this.ends.splice(rightIndex, 1);
    } else if (joinsLeft) {
      this.ends[i] = value;
    } else if (joinsRight) {
      this.starts[rightIndex] = value;
    } else {
      this.starts.splice(i, 0, value);
      this.ends.splice(i, 0, value);
    }
    this.count++;
    return true;
  }
}
