import { describe, expect, it } from 'vitest';
import { checkCreate } from '../../../src/runtime/create-checks.js';
import type { ContainerConfig } from '../../../src/runtime/types.js';

const none = { id: () => false, name: () => false };
const config = (extra: Partial<ContainerConfig> = {}): ContainerConfig => ({ image: 'busybox', command: ['true'], ...extra }) as ContainerConfig;

describe("a create's checks, before anything is made", () => {
  it('gives a new id and a name made from it, or the ones given', () => {
    const made = checkCreate(config(), none);
    expect(made.id).toMatch(/^[0-9a-f]{64}$/u);
    expect(made.name).toBe(`tsnet_${made.id.slice(0, 8)}`);
    expect(checkCreate(config({ id: 'a'.repeat(64), name: 'web.1' }), none)).toEqual({ id: 'a'.repeat(64), name: 'web.1' });
  });

  it('refuses, naming what is wrong: no command, a bad or taken id or name, a missing namespace, a pids limit out of range', () => {
    expect(() => checkCreate(config({ command: [] }), none)).toThrow('no command given to run in the container');
    expect(() => checkCreate(config({ env: ['NOEQUALS'] }), none)).toThrow('environment variable "NOEQUALS" is not of the form KEY=VALUE');
    expect(() => checkCreate(config({ id: 'xyz' }), none)).toThrow('invalid or duplicate container id "xyz"');
    expect(() => checkCreate(config({ id: 'b'.repeat(64) }), { ...none, id: (x) => x === 'b'.repeat(64) })).toThrow(/duplicate container id/u);
    expect(() => checkCreate(config({ name: '-dash' }), none)).toThrow('invalid container name "-dash"');
    expect(() => checkCreate(config({ name: 'web' }), { ...none, name: (x) => x === 'web' })).toThrow('a container named "web" already exists');
    expect(() => checkCreate(config({ netnsPath: '/nonexistent/ns' }), none)).toThrow('network namespace /nonexistent/ns does not exist');
    expect(() => checkCreate(config({ limits: { pids: 0 } }), none)).toThrow(/pids/u);
  });
});
