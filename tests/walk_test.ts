// Tests for lib/export/walk.ts planArchive, through a provider that counts what the walk asks of
// testdata/store (or of a scratch copy, for stores the tests build).
import assert from "node:assert/strict";
import type { ContentProvider } from "../lib/stores/content.ts";
import { blobPath } from "../lib/oci/digest.ts";
import { ANNOTATION_IMAGE_NAME, type Descriptor } from "../lib/oci/documents.ts";
import { InvalidDigestError, InvalidDocumentError, NotFoundError } from "../lib/oci/errors.ts";
import { compareCodePoints } from "../lib/oci/go_json.ts";
import { openLayout } from "../lib/stores/layout.ts";
import {
  isIndexType,
  isManifestType,
  isNonDistributable,
  OCI_INDEX,
  OCI_LAYER,
  OCI_MANIFEST,
} from "../lib/oci/media_types.ts";
import { only, parsePlatform } from "../lib/oci/platforms.ts";
import {
  type ArchivePlan,
  type ArchiveRecord,
  MAX_WALK_DEPTH,
  planArchive,
  utf8Length,
  type WalkOptions,
} from "../lib/export/walk.ts";
import { type Desc, ScratchStore } from "./support/scratch_store.ts";
import { CountingProvider } from "./support/counting_provider.ts";

const STORE = new URL("../testdata/store/", import.meta.url).pathname;
const store = await openLayout(STORE);

const HELLO = "docker.io/library/hello:oci";
const HELLO_LATEST = "docker.io/library/hello:latest";
const HELLO_DOCKER = "docker.io/library/hello:docker";
const MULTI = "example.com/multi:1.0";
const LIST = "docker.io/library/multi:list";
const WINDOWS = "example.com/windows:ltsc2022";
const NESTED = "example.com/nested:1";
const RESTRICTED = "example.com/restricted:1";

/** The store's target of an image name, requested under that name (as the exporter does). */
async function request(name: string, as = name): Promise<Descriptor> {
  const { target } = await store.getImage(name);
  return { ...target, annotations: { [ANNOTATION_IMAGE_NAME]: as } };
}

async function plan(
  requests: readonly Descriptor[],
  options: WalkOptions = {},
  provider: ContentProvider = store,
): Promise<ArchivePlan> {
  return await planArchive(provider, requests, options);
}

const names = (p: ArchivePlan) => [...p.records].map((r) => r.name);

/** The parsed manifest.json of a plan, or undefined when it has none. */
async function dockerManifest(
  p: ArchivePlan,
): Promise<{ Config: string; RepoTags: string[] | null; Layers: string[] | null }[] | undefined> {
  const record = [...p.records].find((r) => r.name === "manifest.json");
  if (record === undefined) return undefined;
  assert.equal(record.kind, "file");
  const chunks = record.kind === "file" ? await Array.fromAsync(record.body()) : [];
  const bytes = new Uint8Array(chunks.reduce((n, chunk) => n + chunk.length, 0));
  chunks.reduce((at, chunk) => (bytes.set(chunk, at), at + chunk.length), 0);
  assert.equal(bytes.length, record.kind === "file" ? record.size : 0);
  return JSON.parse(new TextDecoder().decode(bytes));
}

/** Every digest reachable from a descriptor, by a plain walk of the store's JSON. */
async function reachable(desc: Descriptor, found = new Set<string>()): Promise<Set<string>> {
  found.add(desc.digest);
  if (!isManifestType(desc.mediaType) && !isIndexType(desc.mediaType)) return found;
  const doc = JSON.parse(await Deno.readTextFile(`${STORE}/${blobPath(desc.digest)}`));
  const children: Descriptor[] = doc.manifests ?? [doc.config, ...doc.layers];
  for (const child of children) await reachable(child, found);
  return found;
}

/** Checks that a plan's records are sorted by name (as Go compares strings), with no repeats. */
function assertSortedUnique(p: ArchivePlan): void {
  for (let i = 1; i < p.records.length; i++) {
    const [a, b] = [p.records.at(i - 1)!.name, p.records.at(i)!.name];
    assert(compareCodePoints(a, b) < 0, `${a} then ${b}`);
  }
}

