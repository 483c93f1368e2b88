/**
 * Test support: a private, throw-away containerd daemon driven through the real `ctr`.
 *
 * Each {@link Containerd} owns one temporary directory holding its config, root, state, temp dir,
 * sockets and log, so several instances (for example one per test file under
 * `deno test --parallel`) never share anything. Plugins that would touch global paths (`/opt`,
 * `/run/containerd`), need kernel features, or are not needed to import and export images
 * (CRI, runtimes, tasks, cgroup monitor, every snapshotter except `native`) are disabled, so
 * start-up takes tens of milliseconds and nothing is ever mounted.
 *
 * Facts about Debian's containerd/ctr 1.6.20 that callers should know:
 * - `ctr` only parses flags that come before the positional arguments reliably (a boolean flag
 *   followed by a positional argument swallows it), so {@link Containerd.exportArchive} always puts
 *   flags first.
 * - `ctr images export` creates the output file first: on failure it is left empty, or truncated
 *   mid-stream when a blob turns out to be missing.
 * - `ctr images import` names an image by the `io.containerd.image.name` annotation of an
 *   `index.json` entry; without it, by `org.opencontainers.image.ref.name` (prefixed with
 *   `import-YYYY-MM-DD:` unless it contains `:` or `@`); entries without either are dropped.
 *
 * @module
 */

/** Default namespace used by {@link Containerd.ctr}. */
export const NAMESPACE = "ocipack-test";

/** How long {@link Containerd.start} waits for the daemon to answer. */
const START_TIMEOUT_MS = 20_000;
/** How long {@link Containerd.stop} waits after SIGTERM before sending SIGKILL. */
const STOP_TIMEOUT_MS = 5_000;
/** Default limit for one `ctr` invocation. */
const CTR_TIMEOUT_MS = 120_000;
/** Prefix of every daemon's temporary directory. */
const DIR_PREFIX = "ocipack-containerd-";
/** Longest path a unix socket may have on Linux (sun_path is 108 bytes, NUL included). */
const MAX_SOCKET_PATH = 107;

/**
 * Plugins switched off in every test daemon: CRI (needs network, CNI), all snapshotters but
 * `native` (kernel checks, mounts), the runtimes, tasks and cgroup monitor (shims, cgroups,
 * `/run/containerd`), `opt` (creates `/opt/containerd`) and `restart`. Unknown ids are ignored by
 * containerd, so ids of other versions may be listed too.
 */
const DISABLED_PLUGINS = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.overlayfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.blockfile",
  "io.containerd.internal.v1.opt",
  "io.containerd.internal.v1.restart",
  "io.containerd.internal.v1.tracing",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.runtime.v1.linux",
  "io.containerd.runtime.v2.task",
  "io.containerd.runtime.v2.shim",
  "io.containerd.monitor.v1.cgroups",
  "io.containerd.monitor.task.v1.cgroups",
  "io.containerd.service.v1.tasks-service",
  "io.containerd.grpc.v1.tasks",
  "io.containerd.nri.v1.nri",
  "io.containerd.sandbox.store.v1.local",
  "io.containerd.sandbox.controller.v1.local",
  "io.containerd.grpc.v1.sandbox-controllers",
  "io.containerd.grpc.v1.sandboxes",
  "io.containerd.podsandbox.controller.v1.podsandbox",
  "io.containerd.cri.v1.images",
  "io.containerd.cri.v1.runtime",
];

/** Tools the daemon itself needs (besides those a test names). */
const BASE_TOOLS = ["containerd", "ctr", "sh"];

/**
 * Whether every named command is an executable file in a directory on `PATH`.
 * Synchronous and cheap; returns false when the environment or file system may not be read.
 */
export function toolsAvailable(...names: string[]): boolean {
  let path: string | undefined;
  try {
    path = Deno.env.get("PATH");
  } catch {
    return false;
  }
  const dirs = (path ?? "").split(":").filter((d) => d !== "");
  return names.every((name) =>
    dirs.some((dir) => {
      try {
        const info = Deno.statSync(`${dir}/${name}`);
        return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
      } catch {
        return false;
      }
    })
  );
}

