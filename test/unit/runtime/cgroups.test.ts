import { expect, it } from 'vitest';
import { sameDeviceRules } from '../../../src/runtime/cgroups.js';

it('tells a devices.list that holds exactly the rules, whatever their order and the order of the access letters', () => {
  const rules = ['c *:* m', 'c 1:3 rwm', 'c 10:200 rw'];
  expect(sameDeviceRules('c 1:3 rwm\nc *:* m\nc 10:200 rw\n', rules)).toBe(true);
  expect(sameDeviceRules('c *:* m\nc 1:3 rwm\nc 10:200 rw\n', ['c *:* m', 'c 1:3 mwr', 'c 10:200 wr'])).toBe(true);
  // A group made and never given its rules lists everything allowed: not the rules.
  expect(sameDeviceRules('a *:* rwm\n', rules)).toBe(false);
  expect(sameDeviceRules('c *:* m\nc 1:3 rwm\n', rules)).toBe(false);
  expect(sameDeviceRules('c *:* m\nc 1:3 rwm\nc 10:200 rw\nc 1:5 rwm\n', rules)).toBe(false);
});
