/**
 * Export tests over the testdata stores: what goes into an archive for each kind of image and
 * option, and how the stream behaves (pull-driven, backpressure, cancel, BYOB readers).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  type ContentProvider,
  type Descriptor,
  exportArchive,
  type ExportOptions,
  type ExportProgress,
  InvalidArgumentError,
  InvalidDocumentError,
  NotFoundError,
  openLayout,
  prepareExport,
} from "../mod.ts";
import { entry, readTar, type TarRecord, text } from "./support/tar_reader.ts";

const STORE = new URL("../testdata/store/", import.meta.url);
const PARTIAL = new URL("../testdata/partial/", import.meta.url);

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function archive(options: ExportOptions, store: URL = STORE): Promise<TarRecord[]> {
  const records = readTar(await collect(exportArchive(await openLayout(store), options)));
  // Every blob in the archive is what its name says.
  for (const r of records) {
    if (r.typeflag !== "0" || !r.name.startsWith("blobs/")) continue;
    const [, algorithm, hex] = r.name.split("/");
    assert.equal(createHash(algorithm).update(r.body).digest("hex"), hex, r.name);
  }
  return records;
}

function names(records: readonly TarRecord[]): string[] {
  return records.map((r) => r.name);
}

function dockerManifest(records: readonly TarRecord[]) {
  return JSON.parse(text(records, "manifest.json")) as {
    Config: string;
    RepoTags: string[] | null;
    Layers: string[] | null;
  }[];
}

async function target(name: string, store: URL = STORE): Promise<Descriptor> {
  return (await (await openLayout(store)).getImage(name)).target;
}

async function blob(digest: string, store: URL = STORE): Promise<unknown> {
  const path = new URL(`blobs/sha256/${digest.slice(7)}`, store);
  return JSON.parse(await Deno.readTextFile(path));
}

function path(digest: string): string {
  return `blobs/sha256/${digest.slice(7)}`;
}

Deno.test("an OCI image: layout, index, manifest.json and its blobs, in name order", async () => {
  const hello = await target("docker.io/library/hello:oci");
  const manifest = await blob(hello.digest) as { config: Descriptor; layers: Descriptor[] };
  const records = await archive({ images: ["docker.io/library/hello:oci"] });
  const blobs = [hello, manifest.config, ...manifest.layers].map((d) => path(d.digest)).sort();
  assert.deepEqual(names(records), [
    "blobs/",
    "blobs/sha256/",
    ...blobs,
    "index.json",
    "manifest.json",
    "oci-layout",
  ]);
  assert.equal(text(records, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  assert.equal(entry(records, "oci-layout").mode, 0o444);
  assert.equal(entry(records, "index.json").mode, 0o644);
  assert.equal(entry(records, "blobs/").typeflag, "5");
  assert.equal(
    text(records, "index.json"),
    `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[` +
      `{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"${hello.digest}",` +
      `"size":${hello.size},"annotations":{"io.containerd.image.name":` +
      `"docker.io/library/hello:oci","org.opencontainers.image.ref.name":"oci"}}]}`,
  );
  assert.deepEqual(dockerManifest(records), [{
    Config: path(manifest.config.digest),
    RepoTags: ["hello:oci"],
    Layers: manifest.layers.map((l) => path(l.digest)),
  }]);
});

Deno.test("the same input gives the same bytes on every run", async () => {
  const options: ExportOptions = {
    images: ["example.com/multi:1.0", "docker.io/library/hello:docker", "example.com/nested:1"],
    platform: ["linux/arm/v7", "linux/amd64"],
  };
  const store = await openLayout(STORE);
  const first = await collect(exportArchive(store, options));
  const second = await collect(exportArchive(await openLayout(STORE), options));
  assert.deepEqual(first, second);
});

Deno.test("a multi-platform index picks the platform's manifest for manifest.json", async (t) => {
  const multi = await target("example.com/multi:1.0");
  const index = await blob(multi.digest) as { manifests: Descriptor[] };
  const byPlatform = (arch: string, variant?: string) =>
    index.manifests.find((m) =>
      m.platform?.architecture === arch && (variant === undefined || m.platform.variant === variant)
    )!;
  const cases: [string | string[], Descriptor][] = [
    ["linux/386", byPlatform("386")],
    ["linux/amd64", byPlatform("amd64")],
    ["linux/arm64/v8", byPlatform("arm64")],
    ["linux/arm64", byPlatform("arm64")],
    ["linux/arm", byPlatform("arm", "v7")],
    ["linux/arm/v6", byPlatform("arm", "v6")],
    [["linux/s390x", "linux/arm/v6", "linux/386"], byPlatform("arm", "v6")],
  ];
  for (const [platform, expected] of cases) {
    await t.step(String(platform), async () => {
      const records = await archive({ images: ["example.com/multi:1.0"], platform });
      const manifest = await blob(expected.digest) as { config: Descriptor };
      const [only] = dockerManifest(records);
      assert.equal(only.Config, path(manifest.config.digest));
      assert.deepEqual(only.RepoTags, ["example.com/multi:1.0"]);
      // Only the matching platforms' blobs (and the index) are in.
      const wanted = [platform].flat().map((p) => p.split("/")[1]);
      const other = index.manifests.filter((m) => !wanted.includes(m.platform!.architecture));
      for (const m of other) assert.ok(!names(records).includes(path(m.digest)));
      assert.ok(names(records).includes(path(multi.digest)));
    });
  }
});

Deno.test("all platforms: every child's blobs go in, the platform still picks the entry", async () => {
  const multi = await target("example.com/multi:1.0");
  const index = await blob(multi.digest) as { manifests: Descriptor[] };
  const records = await archive({
    images: ["example.com/multi:1.0"],
    platform: "linux/386",
    allPlatforms: true,
  });
  for (const m of index.manifests) assert.ok(names(records).includes(path(m.digest)), m.digest);
  const i386 = index.manifests.find((m) => m.platform?.architecture === "386")!;
  const config = (await blob(i386.digest) as { config: Descriptor }).config;
  assert.equal(dockerManifest(records)[0].Config, path(config.digest));
});

Deno.test("without a platform an index goes in whole and gets no manifest.json entry", async () => {
  const records = await archive({ images: ["example.com/multi:1.0"] });
  assert.ok(!names(records).includes("manifest.json"));
  const index = await blob((await target("example.com/multi:1.0")).digest) as {
    manifests: Descriptor[];
  };
  for (const m of index.manifests) assert.ok(names(records).includes(path(m.digest)));
});

Deno.test("no manifest for the platform is a NotFoundError naming the image", async () => {
  const store = await openLayout(STORE);
  await assert.rejects(
    collect(exportArchive(store, { images: ["example.com/multi:1.0"], platform: "linux/s390x" })),
    (error: Error) =>
      error instanceof NotFoundError && /platform/.test(error.message) &&
      error.message.includes("example.com/multi:1.0"),
  );
});

Deno.test("several names on one manifest: one blob set, all names in RepoTags", async () => {
  const records = await archive({
    images: [
      "docker.io/library/hello:oci",
      "docker.io/library/hello:latest",
      "localhost:5000/team/hello:v1",
    ],
  });
  const entries = dockerManifest(records);
  assert.equal(entries.length, 1);
  assert.deepEqual(entries[0].RepoTags, [
    "hello:oci",
    "hello:latest",
    "localhost:5000/team/hello:v1",
  ]);
  const index = JSON.parse(text(records, "index.json")) as { manifests: Descriptor[] };
  assert.deepEqual(
    index.manifests.map((m) => m.annotations!["org.opencontainers.image.ref.name"]),
    ["oci", "latest", "v1"],
  );
});

Deno.test("layers shared between images are written once", async () => {
  const records = await archive({
    images: ["docker.io/library/hello:oci", "example.com/multi:1.0"],
    platform: "linux/amd64",
    allPlatforms: true,
  });
  const blobs = names(records).filter((n) => n.startsWith("blobs/sha256/") && n.length > 14);
  assert.equal(new Set(blobs).size, blobs.length);
  const layers = dockerManifest(records).flatMap((e) => e.Layers ?? []);
  assert.ok(layers.length > new Set(layers).size, "the test needs a shared layer");
});

Deno.test("manifest.json lists images in the order they were first requested", async () => {
  const records = await archive({
    images: [
      "docker.io/library/hello:docker",
      "example.com/multi:1.0",
      "docker.io/library/hello:oci",
    ],
    platform: "linux/amd64",
  });
  assert.deepEqual(dockerManifest(records).map((e) => e.RepoTags), [
    ["hello:docker"],
    ["example.com/multi:1.0"],
    ["hello:oci"],
  ]);
});

Deno.test("non-distributable layers: kept by default, left out of blobs/ on request", async () => {
  const restricted = await target("example.com/restricted:1");
  const manifest = await blob(restricted.digest) as { layers: Descriptor[] };
  const nondist = manifest.layers.find((l) => l.mediaType.includes("nondistributable"))!;
  const all = await archive({ images: ["example.com/restricted:1"] });
  assert.ok(names(all).includes(path(nondist.digest)));
  const skipped = await archive({
    images: ["example.com/restricted:1"],
    skipNonDistributable: true,
  });
  assert.ok(!names(skipped).includes(path(nondist.digest)));
  assert.ok(dockerManifest(skipped)[0].Layers!.includes(path(nondist.digest)));
});

Deno.test("a foreign layer that is not stored: an error unless skipped", async () => {
  const store = await openLayout(STORE);
  await assert.rejects(
    collect(exportArchive(store, { images: ["example.com/windows:ltsc2022"] })),
    (error: Error) =>
      error instanceof NotFoundError &&
      /^Layer sha256:[0-9a-f]{64} of image example\.com\/windows:ltsc2022 not found$/
        .test(error.message),
  );
  const records = await archive({
    images: ["example.com/windows:ltsc2022"],
    skipNonDistributable: true,
  });
  assert.equal(dockerManifest(records)[0].Layers!.length, 2);
});

Deno.test("a blob filter leaves blobs out but not out of the manifests", async () => {
  const records = await archive({
    images: ["docker.io/library/hello:oci"],
    blobFilter: (d) => !d.mediaType.includes("layer"),
  });
  const layers = dockerManifest(records)[0].Layers!;
  for (const layer of layers) assert.ok(!names(records).includes(layer));
  assert.ok(names(records).includes(dockerManifest(records)[0].Config));
});

Deno.test("a nested index: the inner index's children go in whole", async () => {
  const nested = await target("example.com/nested:1");
  const multi = await target("example.com/multi:1.0");
  const inner = await blob(multi.digest) as { manifests: Descriptor[] };
  const records = await archive({ images: ["example.com/nested:1"], platform: "linux/amd64" });
  for (const m of inner.manifests) assert.ok(names(records).includes(path(m.digest)));
  assert.ok(names(records).includes(path(nested.digest)));
  assert.equal(dockerManifest(records).length, 1);
});

Deno.test("manifests by descriptor, with and without names", async () => {
  const hello = await target("docker.io/library/hello:oci");
  const descriptor = { mediaType: hello.mediaType, digest: hello.digest, size: hello.size };
  const unnamed = await archive({ manifests: [{ descriptor }] });
  assert.equal(
    text(unnamed, "index.json"),
    `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[` +
      `{"mediaType":"${hello.mediaType}","digest":"${hello.digest}","size":${hello.size}}]}`,
  );
  assert.equal(dockerManifest(unnamed)[0].RepoTags, null);
  const named = await archive({ manifests: [{ descriptor, names: ["a.io/x:1", "a.io/x:2"] }] });
  assert.deepEqual(dockerManifest(named)[0].RepoTags, ["a.io/x:1", "a.io/x:2"]);
});

Deno.test("a digest-only name stays in index.json but not in RepoTags", async () => {
  const hello = await target("docker.io/library/hello:oci");
  const name = `docker.io/library/hello@${hello.digest}`;
  const records = await archive({ manifests: [{ descriptor: hello, names: [name] }] });
  const index = JSON.parse(text(records, "index.json")) as { manifests: Descriptor[] };
  assert.equal(index.manifests[0].annotations!["io.containerd.image.name"], name);
  assert.equal(index.manifests[0].annotations!["org.opencontainers.image.ref.name"], name);
  assert.equal(dockerManifest(records)[0].RepoTags, null);
});

Deno.test("a partial store: skipMissing keeps the index and what is present", async () => {
  const partial = await target("example.com/partial:1", PARTIAL);
  const index = await blob(partial.digest, PARTIAL) as { manifests: Descriptor[] };
  const [amd64, arm64, armv7] = index.manifests;
  const store = await openLayout(PARTIAL);
  await assert.rejects(
    collect(
      exportArchive(store, {
        images: ["example.com/partial:1"],
        allPlatforms: true,
        platform: "linux/amd64",
      }),
    ),
    NotFoundError,
  );
  const records = await archive({
    images: ["example.com/partial:1"],
    platform: "linux/amd64",
    allPlatforms: true,
    skipMissing: true,
  }, PARTIAL);
  const present = names(records);
  assert.ok(present.includes(path(partial.digest)));
  assert.ok(present.includes(path(amd64.digest)));
  assert.ok(!present.includes(path(arm64.digest)), "the absent manifest is left out");
  assert.ok(present.includes(path(armv7.digest)), "a manifest with an absent child goes in");
  const armConfig = (await blob(armv7.digest, PARTIAL) as { config: Descriptor }).config;
  assert.ok(!present.includes(path(armConfig.digest)), "...without its children");
  const armLayers = (await blob(armv7.digest, PARTIAL) as { layers: Descriptor[] }).layers;
  let armAbsentLayer = "";
  for (const layer of armLayers) {
    if (armAbsentLayer === "" && !(await exists(new URL(path(layer.digest), PARTIAL)))) {
      armAbsentLayer = layer.digest;
    }
  }
  assert.notEqual(armAbsentLayer, "");
  // The selected platform's manifest being absent, or its content incomplete, leaves the image
  // out of manifest.json (containerd fails, or writes an entry nothing can load), and says so.
  for (
    const [platform, selected, missing] of [
      ["linux/arm64", arm64, { role: "manifest", digest: arm64.digest }],
      ["linux/arm/v7", armv7, { role: "layer", digest: armAbsentLayer }],
    ] as const
  ) {
    const prepared = await prepareExport(store, {
      images: ["example.com/partial:1"],
      platform,
      skipMissing: true,
    });
    assert.deepEqual(prepared.incomplete, [{
      names: ["example.com/partial:1"],
      manifest: selected,
      missing,
    }]);
    const written = readTar(await collect(prepared.stream()));
    assert.ok(!names(written).includes("manifest.json"), platform);
    assert.equal(JSON.parse(text(written, "index.json")).manifests.length, 1);
  }
  // A complete image next to an incomplete one keeps its entry.
  const both = await prepareExport(store, {
    images: ["example.com/partial:1"],
    manifests: [{ descriptor: amd64, names: ["example.com/partial:amd64"] }],
    platform: "linux/arm/v7",
    skipMissing: true,
  });
  assert.equal(both.incomplete.length, 1);
  const entries = dockerManifest(readTar(await collect(both.stream())));
  assert.deepEqual(entries.map((e) => e.RepoTags), [["example.com/partial:amd64"]]);
});

Deno.test("skipMissing drops an absent requested manifest from index.json", async () => {
  const hello = await target("docker.io/library/hello:oci");
  const absent = { ...hello, digest: "sha256:" + "0".repeat(64) };
  const records = await archive({
    manifests: [{ descriptor: absent, names: ["x.io/gone:1"] }, { descriptor: hello }],
    skipMissing: true,
    skipDockerManifest: true,
  });
  const index = JSON.parse(text(records, "index.json")) as { manifests: Descriptor[] };
  assert.deepEqual(index.manifests.map((m) => m.digest), [hello.digest]);
});

Deno.test("options are checked when exportArchive is called", async (t) => {
  const store = await openLayout(STORE);
  const bad: [string, ExportOptions][] = [
    ["nothing requested", {}],
    ["an empty name", { images: [""] }],
    ["a bad platform", { images: ["x"], platform: "linux/*" }],
    ["an empty platform list", { images: ["x"], platform: [] }],
    ["a non-function filter", { images: ["x"], blobFilter: 1 as unknown as () => boolean }],
  ];
  for (const [label, options] of bad) {
    await t.step(label, () => {
      assert.throws(() => exportArchive(store, options), InvalidArgumentError);
    });
  }
  await t.step("names need an image store", () => {
    const provider = { stat: store.stat.bind(store), open: store.open.bind(store) };
    assert.throws(() => exportArchive(provider, { images: ["x"] }), InvalidArgumentError);
  });
  await t.step("a descriptor with a bad size", async () => {
    const descriptor = { ...(await target("docker.io/library/hello:oci")), size: -1 };
    await assert.rejects(
      collect(exportArchive(store, { manifests: [{ descriptor }] })),
      InvalidArgumentError,
    );
  });
  await t.step("a config is not an image", async () => {
    const hello = await blob((await target("docker.io/library/hello:oci")).digest) as {
      config: Descriptor;
    };
    await assert.rejects(
      collect(exportArchive(store, { manifests: [{ descriptor: hello.config }] })),
      InvalidArgumentError,
    );
  });
  await t.step("an unknown image", async () => {
    await assert.rejects(collect(exportArchive(store, { images: ["nope:1"] })), NotFoundError);
  });
});

/** Wraps a provider to record what the exporter asks of it. */
function spy(provider: ContentProvider) {
  const calls: string[] = [];
  let open = 0;
  const wrapped: ContentProvider = {
    stat(d) {
      calls.push(`stat ${d.digest}`);
      return provider.stat(d);
    },
    async open(d) {
      calls.push(`open ${d.digest}`);
      const blob = await provider.open(d);
      open++;
      const reader = blob.stream.getReader();
      const stream = new ReadableStream<Uint8Array>({
        async pull(c) {
          const r = await reader.read();
          if (r.done) {
            open--;
            c.close();
          } else c.enqueue(r.value);
        },
        async cancel(reason) {
          open--;
          await reader.cancel(reason);
        },
      });
      return { size: blob.size, stream };
    },
  };
  return { wrapped, calls, openCount: () => open };
}

