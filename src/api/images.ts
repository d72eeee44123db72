/** The API contract of /v1/images: list, import a rootfs tarball, build the busybox image, remove. */
import { Type, type Static } from 'typebox';

export const ImportBody = Type.Object({ file: Type.String({ minLength: 1 }), name: Type.String({ minLength: 1 }) }, { additionalProperties: false });
export type ImportBody = Static<typeof ImportBody>;

export const BusyboxBody = Type.Object({ name: Type.Optional(Type.String({ minLength: 1 })) }, { additionalProperties: false });
export type BusyboxBody = Static<typeof BusyboxBody>;

export const ImageView = Type.Object({ name: Type.String(), id: Type.String(), created: Type.String(), size: Type.Integer() });
export type ImageView = Static<typeof ImageView>;
