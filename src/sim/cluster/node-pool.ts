/**
 * NodePool is the simulated cluster's nodes: which are reachable, round-robin placement, and
 * address allocation, kept apart from the kubelet so placement rules stay in one small place.
 */
export class NodePool {
  private readonly lost = new Set<string>();
  private next = 0;
  private nextPodIp = 0;

  constructor(private readonly nodes: readonly string[]) {
    if (nodes.length === 0) throw new Error('the simulated cluster needs at least one node');
  }

  names(): readonly string[] {
    return this.nodes;
  }

  has(node: string): boolean {
    return this.nodes.includes(node);
  }

  isLost(node: string): boolean {
    return this.lost.has(node);
  }

  markLost(node: string): void {
    this.lost.add(node);
  }

  markRestored(node: string): void {
    this.lost.delete(node);
  }

  /** place picks the next reachable node, or undefined when none is. */
  place(): string | undefined {
    for (let i = 0; i < this.nodes.length; i++) {
      const node = this.nodes[(this.next + i) % this.nodes.length];
      if (node !== undefined && !this.lost.has(node)) {
        this.next = (this.next + i + 1) % this.nodes.length;
        return node;
      }
    }
    return undefined;
  }

  hostIP(node: string): string {
    const index = Math.max(0, this.nodes.indexOf(node));
    return `10.0.${Math.floor(index / 250)}.${(index % 250) + 2}`;
  }

  /** podIP hands out addresses from 10.244.0.0/16 in order, wrapping after 65,000. */
  podIP(): string {
    const n = this.nextPodIp++ % 65000;
    return `10.244.${Math.floor(n / 250)}.${(n % 250) + 2}`;
  }

  unschedulableMessage(): string {
    const total = this.nodes.length;
    const lost = this.nodes.filter((n) => this.lost.has(n)).length;
    if (lost === 0)
      return `0/${total} nodes are available: ${total} Insufficient memory. preemption: 0/${total} nodes are available: ${total} No preemption victims found for incoming pod.`;
    return `0/${total} nodes are available: ${lost} node(s) had untolerated taint {node.kubernetes.io/unreachable: }. preemption: 0/${total} nodes are available: ${total} Preemption is not helpful for scheduling.`;
  }
}
