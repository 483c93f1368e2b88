/**
 * import and verify: round trips through an empty store for every exportable case, Docker-format
 * archives in each layout, names as ctr gives them, and the store left as it was on any error.
 */
import assert from "node:assert/strict";
import { gzipSync, zstdCompressSync } from "node:zlib";
import {
  defaultStrict,
  type Descriptor,
  exportArchive,
  importArchive,
  InvalidArchiveError,
  type ManifestRequest,
  openLayout,
  ordered,
  parsePlatform,
  type PlatformMatcher,
  verifyArchive,
} from "../mod.ts";
import { resolveImage } from "../lib/cli/images.ts";
import { caseImages, CASES, collect, layoutCaseExport, TESTDATA } from "./support/differential.ts";
import { dockerArchive, sourceImage } from "./support/docker_archive.ts";
import { listing } from "./support/store_listing.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ocipack-import-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function stream(bytes: Uint8Array, chunk = 8192): ReadableStream<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += chunk) chunks.push(bytes.slice(i, i + chunk));
  return ReadableStream.from(chunks);
}

/** The import platform that selects what an export with these flags holds. */
function importPlatform(flags: readonly string[]): PlatformMatcher | "all" {
  if (flags.includes("--all-platforms")) return "all";
  const platforms: string[] = [];
  for (let i = 0; i < flags.length; i++) if (flags[i] === "--platform") platforms.push(flags[++i]);
  return platforms.length > 0 ? ordered(...platforms.map(parsePlatform)) : defaultStrict();
}

Deno.test("import: every case round-trips through an empty store to the same bytes", async () => {
  await withTempDir(async (dir) => {
    const layout = await openLayout(`${TESTDATA}store`);
    const hello = (await layout.getImage("docker.io/library/hello:oci")).target.digest;
    let checked = 0;
    for (const [i, c] of CASES.entries()) {
      if (c.expect !== undefined || c.store !== undefined) continue;
      const names = caseImages(c, hello);
      const exported = await layoutCaseExport(layout, c, hello);
      if (exported === undefined) continue; // a name only the ctr differential creates
      const { manifests: _, ...options } = exported;
      const first = await collect(exportArchive(layout, exported));
      const store = `${dir}/store-${i}`;
      // The exporter filters platforms only among a requested index's own children, while an
      // import (as ctr's) filters at every level: a nested index comes back whole with "all".
      const platform = names.includes("example.com/nested:1")
        ? "all"
        : importPlatform(c.flags ?? []);
      const result = await importArchive(stream(first), store, { platform });
      const verified = await verifyArchive(stream(first), { platform });
      assert.equal(verified.blobs, result.newBlobs, c.name);
      const imported = await openLayout(store);
      const again: ManifestRequest[] = [];
      for (const name of names) again.push(await resolveImage(imported, name));
      const second = await collect(exportArchive(imported, { ...options, manifests: again }));
      assert.deepEqual(second, first, c.name);
      // gzip and zstd archives import to the same store.
      for (const packed of [gzipSync(first), zstdCompressSync(first)]) {
        const other = `${dir}/packed-${i}`;
        await importArchive(stream(new Uint8Array(packed)), other, { platform });
        assert.deepEqual(await listing(other), await listing(store), c.name);
        await Deno.remove(other, { recursive: true });
      }
      checked++;
    }
    assert(checked >= 20, `${checked} cases`);
  });
});

