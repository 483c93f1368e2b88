/**
 * The command line, run as a subprocess: output to stdout and to files, gzip, terminals, signals,
 * full disks, closed pipes, usage errors, `list`.
 */
import assert from "node:assert/strict";
import denoJson from "../deno.json" with { type: "json" };
import { makeBigStore } from "./support/big_store.ts";
import { toolsAvailable } from "./support/containerd.ts";
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
    assert.match(fileStore.stderr, /^ocipack: Store .*keep\.tar is not a directory \(/);
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
