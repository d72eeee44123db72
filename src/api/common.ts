/**
 * The API contract, shared pieces: each request and answer of the daemon's API is declared once, as a TypeBox
 * schema from which its TypeScript type is derived. The routes validate with the schemas; the client, the CLI and
 * the demo import only the types (erased at build), so the CLI loads no schema at start.
 */
import { Type, type Static } from 'typebox';

export const StringList = Type.Array(Type.String());
export const StringMap = Type.Record(Type.String(), Type.String());

/** A network, container or image by id, name or id prefix. */
export const RefParams = Type.Object({ ref: Type.String({ minLength: 1 }) });
export type RefParams = Static<typeof RefParams>;

/** Every error answer: a stable code of the catalog (docs/errors.md) and a message for people. */
export const ErrorBody = Type.Object({ code: Type.String(), message: Type.String() });
export type ErrorBody = Static<typeof ErrorBody>;
