/**
 * The API's fixed values: its version and where the daemon serves it and keeps its state unless told otherwise.
 * Plain constants, without schemas, so that the CLI can import them without loading TypeBox.
 */
export const API_VERSION = 'v1';
export const DEFAULT_SOCKET = '/run/tsnet/tsnet.sock';
export const DEFAULT_ROOT = '/var/lib/tsnet';