Deno.test("nothing is read before the consumer asks", async () => {
  const layout = await openLayout(STORE);
  const { wrapped, calls } = spy(layout);
  const store = { ...wrapped, getImage: (name: string) => layout.getImage(name) };
  const stream = exportArchive(store, { images: ["docker.io/library/hello:oci"] });
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(calls, []);
  const reader = stream.getReader();
  await reader.read();
  assert.ok(calls.length > 0);
  await reader.cancel();
});

Deno.test("backpressure: one chunk read opens at most one streamed blob", async () => {
  const layout = await openLayout(STORE);
  const { wrapped, openCount } = spy(layout);
  const store = { ...wrapped, getImage: (name: string) => layout.getImage(name) };
  const reader = exportArchive(store, { images: ["docker.io/library/hello:oci"] }).getReader({
    mode: "byob",
  });
  const { value } = await reader.read(new Uint8Array(600));
  assert.ok(value!.length > 0 && value!.length <= 600);
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(openCount() <= 1);
  await reader.cancel();
  assert.equal(openCount(), 0, "cancel closes the open blob");
});

Deno.test("cancel mid-blob closes every file (resource sanitizer)", async () => {
  // A multi-platform export has several streamed blobs; stop after the first few hundred bytes.
  const stream = exportArchive(await openLayout(STORE), {
    images: ["example.com/multi:1.0"],
    allPlatforms: true,
    platform: "linux/amd64",
  });
  const reader = stream.getReader({ mode: "byob" });
  let total = 0;
  while (total < 3000) {
    const { value, done } = await reader.read(new Uint8Array(700));
    if (done) break;
    total += value!.length;
  }
  await reader.cancel("enough");
});

