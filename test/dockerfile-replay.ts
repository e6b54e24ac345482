/**
 * Replays a Dockerfile without a container engine (CI has none), so a file missing from a COPY
 * line fails a test instead of a user's `docker build`:
 *
 * - each stage gets an empty folder as its root; COPY lays exactly the named files there, from the
 *   build context filtered by .dockerignore, or (`--from=<stage>`) from that stage's folder;
 * - RUN steps (split at `&&`) that work in a bare folder (npm, node) run there; the steps that need
 *   the base image as root are skipped by an explicit list (BASE_IMAGE_STEPS, each with its reason);
 *   anything else that names an absolute path is refused, so a replay never writes outside its
 *   folders;
 * - the runtime stage's CMD and HEALTHCHECK can then be started from its folder, with the image's
 *   absolute paths (/app, /data) mapped into it.
 *
 * RUN results are cached like Docker's layers (key: the instructions so far and the bytes they
 * copied), so a second replay that shares the dependency layer does not run `npm ci` again.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { basename, dirname, join, posix, relative } from 'node:path';

export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

export interface Stage {
  name: string | null;
  base: string;
  instructions: Instruction[];
}

/** Instructions, one per logical line (continuations joined, comments dropped), grouped by stage. */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i].trim();
    if (!line || line.startsWith('#')) continue;
    while (line.endsWith('\\')) {
      line = line.slice(0, -1);
      i++;
      if (i >= lines.length) break;
      const next = lines[i].trim();
      if (next.startsWith('#')) continue;
      line += ` ${next}`;
    }
    const m = /^(\w+)\s+(.*)$/s.exec(line.trim());
    if (!m) throw new Error(`Dockerfile:${start}: cannot parse "${line}"`);
    const keyword = m[1].toUpperCase();
    const args = m[2].replace(/\s+/g, ' ').trim();
    if (keyword === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!from) throw new Error(`Dockerfile:${start}: cannot parse FROM ${args}`);
      stages.push({ base: from[1], name: from[2] ?? null, instructions: [] });
      continue;
    }
    if (stages.length === 0) {
      if (keyword === 'ARG') continue; // a global build argument before the first FROM
      throw new Error(`Dockerfile:${start}: ${keyword} before FROM`);
    }
    stages[stages.length - 1].instructions.push({ keyword, args, line: start });
  }
  return stages;
}

/**
 * RUN steps that need the base image (root, Debian's package manager) and are skipped. Each is
 * replaced by what the machine running the replay already has.
 */
export const BASE_IMAGE_STEPS: { pattern: RegExp; reason: string }[] = [
  {
    pattern: /^apt-get (update|install|purge|clean)\b/,
    reason:
      "Debian packages of the image (ffmpeg, ca-certificates): this machine has the same ones from apt (.ci/run installs them), and FFMPEG_PATH=/usr/bin/ffmpeg names the machine's",
  },
  { pattern: /^rm -rf \/var\/lib\/apt\/lists\/\*$/, reason: "apt's package lists, cleaned after installing" },
  { pattern: /^useradd\s/, reason: "the image's non-root user: the replay runs as the current user" },
  {
    pattern: /^chown\s/,
    reason: "ownership for the image's user: the replay's files are the current user's",
  },
];

/** `mkdir -p /abs/path ...`: made inside the stage's folder. */
const MKDIR_ABSOLUTE = /^mkdir -p((?:\s+\/\S+)+)$/;

export function baseImageStep(step: string): string | null {
  return BASE_IMAGE_STEPS.find((s) => s.pattern.test(step))?.reason ?? null;
}

/** .dockerignore patterns (Docker's rules: relative to the context root, `**`, `!` re-includes). */
export class DockerIgnore {
  private readonly rules: { re: RegExp; negate: boolean }[] = [];

  constructor(text: string) {
    for (let line of text.split('\n')) {
      line = line.trim();
      if (!line || line.startsWith('#')) continue;
      const negate = line.startsWith('!');
      if (negate) line = line.slice(1).trim();
      const pattern = posix.normalize(line.replace(/^\/+/, '')).replace(/\/+$/, '');
      this.rules.push({ re: globToRegExp(pattern), negate });
    }
  }

