/** Docker's --change instructions applied to an image config: pure code. */
import { describe, expect, it } from 'vitest';
import { applyChanges } from '../../../src/runtime/image-changes.js';

describe('--change', () => {
  it('applies CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE and LABEL as Docker does', () => {
    const c = applyChanges({ Env: ['A=1', 'B=2'] }, [
      'CMD ["echo", "hi"]',
      'ENTRYPOINT run me',
      'ENV B=3 C="x y"',
      'ENV D plain value',
      'WORKDIR /srv',
      'USER nobody',
      'EXPOSE 80 53/udp',
      'LABEL team=net',
    ]);
    expect(c).toEqual({
      Cmd: ['echo', 'hi'],
      Entrypoint: ['/bin/sh', '-c', 'run me'],
      Env: ['A=1', 'B=3', 'C=x y', 'D=plain value'],
      WorkingDir: '/srv',
      User: 'nobody',
      ExposedPorts: { '80/tcp': {}, '53/udp': {} },
      Labels: { team: 'net' },
    });
  });

  it('refuses other instructions and malformed ones', () => {
    expect(() => applyChanges({}, ['RUN make'])).toThrow(/RUN is not one of/u);
    expect(() => applyChanges({}, ['CMD [1, 2]'])).toThrow(/not a JSON list of strings/u);
    expect(() => applyChanges({}, ['CMD'])).toThrow(/invalid --change/u);
  });
});