/**
 * Requests that share documents several ways: a manifest under two names, an index requested
 * and nested in another, manifests and layers common to several images. (Without a platform the
 * Docker list would take in the Windows image, whose foreign layer the store does not hold.)
 */
const SHARING = [HELLO, HELLO_LATEST, NESTED, MULTI, RESTRICTED, HELLO_DOCKER];

/** [label, requested names, options]. */
const SHARING_CASES: [string, string[], WalkOptions][] = [
  ["no platform", SHARING, {}],
  ["no platform, skipMissing", SHARING, { skipMissing: true }],
  // The list's linux/amd64 manifest is hello:docker's.
  ["linux/amd64", [...SHARING, LIST], { platform: only(parsePlatform("linux/amd64")) }],
  ["linux/amd64, skipMissing", [...SHARING, LIST], {
    platform: only(parsePlatform("linux/amd64")),
    skipMissing: true,
  }],
];

for (const [label, requested, options] of SHARING_CASES) {
  Deno.test(`planArchive (${label}) reads each document once and stats each blob once`, async () => {
    const requests = await Promise.all(requested.map((name) => request(name)));
    const counting = new CountingProvider(store);
    const p = await plan(requests, options, counting);
    assertSortedUnique(p);
    const blobs = [...p.records].flatMap((r) => r.kind === "blob" ? [r] : []);
    for (const record of blobs) {
      const { digest, mediaType } = record.descriptor;
      const document = isManifestType(mediaType) || isIndexType(mediaType);
      // A document is read and its verified bytes kept; anything else is looked up.
      assert.equal(record.bytes !== undefined, document, digest);
      assert.equal(counting.opens.get(digest), document ? 1 : undefined, `opens of ${digest}`);
      // A requested document is looked up once, for its labels (containerd 2.x's
      // copySourceLabels); a document reached from it is only read.
      const wasRequested = requests.some((r) => r.digest === digest);
      const stats = document && !wasRequested ? undefined : 1;
      assert.equal(counting.stats.get(digest), stats, `stats of ${digest}`);
    }
    // Nothing but the records was asked for, and nothing twice.
    const recorded = new Set(blobs.map((r) => r.descriptor.digest));
    for (const digest of [...counting.opens.keys(), ...counting.stats.keys()]) {
      assert(recorded.has(digest), `${digest} is not in the archive`);
    }
    for (const [digest, n] of [...counting.opens, ...counting.stats]) assert.equal(n, 1, digest);
  });
}

Deno.test("planArchive expands a diamond of shared children once, in linear time", async () => {
  await using scratch = await ScratchStore.copy();
  const hello = await scratch.target(HELLO);
  // Each level is an index listing the level below twice: 2^LEVELS paths to hello's manifest.
  const LEVELS = 14;
  let inner: Desc = { mediaType: hello.mediaType, digest: hello.digest, size: hello.size };
  for (let i = 0; i < LEVELS; i++) {
    const doc = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [inner, inner] };
    inner = await scratch.put(OCI_INDEX, JSON.stringify(doc));
  }
  // The blob filter is asked about each descriptor the walk reaches, on every path it takes.
  let asked = 0;
  const counting = new CountingProvider(await openLayout(scratch.dir));
  const p = await plan([inner], { blobFilter: () => (asked++, true) }, counting);
  assert.equal([...p.records].filter((r) => r.kind === "blob").length, LEVELS + 4);
  assert(asked <= 4 * LEVELS, `the filter was asked ${asked} times`);
  for (const [digest, n] of [...counting.opens, ...counting.stats]) assert.equal(n, 1, digest);
});

Deno.test("planArchive records every reachable blob, sorted by name, without repeats", async () => {
  const requests = await Promise.all(SHARING.map((name) => request(name)));
  const p = await plan(requests);
  assertSortedUnique(p);
  const expected = new Set<string>();
  for (const desc of requests) await reachable(desc, expected);
  assert.deepEqual(
    names(p),
    [
      "blobs/",
      "blobs/sha256/",
      ...[...expected].map(blobPath),
      "index.json",
      "manifest.json",
      "oci-layout",
    ].sort(compareCodePoints),
  );
  // index.json lists the requests as given, repeats included.
  assert.deepEqual(p.manifests, requests);
});