Deno.test("import: Docker formats synthesize the same image, layers kept as they are", async () => {
  await withTempDir(async (dir) => {
    const hello = await sourceImage();
    const changed = {
      ...hello,
      config: new TextEncoder().encode(
        new TextDecoder().decode(hello.config).replace("layer 0", "layer zero"),
      ),
    };
    const images = [
      { image: hello, repoTags: ["hello:1", "example.com/team/hello:2"] },
      { image: changed, repoTags: ["hello:changed"] },
    ];
    const digests: Record<string, string[]> = {};
    for (const style of ["docker24", "podman", "crane-gz"] as const) {
      const archive = dockerArchive(images, style);
      const store = `${dir}/${style}`;
      const result = await importArchive(stream(archive), store);
      assert.equal(result.format, "docker");
      assert.deepEqual(result.images.map((i) => i.name), [
        "docker.io/library/hello:1",
        "example.com/team/hello:2",
        "docker.io/library/hello:changed",
      ]);
      digests[style] = result.images.map((i) => i.target.digest);
      const verified = await verifyArchive(stream(archive));
      assert.deepEqual(verified.images.map((i) => i.target.digest), digests[style]);
      assert.deepEqual(verified.images[0].platforms, ["linux/amd64"]);
      const layout = await openLayout(store);
      const { target } = await layout.getImage("docker.io/library/hello:1");
      assert.equal(target.mediaType, "application/vnd.docker.distribution.manifest.v2+json");
      const manifest = await new Response((await layout.open(target)).stream).json();
      assert.equal(
        manifest.layers[0].mediaType,
        style === "crane-gz"
          ? "application/vnd.docker.image.rootfs.diff.tar.gzip"
          : "application/vnd.docker.image.rootfs.diff.tar",
      );
      // Only the images' blobs are stored: no <id>/json, VERSION or repositories.
      const blobs = (await listing(store)).filter((l) => /^blobs\/sha256\/[0-9a-f]{64} /.test(l));
      assert.equal(blobs.length, 2 + 2 + 2, style); // 2 manifests, 2 configs, 2 shared layers
      await exportArchive(layout, { images: ["docker.io/library/hello:changed"] })
        .pipeTo(new WritableStream());
    }
    // Uncompressed layers in either layout give the same manifests.
    assert.deepEqual(digests.docker24, digests.podman);
    assert.notDeepEqual(digests.docker24, digests["crane-gz"]);
  });
});

Deno.test("import: names as ctr gives them, a name moves, --index-name and --digests", async () => {
  await withTempDir(async (dir) => {
    const layout = await openLayout(`${TESTDATA}store`);
    const helloOci = (await layout.getImage("docker.io/library/hello:oci")).target;
    const helloDocker = (await layout.getImage("docker.io/library/hello:docker")).target;
    // An archive whose entries carry only ref.name: a bare tag and a full name.
    const archive = await collect(exportArchive(layout, {
      manifests: [
        { descriptor: helloOci, names: ["docker.io/library/hello:oci"] },
        { descriptor: helloDocker, names: ["docker.io/library/hello:docker"] },
      ],
    }));
    const store = `${dir}/s`;
    const now = new Date(2026, 11, 4);
    let result = await importArchive(
      stream(archive),
      store,
      { digests: true, indexName: "idx:1", now },
    );
    assert.deepEqual(result.images.map((i) => i.name), [
      "idx:1",
      "docker.io/library/hello:oci",
      `import-2026-12-04@${helloOci.digest}`,
      "docker.io/library/hello:docker",
      `import-2026-12-04@${helloDocker.digest}`,
    ]);
    // The name moves to the image of a later import.
    const moved = await collect(exportArchive(layout, {
      manifests: [{ descriptor: helloDocker, names: ["docker.io/library/hello:oci"] }],
    }));
    result = await importArchive(stream(moved), store);
    assert.equal(result.newBlobs, 0);
    const after = await openLayout(store);
    assert.equal(
      (await after.getImage("docker.io/library/hello:oci")).target.digest,
      helloDocker.digest,
    );
    assert.equal((await after.listImages()).length, 5);
    // --base-name keeps only names under it (io.containerd.image.name always, as ctr).
    const kept = await importArchive(stream(archive), `${dir}/t`, { baseName: "example.com/x" });
    assert.deepEqual(kept.images.map((i) => i.name), [
      "docker.io/library/hello:oci",
      "docker.io/library/hello:docker",
    ]);
  });
});

Deno.test("import: two imports into one store at once lose no names", async () => {
  await withTempDir(async (dir) => {
    const layout = await openLayout(`${TESTDATA}store`);
    const archives = await Promise.all(
      ["docker.io/library/hello:oci", "docker.io/library/hello:docker", "example.com/multi:1.0"]
        .map((name) => collect(exportArchive(layout, { images: [name] }))),
    );
    await Promise.all(archives.map((a) => importArchive(stream(a, 512), `${dir}/s`)));
    const names = (await (await openLayout(`${dir}/s`)).listImages()).map((i) => i.name).sort();
    assert.deepEqual(names, [
      "docker.io/library/hello:docker",
      "docker.io/library/hello:oci",
      "example.com/multi:1.0",
    ]);
    assert.deepEqual(
      (await listing(`${dir}/s`)).filter((l) => l.startsWith(".") || l.includes("lock")),
      [],
    );
  });
});

