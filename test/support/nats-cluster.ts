import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, NatsServerProcess, until, type NatsVersion } from './nats-server.js';

export { NatsServerProcess, natsBinary, startNatsServer, until, type NatsVersion } from './nats-server.js';

export interface NatsClusterOptions {
  /** Nodes (default 3: the smallest cluster that keeps an R3 stream writable after losing one). */
  size?: number;
  version?: NatsVersion;
  /** Extra config text for every node (accounts, authorization, tls). */
  config?: string;
}

interface Jsz {
  meta_cluster?: { name?: string; leader?: string; cluster_size?: number; replicas?: { name: string; current?: boolean; offline?: boolean }[] };
  account_details?: {
    name: string;
    stream_detail?: { name: string; cluster?: { leader?: string }; state?: { messages: number; last_seq: number } }[];
  }[];
}

/**
 * A real JetStream cluster: `size` nats-server processes with routes on loopback, each with its
 * own ports and store folder under one temp folder. Nodes can be killed (-9), restarted with
 * their store, or paused; close() kills every process even when the test failed.
 */
export class NatsCluster {
  private constructor(
    readonly nodes: NatsServerProcess[],
    private readonly dir: string,
  ) {}

  static async start(opts: NatsClusterOptions = {}): Promise<NatsCluster> {
    const size = opts.size ?? 3;
    const dir = mkdtempSync(join(tmpdir(), 'tickwork-nats-cluster-'));
    const routes: number[] = [];
    for (let i = 0; i < size; i++) routes.push(await freePort());
    const name = `tw-${process.pid}-${routes[0]}`;
    const nodes = routes.map(
      (port, i) =>
        new NatsServerProcess({
          name: `n${i + 1}`,
          dir,
          version: opts.version ?? '2.9',
          config: opts.config,
          cluster: { name, port, routes },
        }),
    );
    const cluster = new NatsCluster(nodes, dir);
    try {
      await Promise.all(nodes.map((n) => n.start()));
      // Forming the meta group took over 60 s once with both cores kept busy by other processes.
      await cluster.waitReady(150_000);
    } catch (err) {
      await cluster.close();
      throw err;
    }
    return cluster;
  }

  /** Client seed list of every node, as NATS_URL takes it: `nats://127.0.0.1:a,nats://127.0.0.1:b,…`. */
  get seeds(): string {
    return this.nodes.map((n) => n.url).join(',');
  }

  get running(): NatsServerProcess[] {
    return this.nodes.filter((n) => n.running);
  }

  /** Running and not paused: the nodes that can answer. */
  get responsive(): NatsServerProcess[] {
    return this.nodes.filter((n) => n.running && !n.paused);
  }

  node(name: string): NatsServerProcess {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name} in ${this.nodes.map((x) => x.name).join(', ')}`);
    return n;
  }

  /**
   * Waits until every running node reports JetStream healthy (/healthz: meta leader known and
   * its assets current), all of them name the same meta leader, and that leader counts every
   * other running node as a current peer (before that, an R3 stream gets "no suitable peers for
   * placement").
   */
  async waitReady(timeoutMs = 60_000): Promise<NatsServerProcess> {
    return until(
      'a JetStream meta leader agreed by every running node',
      async () => {
        const running = this.responsive;
        if (running.length === 0) throw new Error('no node is running');
        const leaders = new Set<string>();
        for (const n of running) {
          await n.monitor('/healthz');
          const jsz = await n.monitor<Jsz>('/jsz');
          leaders.add(jsz.meta_cluster?.leader ?? '');
        }
        if (leaders.size !== 1 || leaders.has('')) return undefined;
        const leader = running.find((n) => leaders.has(n.name));
        if (leader === undefined) return undefined;
        const peers = (await leader.monitor<Jsz>('/jsz')).meta_cluster?.replicas ?? [];
        const current = peers.filter((p) => p.current === true && p.offline !== true && running.some((n) => n.name === p.name));
        return current.length >= running.length - 1 ? leader : undefined;
      },
      timeoutMs,
      200,
    );
  }

  /** The current JetStream meta leader, as the responsive nodes see it (a paused node is never it). */
  async metaLeader(timeoutMs = 30_000): Promise<NatsServerProcess> {
    return until(
      'a JetStream meta leader',
      async () => {
        for (const n of this.responsive) {
          const leader = (await n.monitor<Jsz>('/jsz').catch(() => null))?.meta_cluster?.leader;
          const node = leader ? this.responsive.find((x) => x.name === leader) : undefined;
          if (node) return node;
        }
        return undefined;
      },
      timeoutMs,
      200,
    );
  }

  /** The node leading `stream`'s raft group (waits while an election is in progress). */
  async streamLeader(stream: string, timeoutMs = 30_000): Promise<NatsServerProcess> {
    return until(
      `a leader for stream ${stream}`,
      async () => {
        for (const n of this.responsive) {
          const leader = (await this.streamDetail(n, stream))?.cluster?.leader;
          const node = leader ? this.responsive.find((x) => x.name === leader) : undefined;
          if (node) return node;
        }
        return undefined;
      },
      timeoutMs,
      200,
    );
  }

  /** Messages `node`'s replica of `stream` holds (undefined when it has none yet). */
  async streamMessages(node: NatsServerProcess, stream: string): Promise<number | undefined> {
    return (await this.streamDetail(node, stream))?.state?.messages;
  }

  /** Kills every node and deletes their stores. */
  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill('SIGKILL')));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async streamDetail(node: NatsServerProcess, stream: string) {
    const jsz = await node.monitor<Jsz>('/jsz?accounts=true&streams=true').catch(() => null);
    for (const acc of jsz?.account_details ?? []) {
      const s = acc.stream_detail?.find((x) => x.name === stream);
      if (s) return s;
    }
    return undefined;
  }
}
