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

/** Nodes of a split bootstrap stay outside the meta group; 10 s is well past a normal formation (0.2–2.6 s). */
const BOOTSTRAP_SPLIT_MS = 10_000;
const MAX_FORMATIONS = 4;

/** The cluster could not form for a reason of its own (see NatsCluster.start); forming again helps. */
class FormationFailed extends Error {}

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

  /**
   * Starts a fresh cluster and waits until it is ready (see waitReady). nats-server 2.10 now and
   * then bootstraps its meta group from the first two nodes that meet: a group of 2 elects a
   * leader and the third node, routed to both, is never added ("JetStream has not established
   * contact with a meta leader" for good; 12 of 140 formations of 2.10.27 here (2.9.10: 0 of 30), and the
   * CI failure of the last try). That state, held for BOOTSTRAP_SPLIT_MS, and a route port taken
   * before a node could bind it are failures of the formation, not of the code under test: the
   * cluster is thrown away and formed again with fresh ports and stores, within one deadline.
   */
  static async start(opts: NatsClusterOptions = {}): Promise<NatsCluster> {
    // Forming the meta group took over 60 s once with both cores kept busy by other processes.
    const deadline = Date.now() + 150_000;
    for (let attempt = 1; ; attempt++) {
      const cluster = await NatsCluster.spawn(opts);
      try {
        await Promise.all(cluster.nodes.map((n) => n.start()));
        await cluster.waitFormed(deadline);
        return cluster;
      } catch (err) {
        await cluster.close();
        const again = (err instanceof FormationFailed || /address already in use/.test(String(err))) && attempt < MAX_FORMATIONS && Date.now() < deadline;
        if (!again) throw err;
        console.warn(`NatsCluster: formation ${attempt} failed (${(err as Error).message.split('\n')[0]}); forming a fresh cluster`);
      }
    }
  }

  private static async spawn(opts: NatsClusterOptions): Promise<NatsCluster> {
    const size = opts.size ?? 3;
    const dir = mkdtempSync(join(tmpdir(), 'tickwork-nats-cluster-'));
    const routes: number[] = [];
    while (routes.length < size) {
      const port = await freePort();
      if (!routes.includes(port)) routes.push(port);
    }
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
    return new NatsCluster(nodes, dir);
  }

  /** waitReady until `deadline`, failing early with FormationFailed on a split bootstrap. */
  private async waitFormed(deadline: number): Promise<void> {
    let splitSince: number | undefined;
    await until(
      'a JetStream meta group of every node',
      async () => {
        const split = await this.splitBootstrap();
        if (split === undefined) splitSince = undefined;
        else if ((splitSince ??= Date.now()) + BOOTSTRAP_SPLIT_MS <= Date.now()) throw new FormationFailed(split);
        return this.readiness();
      },
      Math.max(0, deadline - Date.now()),
      200,
      (err) => err instanceof FormationFailed,
    );
  }

  /**
   * The split-bootstrap state, described, when every responsive node names the same meta leader
   * and that leader's group is smaller than the cluster; undefined otherwise.
   */
  private async splitBootstrap(): Promise<string | undefined> {
    const nodes = this.responsive;
    if (nodes.length < this.nodes.length) return undefined; // a node is down on purpose
    const metas = await Promise.all(nodes.map((n) => n.monitor<Jsz>('/jsz').then((j) => j.meta_cluster, () => undefined)));
    const leaders = new Set(metas.map((m) => m?.leader ?? ''));
    if (leaders.size !== 1 || leaders.has('')) return undefined;
    const leaderName = [...leaders][0]!;
    const leaderMeta = metas[nodes.findIndex((n) => n.name === leaderName)];
    const size = leaderMeta?.cluster_size ?? 0;
    if (size === 0 || size >= this.nodes.length) return undefined;
    const group = [leaderName, ...(leaderMeta?.replicas ?? []).map((r) => r.name)];
    return `meta group of ${size} (${group.join(', ')}) led by ${leaderName}; ${this.nodes.length - size} node(s) left outside`;
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
    return until('a JetStream meta leader agreed by every running node', () => this.readiness(), timeoutMs, 200);
  }

  /** The meta leader when the cluster is ready; throws saying what is missing otherwise. */
  private async readiness(): Promise<NatsServerProcess> {
    const running = this.responsive;
    if (running.length === 0) throw new Error('no node is running');
    const leaders = new Map<string, string>();
    for (const n of running) {
      await n.monitor('/healthz');
      const jsz = await n.monitor<Jsz>('/jsz');
      leaders.set(n.name, jsz.meta_cluster?.leader ?? '');
    }
    const named = new Set(leaders.values());
    if (named.size !== 1 || named.has('')) throw new Error(`meta leader not agreed: ${[...leaders].map(([n, l]) => `${n}→${l || 'none'}`).join(', ')}`);
    const leader = running.find((n) => named.has(n.name));
    if (leader === undefined) throw new Error(`meta leader ${[...named][0]} is not responsive`);
    const peers = (await leader.monitor<Jsz>('/jsz')).meta_cluster?.replicas ?? [];
    const current = peers.filter((p) => p.current === true && p.offline !== true && running.some((n) => n.name === p.name));
    if (current.length < running.length - 1) throw new Error(`meta leader ${leader.name} counts ${current.length} current peers of ${running.length - 1}`);
    return leader;
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
