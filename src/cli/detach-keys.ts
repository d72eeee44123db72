/**
 * Docker's detach keys (--detach-keys, default ctrl-p,ctrl-q): a sequence typed on an attached stdin that leaves
 * the container running and ends the client. Bytes that may begin the sequence are held back until it is clear
 * whether they do; then they are passed on, or dropped with the rest of the sequence.
 */

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** "ctrl-p,ctrl-q" into bytes; ctrl- takes a letter or one of @[\]^_ ; a lone character stands for itself. */
export function parseDetachKeys(spec: string): Buffer {
  const bytes = spec.split(',').map((key) => {
    const ctrl = /^ctrl-(.)$/u.exec(key);
    if (ctrl) {
      const c = ctrl[1]!;
      if (/^[a-z]$/u.test(c)) return c.charCodeAt(0) - 96;
      const special = '@[\\]^_'.indexOf(c);
      if (special !== -1) return special === 0 ? 0 : 26 + special;
    } else if (key.length === 1) {
      return key.charCodeAt(0);
    }
    throw new RangeError(`invalid detach key "${key}": use ctrl-<a-z, @, [, \\, ], ^ or _> or one character, comma-separated`);
  });
  return Buffer.from(bytes);
}

export class DetachKeyMatcher {
  private matched = 0;

  constructor(private readonly keys: Buffer) {}

  /** What of the chunk goes on to the container, and whether the sequence is complete (the rest is dropped). */
  feed(chunk: Buffer): { forward: Buffer; detach: boolean } {
    if (this.keys.length === 0) return { forward: chunk, detach: false };
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte === this.keys[this.matched]) {
        this.matched++;
        if (this.matched === this.keys.length) return { forward: Buffer.from(out), detach: true };
        continue;
      }
      // The held bytes were not the sequence: they go on, and this byte may start it again.
      out.push(...this.keys.subarray(0, this.matched));
      this.matched = byte === this.keys[0] ? 1 : 0;
      if (this.matched === 0) out.push(byte);
    }
    return { forward: Buffer.from(out), detach: false };
  }
}
