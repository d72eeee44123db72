/** `tsnet pull`, `tsnet push` (and `image pull/push`), `tsnet login`, `tsnet logout`: images to and from registries. */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import type { LoginBody, PushBody, PushView } from '../../api/images.js';
import { pullImage } from '../image-pull.js';
import { ClientError } from '../../client/client.js';
import { credentialsFor, credentialsForImage, serverDomain, storeCredentials } from '../credentials.js';
import type { Cli } from '../context.js';
import { shortId, withProgress } from '../format.js';

function addPull(cli: Cli, parent: Command): void {
  parent
    .command('pull')
    .description('pull an image from a registry')
    .argument('<image>', '[REGISTRY/]NAME[:TAG|@DIGEST]')
    .option('--platform <platform>', 'OS/ARCH[/VARIANT] to take from a multi-platform image (default: this machine)')
    .option('-q, --quiet', 'print only the image id')
    .action(async (reference: string, o: { platform?: string; quiet?: boolean }) => {
      const r = await pullImage(cli.client(), reference, o.platform);
      if (o.quiet) return console.log(r.image.id);
      console.log(`${r.image.name}: ${r.layersFetched} layers pulled, ${r.layersReused} already here`);
      console.log(`Digest: ${r.digest}`);
      console.log(`Image: ${shortId(r.image.id)}`);
    });
}

function addPush(cli: Cli, parent: Command): void {
  parent
    .command('push')
    .description('push an image to the registry its name names')
    .argument('<image>', 'REGISTRY/NAME[:TAG]')
    .option('-q, --quiet', 'print only the digest')
    .action(async (reference: string, o: { quiet?: boolean }) => {
      const auth = credentialsForImage(reference);
      const body: PushBody = { reference, ...(auth ? { auth } : {}) };
      const r = await withProgress(`pushing ${reference}`, cli.client().call<PushView>('POST', '/v1/images/push', body));
      if (o.quiet) return console.log(r.digest);
      console.log(`${r.name}: ${r.layersSent} layers pushed, ${r.layersPresent} already there`);
      console.log(`digest: ${r.digest} size: ${r.size}`);
    });
}

/** The password: --password, else --password-stdin's first line. */
function passwordOf(o: { password?: string; passwordStdin?: boolean }): string {
  if (o.password !== undefined && o.passwordStdin) throw new ClientError('TSNET_ERR_INVALID_ARGUMENT', '--password and --password-stdin are exclusive');
  if (o.password !== undefined) return o.password;
  if (o.passwordStdin) return readFileSync(0, 'utf8').replace(/\r?\n$/u, '');
  throw new ClientError('TSNET_ERR_INVALID_ARGUMENT', 'give the password with --password-stdin (or -p)');
}

export function registerRegistryCommands(cli: Cli, image: Command): void {
  for (const parent of [cli.program, image]) {
    addPull(cli, parent);
    addPush(cli, parent);
  }

  cli.program
    .command('login')
    .description('check credentials against a registry and save them for pull and push')
    .argument('[server]', 'REGISTRY[:PORT] (default: Docker Hub)')
    .option('-u, --username <name>')
    .option('-p, --password <password>')
    .option('--password-stdin', 'read the password from stdin')
    .action(async (server: string | undefined, o: { username?: string; password?: string; passwordStdin?: boolean }) => {
      const domain = serverDomain(server);
      const username = o.username ?? credentialsFor(domain)?.username;
      if (!username) throw new ClientError('TSNET_ERR_INVALID_ARGUMENT', 'give the user name with -u');
      const body: LoginBody = { server: domain, username, password: passwordOf(o) };
      await cli.client().call('POST', '/v1/auth', body);
      storeCredentials(domain, { username, password: body.password });
      console.log('Login Succeeded');
    });

  cli.program
    .command('logout')
    .description("forget a registry's saved credentials")
    .argument('[server]', 'REGISTRY[:PORT] (default: Docker Hub)')
    .action((server: string | undefined) => {
      const domain = serverDomain(server);
      console.log(storeCredentials(domain, undefined) ? `Removing login credentials for ${domain}` : `Not logged in to ${domain}`);
    });
}
