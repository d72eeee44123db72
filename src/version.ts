/** tsnet's version, reported by `tsnet version` and the API. */
export const TSNET_VERSION = '0.1.0';