  /** Whether a context-relative path (posix separators) is left out: it or a parent matches. */
  ignores(path: string): boolean {
    const parts = path.split('/');
    let ignored = false;
    for (let n = 1; n <= parts.length; n++) {
      const prefix = parts.slice(0, n).join('/');
      for (const rule of this.rules) if (rule.re.test(prefix)) ignored = !rule.negate;
      if (ignored) return true;
    }
    return false;
  }
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
      if (glob[i + 1] === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Arguments of an exec-form (JSON) or shell-form command. */
function commandArgv(args: string): string[] {
  if (args.startsWith('[')) return JSON.parse(args) as string[];
  return ['/bin/sh', '-c', args];
}

function splitFlags(args: string): { flags: Record<string, string>; rest: string[] } {
  const flags: Record<string, string> = {};
  const words = args.split(' ');
  while (words[0]?.startsWith('--')) {
    const [k, v] = words.shift()!.slice(2).split('=');
    flags[k] = v ?? '';
  }
  return { flags, rest: words };
}

function unquote(s: string): string {
  return /^"(.*)"$/.exec(s)?.[1] ?? /^'(.*)'$/.exec(s)?.[1] ?? s;
}

export interface ReplayedStage {
  name: string | null;
  base: string;
  /** The folder standing for the stage's filesystem root. */
  root: string;
  /** WORKDIR at the end of the stage (an image path). */
  workdir: string;
  env: Record<string, string>;
  user: string | null;
  exposed: string[];
  volumes: string[];
  cmd: string[] | null;
  healthcheck: string[] | null;
  /** RUN steps skipped as base-image steps, with the reason. */
  skipped: { step: string; reason: string }[];
  /** Cache key of the stage's last layer. */
  key: string;
}

export interface ReplayOptions {
  dockerfile: string;
  /** The build context (the repository). */
  context: string;
  /** An empty folder for the stages' roots. */
  workDir: string;
  /** Shared between replays: RUN results by layer key. */
  cacheDir?: string;
  /** Environment of RUN steps (npm's configuration, PATH, HOME). */
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

function run(command: string, cwd: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', ['-c', command], { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve();
      const tail = `${stdout}\n${stderr}`.trim().split('\n').slice(-25).join('\n');
      reject(new Error(`RUN ${command} failed (${err.code ?? err.signal}):\n${tail}`));
    });
  });
}

/** cp -a; `link`: hard links instead of copies, for trees nothing writes to afterwards. */
function copyTree(from: string, to: string, link = false): Promise<void> {
  mkdirSync(dirname(to), { recursive: true });
  return new Promise((resolve, reject) =>
    execFile('cp', [link ? '-al' : '-a', from, to], (err) => (err ? reject(err) : resolve())),
  );
}

/** Every file under `dir` (context-relative posix paths) that .dockerignore keeps. */
function contextFiles(context: string, rel: string, ignore: DockerIgnore, out: string[]): void {
  const abs = join(context, rel);
  if (lstatSync(abs).isDirectory()) {
    for (const name of readdirSync(abs).sort()) {
      const child = rel ? `${rel}/${name}` : name;
      if (!ignore.ignores(child)) contextFiles(context, child, ignore, out);
    }
  } else out.push(rel);
}

