/**
 * Upgraded connections (attach, streamed exec): the daemon answers 101 as Docker does and then only passes the
 * frames of a container's streams between the client and the launcher, untouched, in both directions. They are
 * cut when the daemon stops (its containers go on; their clients attach again to the next daemon).
 */
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { InvalidArgumentError } from '../errors.js';
import { STREAM_MEDIA_TYPE } from '../api/containers.js';

/** The container's side of a stream connection. */
export interface StreamSide {
  readonly input: Writable;
  readonly output: Readable;
  /** The client went away. */
  close(): void;
}

/** Refused before anything is made: these endpoints need "Connection: Upgrade" and "Upgrade: tcp". */
export function requireUpgrade(req: FastifyRequest): void {
  if (req.headers.upgrade?.toLowerCase() !== 'tcp') throw new InvalidArgumentError(`${req.url} streams: ask it with "Connection: Upgrade" and "Upgrade: tcp"`);
}

export class StreamConnections {
  private readonly sockets = new Set<Socket>();

  /** Takes the request's connection over and joins it to the container's side. */
  join(req: FastifyRequest, reply: FastifyReply, side: StreamSide): void {
    reply.hijack();
    const socket = req.raw.socket;
    this.sockets.add(socket);
    socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${STREAM_MEDIA_TYPE}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
    socket.setNoDelay(true);
    // Errors on either side end the connection; the container is not touched.
    side.input.on('error', () => undefined);
    side.output.on('error', () => socket.destroy());
    socket.on('error', () => undefined);
    socket.pipe(side.input);
    side.output.pipe(socket);
    socket.once('close', () => {
      this.sockets.delete(socket);
      side.close();
    });
  }

  /** Cuts every upgraded connection (at stop: the server would otherwise wait for them). */
  closeAll(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }
}
