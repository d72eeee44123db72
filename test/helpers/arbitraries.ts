/**
 * fast-check arbitraries made from the API contract's JSON schemas: mostly values of the schema's shape, with
 * strings drawn from what tsnet's inputs look like (names, CIDRs, addresses, options, NUL bytes, huge ones), and
 * sometimes a value of the wrong type or an extra property, so that validation is exercised from both sides.
 */
import fc from 'fast-check';

type Schema = Record<string, unknown> & {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  anyOf?: Schema[];
  items?: Schema;
  patternProperties?: Record<string, Schema>;
  const?: unknown;
  minimum?: number;
};

/** Strings like the ones tsnet is given, good and bad. */
export const likelyString = (): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constantFrom(
      'web',
      'none',
      'bridge',
      'busybox',
      '10.7.0.0/24',
      '10.7.0.1',
      '10.7.0.0/31',
      '127.0.0.0/8',
      '224.0.0.0/4',
      'fd00:7::/64',
      'ff00::/8',
      '::ffff:0:0/96',
      '0.0.0.0/0',
      '10.7.0.5/24',
      'com.docker.network.bridge.name',
      'com.docker.network.bridge.enable_icc',
      'com.docker.network.driver.mtu',
      'lo',
      'uplink0',
      'SIGKILL',
      'SIGFOO',
      '/etc/passwd',
      '/dev/zero',
      'a\u0000b',
      '../..',
      '',
      ' ',
      'x'.repeat(300),
    ),
    fc.string({ maxLength: 40 }),
    fc.ipV4().map((ip) => `${ip}/${(ip.length % 33).toString()}`),
  );

export function fromSchema(input: object, depth = 0): fc.Arbitrary<unknown> {
  const schema = input as Schema;
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map((s) => fromSchema(s, depth)));
  switch (schema.type) {
    case 'string':
      return likelyString();
    case 'integer':
      return fc.oneof(fc.integer({ min: -5, max: 70000 }), fc.constantFrom(0, 1, 1500, 2 ** 31));
    case 'number':
      return fc.oneof(fc.double({ noNaN: true, min: -10, max: 1e6 }), fc.constantFrom(0, 1));
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(fromSchema(schema.items ?? {}, depth + 1), { maxLength: 4 });
    case 'object':
      return objectOf(schema, depth);
    default:
      return fc.anything({ maxDepth: 2 });
  }
}

function objectOf(schema: Schema, depth: number): fc.Arbitrary<unknown> {
  if (schema.patternProperties) {
    const value = Object.values(schema.patternProperties)[0] ?? {};
    return fc.dictionary(likelyString(), fromSchema(value, depth + 1), { maxKeys: 3 });
  }
  const props = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const record = fc.record(Object.fromEntries(Object.entries(props).map(([k, s]) => [k, fromSchema(s, depth + 1)])), {
    requiredKeys: [...required].filter((k) => k in props),
  });
  // Now and then: a property of the wrong type, or one the schema does not know.
  return fc.oneof(
    { weight: 8, arbitrary: record },
    {
      weight: 1,
      arbitrary: fc
        .tuple(record, fc.constantFrom(...Object.keys(props), 'colour'), fc.anything({ maxDepth: 1 }))
        .map(([r, k, v]) => ({ ...(r as object), [k]: v })),
    },
    { weight: depth === 0 ? 1 : 0, arbitrary: fc.anything({ maxDepth: 1 }) },
  );
}

/** Hex strings, as Docker's ids are (and a little longer or shorter). */
export const hexString = (min: number, max: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: min, maxLength: max });

/** One seed for CI, so that a red run can be replayed; a new one for every local run, so that more ground is covered. */
export const fuzzSeed = (): number => (process.env.CI ? 20261130 : Date.now() % 2 ** 31);
