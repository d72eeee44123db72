/** The API contract of /v1/images: list, import a rootfs tarball, load and save archives, tag, inspect, history, remove. */
import { Type, type Static } from 'typebox';
import { StringList } from './common.js';

export const ImportBody = Type.Object(
  { file: Type.String({ minLength: 1 }), name: Type.String({ minLength: 1 }), changes: Type.Optional(StringList) },
  { additionalProperties: false },
);
export type ImportBody = Static<typeof ImportBody>;

export const BusyboxBody = Type.Object({ name: Type.Optional(Type.String({ minLength: 1 })) }, { additionalProperties: false });
export type BusyboxBody = Static<typeof BusyboxBody>;

export const ImageView = Type.Object({
  name: Type.String(),
  id: Type.String(),
  created: Type.String(),
  size: Type.Integer(),
  layers: Type.Optional(Type.Array(Type.String())),
  config: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});
export type ImageView = Static<typeof ImageView>;

export const TagBody = Type.Object({ name: Type.String({ minLength: 1 }) }, { additionalProperties: false });
export type TagBody = Static<typeof TagBody>;

/** An image's history, as its config records it (newest first, as docker image history prints it). */
export const HistoryEntry = Type.Object({ created: Type.String(), createdBy: Type.String(), emptyLayer: Type.Boolean(), comment: Type.String() });
export type HistoryEntry = Static<typeof HistoryEntry>;

export const SaveQuery = Type.Object({ names: Type.String({ minLength: 1 }) });

/** POST /v1/containers/{ref}/commit: the container's changes as a new image. */
export const CommitBody = Type.Object(
  { name: Type.String({ minLength: 1 }), changes: Type.Optional(StringList), comment: Type.Optional(Type.String()), pause: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);
export type CommitBody = Static<typeof CommitBody>;

/** Credentials for a registry, as `tsnet login` saved them; sent with each pull and push, never stored by the daemon. */
export const RegistryAuth = Type.Object({ username: Type.String({ minLength: 1 }), password: Type.String() }, { additionalProperties: false });
export type RegistryAuth = Static<typeof RegistryAuth>;

/** POST /v1/images/pull: an image from a registry; platform is OS/ARCH[/VARIANT], this machine's by default. */
export const PullBody = Type.Object(
  { reference: Type.String({ minLength: 1 }), platform: Type.Optional(Type.String({ minLength: 1 })), auth: Type.Optional(RegistryAuth) },
  { additionalProperties: false },
);
export type PullBody = Static<typeof PullBody>;
export const PullView = Type.Object({ image: ImageView, digest: Type.String(), layersFetched: Type.Integer(), layersReused: Type.Integer() });
export type PullView = Static<typeof PullView>;

/** POST /v1/images/push: a local image, by the name it has, to the registry that name names. */
export const PushBody = Type.Object({ reference: Type.String({ minLength: 1 }), auth: Type.Optional(RegistryAuth) }, { additionalProperties: false });
export type PushBody = Static<typeof PushBody>;
export const PushView = Type.Object({
  name: Type.String(),
  digest: Type.String(),
  size: Type.Integer(),
  layersSent: Type.Integer(),
  layersPresent: Type.Integer(),
});
export type PushView = Static<typeof PushView>;

/** POST /v1/auth: checks credentials against a registry (host[:port]) as docker login does. */
export const LoginBody = Type.Object(
  { server: Type.String({ minLength: 1 }), username: Type.String({ minLength: 1 }), password: Type.String() },
  { additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBody>;
