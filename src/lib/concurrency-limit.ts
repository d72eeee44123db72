/**
 * A gate for calls that may come from anywhere at any time (not a list known beforehand, as mapLimit's): at most
 * `limit` run at once, the others wait their turn in the order they came. A call that fails frees its place too.
 */
export class ConcurrencyLimit {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(start: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await start();
    } finally {
      // The place goes straight to the next in line, if any.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
