#!/usr/bin/env node
/**
 * The `tsnet` command. It loads as little as it can: the daemon's and the demo's modules are imported only by the
 * commands that need them. Errors print one line (`tsnet: ...`) and exit non-zero; --debug adds the stack.
 */
import { Command, Option } from 'commander';
import { TSNET_VERSION } from '../version.js';
import { ExitCodeError, registerClientCommands } from './commands.js';

const program = new Command();
program
  .name('tsnet')
  .description("A container network manager implementing Docker's Container Network Model")
  .version(TSNET_VERSION, '-v, --version')
  .option('-H, --host <url>', 'the daemon to talk to (default: $TSNET_HOST, else unix:///run/tsnet/tsnet.sock)')
  .option('--debug', 'print stack traces of errors')
  // Options after a container's command belong to the command (tsnet exec c1 ping -c 1 ...).
  .enablePositionalOptions();

program
  .command('daemon')
  .description('run the tsnet daemon')
  .option('--root <dir>', 'state folder', '/var/lib/tsnet')
  .option('--socket <path>', 'unix socket of the API', '/run/tsnet/tsnet.sock')
  .option('--netns-dir <dir>', 'where sandbox namespaces are pinned (default: next to the socket)')
  .option('--default-address-pool <base=CIDR,size=N>', 'default pool for automatic subnets (repeatable)', (v: string, p: string[] = []) => [...p, v])
  .addOption(new Option('--iptables <bool>', 'manage iptables rules').choices(['true', 'false']).default('true'))
  .option('--docker-plugin', "serve Docker's network driver and IPAM plugin on /run/docker/plugins/tsnet.sock")
  .option('--docker-plugin-socket <path>', 'serve the Docker plugin on this socket instead (Docker names the plugin after the file)')
  .action(async (o: { root: string; socket: string; netnsDir?: string; defaultAddressPool?: string[]; iptables: string; dockerPlugin?: boolean; dockerPluginSocket?: string }) => {
    const { startDaemon, DEFAULT_DOCKER_PLUGIN_SOCKET } = await import('../daemon/server.js');
    const pluginSocket = o.dockerPluginSocket ?? (o.dockerPlugin ? DEFAULT_DOCKER_PLUGIN_SOCKET : undefined);
    const { parseDefaultPool } = await import('../ipam/default-pools.js');
    const daemon = await startDaemon({
      root: o.root,
      socket: o.socket,
      ...(o.netnsDir ? { netnsDir: o.netnsDir } : {}),
      ...(o.defaultAddressPool ? { defaultPools: o.defaultAddressPool.map(parseDefaultPool) } : {}),
      iptables: o.iptables === 'true',
      ...(pluginSocket ? { dockerPluginSocket: pluginSocket } : {}),
      debug: program.opts<{ debug?: boolean }>().debug === true,
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
  });

program
  .command('demo')
  .description('start a daemon in a throwaway namespace, run containers on two networks, show what reaches what, clean up')
  .action(async () => {
    const { runDemo } = await import('../lab/demo.js');
    process.exitCode = await runDemo({ out: (line) => console.log(line) });
  });

registerClientCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const debug = program.opts<{ debug?: boolean }>().debug === true;
  console.error(`tsnet: ${err instanceof Error ? err.message : String(err)}`);
  if (debug && err instanceof Error && err.stack) console.error(err.stack);
  process.exitCode = err instanceof ExitCodeError ? err.exitCode : 1;
}
