/**
 * The command line on a containerd root (testdata/containerd, written by containerd): listing
 * namespaces and images, exporting by name with `-n`, and the mistakes a user makes (a missing
 * namespace, `-n` with a layout, the content directory instead of the root).
 */
import assert from "node:assert/strict";
import { readTar } from "./support/tar_reader.ts";
import { exportArchive, openContainerd } from "../mod.ts";
import { collect } from "./support/differential.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;
const ROOT = new URL("../testdata/containerd", import.meta.url).pathname;
const CONTENT = `${ROOT}/io.containerd.content.v1.content`;
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

async function run(
  ...args: string[]
): Promise<{ code: number; stdout: Uint8Array; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-R", "-W", "--no-lock", CLI, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code, stdout, stderr: new TextDecoder().decode(stderr) };
}

Deno.test("list on a containerd root without -n lists its namespaces", async () => {
  const table = await run("list", "--store", ROOT);
  assert.equal(table.code, 0, table.stderr);
  assert.equal(text(table.stdout), "NAMESPACE IMAGES\ndefault   2\nmoby      1\n");
  const json = await run("list", "--store", `${ROOT}/`, "--json");
  assert.deepEqual(JSON.parse(text(json.stdout)), [
    { name: "default", images: 2 },
    { name: "moby", images: 1 },
  ]);
});

Deno.test("list -n NAMESPACE lists its images", async () => {
  const r = await run("list", "-s", ROOT, "-n", "moby", "--json");
  assert.equal(r.code, 0, r.stderr);
  const images = JSON.parse(text(r.stdout));
  assert.deepEqual(images.map((i: { name: string }) => i.name), ["docker.io/library/hello:oci"]);
  const table = await run("list", "--store", ROOT, "--namespace", "default");
  assert.match(
    text(table.stdout),
    /^REF .*\ndocker\.io\/library\/hello:docker .*\ndocker\.io\/library\/hello:oci /,
  );
});

Deno.test("export by short name from a containerd root, with its source labels", async () => {
  const r = await run("export", "--store", ROOT, "hello:oci");
  assert.equal(r.code, 0, r.stderr);
  const index = JSON.parse(text(readTar(r.stdout).find((e) => e.name === "index.json")!.body));
  assert.deepEqual(index.manifests[0].annotations, {
    "containerd.io/distribution.source.registry.example": "library/hello",
    "io.containerd.image.name": "docker.io/library/hello:oci",
    "org.opencontainers.image.ref.name": "oci",
  });
  const store = await openContainerd(ROOT);
  const library = await collect(exportArchive(store, { images: ["docker.io/library/hello:oci"] }));
  assert.deepEqual(r.stdout, library);
  // The same image in namespace moby carries no label.
  const moby = await run("export", "--store", ROOT, "-n", "moby", "docker.io/library/hello:oci");
  const mobyIndex = text(readTar(moby.stdout).find((e) => e.name === "index.json")!.body);
  assert.doesNotMatch(mobyIndex, /distribution\.source/);
});

Deno.test("containerd root mistakes: a missing namespace, -n with a layout, the content directory", async () => {
  const missing = await run("export", "--store", ROOT, "-n", "k8s.io", "hello:oci");
  assert.equal(missing.code, 1);
  assert.equal(
    missing.stderr,
    `ocipack: Namespace k8s.io not found in ${ROOT}: it has default (2 images), moby (1 image)\n`,
  );
  const notRoot = await run("list", "--store", "testdata/store", "-n", "default");
  assert.equal(notRoot.code, 1);
  assert.match(notRoot.stderr, /--namespace needs a containerd root/);
  const content = await run("list", "--store", CONTENT);
  assert.equal(content.code, 0);
  assert.match(content.stderr, new RegExp(`its root has them: --store ${ROOT} `));
  const absent = await run("export", "--store", ROOT, "-n", "moby", "hello:docker");
  assert.equal(absent.code, 1);
  assert.match(absent.stderr, /hello:docker not found/);
});

Deno.test("a damaged meta.db: one line naming the file, exit 1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = `${dir}/io.containerd.metadata.v1.bolt/meta.db`;
    await Deno.mkdir(`${dir}/io.containerd.metadata.v1.bolt`);
    await Deno.mkdir(`${dir}/io.containerd.content.v1.content/blobs`, { recursive: true });
    const bytes = await Deno.readFile(`${ROOT}/io.containerd.metadata.v1.bolt/meta.db`);
    await Deno.writeFile(db, bytes.subarray(0, bytes.length / 2));
    const truncated = await run("list", "--store", dir);
    assert.equal(truncated.code, 1);
    assert.equal(truncated.stderr.split("\n").length, 2);
    assert.match(
      truncated.stderr,
      new RegExp(`^ocipack: Invalid bbolt file ${db}: it is truncated`),
    );
    await Deno.writeFile(db, new TextEncoder().encode("not a database\n".repeat(1000)));
    const garbage = await run("export", "--store", dir, "hello:oci");
    assert.equal(garbage.code, 1);
    assert.match(
      garbage.stderr,
      /^ocipack: Invalid bbolt file .*meta\.db: no valid meta page \(bad magic/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
