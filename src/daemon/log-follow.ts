/** A container's log, followed: read as it grows until the container has exited and everything written is sent. */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { Runtime } from '../runtime/runtime.js';

/** Follows a container's log file until the container has exited and everything written has been sent. */
export function followLog(runtime: Runtime, id: string): Readable {
  const file = runtime.logFile(id);
  let offset = 0;
  const buf = Buffer.alloc(64 * 1024);
  const readMore = (): Buffer | null => {
    if (!existsSync(file)) return null;
    const fd = openSync(file, 'r');
    try {
      const n = readSync(fd, buf, 0, buf.length, offset);
      offset += n;
      return n > 0 ? Buffer.from(buf.subarray(0, n)) : null;
    } finally {
      closeSync(fd);
    }
  };
  let timer: NodeJS.Timeout | undefined;
  return new Readable({
    read() {
      const tick = (): void => {
        const chunk = readMore();
        if (chunk) return void this.push(chunk);
        const exited = (() => {
          try {
            return runtime.get(id).status !== 'running';
          } catch {
            return true;
          }
        })();
        if (exited) {
          const rest = readMore();
          if (rest) return void this.push(rest);
          return void this.push(null);
        }
        timer = setTimeout(tick, 50);
      };
      tick();
    },
    destroy(err, cb) {
      if (timer) clearTimeout(timer);
      cb(err);
    },
  });
}
