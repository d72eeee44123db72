/**
 * The cluster store over TLS, as Docker's --cluster-store-opt kv.cacertfile/kv.certfile/kv.keyfile: an etcd that
 * demands client certificates, a daemon that shows one (overlay networks work) and one that does not (they fail,
 * clearly, and its local networks do not care).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ETCD_URL, hostAddress, makeEtcdCertificates, makeUnderlay, startEtcd, type EtcdHandle } from '../helpers/cluster.js';
import { startDaemon, tsnet, type DaemonHandle } from '../helpers/daemon.js';
import { Lab, describeKernel } from '../helpers/lab.js';

describeKernel('multi-host: the cluster store over TLS', () => {
  it('joins an etcd that asks for client certificates with them, and fails clearly without', async () => {
    const lab = Lab.create();
    const daemons: DaemonHandle[] = [];
    let etcd: EtcdHandle | undefined;
    try {
      const { underlay, hosts } = await makeUnderlay(lab, 1);
      const certs = join(lab.dir, 'certs');
      mkdirSync(certs);
      const tls = makeEtcdCertificates(certs);
      etcd = await startEtcd(lab, underlay, tls);
      const store = ['--cluster-store', `etcd://${ETCD_URL}`, '--cluster-advertise', hostAddress(0), '--bridge', 'none'];
      const good = await startDaemon(
        lab,
        'tls',
        [...store, '--cluster-store-opt', `kv.cacertfile=${tls.ca},kv.certfile=${tls.clientCert},kv.keyfile=${tls.clientKey}`],
        hosts[0],
      );
      daemons.push(good);
      const made = await tsnet(good, 'network', 'create', '-d', 'overlay', '--subnet', '10.211.0.0/24', 'secure');
      expect(made, made.stderr).toMatchObject({ code: 0 });
      const info = JSON.parse((await tsnet(good, 'info', '--format', 'json')).stdout) as { cluster?: { connected: boolean } };
      expect(info.cluster?.connected).toBe(true);

      const without = await startDaemon(lab, 'notls', [...store, '--cluster-store-opt', `kv.cacertfile=${tls.ca}`], hosts[0]);
      daemons.push(without);
      const refused = await tsnet(without, 'network', 'create', '-d', 'overlay', 'insecure');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/TSNET_ERR_CLUSTER_UNAVAILABLE/u);
      expect((await tsnet(without, 'network', 'create', '--subnet', '10.212.0.0/24', 'local1')).code).toBe(0);
      expect((await tsnet(without, 'network', 'rm', 'local1')).code).toBe(0);
      expect((await tsnet(good, 'network', 'rm', 'secure')).code).toBe(0);
    } finally {
      for (const d of daemons) await d.stop();
      await etcd?.stop();
      lab.destroy();
    }
  });
});