Deno.test("a BYOB reader with one small reused buffer gets the same bytes", async () => {
  const options = { images: ["example.com/multi:1.0"], platform: "linux/arm64" };
  const expected = await collect(exportArchive(await openLayout(STORE), options));
  const reader = exportArchive(await openLayout(STORE), options).getReader({ mode: "byob" });
  const parts: Uint8Array[] = [];
  let buffer = new ArrayBuffer(777);
  while (true) {
    const { value, done } = await reader.read(new Uint8Array(buffer));
    if (done) break;
    parts.push(value.slice());
    buffer = value.buffer as ArrayBuffer;
  }
  const actual = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    actual.set(p, offset);
    offset += p.length;
  }
  assert.deepEqual(actual, expected);
});

Deno.test("progress reports bytes against the total, ending at the archive size", async () => {
  const events: ExportProgress[] = [];
  const bytes = await collect(
    exportArchive(await openLayout(STORE), {
      images: ["docker.io/library/hello:docker"],
      onProgress: (p) => events.push(p),
    }),
  );
  const last = events.at(-1)!;
  assert.equal(last.bytes, bytes.length);
  assert.equal(last.totalBytes, bytes.length);
  assert.equal(last.images, 1);
  assert.equal(last.blobs, 4);
});

Deno.test("an index claiming to be a manifest is refused (CVE-2021-41190)", async () => {
  const multi = await target("example.com/multi:1.0");
  const store = await openLayout(STORE);
  const descriptor = { ...multi, mediaType: "application/vnd.oci.image.manifest.v1+json" };
  await assert.rejects(
    collect(exportArchive(store, { manifests: [{ descriptor }] })),
    InvalidDocumentError,
  );
});