Deno.test("planArchive gives each kind of record its mode", async () => {
  const p = await plan([await request(HELLO)]);
  const modes = Object.fromEntries(
    [...p.records].map((r) => [r.kind === "blob" ? r.kind : r.name, r.mode]),
  );
  assert.deepEqual(modes, {
    "blobs/": 0o755,
    "blobs/sha256/": 0o755,
    blob: 0o444,
    "index.json": 0o644,
    "manifest.json": 0o644,
    "oci-layout": 0o444,
  });
});

Deno.test("planArchive with a platform walks only the matching children of an index", async () => {
  const counting = new CountingProvider(store);
  const p = await plan(
    [await request(MULTI)],
    { platform: only(parsePlatform("linux/386")) },
    counting,
  );
  assertSortedUnique(p);
  const index = JSON.parse(await Deno.readTextFile(`${STORE}/${blobPath(p.manifests[0].digest)}`));
  const i386 = index.manifests.find((m: Descriptor) => m.platform?.architecture === "386");
  const expected = await reachable(i386, new Set([p.manifests[0].digest]));
  assert.deepEqual(
    [...p.records].filter((r) => r.kind === "blob").map((r) => r.name),
    [...expected].map(blobPath).sort(compareCodePoints),
  );
  // The other platforms' manifests were not even read.
  assert.deepEqual([...counting.opens.keys()].sort(), [p.manifests[0].digest, i386.digest].sort());
});

Deno.test("planArchive adds directory records only for algorithms it walked into", async (t) => {
  await using scratch = await ScratchStore.copy();
  const layout = await openLayout(scratch.dir);
  const hello = await scratch.target(HELLO);
  const bare = (d: Desc): Descriptor => ({
    mediaType: d.mediaType,
    digest: d.digest,
    size: d.size,
  });
  const index = (manifests: Descriptor[], algorithm = "sha256") =>
    scratch.put(
      OCI_INDEX,
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }),
      algorithm,
    );
  const directories = (p: ArchivePlan) =>
    [...p.records].filter((r) => r.kind === "directory").map((r) => r.name);

  await t.step("an index with no children: its blob, but no blobs/ directories", async () => {
    const empty = await index([]);
    const p = await plan([empty], {}, layout);
    assert.deepEqual(names(p), [blobPath(empty.digest), "index.json", "oci-layout"]);
  });

  await t.step("the same index with a platform: nothing matches", async () => {
    const empty = await index([]);
    await assert.rejects(
      plan([empty], { platform: only(parsePlatform("linux/amd64")) }, layout),
      NotFoundError,
    );
  });

  await t.step("a sha512 index of a sha256 manifest: only blobs/sha256/", async () => {
    const top = await index(
      [{ ...bare(hello), platform: { os: "linux", architecture: "amd64" } }],
      "sha512",
    );
    assert.match(top.digest, /^sha512:/);
    for (const options of [{}, { platform: only(parsePlatform("linux/amd64")) }]) {
      const p = await plan([top], options, layout);
      assertSortedUnique(p);
      assert.deepEqual(directories(p), ["blobs/", "blobs/sha256/"]);
      assert(names(p).includes(blobPath(top.digest)));
    }
  });

  await t.step("a sha512 layer, walked: blobs/sha512/ too", async () => {
    const manifest = await scratch.json<{ config: Desc; layers: Desc[] }>(hello.digest);
    const layer = await scratch.put(OCI_LAYER, "a layer stored under sha512", "sha512");
    const doc = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: manifest.config,
      layers: [layer],
    };
    const top = await scratch.put(OCI_MANIFEST, JSON.stringify(doc));
    const p = await plan([top], {}, layout);
    assertSortedUnique(p);
    assert.deepEqual(directories(p), ["blobs/", "blobs/sha256/", "blobs/sha512/"]);
  });

  await t.step("a requested sha512 manifest registers its own algorithm", async () => {
    const manifest = await scratch.json<{ config: Desc; layers: Desc[] }>(hello.digest);
    const doc = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: manifest.config, layers: [] };
    const top = await scratch.put(OCI_MANIFEST, JSON.stringify(doc), "sha512");
    const p = await plan([top], {}, layout);
    assert.deepEqual(directories(p), ["blobs/", "blobs/sha256/", "blobs/sha512/"]);
  });
});

