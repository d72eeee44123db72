/** JSON-schema pieces the routes share. */
export const refParams = { type: 'object', required: ['ref'], properties: { ref: { type: 'string', minLength: 1 } } } as const;
export const strings = { type: 'array', items: { type: 'string' } } as const;
export const stringMap = { type: 'object', additionalProperties: { type: 'string' } } as const;