Deno.test("distribution-source labels of requested content go into index.json, as in 2.x", async () => {
  const layout = await openLayout(STORE);
  const multi = await layout.getImage("example.com/multi:1.0");
  const labels: Record<string, string> = {
    "containerd.io/distribution.source.example.com": "multi",
    "containerd.io/distribution.source.mirror.example": "a/multi,b/multi",
    "containerd.io/gc.ref.content.m.0": "sha256:00", // not a source label: left out
  };
  // A store that keeps labels for the index only.
  const labelled: ContentProvider = {
    stat: async (d) => ({
      ...await layout.stat(d),
      ...(d.digest === multi.target.digest && { labels }),
    }),
    open: (d) => layout.open(d),
  };
  const bytes = await collect(exportArchive(labelled, {
    manifests: [{ descriptor: multi.target, names: [multi.name] }],
    platform: "linux/amd64",
  }));
  const index = JSON.parse(text(readTar(bytes), "index.json"));
  assert.deepEqual(index.manifests[0].annotations, {
    "containerd.io/distribution.source.example.com": "multi",
    "containerd.io/distribution.source.mirror.example": "a/multi,b/multi",
    "io.containerd.image.name": "example.com/multi:1.0",
    "org.opencontainers.image.ref.name": "1.0",
  });
  // Children keep their annotations as stored; a store without labels writes none.
  const plain = await collect(exportArchive(layout, {
    images: [multi.name],
    platform: "linux/amd64",
  }));
  assert.equal(
    JSON.parse(text(readTar(plain), "index.json")).manifests[0].annotations[
      "containerd.io/distribution.source.example.com"
    ],
    undefined,
  );
});

