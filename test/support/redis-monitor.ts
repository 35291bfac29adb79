import { connect } from 'node:net';

/** Commands Redis executed, as MONITOR reports them: client address and arguments. */
export interface MonitoredCommand {
  addr: string;
  args: string[];
}

/**
 * MONITOR on the test's Redis: every command from now on, with its client address. A raw socket,
 * not ioredis' monitor(): that one sets its monitoring status a tick after MONITOR's +OK, so on a
 * busy server the first monitored lines in the same packet fail with "Command queue state error".
 * Only lines containing `contains` (the test's key prefix) are kept: the server is shared.
 */
export async function monitorRedis(contains: string): Promise<{ commands: MonitoredCommand[]; stop(): Promise<void> }> {
  const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const socket = connect(Number(url.port || 6379), url.hostname);
  const commands: MonitoredCommand[] = [];
  let buf = '';
  let ok: () => void = () => undefined;
  const started = new Promise<void>((resolve, reject) => {
    ok = resolve;
    socket.once('error', reject);
  });
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buf += chunk;
    let at = 0;
    let nl: number;
    while ((nl = buf.indexOf('\r\n', at)) >= 0) {
      const line = buf.slice(at, nl);
      at = nl + 2;
      if (line === '+OK') ok();
      else if (line.startsWith('+') && line.includes(contains)) {
        const m = /^\+\d+\.\d+ \[\S+ ([^\]]+)\] (.*)$/.exec(line);
        if (m) commands.push({ addr: m[1]!, args: monitorArgs(m[2]!) });
      }
    }
    buf = buf.slice(at);
  });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write('MONITOR\r\n');
  await started;
  return {
    commands,
    async stop() {
      socket.destroy();
    },
  };
}

/** The quoted arguments of a MONITOR line (`"set" "k" "a\"b"`), escapes undone. */
export function monitorArgs(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] !== '"') {
      i++;
      continue;
    }
    let s = '';
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') {
        const c = text[i + 1]!;
        if (c === 'x') {
          s += String.fromCharCode(parseInt(text.slice(i + 2, i + 4), 16));
          i += 4;
          continue;
        }
        s += ({ n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b' } as Record<string, string>)[c] ?? c;
        i += 2;
        continue;
      }
      s += text[i++];
    }
    i++;
    out.push(s);
  }
  return out;
}
