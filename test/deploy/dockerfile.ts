import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { cp, mkdir } from 'node:fs/promises';
import { dirname, join, posix, relative } from 'node:path';

/**
 * A Dockerfile read as data and its steps replayed on this machine, without a Docker engine:
 * each stage's WORKDIR becomes a folder, COPY copies from the build context (or another stage's
 * folder), RUN runs the shell command there with the stage's ENV. What it proves: the image's
 * install, build and start steps work on a clean copy of the repository.
 */
export interface Instruction {
  op: string;
  /** Raw argument text after the keyword (continuations joined). */
  args: string;
  line: number;
}

export interface Stage {
  name: string;
  base: string;
  steps: Instruction[];
}

export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let l = lines[i]!;
    if (/^\s*(#|$)/.test(l)) continue;
    while (/\\\s*$/.test(l) && i + 1 < lines.length) l = l.replace(/\\\s*$/, ' ') + lines[++i]!.replace(/^\s*#.*$/, '');
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(l);
    if (!m) throw new Error(`Dockerfile line ${start}: cannot parse "${l}"`);
    const op = m[1]!.toUpperCase();
    const args = m[2]!.trim();
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!f) throw new Error(`Dockerfile line ${start}: FROM ${args}`);
      stages.push({ name: f[2] ?? String(stages.length), base: f[1]!, steps: [] });
      continue;
    }
    if (!stages.length) throw new Error(`Dockerfile line ${start}: ${op} before FROM`);
    stages.at(-1)!.steps.push({ op, args, line: start });
  }
  return stages;
}

/** JSON exec form (["a","b"]) or shell form (sh -c). */
export function commandOf(args: string): string[] {
  return args.startsWith('[') ? (JSON.parse(args) as string[]) : ['sh', '-c', args];
}

/** ENV a=b c="d e" (and the legacy ENV a b). */
export function parseEnv(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!args.includes('=')) {
    const [k, ...v] = args.split(/\s+/);
    out[k!] = v.join(' ');
    return out;
  }
  for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    out[m[1]!] = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!;
  }
  return out;
}

/** The build context: tracked and untracked-but-not-ignored files of the working tree, minus .dockerignore. */
export async function makeContext(repo: string, into: string): Promise<void> {
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: repo, encoding: 'utf8' })
    .split('\0')
    .filter(Boolean);
  const ignore = existsSync(join(repo, '.dockerignore')) ? dockerignore(readFileSync(join(repo, '.dockerignore'), 'utf8')) : () => false;
  for (const f of files) {
    if (ignore(f) || !existsSync(join(repo, f))) continue;
    await mkdir(dirname(join(into, f)), { recursive: true });
    await cp(join(repo, f), join(into, f), { verbatimSymlinks: true });
  }
}

/** .dockerignore patterns: `*` within a segment, `**` across segments; a match excludes the folder's files too. */
export function dockerignore(text: string): (path: string) => boolean {
  const res = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((p) => {
      if (p.startsWith('!')) throw new Error(`.dockerignore: exceptions (${p}) are not replayed by the test`);
      const segs = p.replace(/^\/+|\/+$/g, '').split('/');
      const body = segs
        .map((seg, i) => {
          if (seg === '**') return '(?:[^/]+/)*';
          const re = seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
          return i < segs.length - 1 ? `${re}/` : re;
        })
        .join('');
      return new RegExp(`^${body}(?:/.*)?$`);
    });
  return (path) => res.some((r) => r.test(path));
}

export interface StageResult {
  /** Folder standing for the stage's filesystem root. */
  root: string;
  workdir: string;
  env: Record<string, string>;
  user: string;
  entrypoint: string[];
  cmd: string[];
}

export interface ReplayOptions {
  context: string;
  /** Folder under which each stage gets its root. */
  work: string;
  /** Environment added to every RUN (npm's cache settings); the image's ENV wins. */
  hostEnv: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

/** Replays every stage in order; rejects on the first failing step, naming it. */
export async function replay(stages: Stage[], opts: ReplayOptions): Promise<Map<string, StageResult>> {
  const done = new Map<string, StageResult>();
  for (const stage of stages) {
    const root = join(opts.work, stage.name);
    const s: StageResult = { root, workdir: '/', env: {}, user: 'root', entrypoint: [], cmd: [] };
    const inRoot = (p: string, base = s.workdir) => join(root, posix.resolve(base, p));
    for (const step of stage.steps) {
      const where = `Dockerfile line ${step.line} (${step.op} ${step.args})`;
      opts.log?.(`${stage.name}: ${step.op} ${step.args}`);
      switch (step.op) {
        case 'WORKDIR':
          s.workdir = posix.resolve(s.workdir, step.args);
          mkdirSync(inRoot('.'), { recursive: true });
          break;
        case 'ENV':
          Object.assign(s.env, parseEnv(step.args));
          break;
        case 'USER':
          s.user = step.args;
          break;
        case 'EXPOSE':
          break;
        case 'ENTRYPOINT':
          s.entrypoint = commandOf(step.args);
          break;
        case 'CMD':
          s.cmd = commandOf(step.args);
          break;
        case 'COPY': {
          const words = step.args.startsWith('[') ? (JSON.parse(step.args) as string[]) : step.args.split(/\s+/);
          const flags = words.filter((w) => w.startsWith('--'));
          const paths = words.filter((w) => !w.startsWith('--'));
          const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
          const dest = paths.pop()!;
          if (!paths.length) throw new Error(`${where}: no source`);
          let srcRoot = opts.context;
          if (from !== undefined) {
            const other = done.get(from);
            if (!other) throw new Error(`${where}: no earlier stage named ${from}`);
            srcRoot = other.root;
          }
          for (const p of paths) {
            const src = from !== undefined ? join(srcRoot, posix.resolve('/', p)) : join(srcRoot, posix.normalize(p));
            if (relative(srcRoot, src).startsWith('..')) throw new Error(`${where}: ${p} is outside the context`);
            if (!existsSync(src)) throw new Error(`${where}: ${p} does not exist in ${from ? `stage ${from}` : 'the build context'}`);
            const target = inRoot(dest);
            // COPY a dir/ → its contents; COPY file dir/ → dir/file.
            const into = dest.endsWith('/') && !isDirectory(src) ? join(target, posix.basename(p)) : target;
            await mkdir(dirname(into), { recursive: true });
            // Async: a synchronous copy of a large tree would stall the test worker's RPC.
            await cp(src, into, { recursive: true, verbatimSymlinks: true, force: true });
          }
          break;
        }
        case 'RUN': {
          const [cmd, ...args] = commandOf(step.args);
          const env = { ...opts.hostEnv, ...s.env, HOME: opts.hostEnv.HOME ?? '/root' };
          const code = await run(cmd!, args, inRoot('.'), env, opts.log);
          if (code !== 0) throw new Error(`${where} failed with exit code ${code}`);
          break;
        }
        default:
          throw new Error(`${where}: ${step.op} is not replayed by the test`);
      }
    }
    done.set(stage.name, s);
  }
  return done;
}

function isDirectory(p: string): boolean {
  return statSync(p).isDirectory();
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, log?: (l: string) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (b: Buffer) => {
      tail = (tail + b.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', reject);
    child.once('exit', (code, sig) => {
      if (code !== 0) log?.(tail);
      resolve(code ?? (sig ? 128 : 1));
    });
  });
}
