/**
 * A web server that tells who it sees: busybox httpd whose /cgi-bin/ip answers the client's address, and a client
 * made of busybox nc (Debian's static busybox wget crashes resolving even literal addresses).
 */
import type { NetNs } from '../../src/netns/netns.js';
import type { Lab } from './lab.js';

/** The container command: httpd on port 80 with the CGI in place. */
export const WHOAMI_HTTPD = [
  'sh',
  '-c',
  'mkdir -p /www/cgi-bin && printf "#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho \\$REMOTE_ADDR\\n" > /www/cgi-bin/ip && chmod +x /www/cgi-bin/ip && exec httpd -f -p 80 -h /www',
];

/** The shell pipeline that asks; append `| nc -w 2 HOST PORT`. */
export const WHOAMI_REQUEST = `printf 'GET /cgi-bin/ip HTTP/1.0\\r\\n\\r\\n'`;

/** The client address in the CGI's answer: busybox httpd writes it as "[::ffff:A.B.C.D]". */
export const clientOf = (response: string): string | undefined => /\n\n\[?(?:::ffff:)?([0-9a-f.:]+?)\]?\n?$/u.exec(response)?.[1];

/** Asks host:port from inside ns: the client address the server saw, or undefined when nothing answered (tries times). */
export async function whoami(l: Lab, ns: NetNs, host: string, port: number, tries = 1): Promise<string | undefined> {
  for (let i = 0; i < tries; i++) {
    const r = await l.exec(ns, 'sh', ['-c', `${WHOAMI_REQUEST} | busybox nc -w 2 ${host} ${port}`]).catch(() => undefined);
    const seen = r ? clientOf(r.stdout) : undefined;
    if (seen) return seen;
    await new Promise((res) => setTimeout(res, 150));
  }
  return undefined;
}
