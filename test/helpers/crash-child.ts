/**
 * A tsnet process to be killed: it opens a controller on ROOT with HOSTNS as its host namespace, makes sure the
 * network "crash" exists, then creates sandboxes and connects them, printing a line after each. The crash test
 * kills it with SIGKILL at a random moment. Run from dist: node dist/test/helpers/crash-child.js ROOT HOSTNS N
 */
import { openController } from '../../src/daemon/network-wiring.js';
import { NetNs } from '../../src/netns/netns.js';

const [root, hostNsPath, countText] = process.argv.slice(2);
const { controller } = await openController({ root: root!, hostNs: NetNs.fromPath(hostNsPath!) });
if (!controller.networks().some((n) => n.name === 'crash')) {
  await controller.createNetwork({ name: 'crash', subnet: '10.50.0.0/16' });
}
process.stdout.write('ready\n');
for (let i = 0; i < Number(countText); i++) {
  const s = await controller.createSandbox({ containerId: `crash-${process.pid}-${i}` });
  await controller.connect('crash', s.id);
  process.stdout.write(`${i}\n`);
}
await controller.close();
