/** The API contract of /v1/volumes: create, list, inspect, remove, prune, and a volume's files as a tar archive. */
import { Type, type Static } from 'typebox';
import { StringList, StringMap } from './common.js';

export const VolumeCreate = Type.Object(
  { name: Type.Optional(Type.String({ pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.-]*$' })), labels: Type.Optional(StringMap) },
  { additionalProperties: false },
);
export type VolumeCreate = Static<typeof VolumeCreate>;

export const VolumeView = Type.Object({
  name: Type.String(),
  driver: Type.String(),
  mountpoint: Type.String(),
  created: Type.String(),
  labels: StringMap,
  anonymous: Type.Boolean(),
  /** The containers that mount it, by name. */
  usedBy: StringList,
});
export type VolumeView = Static<typeof VolumeView>;

export const VolumeRemoveQuery = Type.Object({ force: Type.Optional(Type.String()) });
export const VolumePruneResult = Type.Object({ deleted: StringList });
export type VolumePruneResult = Static<typeof VolumePruneResult>;
