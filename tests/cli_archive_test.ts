/**
 * The archive commands of the command line, run as subprocesses with only -R and -W: `verify`
 * (file and stdin), `import` (and its refusal, leaving the store as it was), and an archive file
 * as `--store` of `list` and `export`.
 */
import assert from "node:assert/strict";
import { listing } from "./support/store_listing.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;
const STORE = new URL("../testdata/store/", import.meta.url).pathname;
const MULTI = "example.com/multi:1.0";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(args: string[], stdin?: Uint8Array): Promise<Run> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-R", "-W", "--no-lock", CLI, ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(stdin);
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ocipack-cli-archive-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("cli: verify, import, and an archive as --store", async () => {
  await withTempDir(async (dir) => {
    const all = `${dir}/all.tar`;
    let r = await run(["export", "-q", "--store", STORE, "--all-platforms", "-o", all, MULTI]);
    assert.equal(r.code, 0, r.stderr);

    r = await run(["verify", "--all-platforms", all]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /: OCI layout, 1 image, \d+ blobs checked, .*: OK\n/);
    assert.match(r.stdout, /example\.com\/multi:1\.0 +sha256:[0-9a-f]{64} +linux\/amd64,/);

    r = await run(["verify", "--all-platforms", "--json", "-"], await Deno.readFile(all));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).images[0].name, MULTI);

    r = await run(["list", "--store", all]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^REF +TYPE/);
    assert.match(
      r.stdout,
      /example\.com\/multi:1\.0 +application\/vnd\.oci\.image\.index\.v1\+json/,
    );

    // Re-export one platform out of the archive: the same as from the store it came from.
    r = await run([
      "export",
      "-q",
      "--store",
      all,
      "--platform",
      "linux/arm64",
      "-o",
      `${dir}/a.tar`,
      MULTI,
    ]);
    assert.equal(r.code, 0, r.stderr);
    r = await run([
      "export",
      "-q",
      "--store",
      STORE,
      "--platform",
      "linux/arm64",
      "-o",
      `${dir}/b.tar`,
      MULTI,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await Deno.readFile(`${dir}/a.tar`), await Deno.readFile(`${dir}/b.tar`));

    const store = `${dir}/store`;
    r = await run(["import", "--store", store, "--all-platforms", all]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Imported 1 name into .*: \d+ new blobs, 0 already present, /);
    r = await run(
      ["import", "--store", store, "--platform", "linux/arm64", "-"],
      await Deno.readFile(`${dir}/a.tar`),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Imported 1 name into .*: 0 new blobs, \d+ already present/);

    // A damaged archive: exit 1, the entry named, the store as it was.
    const before = await listing(store);
    const damaged = await Deno.readFile(all);
    damaged[1536 + 5] ^= 1; // in the body of the first blob (after blobs/ and blobs/sha256/)
    await Deno.writeFile(`${dir}/damaged.tar`, damaged);
    for (
      const args of [["verify", `${dir}/damaged.tar`], [
        "import",
        "--store",
        store,
        `${dir}/damaged.tar`,
      ]]
    ) {
      r = await run(args);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^ocipack: .*(Entry|entry|blobs\/)/);
    }
    assert.deepEqual(await listing(store), before);

    // Usage errors: exit 2 with the command's help named.
    r = await run(["import", all]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /missing --store DIR\nTry 'ocipack import --help'/);
    r = await run(["verify"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Try 'ocipack verify --help'/);
    r = await run(["verify", "--platform", "linux/*", all]);
    assert.equal(r.code, 2);
    r = await run(["import", "--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: ocipack import --store DIR/);
  });
});

Deno.test("cli: import interrupted by SIGINT exits 130 and leaves the store as it was", async () => {
  await withTempDir(async (dir) => {
    const all = `${dir}/all.tar`;
    let r = await run(["export", "-q", "--store", STORE, "--all-platforms", "-o", all, MULTI]);
    assert.equal(r.code, 0, r.stderr);
    r = await run([
      "import",
      "--store",
      `${dir}/store`,
      `${dir}/all.tar`,
      "--platform",
      "linux/arm64",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const before = await listing(`${dir}/store`);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-R",
        "-W",
        "--no-lock",
        CLI,
        "import",
        "--store",
        `${dir}/store`,
        "--all-platforms",
        "-",
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    const bytes = await Deno.readFile(all);
    await writer.write(bytes.subarray(0, bytes.length / 2)); // and then nothing more
    // Wait until the import has staged something, then interrupt it.
    while (
      !(await Array.fromAsync(Deno.readDir(`${dir}/store`))).some((e) =>
        e.name.startsWith(".ocipack-staging-")
      )
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    child.kill("SIGINT");
    const { code } = await child.output();
    await writer.close().catch(() => {});
    assert.equal(code, 130);
    assert.deepEqual(await listing(`${dir}/store`), before);
  });
});
