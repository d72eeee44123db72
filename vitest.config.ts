import { defineConfig } from 'vitest/config';

// NODE_EXTRA_CA_CERTS makes every Node process the tests start (the CLI, the daemon) parse that file's certificates
// first: about 60 ms each with a system's whole bundle. No test uses TLS.
delete process.env['NODE_EXTRA_CA_CERTS'];

/**
 * Files whose assertions are on time and rates (a link's configured delay, rate and loss, measured with real
 * packets; a VM's round trips): they run after the others, one at a time, so that no other file's load (an emulated
 * VM, a crash test's daemons) shares the two cores while they measure.
 */
const TIMED = ['test/e2e/impairments.test.ts', 'test/e2e/lab-report.test.ts', 'test/e2e/netem-vm.test.ts'];

export default defineConfig({
  test: {
    globalSetup: ['test/helpers/stale-labs.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['test/**/*.test.ts'],
          exclude: TIMED,
          // Kernel tests wait on the kernel (RCU grace periods), not on the CPU: two files at a time on two cores.
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'timed', include: TIMED, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
