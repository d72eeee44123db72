/**
 * A token service for the registry tests, as Docker Hub's auth service works: GET /token?service=&scope= with
 * Basic credentials gives a JWT (RS256, the signing certificate in its x5c header) granting the scope's actions;
 * wrong or missing credentials get 401. Run as a program: PORT KEY CERT USER PASSWORD ISSUER SERVICE.
 */
import { createServer } from 'node:http';
import { X509Certificate, createSign, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

const [port, keyFile, certFile, user, password, issuer, service] = process.argv.slice(2) as [string, string, string, string, string, string, string];
const key = readFileSync(keyFile);
const x5c = [new X509Certificate(readFileSync(certFile)).raw.toString('base64')];
const b64url = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

/** "repository:a/b:pull,push" as the token's access claim. */
function access(scope: string | null): { type: string; name: string; actions: string[] }[] {
  if (!scope) return [];
  const [type, ...rest] = scope.split(':');
  const actions = rest.pop() ?? '';
  return [{ type: type!, name: rest.join(':'), actions: actions.split(',') }];
}

createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://token');
  const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  if (url.pathname !== '/token' || req.headers.authorization !== expected) {
    res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"wrong credentials"}');
    return;
  }
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: issuer,
    sub: user,
    aud: url.searchParams.get('service') ?? service,
    exp: now + 300,
    nbf: now - 10,
    iat: now,
    jti: randomBytes(8).toString('hex'),
    access: access(url.searchParams.get('scope')),
  };
  const signingInput = `${b64url({ alg: 'RS256', typ: 'JWT', x5c })}.${b64url(claims)}`;
  const signature = createSign('RSA-SHA256').update(signingInput).sign(key).toString('base64url');
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `${signingInput}.${signature}`, expires_in: 300 }));
}).listen(Number(port), '127.0.0.1', () => process.stdout.write('token service listening\n'));
