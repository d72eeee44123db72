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