Deno.test("import: an abort leaves the store as it was", async () => {
  await withTempDir(async (dir) => {
    const layout = await openLayout(`${TESTDATA}store`);
    const archive = await collect(
      exportArchive(layout, { images: ["docker.io/library/hello:oci"] }),
    );
    await importArchive(stream(archive), `${dir}/s`);
    const before = await listing(`${dir}/s`);
    const other = await collect(exportArchive(layout, { images: ["example.com/multi:1.0"] }));
    const controller = new AbortController();
    let sent = 0;
    const slow = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= other.length) return c.close();
        c.enqueue(other.slice(sent, sent + 1024));
        sent += 1024;
        if (sent > other.length / 2) controller.abort(new Error("stop"));
      },
    });
    await assert.rejects(importArchive(slow, `${dir}/s`, { signal: controller.signal }), /stop/);
    assert.deepEqual(await listing(`${dir}/s`), before);
  });
});

Deno.test("import: an error into a new store leaves no directory", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(
      importArchive(stream(new Uint8Array(1024)), `${dir}/new`),
      InvalidArchiveError,
    );
    await assert.rejects(Deno.stat(`${dir}/new`), Deno.errors.NotFound);
  });
});

Deno.test("import: the staging and lock of an import that died are cleared by the next", async () => {
  await withTempDir(async (dir) => {
    const layout = await openLayout(`${TESTDATA}store`);
    const archive = await collect(
      exportArchive(layout, { images: ["docker.io/library/hello:oci"] }),
    );
    // A process that has exited: its id is free.
    const dead = new Deno.Command("true").spawn();
    await dead.status;
    await Deno.mkdir(`${dir}/s/.ocipack-staging-dead`, { recursive: true });
    await Deno.writeTextFile(`${dir}/s/.ocipack-staging-dead/owner.pid`, String(dead.pid));
    await Deno.writeTextFile(`${dir}/s/.ocipack-staging-dead/part-0`, "half a blob");
    await Deno.writeTextFile(`${dir}/s/index.json.lock`, String(dead.pid));
    await importArchive(stream(archive), `${dir}/s`);
    const left = (await listing(`${dir}/s`)).filter((l) => l.startsWith(".") || l.includes("lock"));
    assert.deepEqual(left, []);
  });
});

Deno.test("import: only what a name reaches is stored; an archive naming nothing needs --digests", async () => {
  await withTempDir(async (dir) => {
    const layout = await openLayout(`${TESTDATA}store`);
    // Bare descriptors: the store's index.json entries carry name annotations.
    const bare = ({ mediaType, digest, size }: Descriptor) => ({ mediaType, digest, size });
    const hello = bare((await layout.getImage("docker.io/library/hello:oci")).target);
    const docker = bare((await layout.getImage("docker.io/library/hello:docker")).target);
    const unnamed = await collect(exportArchive(layout, { manifests: [{ descriptor: hello }] }));
    await assert.rejects(
      importArchive(stream(unnamed), `${dir}/a`),
      /names no image: name its images with --digests/,
    );
    await assert.rejects(Deno.stat(`${dir}/a`), Deno.errors.NotFound);
    const byDigest = await importArchive(stream(unnamed), `${dir}/a`, {
      digests: true,
      baseName: "example.com/x",
    });
    assert.deepEqual(byDigest.images.map((i) => i.name), [`example.com/x@${hello.digest}`]);
    // One entry named, one not: only the named one's blobs are stored.
    const mixed = await collect(exportArchive(layout, {
      manifests: [{ descriptor: hello, names: ["example.com/named:1"] }, { descriptor: docker }],
    }));
    const result = await importArchive(stream(mixed), `${dir}/b`);
    assert.deepEqual(result.images.map((i) => i.name), ["example.com/named:1"]);
    const blobs = (await listing(`${dir}/b`)).filter((l) =>
      /^blobs\/sha256\/[0-9a-f]{64} /.test(l)
    );
    assert.equal(blobs.length, 4); // hello's manifest, config and two layers; nothing of the other
  });
});