/** Whether this process runs as root (false when the uid may not be read). */
function isRoot(): boolean {
  try {
    return Deno.uid() === 0;
  } catch {
    return false;
  }
}

/**
 * Decides whether a test that needs a real containerd can run here. Pass the commands it needs
 * (`"containerd"`, `"ctr"`, `"tar"`, ...); `sh` is always checked. Returns `{ ignore: true }` when
 * one is missing, when not running as root or not on Linux, so the test is reported as ignored.
 * When the environment variable `OCIPACK_CI` is `1` it throws instead, at module load when used as
 * `Deno.test({ ignore: requireTools(...).ignore, ... })`, so CI fails rather than skips.
 */
export function requireTools(...names: string[]): { ignore: boolean } {
  const wanted = [...new Set([...BASE_TOOLS, ...names])];
  const problems: string[] = [];
  if (Deno.build.os !== "linux") problems.push(`running on ${Deno.build.os}, not linux`);
  const missing = wanted.filter((n) => !toolsAvailable(n));
  if (missing.length > 0) problems.push(`not on PATH: ${missing.join(", ")}`);
  if (!isRoot()) problems.push("not running as root");
  if (problems.length === 0) return { ignore: false };
  let ci: string | undefined;
  try {
    ci = Deno.env.get("OCIPACK_CI");
  } catch {
    ci = undefined;
  }
  if (ci === "1") {
    throw new Error(
      `CI requires ${wanted.join(", ")} and root (OCIPACK_CI=1): ${problems.join("; ")}`,
    );
  }
  return { ignore: true };
}

/** Options of {@link Containerd.ctr}. */
export interface CtrOptions {
  /** Namespace (`-n`); default {@link NAMESPACE}. */
  namespace?: string;
  /** Bytes written to ctr's standard input (otherwise it reads /dev/null). */
  stdin?: Uint8Array;
  /** Kill ctr after this many milliseconds (default 120 000). */
  timeoutMs?: number;
}

/** What a `ctr` invocation returned. */
export interface CtrResult {
  /** Exit code (non-zero on failure; ctr uses 1). */
  code: number;
  /** Raw standard output (an archive when exporting to `-`). */
  stdout: Uint8Array;
  /** Standard error as text (`ctr: <message>` on failure). */
  stderr: string;
}

/** One row of `ctr images ls`. */
export interface ImageRecord {
  /** Image name as stored. */
  name: string;
  /** Media type of the target descriptor. */
  mediaType: string;
  /** Digest of the target descriptor. */
  digest: string;
  /** Size in bytes of the target blob in the content store; -1 when it is absent there. */
  size: number;
}

const live = new Set<Containerd>();
let unloadHooked = false;

/** Kills every daemon still running when the test process unloads (a test forgot stop()). */
function hookUnload(): void {
  if (unloadHooked) return;
  unloadHooked = true;
  globalThis.addEventListener("unload", () => {
    for (const c of [...live]) c.killSync();
  });
}

/** Returns the mount points below `dir` (deepest first), read from /proc/self/mountinfo. */
function mountsUnder(dir: string): string[] {
  let text: string;
  try {
    text = Deno.readTextFileSync("/proc/self/mountinfo");
  } catch {
    return [];
  }
  const unescape = (s: string) =>
    s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text.split("\n")
    .map((line) => line.split(" ")[4])
    .filter((p): p is string => p !== undefined)
    .map(unescape)
    .filter((p) => p === dir || p.startsWith(dir + "/"))
    .sort((a, b) => b.length - a.length);
}

/** Unmounts (lazily) everything mounted below `dir`. */
async function unmountUnder(dir: string): Promise<void> {
  for (const m of mountsUnder(dir)) {
    await new Deno.Command("umount", { args: ["-l", m], stdout: "null", stderr: "null" })
      .output().catch(() => {});
  }
}

