import { connect, type Socket } from 'node:net';

/** One command as Redis MONITOR reports it: the client's address and the arguments. */
export interface MonitoredCommand {
  source: string;
  args: string[];
}

/**
 * Redis MONITOR on a plain socket. ioredis's monitor() reports "Command queue state error" when
 * other clients' lines arrive in the same read as MONITOR's OK (a busy shared server, tests in
 * parallel); MONITOR's output is one simple-string line per command, read here directly.
 */
export class RedisMonitor {
  readonly commands: MonitoredCommand[] = [];
  private buffered = '';

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.read(chunk));
  }

  static async start(url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'): Promise<RedisMonitor> {
    const u = new URL(url);
    const socket = connect(Number(u.port || 6379), u.hostname);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const m = new RedisMonitor(socket);
    const ok = new Promise<void>((resolve, reject) => {
      m.onOk = resolve;
      m.onRefused = (line) => reject(new Error(`redis MONITOR refused: ${line}`));
      socket.once('error', reject);
    });
    socket.write('MONITOR\r\n');
    await ok;
    return m;
  }

  stop(): void {
    this.socket.destroy();
  }

  private onOk: () => void = () => undefined;
  private onRefused: (line: string) => void = () => undefined;

  private read(chunk: string): void {
    this.buffered += chunk;
    for (let end = this.buffered.indexOf('\r\n'); end >= 0; end = this.buffered.indexOf('\r\n')) {
      const line = this.buffered.slice(0, end);
      this.buffered = this.buffered.slice(end + 2);
      if (line === '+OK') this.onOk();
      else if (line.startsWith('-')) this.onRefused(line.slice(1));
      else {
        const parsed = parseMonitorLine(line);
        if (parsed) this.commands.push(parsed);
      }
    }
  }
}

/** `+1700000000.123456 [0 127.0.0.1:50000] "get" "key"` → { source, args }. */
export function parseMonitorLine(line: string): MonitoredCommand | undefined {
  const head = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] /.exec(line);
  if (!head) return undefined;
  const args: string[] = [];
  for (const m of line.slice(head[0].length).matchAll(/"((?:[^"\\]|\\.)*)"/g)) {
    args.push(m[1]!.replace(/\\x([0-9a-f]{2})|\\(.)/gi, (_, hex: string | undefined, c: string) => (hex ? String.fromCharCode(parseInt(hex, 16)) : c === 'n' ? '\n' : c === 'r' ? '\r' : c === 't' ? '\t' : c)));
  }
  return { source: head[1]!, args };
}
