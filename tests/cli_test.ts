/**
 * The command line, run as a subprocess: output to stdout and to files, gzip, terminals, signals,
 * full disks, closed pipes, usage errors, `list`.
 */
import assert from "node:assert/strict";
import denoJson from "../deno.json" with { type: "json" };
import { makeBigStore } from "./support/big_store.ts";
import { requireTools, toolsAvailable } from "./support/containerd.ts";
import { readTar, text } from "./support/tar_reader.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;
const STORE = new URL("../testdata/store/", import.meta.url).pathname;
const HELLO = "docker.io/library/hello:oci";

interface Run {
  code: number;
  stdout: Uint8Array;
  stderr: string;
}

function command(args: string[], cwd?: string): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-R", "-W", "--no-lock", CLI, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    cwd,
  });
}

async function run(...args: string[]): Promise<Run> {
  const { code, stdout, stderr } = await command(args).output();
  return { code, stdout, stderr: new TextDecoder().decode(stderr) };
}

/** Runs a shell command line inside a pseudo-terminal (`script`), returning what it printed. */
async function inTerminal(line: string): Promise<{ code: number; output: string }> {
  const { code, stdout } = await new Deno.Command("script", {
    args: ["-qec", line, "/dev/null"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code, output: new TextDecoder().decode(stdout) };
}

function shellQuote(args: string[]): string {
  return args.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

Deno.test("export to stdout and to -o give the same bytes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const piped = await run("export", "--store", STORE, HELLO);
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stderr, "", "no progress when stderr is not a terminal");
    const file = await run("export", "--store", STORE, "-o", `${dir}/out.tar`, HELLO);
    assert.equal(file.code, 0, file.stderr);
    assert.deepEqual(await Deno.readFile(`${dir}/out.tar`), piped.stdout);
    const dash = await run("export", "--store", STORE, "-o", "-", HELLO);
    assert.deepEqual(dash.stdout, piped.stdout);
    assert.deepEqual(await listDir(dir), ["out.tar"], "no temporary file is left");
    // And the archive is the library's: a quick look inside.
    assert.deepEqual(JSON.parse(text(readTar(piped.stdout), "manifest.json"))[0].RepoTags, [
      "hello:oci",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("flags may come before or after the images; short names resolve", async () => {
  const before = await run(
    "export",
    "--store",
    STORE,
    "--platform",
    "linux/arm64",
    "example.com/multi:1.0",
  );
  const after = await run(
    "export",
    "example.com/multi:1.0",
    "--store",
    STORE,
    "--platform",
    "linux/arm64",
  );
  assert.equal(before.code, 0, before.stderr);
  assert.deepEqual(after.stdout, before.stdout);
  const short = await run("export", "-s", STORE, "hello:oci");
  const full = await run("export", "-s", STORE, HELLO);
  assert.deepEqual(short.stdout, full.stdout);
});

Deno.test("IMAGE as name@digest and as a bare digest", async () => {
  const index = JSON.parse(await Deno.readTextFile(`${STORE}index.json`));
  const hello = index.manifests.find((m: { annotations: Record<string, string> }) =>
    m.annotations["io.containerd.image.name"] === HELLO
  );
  const bare = await run("export", "--store", STORE, hello.digest);
  assert.equal(bare.code, 0, bare.stderr);
  const records = readTar(bare.stdout);
  const entry = JSON.parse(text(records, "index.json")).manifests[0];
  assert.equal(entry.digest, hello.digest);
  assert.equal(entry.annotations, undefined, "a bare digest exports the manifest unnamed");
  const pinned = await run("export", "--store", STORE, `docker.io/library/hello@${hello.digest}`);
  assert.equal(pinned.code, 0, pinned.stderr);
  const pinnedEntry = JSON.parse(text(readTar(pinned.stdout), "index.json")).manifests[0];
  assert.equal(
    pinnedEntry.annotations["io.containerd.image.name"],
    `docker.io/library/hello@${hello.digest}`,
  );
});

Deno.test("--gzip output gunzips to the plain archive", async () => {
  const plain = await run("export", "--store", STORE, "--all-platforms", "example.com/multi:1.0");
  const gzipped = await run(
    "export",
    "--store",
    STORE,
    "--all-platforms",
    "--gzip",
    "example.com/multi:1.0",
  );
  assert.equal(gzipped.code, 0, gzipped.stderr);
  assert.deepEqual([...gzipped.stdout.subarray(0, 2)], [0x1f, 0x8b]);
  const unzipped = await new Response(
    new Blob([gzipped.stdout as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
      new DecompressionStream("gzip"),
    ),
  ).arrayBuffer();
  assert.deepEqual(new Uint8Array(unzipped), plain.stdout);
});

Deno.test({
  name: "a terminal on stdout is refused; progress shows only on a terminal",
  ignore: !toolsAvailable("script"),
  async fn() {
    const deno = Deno.execPath();
    const tty = await inTerminal(
      shellQuote([deno, "run", "-R", "-W", CLI, "export", "--store", STORE, HELLO]),
    );
    assert.equal(tty.code, 2);
    assert.match(tty.output, /refusing to write an archive to a terminal: use -o FILE or redirect/);
    const dir = await Deno.makeTempDir();
    try {
      const args = [
        deno,
        "run",
        "-R",
        "-W",
        CLI,
        "export",
        "--store",
        STORE,
        "-o",
        `${dir}/a.tar`,
        HELLO,
      ];
      const shown = await inTerminal(shellQuote(args));
      assert.equal(shown.code, 0, shown.output);
      assert.match(shown.output, /Exported 1 image, 4 blobs, [0-9.]+ KiB in [0-9.]+m?s/);
      const quiet = await inTerminal(shellQuote([...args, "--quiet"]));
      assert.equal(quiet.code, 0);
      assert.equal(quiet.output, "");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("usage errors exit 2 with one line and a hint", async (t) => {
  const cases: [string, string[], RegExp][] = [
    [
      "unknown flag",
      ["export", "--store", STORE, "--frobnicate", HELLO],
      /Unknown option '--frobnicate'/,
    ],
    ["missing --store", ["export", HELLO], /missing --store DIR/],
    ["missing image", ["export", "--store", STORE], /missing IMAGE/],
    ["missing flag value", ["export", HELLO, "--store"], /--store/],
    ["bad platform", ["export", "--store", STORE, "--platform", "linux/*", HELLO], /wildcards/],
    [
      "bad platform component",
      ["export", "--store", STORE, "--platform", "linux/a b", HELLO],
      /Invalid platform "linux\/a b"/,
    ],
    ["unknown command", ["frob"], /unknown command "frob"/],
    ["list extra argument", ["list", "--store", STORE, "x"], /unexpected argument/],
  ];
  for (const [label, args, pattern] of cases) {
    await t.step(label, async () => {
      const r = await run(...args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, pattern);
      assert.match(r.stderr, /^ocipack: [^\n]+\nTry 'ocipack( export| list)? --help'\.\n$/);
      assert.equal(r.stdout.length, 0);
    });
  }
});

Deno.test("a failed export: exit 1, one line naming the image, nothing left behind", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/keep.tar`, "an archive that must survive");
    const r = await run(
      "export",
      "--store",
      STORE,
      "-o",
      `${dir}/keep.tar`,
      "example.com/windows:ltsc2022",
    );
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^ocipack: Layer sha256:[0-9a-f]{64} of image example\.com\/windows:ltsc2022 not found; it is a non-distributable \(foreign\) layer.*: add --skip-non-distributable .*\n$/,
    );
    assert.equal(await Deno.readTextFile(`${dir}/keep.tar`), "an archive that must survive");
    assert.deepEqual(await listDir(dir), ["keep.tar"]);
    const missing = await run("export", "--store", STORE, "nope:1");
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, "ocipack: Image nope:1 not found in the store\n");
    const noStore = await run("export", "--store", `${dir}/nowhere`, HELLO);
    assert.equal(noStore.code, 1);
    assert.equal(noStore.stderr, `ocipack: Store ${dir}/nowhere does not exist\n`);
    const fileStore = await run("export", "--store", `${dir}/keep.tar`, HELLO);
    assert.equal(fileStore.code, 1);
    assert.match(
      fileStore.stderr,
      /^ocipack: Store .*keep\.tar is a file but not an image archive \(the archive is truncated.*\); give an archive, a containerd root/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writing to a full device (/dev/full) fails cleanly", async () => {
  const { code, stderr } = await new Deno.Command("sh", {
    args: [
      "-c",
      `${
        shellQuote([Deno.execPath(), "run", "-R", "-W", CLI, "export", "--store", STORE, HELLO])
      } > /dev/full`,
    ],
    stderr: "piped",
  }).output();
  assert.equal(code, 1);
  assert.equal(
    new TextDecoder().decode(stderr),
    "ocipack: cannot write the archive: No space left on device (os error 28)\n",
  );
});

Deno.test("signals and closed pipes during a large export", async (t) => {
  const big = await makeBigStore();
  try {
    for (const [signal, expected] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
      await t.step(`${signal} leaves nothing behind (exit ${expected})`, async () => {
        const dir = await Deno.makeTempDir();
        try {
          await Deno.writeTextFile(`${dir}/big.tar`, "previous archive");
          const child = command(["export", "--store", big.dir, "-o", `${dir}/big.tar`, big.name])
            .spawn();
          // Wait until the temporary file is being written.
          while (!(await listDir(dir)).some((n) => n.endsWith(".ocipack-partial"))) {
            await new Promise((r) => setTimeout(r, 2));
          }
          child.kill(signal);
          const { code, stderr } = await child.output();
          assert.equal(code, expected, new TextDecoder().decode(stderr));
          assert.equal(new TextDecoder().decode(stderr), "");
          assert.deepEqual(await listDir(dir), ["big.tar"]);
          assert.equal(await Deno.readTextFile(`${dir}/big.tar`), "previous archive");
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      });
    }
    await t.step("a consumer that closes the pipe ends the export quietly", async () => {
      const line = shellQuote([
        Deno.execPath(),
        "run",
        "-R",
        "-W",
        CLI,
        "export",
        "--store",
        big.dir,
        big.name,
      ]);
      const { stdout } = await new Deno.Command("bash", {
        args: [
          "-c",
          `${line} 2>"$0" | head -c 100 > /dev/null; echo "\${PIPESTATUS[0]}"`,
          `${big.dir}/err`,
        ],
        stdout: "piped",
      }).output();
      assert.equal(new TextDecoder().decode(stdout).trim(), "141");
      assert.equal(await Deno.readTextFile(`${big.dir}/err`), "");
    });
  } finally {
    await big.remove();
  }
});

Deno.test("list shows the store's images; --json parses", async () => {
  const table = await run("list", "--store", STORE);
  assert.equal(table.code, 0, table.stderr);
  const lines = new TextDecoder().decode(table.stdout).trimEnd().split("\n");
  assert.match(lines[0], /^REF +TYPE +DIGEST +SIZE +PLATFORMS$/);
  assert.ok(
    lines.some((l) => l.startsWith("example.com/multi:1.0 ") && l.includes("linux/arm/v6")),
  );
  const json = await run("list", "--store", STORE, "--json");
  const images = JSON.parse(new TextDecoder().decode(json.stdout));
  const index = JSON.parse(await Deno.readTextFile(`${STORE}index.json`));
  assert.equal(images.length, index.manifests.length);
  const multi = images.find((i: { name: string }) => i.name === "example.com/multi:1.0");
  assert.deepEqual(multi.platforms, [
    "linux/386",
    "linux/amd64",
    "linux/arm/v6",
    "linux/arm/v7",
    "linux/arm64/v8",
  ]);
  assert.equal(multi.mediaType, "application/vnd.oci.image.index.v1+json");
  assert.equal(typeof multi.size, "number");
});

Deno.test("--help and --version", async () => {
  const version = await run("--version");
  assert.equal(new TextDecoder().decode(version.stdout), `ocipack ${denoJson.version}\n`);
  for (const args of [["--help"], ["export", "--help"], ["list", "--help"]]) {
    const r = await run(...args);
    assert.equal(r.code, 0);
    const help = new TextDecoder().decode(r.stdout);
    assert.match(help, /Usage:/);
    assert.match(help, /Examples?:|Commands:/);
  }
  const exportHelp = new TextDecoder().decode((await run("export", "-h")).stdout);
  for (
    const flag of [
      "--store",
      "--output",
      "--platform",
      "--all-platforms",
      "--skip-manifest-json",
      "--skip-non-distributable",
      "--skip-missing",
      "--gzip",
      "--quiet",
    ]
  ) {
    assert.ok(exportHelp.includes(flag), flag);
  }
});

// -o and the new user's report (issue: -o must never destroy what it replaces).

Deno.test({
  name: "-o writes a device in place and follows a symbolic link; a FIFO gets the archive",
  ignore: requireTools("mknod", "mkfifo", "cat").ignore,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const expected = (await run("export", "--store", STORE, HELLO)).stdout;
      // A copy of /dev/null made for the test; the real one is never touched.
      assert.equal(
        (await new Deno.Command("mknod", { args: [`${dir}/null`, "c", "1", "3"] })
          .output()).code,
        0,
      );
      const toDevice = await run("export", "--store", STORE, "-o", `${dir}/null`, HELLO);
      assert.equal(toDevice.code, 0, toDevice.stderr);
      assert.ok((await Deno.lstat(`${dir}/null`)).isCharDevice);
      // A symbolic link stays one; its target gets the archive.
      await Deno.writeTextFile(`${dir}/target.tar`, "old");
      await Deno.chmod(`${dir}/target.tar`, 0o600);
      await Deno.symlink("target.tar", `${dir}/link.tar`);
      const viaLink = await run("export", "--store", STORE, "-o", `${dir}/link.tar`, HELLO);
      assert.equal(viaLink.code, 0, viaLink.stderr);
      assert.equal(await Deno.readLink(`${dir}/link.tar`), "target.tar");
      assert.deepEqual(await Deno.readFile(`${dir}/target.tar`), expected);
      assert.equal((await Deno.stat(`${dir}/target.tar`)).mode! & 0o777, 0o600);
      // A FIFO is written in place, to its reader.
      assert.equal((await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output()).code, 0);
      const reader = new Deno.Command("cat", { args: [`${dir}/fifo`], stdout: "piped" }).output();
      const toFifo = await run("export", "--store", STORE, "-o", `${dir}/fifo`, HELLO);
      assert.equal(toFifo.code, 0, toFifo.stderr);
      assert.deepEqual((await reader).stdout, expected);
      assert.deepEqual(await listDir(dir), ["fifo", "link.tar", "null", "target.tar"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("-o DIR or a missing parent fails at once, naming the user's path", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A store that would fail if it were read: the destination is checked first.
    for (
      const [output, message] of [
        [dir, `ocipack: Cannot write ${dir}: it is a directory\n`],
        [
          `${dir}/nodir/x.tar`,
          `ocipack: Cannot write ${dir}/nodir/x.tar: directory ${dir}/nodir does not exist\n`,
        ],
      ]
    ) {
      const r = await run("export", "--store", `${dir}/no-store`, "-o", output, HELLO);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, message);
    }
    assert.deepEqual(await listDir(dir), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Runs the CLI as user nobody (for files root could always write), with its own Deno dir. */
async function runAsNobody(cwd: string, ...args: string[]): Promise<Run> {
  const denoDir = await Deno.makeTempDir();
  await Deno.chmod(denoDir, 0o777);
  try {
    const { code, stdout, stderr } = await new Deno.Command("setpriv", {
      args: [
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        Deno.execPath(),
        "run",
        "-R",
        "-W",
        "--no-lock",
        CLI,
        ...args,
      ],
      env: { DENO_DIR: denoDir, HOME: denoDir, DENO_NO_UPDATE_CHECK: "1" },
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code, stdout, stderr: new TextDecoder().decode(stderr) };
  } finally {
    await Deno.remove(denoDir, { recursive: true });
  }
}

Deno.test({
  name: "a file the caller may not write is refused, as cp does; so is an unwritable directory",
  ignore: requireTools("setpriv").ignore,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.chmod(dir, 0o777); // nobody may write the directory...
      await Deno.writeTextFile(`${dir}/theirs.tar`, "someone else's archive");
      await Deno.chmod(`${dir}/theirs.tar`, 0o444); // ...but not root's read-only file
      const refused = await runAsNobody(dir, "export", "--store", STORE, "-o", "theirs.tar", HELLO);
      assert.equal(refused.code, 1);
      assert.equal(
        refused.stderr,
        "ocipack: Cannot write theirs.tar: the file is not writable (permission denied); it " +
          "was left as it is\n",
      );
      assert.equal(await Deno.readTextFile(`${dir}/theirs.tar`), "someone else's archive");
      await Deno.mkdir(`${dir}/locked`, { mode: 0o755 });
      const locked = await runAsNobody(
        dir,
        "export",
        "--store",
        STORE,
        "-o",
        "locked/x.tar",
        HELLO,
      );
      assert.equal(locked.code, 1);
      assert.equal(
        locked.stderr,
        "ocipack: Cannot write locked/x.tar: directory locked is not writable\n",
      );
      assert.deepEqual(await listDir(dir), ["locked", "theirs.tar"]);
      assert.deepEqual(await listDir(`${dir}/locked`), []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("--allow-write for the file alone says which permission to grant; the directory works", async () => {
  const dir = await Deno.makeTempDir();
  try {
    /** Exports hello to x.tar in `dir` with these permission flags. */
    const exportWith = async (...permissions: string[]) => {
      const args = ["run", ...permissions, "--no-lock", CLI, "export", "--store", STORE];
      const { code, stderr } = await new Deno.Command(Deno.execPath(), {
        args: [...args, "-o", "x.tar", HELLO],
        cwd: dir,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).output();
      return { code, stderr: new TextDecoder().decode(stderr) };
    };
    const fileOnly = await exportWith("-R", "--allow-write=x.tar");
    assert.equal(fileOnly.code, 1);
    assert.match(fileOnly.stderr, /^ocipack: Cannot write x\.tar: .*--allow-write=\.\n$/);
    assert.deepEqual(await listDir(dir), []);
    // The least-privilege form the README shows: write access to the output's directory.
    const works = await exportWith(`--allow-read=${STORE},.`, "--allow-write=.");
    assert.equal(works.code, 0, works.stderr);
    assert.deepEqual(await listDir(dir), ["x.tar"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("-o NAME.tar.gz and .tgz compress; --platform takes a comma-separated list", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const plain = await run("export", "--store", STORE, "--platform", "linux/arm64", MULTI);
    for (const name of ["a.tar.gz", "a.tgz"]) {
      const r = await run(
        "export",
        "--store",
        STORE,
        "--platform",
        "linux/ppc64le,linux/arm64",
        "-o",
        `${dir}/${name}`,
        MULTI,
      );
      assert.equal(r.code, 0, r.stderr);
      const gz = await Deno.readFile(`${dir}/${name}`);
      assert.deepEqual([...gz.subarray(0, 2)], [0x1f, 0x8b]);
      const unzipped = await new Response(
        ReadableStream.from([gz]).pipeThrough(new DecompressionStream("gzip")),
      ).bytes();
      // linux/ppc64le is not in the image: linux/arm64, the next one, gets manifest.json.
      assert.deepEqual(unzipped, plain.stdout);
    }
    const empty = await run("export", "--store", STORE, "--platform", "linux/amd64,", MULTI);
    assert.equal(empty.code, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const MULTI = "example.com/multi:1.0";
const PARTIAL = new URL("../testdata/partial/", import.meta.url).pathname;

Deno.test("messages that say what to do", async (t) => {
  await t.step("an unknown short name suggests the stored name with that last part", async () => {
    const r = await run("export", "--store", PARTIAL, "partial:1");
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      "ocipack: Image partial:1 not found in the store; did you mean example.com/partial:1?\n",
    );
  });
  await t.step("a unique digest prefix of 12+ hex digits selects an image", async () => {
    const list = JSON.parse(new TextDecoder().decode(
      (await run("list", "--store", STORE, "--json"))
        .stdout,
    )) as { name: string; digest: string }[];
    const hello = list.find((i) => i.name === HELLO)!;
    const byDigest = await run("export", "--store", STORE, hello.digest);
    const byPrefix = await run("export", "--store", STORE, hello.digest.slice(7, 19));
    assert.equal(byPrefix.code, 0, byPrefix.stderr);
    assert.deepEqual(byPrefix.stdout, byDigest.stdout);
    const short = await run("export", "--store", STORE, hello.digest.slice(7, 18));
    assert.equal(short.code, 1, "11 digits are not enough");
  });
  await t.step("no manifest for the platform names what was asked and what there is", async () => {
    const r = await run("export", "--store", STORE, "--platform", "linux/ppc64le", MULTI);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^ocipack: No manifest for platform linux\/ppc64le in index sha256:[0-9a-f]{64} of image example\.com\/multi:1\.0 \(it has linux\/amd64, .*linux\/arm64.*\)\n$/,
    );
  });
  await t.step(
    "missing content of other platforms suggests --platform or --skip-missing",
    async () => {
      const r = await run("export", "--store", PARTIAL, "--all-platforms", "example.com/partial:1");
      assert.equal(r.code, 1);
      assert.match(r.stderr, /not found; .*--platform.*--skip-missing/);
    },
  );
  await t.step(
    "--skip-missing leaves an incomplete image out of manifest.json, warning",
    async () => {
      const r = await run(
        "export",
        "--store",
        PARTIAL,
        "--skip-missing",
        "--platform",
        "linux/arm/v7",
        "example.com/partial:1",
      );
      // The only image asked for is incomplete: the warning, then no archive at all.
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /^ocipack: warning: example\.com\/partial:1 \(linux\/arm\/v7\) left out of manifest\.json: its layer sha256:[0-9a-f]{64} is not in the store\nocipack: Nothing to export that could be loaded/,
      );
      assert.equal(r.stdout.length, 0);
    },
  );
});

Deno.test({
  name: "the progress line fits a 40-column terminal",
  ignore: requireTools("script", "stty").ignore,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const args = [Deno.execPath(), "run", "-R", "-W", CLI, "export", "--store", STORE];
      const shown = await inTerminal(
        `stty cols 40; ${shellQuote([...args, "-o", `${dir}/a.tar`, HELLO])}`,
      );
      assert.equal(shown.code, 0, shown.output);
      // deno-lint-ignore no-control-regex
      const drawn = shown.output.split("\r").map((s) => s.replace(/\x1b\[K/g, ""));
      const progress = drawn.filter((s) => s !== "" && !s.startsWith("Exported"));
      assert.ok(progress.length > 0, JSON.stringify(shown.output));
      for (const line of progress) assert.ok(line.length < 40, JSON.stringify(line));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// A second pass as a new user: what a review of the first fixes found.

/** Copies the testdata store to `to`, less the file at `path` inside it (a blob, say). */
async function copyStoreWithout(to: string, path: string): Promise<void> {
  const copied = await new Deno.Command("cp", { args: ["-r", STORE, to] }).output();
  assert.equal(copied.code, 0);
  await Deno.remove(`${to}/${path}`);
}

Deno.test("--skip-missing: an absent requested manifest is warned about; nothing loadable fails", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A copy of the store without hello:oci's manifest.
    const list = JSON.parse(
      new TextDecoder().decode((await run("list", "--store", STORE, "--json")).stdout),
    ) as { name: string; digest: string }[];
    const hello = list.find((i) => i.name === HELLO)!.digest;
    await copyStoreWithout(`${dir}/store`, `blobs/sha256/${hello.slice(7)}`);
    const alone = await run(
      "export",
      "--store",
      `${dir}/store`,
      "--skip-missing",
      "-o",
      `${dir}/out.tar`,
      HELLO,
    );
    assert.equal(alone.code, 1);
    assert.equal(
      alone.stderr,
      `ocipack: warning: ${HELLO} left out of the archive: its manifest ${hello} is not in the ` +
        "store\nocipack: Nothing to export that could be loaded: the content of every image " +
        "asked for is incomplete in the store (see above)\n",
    );
    assert.deepEqual(await listDir(dir), ["store"]);
    // With an image that is whole, the archive holds that one, and the warning stays.
    const both = await run(
      "export",
      "--store",
      `${dir}/store`,
      "--skip-missing",
      HELLO,
      "docker.io/library/hello:docker",
    );
    assert.equal(both.code, 0, both.stderr);
    assert.match(both.stderr, /^ocipack: warning: docker\.io\/library\/hello:oci left out/);
    const index = JSON.parse(text(readTar(both.stdout), "index.json"));
    assert.deepEqual(
      index.manifests.map((m: { annotations: Record<string, string> }) =>
        m.annotations["io.containerd.image.name"]
      ),
      ["docker.io/library/hello:docker"],
    );
    // The only image incomplete (a platform without its layers): nothing loadable, exit 1.
    const partial = await run(
      "export",
      "--store",
      PARTIAL,
      "--skip-missing",
      "--platform",
      "linux/arm/v7",
      "example.com/partial:1",
    );
    assert.equal(partial.code, 1);
    assert.match(partial.stderr, /left out of manifest\.json.*\nocipack: Nothing to export/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "-o FIFO: an interrupt while waiting for a reader exits 130 at once",
  ignore: requireTools("mkfifo").ignore,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      assert.equal((await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output()).code, 0);
      const child = command(["export", "--store", STORE, "-o", `${dir}/fifo`, HELLO]).spawn();
      // The export is planned, then waits to open the FIFO; interrupt it there.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      child.kill("SIGINT");
      const { code } = await child.output();
      assert.equal(code, 130);
      assert.deepEqual(await listDir(dir), ["fifo"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("-o /dev/stdout is stdout; a long name still fits its temporary file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const plain = await run("export", "--store", STORE, HELLO);
    const viaDev = await run("export", "--store", STORE, "-o", "/dev/stdout", HELLO);
    assert.equal(viaDev.code, 0, viaDev.stderr);
    assert.deepEqual(viaDev.stdout, plain.stdout);
    const long = `${"x".repeat(245)}.tar`; // 249 bytes: the temporary name must be shortened
    const r = await run("export", "--store", STORE, "-o", `${dir}/${long}`, HELLO);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await Deno.readFile(`${dir}/${long}`), plain.stdout);
    assert.deepEqual(await listDir(dir), [long]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every missing permission for -o is named in one line, before anything is read", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const withOutput = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        `--allow-read=${STORE}`,
        "--no-lock",
        CLI,
        "export",
        "--store",
        STORE,
        "-o",
        "x.tar",
        HELLO,
      ],
      cwd: dir,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(withOutput.code, 1);
    assert.match(
      new TextDecoder().decode(withOutput.stderr),
      /^ocipack: Cannot write x\.tar: .*: --allow-read=x\.tar --allow-write=\.\n$/,
    );
    assert.deepEqual(await listDir(dir), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "a file of another user in a sticky directory is refused before the export",
  ignore: requireTools("setpriv").ignore,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.chmod(dir, 0o1777); // like /tmp
      await Deno.writeTextFile(`${dir}/shared.tar`, "root's archive");
      await Deno.chmod(`${dir}/shared.tar`, 0o666); // writable, but not nobody's to replace
      const r = await runAsNobody(dir, "export", "--store", STORE, "-o", "shared.tar", HELLO);
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        "ocipack: Cannot write shared.tar: it belongs to another user in a sticky directory " +
          "(.), where only its owner may replace it\n",
      );
      assert.equal(await Deno.readTextFile(`${dir}/shared.tar`), "root's archive");
      assert.deepEqual(await listDir(dir), ["shared.tar"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("a missing layer of a single-platform image gets no --platform hint", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const records = readTar((await run("export", "--store", STORE, HELLO)).stdout);
    const manifest = JSON.parse(text(records, "manifest.json"))[0] as { Layers: string[] };
    await copyStoreWithout(`${dir}/store`, manifest.Layers[0]);
    const r = await run("export", "--store", `${dir}/store`, HELLO);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ocipack: Layer sha256:[0-9a-f]{64} of image .* not found\n$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