/** Whether process `pid` exists and is not a zombie. */
function processExists(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/**
 * Removes the directories left in `parent` by test processes that died without stopping their
 * daemon (e.g. killed by a signal): those whose `owner.pid` names a process that no longer
 * exists. A daemon still running from such a directory (possible only without `setpriv`) is
 * killed first. Directories being set up (no `owner.pid` yet) are left alone.
 */
async function sweepStale(parent: string): Promise<void> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(parent));
  } catch {
    return;
  }
  for (const e of entries) {
    if (!e.isDirectory || !e.name.startsWith(DIR_PREFIX)) continue;
    const dir = `${parent}/${e.name}`;
    const owner = await readPid(`${dir}/owner.pid`);
    if (owner === undefined || processExists(owner)) continue;
    const daemon = await readPid(`${dir}/containerd.pid`);
    if (daemon !== undefined) {
      const cmdline = await Deno.readTextFile(`/proc/${daemon}/cmdline`).catch(() => "");
      if (cmdline.includes(`${dir}/config.toml`)) {
        try {
          Deno.kill(daemon, "SIGKILL");
        } catch {
          // gone meanwhile
        }
      }
    }
    await unmountUnder(dir);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function readPid(path: string): Promise<number | undefined> {
  try {
    const n = parseInt(await Deno.readTextFile(path), 10);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** A private containerd daemon for one test (file). Create it with {@link Containerd.start}. */
export class Containerd {
  /** Temporary directory holding everything this daemon writes. */
  readonly dir: string;
  /** gRPC socket (`ctr -a`). */
  readonly socket: string;
  /** The daemon's configuration file. */
  readonly configPath: string;
  /** containerd's stdout and stderr. */
  readonly logPath: string;
  /** containerd's `root` directory. */
  readonly root: string;
  /** The content store: holds `blobs/<algorithm>/<encoded>` (shared by all namespaces). */
  readonly contentDir: string;
  /** Process id of the daemon. */
  readonly pid: number;

  #child: Deno.ChildProcess;
  #status: Promise<Deno.CommandStatus>;
  #exited = false;
  #stopped: Promise<void> | undefined;

  private constructor(dir: string, socket: string, child: Deno.ChildProcess) {
    this.dir = dir;
    this.socket = socket;
    this.configPath = `${dir}/config.toml`;
    this.logPath = `${dir}/containerd.log`;
    this.root = `${dir}/root`;
    this.contentDir = `${this.root}/io.containerd.content.v1.content`;
    this.#child = child;
    this.pid = child.pid;
    this.#status = child.status.then((s) => {
      this.#exited = true;
      return s;
    });
  }

  /**
   * Starts a daemon in a new temporary directory and waits (up to 20 s) until
   * `ctr version` answers. Throws, with the tail of the daemon's log, when it does not.
   *
   * `inMemory` puts the daemon's directory on /dev/shm when there is one: containerd syncs every
   * blob it ingests to disk, which makes importing thousands of blobs take minutes on a disk.
   */
  static async start(options: { inMemory?: boolean } = {}): Promise<Containerd> {
    const shm = options.inMemory &&
      await Deno.stat("/dev/shm").then((i) => i.isDirectory, () => false);
    let dir = await Deno.makeTempDir({ prefix: DIR_PREFIX, dir: shm ? "/dev/shm" : undefined });
    if (`${dir}/containerd.sock.ttrpc`.length > MAX_SOCKET_PATH) {
      await Deno.remove(dir, { recursive: true });
      dir = await Deno.makeTempDir({ dir: "/tmp", prefix: DIR_PREFIX });
    }
    await Deno.writeTextFile(`${dir}/owner.pid`, `${Deno.pid}\n`);
    await sweepStale(dir.slice(0, dir.lastIndexOf("/")));
    const socket = `${dir}/containerd.sock`;
    let child: Deno.ChildProcess;
    try {
      for (const sub of ["root", "state", "tmp"]) {
        await Deno.mkdir(`${dir}/${sub}`, { mode: 0o711 });
      }
      await Deno.writeTextFile(`${dir}/config.toml`, configToml(dir, socket));
      // `exec` keeps the pid; setpriv makes the kernel kill the daemon if this process dies
      // without stopping it (crash, SIGKILL), so no daemon outlives the test run.
      const pdeath = toolsAvailable("setpriv") ? "setpriv --pdeathsig KILL -- " : "";
      child = new Deno.Command("sh", {
        args: [
          "-c",
          `exec ${pdeath}containerd --config "$1" >"$2" 2>&1 </dev/null`,
          "sh",
          `${dir}/config.toml`,
          `${dir}/containerd.log`,
        ],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
    } catch (e) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw e;
    }
    const c = new Containerd(dir, socket, child);
    live.add(c);
    await Deno.writeTextFile(`${dir}/containerd.pid`, `${child.pid}\n`).catch(() => {});
    hookUnload();
    try {
      await c.#waitReady();
    } catch (e) {
      const log = await c.logTail();
      await c.stop();
      throw new Error(
        `containerd did not start: ${(e as Error).message}\n--- log tail ---\n${log}`,
      );
    }
    return c;
  }

  async #waitReady(): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    let last = "";
    let delay = 10;
    while (Date.now() < deadline) {
      if (this.#exited) {
        const s = await this.#status;
        throw new Error(`containerd exited with code ${s.code}${s.signal ? ` (${s.signal})` : ""}`);
      }
      const r = await this.ctr(["version"], { timeoutMs: 5_000 });
      if (r.code === 0) return;
      last = r.stderr.trim();
      await new Promise((res) => setTimeout(res, delay));
      delay = Math.min(delay * 2, 200);
    }
    throw new Error(`no answer on ${this.socket} within ${START_TIMEOUT_MS} ms: ${last}`);
  }

  /** Whether the daemon process has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** The last `lines` lines of the daemon's log. */
  async logTail(lines = 40): Promise<string> {
    try {
      return (await Deno.readTextFile(this.logPath)).trimEnd().split("\n").slice(-lines).join("\n");
    } catch (e) {
      return `(no log: ${(e as Error).message})`;
    }
  }

  /**
   * Runs `ctr -a <socket> -n <namespace> ...args`. Never throws for a non-zero exit; look at
   * `code`. The environment is cleared except for PATH (so no CONTAINERD_* variable interferes).
   */
  async ctr(args: string[], opts: CtrOptions = {}): Promise<CtrResult> {
    const cmd = new Deno.Command("ctr", {
      args: ["-a", this.socket, "-n", opts.namespace ?? NAMESPACE, ...args],
      clearEnv: true,
      env: {
        PATH: Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin",
        TMPDIR: `${this.dir}/tmp`,
      },
      stdin: opts.stdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(opts.timeoutMs ?? CTR_TIMEOUT_MS),
    });
    const child = cmd.spawn();
    if (opts.stdin) {
      const w = child.stdin.getWriter();
      try {
        await w.write(opts.stdin);
        await w.close();
      } catch {
        // ctr exited without reading all of its input; its status tells why.
      }
    }
    const out = await child.output();
    return { code: out.code, stdout: out.stdout, stderr: new TextDecoder().decode(out.stderr) };
  }

  /** Like {@link ctr}, but throws (with ctr's stderr) on a non-zero exit. */
  async ctrOk(args: string[], opts: CtrOptions = {}): Promise<CtrResult> {
    const r = await this.ctr(args, opts);
    if (r.code !== 0) {
      throw new Error(`ctr ${args.join(" ")} failed (exit ${r.code}): ${r.stderr.trim()}`);
    }
    return r;
  }

  /**
   * Imports an image archive (OCI layout or docker save tarball) with
   * `ctr images import --no-unpack --all-platforms [extraArgs] <path>`: every platform's
   * content goes into the content store and nothing is unpacked into a snapshotter. Images are
   * named after the `io.containerd.image.name` annotations (see the module docs). Then runs a
   * synchronous garbage collection, so the content store holds exactly the referenced blobs (the
   * import also stores the archive's own `index.json`, which is garbage). Throws on failure.
   */
  async importArchive(path: string, extraArgs: string[] = []): Promise<void> {
    await this.ctrOk(["images", "import", "--no-unpack", "--all-platforms", ...extraArgs, path]);
    await this.gc();
  }

  /**
   * Runs `ctr images export [flags] <out> <images...>` (flags first: ctr 1.6 mis-parses flags
   * placed after positional arguments). Returns the exit code and stderr; ctr prints nothing on
   * success, and `ctr: <message>` with exit code 1 on failure.
   */
  async exportArchive(
    out: string,
    images: string[],
    flags: string[] = [],
  ): Promise<{ code: number; stderr: string }> {
    const r = await this.ctr(["images", "export", ...flags, out, ...images]);
    return { code: r.code, stderr: r.stderr };
  }

  /** The images of the namespace, parsed from `ctr images ls` (1.6 has no machine format). */
  async images(namespace?: string): Promise<ImageRecord[]> {
    const r = await this.ctrOk(["images", "ls"], { namespace });
    const lines = new TextDecoder().decode(r.stdout).split("\n").slice(1);
    const records: ImageRecord[] = [];
    // REF may contain spaces; TYPE may not; DIGEST is algorithm:hex; SIZE and the rest follow.
    const row = /^(.+?)\s+(\S+)\s+([a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+)\s/;
    for (const line of lines) {
      if (line.trim() === "") continue;
      const m = row.exec(line);
      if (!m) throw new Error(`cannot parse ctr images ls line: ${JSON.stringify(line)}`);
      const [, name, mediaType, digest] = m;
      records.push({ name, mediaType, digest, size: await this.#blobSize(digest) });
    }
    return records;
  }

  async #blobSize(digest: string): Promise<number> {
    try {
      return (await Deno.stat(this.blobPath(digest))).size;
    } catch {
      return -1;
    }
  }

  /** Path of a blob in the content store (it may not exist). */
  blobPath(digest: string): string {
    const i = digest.indexOf(":");
    return `${this.contentDir}/blobs/${digest.slice(0, i)}/${digest.slice(i + 1)}`;
  }

  /** Adds the name `target` for the image `source` (`ctr images tag --force`). */
  async tag(source: string, target: string): Promise<void> {
    await this.ctrOk(["images", "tag", "--force", source, target]);
  }

  /** Removes an image by name and synchronously collects the content it alone referenced. */
  async removeImage(name: string): Promise<void> {
    await this.ctrOk(["images", "rm", "--sync", name]);
  }

  /** Deletes a blob from the content store (to make content missing on purpose). */
  async removeContent(digest: string): Promise<void> {
    await this.ctrOk(["content", "rm", digest]);
  }

  /** Runs a synchronous garbage collection (creates a lease and deletes it with `--sync`). */
  async gc(): Promise<void> {
    const id = `ocipack-gc-${crypto.randomUUID()}`;
    await this.ctrOk(["leases", "create", "--id", id]);
    await this.ctrOk(["leases", "delete", "--sync", id]);
  }

  /**
   * Stops the daemon (SIGTERM, then SIGKILL after 5 s), waits for it to exit, unmounts anything
   * left mounted below its directory and removes the directory. Safe to call more than once.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    try {
      if (!this.#exited) {
        this.#signal("SIGTERM");
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timedOut = await Promise.race([
          this.#status.then(() => false),
          new Promise<boolean>((res) => timer = setTimeout(() => res(true), STOP_TIMEOUT_MS)),
        ]);
        clearTimeout(timer);
        if (timedOut) this.#signal("SIGKILL");
      }
      await this.#status;
    } finally {
      live.delete(this);
      await unmountUnder(this.dir);
      await Deno.remove(this.dir, { recursive: true }).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    }
  }

  #signal(sig: Deno.Signal): void {
    try {
      this.#child.kill(sig);
    } catch {
      // already exited
    }
  }

  /**
   * Last-resort synchronous cleanup for process exit: SIGKILL and remove the directory.
   * @internal
   */
  killSync(): void {
    if (!this.#exited) this.#signal("SIGKILL");
    live.delete(this);
    try {
      Deno.removeSync(this.dir, { recursive: true });
    } catch {
      // best effort
    }
  }

  /** Same as {@link stop}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/** The daemon's configuration: everything below `dir`, only the plugins needed for images. */
function configToml(dir: string, socket: string): string {
  const s = JSON.stringify; // TOML basic strings accept JSON's escapes
  return `version = 2
root = ${s(`${dir}/root`)}
state = ${s(`${dir}/state`)}
temp = ${s(`${dir}/tmp`)}
plugin_dir = ""
imports = []
required_plugins = []
oom_score = 0
disabled_plugins = [
${DISABLED_PLUGINS.map((p) => `  ${s(p)},`).join("\n")}
]

[grpc]
  address = ${s(socket)}
  tcp_address = ""

[ttrpc]
  address = ${s(`${socket}.ttrpc`)}

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[cgroup]
  path = ""
`;
}
