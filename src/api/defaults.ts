/**
 * The API's fixed values: its version and where the daemon serves it and keeps its state unless told otherwise.
 * Plain constants, without schemas, so that the CLI can import them without loading TypeBox.
 */
export const API_VERSION = 'v1';
export const DEFAULT_SOCKET = '/run/tsnet/tsnet.sock';
export const DEFAULT_ROOT = '/var/lib/tsnet';

/** The media type of the streams endpoints' frames (see api/containers.ts). */
export const STREAM_MEDIA_TYPE = 'application/vnd.tsnet.stream';
/** PUT /v1/volumes/{name}/import takes this media type: the archive that GET .../export gave. */
export const TAR_MEDIA_TYPE = 'application/x-tar';
/** The most containers one request on many (POST /v1/containers/stop, /remove) names. */
export const MANY_AT_ONCE = 1000;
