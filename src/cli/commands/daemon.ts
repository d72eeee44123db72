/**
 * `tsnet daemon` and `tsnet demo`: the two commands that run tsnet itself rather than talk to it. Their modules
 * are imported only when they run, so no other command loads the daemon.
 */
import { Option } from 'commander';
import { DEFAULT_ROOT, DEFAULT_SOCKET } from '../../api/defaults.js';
import { ClientError } from '../../client/client.js';
import type { Cli } from '../context.js';

interface DaemonFlags {
  root: string;
  socket: string;
  execRoot?: string;
  netnsDir?: string;
  defaultAddressPool?: string[];
  iptables: string;
  firewallBackend?: 'nftables' | 'iptables';
  dockerPlugin?: boolean;
  dockerPluginSocket?: string;
  firewallCheck: string;
  bridge: string;
  resolvConf?: string;
  clusterStore?: string;
  clusterAdvertise?: string;
  clusterStoreOpt?: string[];
  clusterLeaseTtl?: string;
}

async function runDaemon(o: DaemonFlags, debug: boolean): Promise<void> {
  const { startDaemon, DEFAULT_DOCKER_PLUGIN_SOCKET, parseDefaultPool } = await import('../../daemon/server.js');
  const pluginSocket = o.dockerPluginSocket ?? (o.dockerPlugin ? DEFAULT_DOCKER_PLUGIN_SOCKET : undefined);
  if (o.clusterAdvertise !== undefined && o.clusterStore === undefined)
    throw new ClientError('TSNET_ERR_INVALID_ARGUMENT', '--cluster-advertise needs --cluster-store: the cluster is joined through its store');
  if (!/^\d+(\.\d+)?$/u.test(o.firewallCheck))
    throw new ClientError('TSNET_ERR_INVALID_ARGUMENT', `--firewall-check "${o.firewallCheck}" is not a number of seconds`);
  const daemon = await startDaemon({
    root: o.root,
    socket: o.socket,
    ...(o.execRoot ? { execRoot: o.execRoot } : {}),
    ...(o.netnsDir ? { netnsDir: o.netnsDir } : {}),
    ...(o.defaultAddressPool ? { defaultPools: o.defaultAddressPool.map(parseDefaultPool) } : {}),
    iptables: o.iptables === 'true',
    ...(o.firewallBackend ? { firewallBackend: o.firewallBackend } : {}),
    ...(pluginSocket ? { dockerPluginSocket: pluginSocket } : {}),
    firewallCheckSeconds: Number(o.firewallCheck),
    defaultBridge: o.bridge,
    ...(o.resolvConf ? { resolvConf: o.resolvConf } : {}),
    ...(o.clusterStore !== undefined
      ? {
          cluster: {
            store: o.clusterStore,
            ...(o.clusterAdvertise !== undefined ? { advertise: o.clusterAdvertise } : {}),
            ...(o.clusterStoreOpt ? { storeOpts: o.clusterStoreOpt } : {}),
            ...(o.clusterLeaseTtl !== undefined ? { leaseTtl: o.clusterLeaseTtl } : {}),
          },
        }
      : {}),
    debug,
  });
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      void daemon.close().then(resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

export function registerDaemonCommands(cli: Cli): void {
  cli.program
    .command('daemon')
    .description('run the tsnet daemon')
    .option('--root <dir>', 'state folder', DEFAULT_ROOT)
    .option('--socket <path>', 'unix socket of the API', DEFAULT_SOCKET)
    .option('--exec-root <dir>', "folder of what a reboot wipes: namespace pins, sandboxes' hosts and resolv.conf (default: the socket's folder)")
    .option('--netns-dir <dir>', 'where sandbox namespaces are pinned (default: EXEC-ROOT/netns)')
    .option('--default-address-pool <base=CIDR,size=N>', 'default pool for automatic subnets (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .addOption(new Option('--iptables <bool>', 'manage the firewall (false: leave it alone)').choices(['true', 'false']).default('true'))
    .addOption(
      new Option(
        '--firewall-backend <backend>',
        'nftables (netlink, no process; the default where the kernel has nf_tables) or iptables (iptables-restore)',
      ).choices(['nftables', 'iptables']),
    )
    .option('--docker-plugin', "serve Docker's network driver and IPAM plugin on /run/docker/plugins/tsnet.sock")
    .option('--docker-plugin-socket <path>', 'serve the Docker plugin on this socket instead (Docker names the plugin after the file)')
    .option('--bridge <name>', 'bridge interface of the default network "bridge", or none for no default network', 'tsnet0')
    .option('--resolv-conf <file>', "the host's resolver configuration, whose servers containers and the embedded resolver use", '/etc/resolv.conf')
    .option('--cluster-store <url>', 'etcd://HOST:PORT[,HOST:PORT]: the cluster store of overlay networks (docs/multi-host.md)')
    .option('--cluster-advertise <address>', "this host's underlay IPv4 address, which the other hosts' tunnels reach")
    .option('--cluster-store-opt <key=value>', 'TLS to etcd: kv.cacertfile=,kv.certfile=,kv.keyfile= (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .option('--cluster-lease-ttl <seconds>', "how long after this host's last word the others drop its endpoints", '15')
    .option('--firewall-check <seconds>', "how often to check that tsnet's firewall rules are still there, and restore them (0: never)", '5')
    .action((o: DaemonFlags) => runDaemon(o, cli.program.opts<{ debug?: boolean }>().debug === true));

  cli.program
    .command('demo')
    .description('start a daemon in a throwaway namespace, run containers on two networks, show what reaches what, clean up')
    .action(async () => {
      const { runDemo } = await import('../../lab/demo.js');
      process.exitCode = await runDemo({ out: (line) => console.log(line) });
    });
}