export async function replayDockerfile(opts: ReplayOptions): Promise<ReplayedStage[]> {
  const log = opts.log ?? (() => {});
  const stages = parseDockerfile(opts.dockerfile);
  const ignoreFile = join(opts.context, '.dockerignore');
  const ignore = new DockerIgnore(existsSync(ignoreFile) ? readFileSync(ignoreFile, 'utf8') : '');
  const done: ReplayedStage[] = [];

  for (const [index, stage] of stages.entries()) {
    const root = join(opts.workDir, `stage-${index}${stage.name ? `-${stage.name}` : ''}`);
    mkdirSync(root, { recursive: true });
    // After a RUN, the stage's files are a cached layer; they are copied back into `root` only when
    // something writes to them (so a stage that ends on a cached RUN costs no copy).
    let layer: string | null = null;
    const writable = async () => {
      if (!layer) return;
      rmSync(root, { recursive: true, force: true });
      await copyTree(layer, root);
      layer = null;
    };
    const out: ReplayedStage = {
      name: stage.name,
      base: stage.base,
      root,
      workdir: '/',
      env: {},
      user: null,
      exposed: [],
      volumes: [],
      cmd: null,
      healthcheck: null,
      skipped: [],
      key: createHash('sha256').update(`FROM ${stage.base}`).digest('hex'),
    };
    const args: Record<string, string> = {};
    const inImage = (p: string) => join(root, posix.resolve(out.workdir, p));
    const chain = (...parts: (string | Buffer)[]) => {
      const h = createHash('sha256').update(out.key);
      for (const p of parts) h.update(p);
      out.key = h.digest('hex');
    };

    for (const [i, ins] of stage.instructions.entries()) {
      // Cache keys leave the line number out: a line added above does not change a layer.
      const text = `${ins.keyword} ${ins.args}`;
      const where = `Dockerfile:${ins.line}: ${text}`;
      log(where);
      switch (ins.keyword) {
        case 'ARG': {
          const [k, v] = ins.args.split('=');
          args[k] = unquote(v ?? '');
          chain(text);
          break;
        }
        case 'ENV': {
          const pairs = ins.args.includes('=')
            ? [...ins.args.matchAll(/(\w+)=("[^"]*"|'[^']*'|\S+)/g)].map((m) => [m[1], unquote(m[2])])
            : [[ins.args.split(' ')[0], ins.args.split(' ').slice(1).join(' ')]];
          for (const [k, v] of pairs) out.env[k] = v;
          chain(text);
          break;
        }
        case 'WORKDIR':
          await writable();
          out.workdir = posix.resolve(out.workdir, ins.args);
          mkdirSync(join(root, out.workdir), { recursive: true });
          chain(text);
          break;
        case 'COPY': {
          const { flags, rest } = splitFlags(ins.args);
          if (rest.length < 2) throw new Error(`${where}: needs a source and a destination`);
          const dest = rest.pop()!;
          const destIsDir = dest.endsWith('/') || rest.length > 1;
          const from = flags.from !== undefined ? done.find((s) => s.name === flags.from) : undefined;
          if (flags.from !== undefined && !from)
            throw new Error(`${where}: no earlier stage "${flags.from}"`);
          const hashes: (string | Buffer)[] = [text];
          await writable();
          // Files from another stage are hard-linked when no RUN of this stage comes after (nothing
          // then writes to them: the program writes only to its data folder).
          const link = !stage.instructions.slice(i + 1).some((x) => x.keyword === 'RUN');
          for (const src of rest) {
            if (/[*?[]/.test(src)) throw new Error(`${where}: wildcards are not replayed`);
            let files: string[]; // paths relative to `base`
            let base: string;
            let target: string;
            if (from) {
              base = join(from.root, posix.resolve(from.workdir, src));
              if (!existsSync(base)) throw new Error(`${where}: ${src} does not exist in stage ${from.name}`);
              hashes.push(from.key, src);
            } else {
              const rel = posix
                .normalize(src)
                .replace(/^\.?\/+/, '')
                .replace(/\/+$/, '');
              if (rel.startsWith('..')) throw new Error(`${where}: ${src} is outside the build context`);
              base = join(opts.context, rel);
              if (!existsSync(base) || (rel && rel !== '.' && ignore.ignores(rel)))
                throw new Error(`${where}: ${src} is not in the build context (missing or in .dockerignore)`);
            }
            const isDir = statSync(base).isDirectory();
            if (isDir) {
              // A directory's contents go into the destination, as Docker does.
              target = inImage(dest);
              if (from) files = [''];
              else {
                const rel = relative(opts.context, base).split('\\').join('/');
                const all: string[] = [];
                contextFiles(opts.context, rel, ignore, all);
                files = all.map((f) => (rel ? f.slice(rel.length + 1) : f));
              }
            } else {
              target = destIsDir ? join(inImage(dest), basename(base)) : inImage(dest);
              files = [''];
            }
            for (const f of files) {
              const s = f ? join(base, f) : base;
              const t = f ? join(target, f) : target;
              if (!from) hashes.push(s.slice(opts.context.length), readFileSync(s));
              if (!f && isDir) {
                // --from: the whole folder at once (node_modules), symlinks kept.
                mkdirSync(t, { recursive: true });
                for (const name of readdirSync(s)) await copyTree(join(s, name), join(t, name), link);
              } else await copyTree(s, t, link && !!from);
            }
          }
          chain(...hashes);
          break;
        }
        case 'RUN': {
          if (ins.args.startsWith('[')) throw new Error(`${where}: the exec form of RUN is not replayed`);
          chain(text);
          const steps = ins.args.split(/\s+&&\s+/).map((step) => {
            const reason = baseImageStep(step);
            if (reason) out.skipped.push({ step, reason });
            const mkdir = MKDIR_ABSOLUTE.exec(step)?.[1].trim().split(/\s+/) ?? null;
            if (!reason && !mkdir && /(^|\s)\//.test(step))
              throw new Error(`${where}: "${step}" names an absolute path; the replay cannot run it`);
            return { step, skip: reason !== null, mkdir };
          });
          const cached = opts.cacheDir ? join(opts.cacheDir, out.key) : null;
          if (cached && existsSync(cached)) {
            log(`${where}: cached`);
            layer = cached;
            break;
          }
          await writable();
          const env = { ...opts.env, ...args, ...out.env };
          for (const { step, skip, mkdir } of steps) {
            if (skip) continue;
            if (mkdir) for (const p of mkdir) mkdirSync(join(root, p), { recursive: true });
            else await run(step, join(root, out.workdir), env);
          }
          if (cached) {
            mkdirSync(dirname(cached), { recursive: true });
            renameSync(root, cached);
            layer = cached;
          }
          break;
        }
        case 'USER':
          out.user = ins.args;
          break;
        case 'VOLUME': {
          await writable();
          const vols = ins.args.startsWith('[') ? (JSON.parse(ins.args) as string[]) : ins.args.split(' ');
          for (const v of vols) mkdirSync(join(root, v), { recursive: true });
          out.volumes.push(...vols);
          break;
        }
        case 'EXPOSE':
          out.exposed.push(...ins.args.split(' ').map((p) => (p.includes('/') ? p : `${p}/tcp`)));
          break;
        case 'HEALTHCHECK': {
          const m = /\bCMD\s+(.*)$/.exec(ins.args);
          out.healthcheck = m ? commandArgv(m[1]) : null;
          break;
        }
        case 'CMD':
          out.cmd = commandArgv(ins.args);
          break;
        case 'LABEL':
        case 'STOPSIGNAL':
          break;
        default:
          throw new Error(`${where}: ${ins.keyword} is not replayed`);
      }
    }
    // The last stage is started, and the program writes to its data folder: never a cached layer.
    if (index === stages.length - 1) await writable();
    out.root = layer ?? root;
    done.push(out);
  }
  return done;
}

/** An image path (/app/dist/cli.js, /data) as a path in the stage's folder, when the stage has it. */
export function mapImagePath(stage: ReplayedStage, value: string): string {
  if (!value.startsWith('/')) return value;
  const inside = join(stage.root, value);
  return existsSync(inside) ? inside : value;
}

export interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * Start `argv` (the stage's CMD or HEALTHCHECK) as the container would: the stage's ENV with its
 * image paths mapped, its WORKDIR as the current folder, `node` as this test's node.
 */
export function startInStage(stage: ReplayedStage, argv: string[], env: NodeJS.ProcessEnv = {}): Started {
  const mapped = argv.map((a, i) => (i === 0 && a === 'node' ? process.execPath : mapImagePath(stage, a)));
  const stageEnv = Object.fromEntries(Object.entries(stage.env).map(([k, v]) => [k, mapImagePath(stage, v)]));
  const child = spawn(mapped[0], mapped.slice(1), {
    cwd: join(stage.root, stage.workdir),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...stageEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (c: Buffer) => {
    text += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    text += c.toString();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => text, exited };
}