Deno.test("planArchive with skipDockerManifest leaves out manifest.json and nothing else", async () => {
  const requests = await Promise.all([HELLO, MULTI, LIST].map((name) => request(name)));
  const platform = only(parsePlatform("linux/amd64"));
  const withIt = await plan(requests, { platform });
  const without = await plan(requests, { platform, skipDockerManifest: true });
  assert(names(withIt).includes("manifest.json"));
  // A file record's body is a function, made per plan: compared by what it makes.
  const shape = async (r: ArchiveRecord) =>
    r.kind === "file" ? { ...r, body: await Array.fromAsync(r.body()) } : r;
  assert.deepEqual(
    await Promise.all([...without.records].map(shape)),
    await Promise.all([...withIt.records].filter((r) => r.name !== "manifest.json").map(shape)),
  );
  assert.deepEqual(without.manifests, withIt.manifests);
});

Deno.test("planArchive writes no manifest.json for indexes without a platform", async () => {
  const p = await plan([await request(MULTI), await request(NESTED)]);
  assert.equal(await dockerManifest(p), undefined);
});

/**
 * [requests (a store name, or [store name, name requested as]), manifest.json's entries as
 * [the image whose linux/amd64 manifest the entry is for, its RepoTags]].
 */
const MANIFEST_JSON_CASES: [(string | [string, string])[], [string, string[] | null][]][] = [
  // One entry per manifest, in request order (not name or digest order).
  [[RESTRICTED, HELLO_DOCKER, HELLO], [
    [RESTRICTED, ["example.com/restricted:1"]],
    [HELLO_DOCKER, ["hello:docker"]],
    [HELLO, ["hello:oci"]],
  ]],
  [[HELLO, RESTRICTED, HELLO_DOCKER], [
    [HELLO, ["hello:oci"]],
    [RESTRICTED, ["example.com/restricted:1"]],
    [HELLO_DOCKER, ["hello:docker"]],
  ]],
  // A manifest under several names: one entry, its names in request order.
  [[HELLO_LATEST, RESTRICTED, HELLO, [HELLO, "localhost:5000/team/hello:v1"]], [
    [HELLO, ["hello:latest", "hello:oci", "localhost:5000/team/hello:v1"]],
    [RESTRICTED, ["example.com/restricted:1"]],
  ]],
  // An index's entry is that of its selected manifest, in the index's place.
  [[WINDOWS, MULTI, HELLO], [
    [WINDOWS, ["example.com/windows:ltsc2022"]],
    [MULTI, ["example.com/multi:1.0"]],
    [HELLO, ["hello:oci"]],
  ]],
  // An index selecting a manifest requested before keeps its place but replaces its names, as
  // containerd does (the list's linux/amd64 manifest is hello:docker).
  [[HELLO_DOCKER, HELLO, LIST], [[HELLO_DOCKER, ["multi:list"]], [HELLO, ["hello:oci"]]]],
  // A manifest requested after the index adds its name to the index's entry.
  [[LIST, HELLO_DOCKER], [[HELLO_DOCKER, ["multi:list", "hello:docker"]]]],
];

/** The archive path of the config of an image's linux/amd64 manifest, from the store's JSON. */
async function amd64Config(name: string): Promise<string> {
  const read = async (d: Descriptor) =>
    JSON.parse(await Deno.readTextFile(`${STORE}/${blobPath(d.digest)}`));
  let doc = await read((await store.getImage(name)).target);
  if (doc.manifests !== undefined) {
    doc = await read(
      doc.manifests.find((m: Descriptor) =>
        m.platform?.os === "linux" && m.platform.architecture === "amd64"
      ),
    );
  }
  return blobPath(doc.config.digest);
}

Deno.test("planArchive writes manifest.json entries in request order", async () => {
  const platform = only(parsePlatform("linux/amd64"));
  for (const [names, expected] of MANIFEST_JSON_CASES) {
    const requests = await Promise.all(
      names.map((n) => typeof n === "string" ? request(n) : request(...n)),
    );
    // The Windows image's foreign layer is not in the store: leave it out, as exports do.
    const blobFilter = (d: Descriptor) => !isNonDistributable(d.mediaType);
    const entries = await dockerManifest(await plan(requests, { platform, blobFilter }));
    assert.deepEqual(
      entries?.map((e) => [e.Config, e.RepoTags]),
      await Promise.all(expected.map(async ([name, tags]) => [await amd64Config(name), tags])),
      JSON.stringify(names),
    );
  }
});

