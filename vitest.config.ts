import { defineConfig } from 'vitest/config';

// NODE_EXTRA_CA_CERTS makes every Node process the tests start (the CLI, the daemon) parse that file's certificates
// first: about 60 ms each with a system's whole bundle. No test uses TLS.
delete process.env['NODE_EXTRA_CA_CERTS'];

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/stale-labs.ts'],
    // Kernel tests wait on the kernel (RCU grace periods), not on the CPU: two files at a time on two cores.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