async function exists(url: URL): Promise<boolean> {
  try {
    await Deno.stat(url);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

Deno.test("exportArchive: an index.json of several chunks, with multi-byte text across their edges", async () => {
  // index.json is measured when planned and made again when written; its size in the tar header
  // must be what is written, whatever the characters.
  const layout = await openLayout(STORE);
  const multi = await layout.getImage("example.com/multi:1.0");
  const value = "ü😀\u2028<&>".repeat(20_000) + "\ud800x"; // a lone surrogate is written U+FFFD
  const labels = { "containerd.io/distribution.source.example.com": value };
  const labelled: ContentProvider = {
    stat: async (d) => ({
      ...await layout.stat(d),
      ...(d.digest === multi.target.digest && { labels }),
    }),
    open: (d) => layout.open(d),
  };
  const records = readTar(
    await collect(exportArchive(labelled, {
      manifests: [{ descriptor: multi.target, names: [multi.name] }],
      platform: "linux/amd64",
    })),
  );
  const index = entry(records, "index.json");
  assert(index.body.length > 3 * 64 * 1024);
  const annotations = JSON.parse(text(records, "index.json")).manifests[0].annotations;
  assert.equal(
    annotations["containerd.io/distribution.source.example.com"],
    value.replace("\ud800", "\ufffd"),
  );
  assert(JSON.parse(text(records, "manifest.json")).length === 1);
});
