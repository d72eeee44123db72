/**
 * tsnet's layers, checked by the test suite (test/unit/architecture.test.ts): every module imports only the layers
 * below its own, and nothing imports in a cycle. From the top:
 *   cli -> client -> api                (the CLI knows only the client and the contract)
 *   lab -> client | ipam | netlink | netns (the demo drives a daemon through its client)
 *   daemon -> plugin -> cnm -> drivers -> iptables | ipam | netlink -> netns -> native
 *   nftables -> iptables (the firewall's model) | netlink  (the nftables backend; the daemon picks a backend)
 *   cluster -> cnm | drivers/overlay/options | ipam  (the cluster store in etcd; the daemon joins it when asked)
 *   runtime, dns, labs (topology files: pure) (beside cnm) ; api, lib, errors, version: leaves that any layer may use
 */
const below = (name, from, allowed) => ({
  name,
  severity: 'error',
  comment: `${from} may import only ${allowed.join(', ')} (and the leaves)`,
  from: { path: `^src/${from}/` },
  to: { path: '^src/', pathNot: [`^src/(${[from, ...allowed, 'api', 'lib', 'errors\\.ts', 'version\\.ts'].join('|')})(/|$)`] },
});

module.exports = {
  forbidden: [
    { name: 'no-cycle', severity: 'error', comment: 'an import cycle', from: {}, to: { circular: true } },
    below('leaves', '(api|lib)', []),
    below('native', 'native', []),
    below('netns', 'netns', ['native']),
    below('netlink', 'netlink', ['netns', 'native']),
    below('ipam', 'ipam', []),
    below('iptables', 'iptables', ['netns']),
    below('nftables', 'nftables', ['iptables', 'netlink', 'netns', 'native']),
    below('runtime', 'runtime', []),
    below('dns', 'dns', []),
    below('labs', 'labs', []),
    below('drivers', 'drivers', ['iptables', 'ipam', 'netlink', 'netns', 'native']),
    below('cnm', 'cnm', ['drivers/(driver|records)\\.ts', 'iptables', 'ipam', 'netlink', 'netns', 'native']),
    below('plugin', 'plugin', ['cnm', 'drivers/bridge/options\\.ts', 'ipam']),
    below('cluster', 'cluster', ['cnm', 'drivers/overlay/options\\.ts', 'ipam']),
    below('daemon', 'daemon', ['plugin', 'cluster', 'dns', 'labs', 'cnm', 'drivers', 'runtime', 'iptables', 'nftables', 'ipam', 'netlink', 'netns', 'native']),
    below('client', 'client', []),
    below('lab', 'lab', ['client', 'ipam', 'netlink', 'netns', 'native']),
    {
      name: 'cli',
      severity: 'error',
      comment: 'the CLI talks only to the client; `tsnet daemon` and `tsnet demo` import their modules lazily, from one place',
      from: { path: '^src/cli/', pathNot: '^src/cli/commands/daemon\\.ts$' },
      to: { path: '^src/', pathNot: '^src/(cli|client|api|lib|errors\\.ts|version\\.ts)(/|$)' },
    },
    {
      name: 'cli-daemon-entry',
      severity: 'error',
      comment: 'the daemon and demo entry points import only their own modules',
      from: { path: '^src/cli/commands/daemon\\.ts$' },
      to: { path: '^src/', pathNot: '^src/(cli|daemon/server\\.ts|lab/demo\\.ts|api|lib|errors\\.ts|version\\.ts)' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
