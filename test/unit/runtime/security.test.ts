/** Capability sets and seccomp profile resolution, as Docker computes them (no root needed). */
import { describe, expect, it } from 'vitest';
import { capabilityName, containerCapabilities, namesOf } from '../../../src/runtime/security/capabilities.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DefaultSeccompRules, resolveProfile, type SeccompProfile } from '../../../src/runtime/security/seccomp.js';

const ALL = 0x1ffffffffffn;

describe('capabilities', () => {
  it("gives Docker's default set, and what --cap-add, --cap-drop and --privileged change", () => {
    expect(containerCapabilities({}, ALL).toString(16)).toBe('a80425fb');
    expect(containerCapabilities({ capAdd: ['NET_ADMIN', 'cap_sys_time'] }, ALL).toString(16)).toBe('aa0435fb');
    expect(containerCapabilities({ capDrop: ['CHOWN', 'CAP_NET_RAW'] }, ALL).toString(16)).toBe('a80405fa');
    expect(containerCapabilities({ capDrop: ['ALL'], capAdd: ['NET_BIND_SERVICE'] }, ALL)).toBe(0n);
    expect(containerCapabilities({ privileged: true }, ALL)).toBe(ALL);
    expect(containerCapabilities({ capAdd: ['ALL'] }, 0xffn)).toBe(0xffn); // never more than the daemon's own
    expect(namesOf(containerCapabilities({ base: ['CAP_NET_ADMIN'] }, ALL))).toContain('CAP_NET_ADMIN');
    expect(() => capabilityName('NET_WIZARD')).toThrow('unknown capability "NET_WIZARD"');
  });
});

describe('seccomp profiles', () => {
  const profile: SeccompProfile = {
    defaultAction: 'SCMP_ACT_ERRNO',
    archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86'] }],
    syscalls: [
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW', args: [] },
      { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
      { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
      { names: ['ptrace'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '4.8' } },
      { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64'] } },
      { names: ['s390_only'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['s390x'] } },
      { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 2114060288, op: 'SCMP_CMP_MASKED_EQ' }], excludes: { caps: ['CAP_SYS_ADMIN'] } },
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
    ],
  };

  it('keeps the rules that apply to this architecture, kernel and capability set, as Docker decides', () => {
    const rules = resolveProfile(profile, { caps: ['CAP_CHOWN'], arch: 'x64', kernel: '6.1.0' })
      .trim()
      .split('\n');
    expect(rules).toEqual([
      'default errno 1',
      'arch x86_64',
      'arch x86',
      'rule allow 0 read 0',
      'rule allow 0 write 0',
      'rule allow 0 personality 1 0 eq 8 0',
      'rule allow 0 ptrace 0',
      'rule allow 0 arch_prctl 0',
      'rule allow 0 clone 1 0 masked_eq 2114060288 0',
      'rule errno 38 clone3 0',
    ]);
    const admin = resolveProfile(profile, { caps: ['CAP_SYS_ADMIN'], arch: 'x64', kernel: '4.4' });
    expect(admin).toContain('rule allow 0 mount 0');
    expect(admin).not.toContain('ptrace'); // below the minimum kernel
    expect(admin).not.toContain(' clone 1'); // excluded with CAP_SYS_ADMIN
  });

  it('refuses what it cannot express, naming where', () => {
    expect(() => resolveProfile({ defaultAction: 'SCMP_ACT_NOTIFY' }, { caps: [], arch: 'x64' })).toThrow('unknown action "SCMP_ACT_NOTIFY" in defaultAction');
    expect(() =>
      resolveProfile(
        { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['x'], action: 'SCMP_ACT_ALLOW', args: [{ index: 9, value: 0, op: 'SCMP_CMP_EQ' }] }] },
        { caps: [], arch: 'x64' },
      ),
    ).toThrow(/bad argument condition in syscalls\[0\]/u);
    expect(() =>
      resolveProfile({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['rm -rf'], action: 'SCMP_ACT_ALLOW' }] }, { caps: [], arch: 'x64' }),
    ).toThrow('bad syscall name "rm -rf"');
  });

  it("reads Docker's default profile once and resolves it once per capability set; a missing one fails when first needed", () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnet-seccomp-'));
    try {
      const file = join(dir, 'default.json');
      const rules = new DefaultSeccompRules([file]);
      expect(() => rules.rulesFor([])).toThrow("Docker's default seccomp profile is missing");
      writeFileSync(file, JSON.stringify(profile));
      const plain = rules.rulesFor(['CAP_CHOWN']);
      expect(plain).toBe(resolveProfile(profile, { caps: ['CAP_CHOWN'] }));
      writeFileSync(file, '{}'); // not read again
      expect(rules.rulesFor(['CAP_CHOWN'])).toBe(plain);
      const admin = rules.rulesFor(['CAP_SYS_ADMIN', 'CAP_CHOWN']);
      expect(admin).toBe(resolveProfile(profile, { caps: ['CAP_SYS_ADMIN'] }));
      expect(admin).not.toBe(plain);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
