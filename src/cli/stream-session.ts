/**
 * The client's end of a container's streams (run without -d, attach, exec): frames from the daemon to stdout and
 * stderr, the terminal in raw mode with its size passed on (-t), stdin passed in (-i) until the detach keys, and
 * signals passed to the container (Docker's --sig-proxy, without -t). Resolves with the status the container sent.
 */
import type { Socket } from 'node:net';
import { FrameDecoder, FrameType, encodeFrame, stdinFrames } from '../lib/frames.js';
import { DetachKeyMatcher } from './detach-keys.js';

export interface SessionOptions {
  readonly tty: boolean;
  /** Pass this process's stdin to the container. */
  readonly stdin: boolean;
  readonly detachKeys: Buffer;
  /** Called with the signals this process gets, to pass them on (absent: they act on this process as usual). */
  readonly proxySignal?: (signal: NodeJS.Signals) => void;
}

export interface SessionEnd {
  /** The container's (or the command's) status; undefined when the connection ended without it. */
  readonly exitCode?: number;
  /** The detach keys were typed: the container goes on. */
  readonly detached: boolean;
}

const PROXIED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/** The terminal's size as a RESIZE frame, when stdout is a terminal. */
function resizeFrame(): Buffer | undefined {
  const { rows, columns } = process.stdout;
  return process.stdout.isTTY && rows && columns ? encodeFrame(FrameType.resize, `${rows} ${columns}`) : undefined;
}

/** Output frames to this process's streams, with backpressure (a slow terminal slows the container). */
function receive(socket: Socket, onExit: (code: number) => void): void {
  const decoder = new FrameDecoder();
  socket.on('data', (chunk: Buffer) => {
    for (const f of decoder.push(chunk)) {
      if (f.type === FrameType.exit) onExit(Number(f.payload.toString()));
      else if (f.type === FrameType.stdout || f.type === FrameType.stderr) {
        const out = f.type === FrameType.stderr ? process.stderr : process.stdout;
        if (!out.write(f.payload)) {
          socket.pause();
          out.once('drain', () => socket.resume());
        }
      }
    }
  });
}

export function runSession(socket: Socket, o: SessionOptions): Promise<SessionEnd> {
  return new Promise((resolve) => {
    const end: { exitCode?: number; detached: boolean } = { detached: false };
    const cleanups: (() => void)[] = [];
    receive(socket, (code) => (end.exitCode = code));
    if (o.tty) {
      const send = (): void => void (resizeFrame() && socket.write(resizeFrame()!));
      send();
      process.stdout.on('resize', send);
      cleanups.push(() => process.stdout.off('resize', send));
    }
    if (o.stdin) {
      const raw = o.tty && process.stdin.isTTY;
      if (raw) process.stdin.setRawMode(true);
      const matcher = new DetachKeyMatcher(o.detachKeys);
      const onData = (chunk: Buffer): void => {
        const { forward, detach } = matcher.feed(chunk);
        for (const f of stdinFrames(forward)) socket.write(f);
        if (detach) {
          end.detached = true;
          socket.destroy();
        }
      };
      const onEnd = (): void => void socket.write(encodeFrame(FrameType.closeStdin));
      process.stdin.on('data', onData);
      process.stdin.once('end', onEnd);
      cleanups.push(() => {
        process.stdin.off('data', onData);
        process.stdin.off('end', onEnd);
        if (raw) process.stdin.setRawMode(false);
        process.stdin.pause();
      });
    }
    if (o.proxySignal && !o.tty) {
      for (const sig of PROXIED) {
        const h = (): void => o.proxySignal!(sig);
        process.on(sig, h);
        cleanups.push(() => process.off(sig, h));
      }
    }
    socket.on('error', () => undefined);
    socket.once('close', () => {
      for (const c of cleanups) c();
      resolve(end);
    });
  });
}