Deno.test("planArchive leaves filtered blobs out without looking them up", async () => {
  const counting = new CountingProvider(store);
  const requests = [await request(RESTRICTED), await request(WINDOWS)];
  const filter = (d: Descriptor) => !isNonDistributable(d.mediaType);
  const p = await plan(requests, { blobFilter: filter }, counting);
  const streamed = [...p.records].flatMap((r) => r.kind === "blob" ? [r.descriptor.digest] : []);
  // The restricted layer (present) and the Windows foreign layer (absent from the store).
  const filtered = [
    "sha256:a11a14317f781f206d5efee76fdf27916d729dbc006d65122db72ed44150d142",
    "sha256:c1f703e2112a00115a47e660a7450b3c2d4731df0f050c19138712c6d12a58dc",
  ];
  for (const digest of filtered) {
    assert(!streamed.includes(digest), digest);
    assert(!counting.stats.has(digest) && !counting.opens.has(digest), digest);
  }
  // They are still listed in manifest.json, and their algorithm's directory is there.
  const layers = (await dockerManifest(p))?.flatMap((e) => e.Layers ?? []);
  for (const digest of filtered) assert(layers?.includes(blobPath(digest)), digest);
  assert(names(p).includes("blobs/sha256/"));
});

// ---------------------------------------------------------------------------------------------
// MAX_WALK_DEPTH

Deno.test("planArchive walks MAX_WALK_DEPTH levels below a request, and no more", async () => {
  assert.equal(MAX_WALK_DEPTH, 32);
  await using scratch = await ScratchStore.copy();
  const layout = await openLayout(scratch.dir);
  const hello = await scratch.target(HELLO);
  /** An index around an index... `levels` deep, around hello's manifest. */
  const chain = async (levels: number): Promise<Desc> => {
    let inner: Desc = { mediaType: hello.mediaType, digest: hello.digest, size: hello.size };
    for (let i = 0; i < levels; i++) {
      const doc = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [inner] };
      inner = await scratch.put(OCI_INDEX, JSON.stringify(doc));
    }
    return inner;
  };
  // A requested index's children are at depth 1, so hello's manifest is at depth `levels` and
  // its layers at `levels + 1`.
  const deepest = await chain(MAX_WALK_DEPTH - 1);
  const p = await plan([deepest], {}, layout);
  assertSortedUnique(p);
  // The indexes, hello's manifest, its config and two layers.
  assert.equal([...p.records].filter((r) => r.kind === "blob").length, MAX_WALK_DEPTH - 1 + 4);

  const tooDeep = await chain(MAX_WALK_DEPTH);
  await assert.rejects(
    plan([tooDeep], {}, layout),
    (error: unknown) =>
      error instanceof InvalidDocumentError &&
      /^Config sha256:[0-9a-f]{64} of image sha256:[0-9a-f]{64} is nested more than 32 levels deep$/
        .test(error.message),
  );
});

Deno.test("planArchive refuses an index the platform selects for manifest.json, as containerd", async () => {
  // Only the inner index of example.com/nested:1 matches linux/arm64: its entry cannot be
  // decoded as a manifest (ctr fails the same way), however the walk expanded it.
  const nested = await request(NESTED);
  await assert.rejects(
    () => plan([nested], { platform: only(parsePlatform("linux/arm64")) }),
    InvalidDigestError, // its config decodes as {}, with an empty digest
  );
});

Deno.test("utf8Length counts what TextEncoder writes", () => {
  const cases = [
    "",
    "abc",
    "ü",
    "€",
    "😀",
    "a😀b",
    "\ud800",
    "\udc00",
    "x\ud800",
    "\ud800\ud800\udc00",
  ];
  for (const text of [...cases, cases.join(""), "ü😀\u2028".repeat(1000)]) {
    assert.equal(utf8Length(text), new TextEncoder().encode(text).length, JSON.stringify(text));
  }
});
