/** The lab tests' two busybox nodes joined by one link (10.200.0.1/30 - .2), n1's end impaired as given. */
export function twoNodeLab(name: string, n1Impair: string): { topology: string; companion: string } {
  return {
    topology: `name: ${name}
topology:
  nodes:
    n1: { kind: linux, image: busybox, network-mode: none }
    n2: { kind: linux, image: busybox, network-mode: none }
  links:
    - endpoints: ["n1:eth1", "n2:eth1"]
`,
    companion: `nodes:
  n1:
    interfaces:
      eth1: { addresses: [10.200.0.1/30], impair: ${n1Impair} }
  n2:
    interfaces:
      eth1: { addresses: [10.200.0.2/30] }
`,
  };
}
