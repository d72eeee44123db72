/**
 * Pulling an image from the CLI: with the saved credentials of its registry. `run` and `create` pull as Docker's
 * --pull says: "missing" (the default) when the store lacks the image, "always", or "never".
 */
import type { ImageView, PullBody, PullView } from '../api/images.js';
import { ApiError, ClientError, type TsnetClient } from '../client/client.js';
import { credentialsForImage } from './credentials.js';
import { withProgress } from './format.js';

export const PULL_POLICIES = ['missing', 'always', 'never'] as const;

/** Pulls reference (for the platform asked for), with the credentials saved for its registry. */
export function pullImage(client: TsnetClient, reference: string, platform?: string): Promise<PullView> {
  const auth = credentialsForImage(reference);
  const body: PullBody = { reference, ...(platform ? { platform } : {}), ...(auth ? { auth } : {}) };
  return withProgress(`pulling ${reference}`, client.call<PullView>('POST', '/v1/images/pull', body));
}

/** Makes sure the image is there before a container is made of it, as the policy says. */
export async function ensureImage(client: TsnetClient, image: string, policy: string): Promise<void> {
  if (!(PULL_POLICIES as readonly string[]).includes(policy))
    throw new ClientError('TSNET_ERR_INVALID_ARGUMENT', `invalid --pull "${policy}": use ${PULL_POLICIES.join(', ')}`);
  if (policy === 'never') return;
  if (policy === 'missing') {
    const found = await client.call<ImageView>('GET', `/v1/images/${encodeURIComponent(image)}`).then(
      () => true,
      (err: unknown) => {
        if (err instanceof ApiError && err.status === 404) return false;
        throw err;
      },
    );
    if (found) return;
    process.stderr.write(`Unable to find image '${image}' locally\n`);
  }
  const pulled = await pullImage(client, image);
  if (policy === 'missing') process.stderr.write(`${pulled.image.name}: pulled (${pulled.digest})\n`);
}
