// Tests for lib/stores/layout.ts: the filesystem store (OCI image layout or containerd content directory),
// built in temporary directories that each test removes.
import assert from "node:assert/strict";
import { readVerified } from "../lib/stores/content.ts";
import { digestOf } from "../lib/oci/digest.ts";
import type { Descriptor } from "../lib/oci/documents.ts";
import {
  DigestMismatchError,
  InvalidArgumentError,
  InvalidDigestError,
  InvalidDocumentError,
  NotFoundError,
  SizeMismatchError,
} from "../lib/oci/errors.ts";
import { type Layout, MAX_STORE_INDEX_SIZE, openLayout } from "../lib/stores/layout.ts";
import { OCI_INDEX, OCI_MANIFEST } from "../lib/oci/media_types.ts";

const te = new TextEncoder();
const IMAGE_NAME = "io.containerd.image.name";
const REF_NAME = "org.opencontainers.image.ref.name";

/** A temporary store directory; `using` removes it. */
class TempStore {
  readonly root: string;
  constructor(root: string) {
    this.root = root;
  }

  static async create(options: { blobs?: boolean } = {}): Promise<TempStore> {
    const store = new TempStore(await Deno.makeTempDir({ prefix: "ocipack-layout-test-" }));
    if (options.blobs ?? true) await Deno.mkdir(`${store.root}/blobs/sha256`, { recursive: true });
    return store;
  }

  /** Writes a blob where its digest says and returns its descriptor. */
  async blob(
    bytes: Uint8Array,
    algorithm = "sha256",
    mediaType = OCI_MANIFEST,
  ): Promise<Descriptor> {
    const digest = digestOf(bytes, algorithm);
    await Deno.mkdir(`${this.root}/blobs/${algorithm}`, { recursive: true });
    await Deno.writeFile(this.path(digest), bytes);
    return { mediaType, digest, size: bytes.length };
  }

  path(digest: string): string {
    const [algorithm, encoded] = digest.split(":");
    return `${this.root}/blobs/${algorithm}/${encoded}`;
  }

  async index(manifests: Descriptor[] | string): Promise<void> {
    const text = typeof manifests === "string"
      ? manifests
      : JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests });
    await Deno.writeTextFile(`${this.root}/index.json`, text);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Deno.remove(this.root, { recursive: true });
  }
}

function descriptorOf(bytes: Uint8Array, fields: Partial<Descriptor> = {}): Descriptor {
  return { mediaType: OCI_MANIFEST, digest: digestOf(bytes), size: bytes.length, ...fields };
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    const value = await promise;
    // Do not leak a stream that was handed out by mistake.
    const stream = (value as { stream?: ReadableStream })?.stream;
    if (stream) await stream.cancel();
  } catch (error) {
    return error as Error;
  }
  assert.fail("did not reject");
}

/** Rejects if `promise` takes longer than `ms` (a FIFO or a device that blocks). */
async function quickly<T>(promise: Promise<T>, ms = 5000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function mkfifo(path: string): Promise<void> {
  const { success, stderr } = await new Deno.Command("mkfifo", { args: [path], stderr: "piped" })
    .output();
  assert.ok(success, new TextDecoder().decode(stderr));
}

const MANIFEST = te.encode('{"schemaVersion":2,"config":{},"layers":[]}');
const OTHER = te.encode('{"schemaVersion":2,"config":{},"layers":[{}]}');

// ---------------------------------------------------------------------------------------------
// Opening a store and its names

Deno.test("openLayout names images by io.containerd.image.name, else org.opencontainers.image.ref.name", async () => {
  await using store = await TempStore.create();
  const target = await store.blob(MANIFEST);
  const other = await store.blob(OTHER);
  await store.index([
    { ...target, annotations: { [IMAGE_NAME]: "docker.io/library/a:1.0", [REF_NAME]: "1.0" } },
    { ...other, annotations: { [REF_NAME]: "latest" } },
    { ...target }, // no name: not listed
    { ...other, annotations: { "x": "y" } }, // no name either
    { ...other, annotations: { [IMAGE_NAME]: "", [REF_NAME]: "fallback" } }, // empty name: falls back
    { ...other, annotations: { [REF_NAME]: "latest", [IMAGE_NAME]: "b" } },
  ]);
  const layout = await openLayout(store.root);
  assert.equal(layout.root, store.root);
  const images = await layout.listImages();
  assert.deepEqual(images.map((i) => i.name), [
    "docker.io/library/a:1.0",
    "latest",
    "fallback",
    "b",
  ]);
  assert.equal(images[0].target.digest, target.digest);
  assert.equal(images[0].target.size, target.size);
  assert.equal(images[0].target.annotations?.[REF_NAME], "1.0");
  assert.equal(images[1].target.digest, other.digest);

  const image = await layout.getImage("latest");
  assert.equal(image.name, "latest");
  assert.equal(image.target.digest, other.digest);
  // Names are matched exactly.
  for (const name of ["LATEST", "docker.io/library/a", "a:1.0", "1.0", " latest", ""]) {
    const error = await rejection(layout.getImage(name));
    assert.ok(error instanceof NotFoundError, name);
  }
  // The store hands out copies.
  image.target.digest = "changed";
  images[0].target.annotations![REF_NAME] = "changed";
  assert.equal((await layout.getImage("latest")).target.digest, other.digest);
  assert.equal((await layout.listImages())[0].target.annotations?.[REF_NAME], "1.0");
});

Deno.test("openLayout lists a repeated name once", async () => {
  await using store = await TempStore.create();
  const first = await store.blob(MANIFEST);
  const second = await store.blob(OTHER);
  await store.index([
    { ...first, annotations: { [IMAGE_NAME]: "a:1" } },
    { ...second, annotations: { [REF_NAME]: "x", [IMAGE_NAME]: "a:1" } },
  ]);
  const images = await (await openLayout(store.root)).listImages();
  assert.deepEqual(images.map((i) => i.name), ["a:1"]);
});

// Was a divergence: when two index.json entries carry the same name, openLayout keeps the first, while
// containerd's import (client/import.go: is.Update, else is.Create, for each entry in order)
// leaves the name pointing at the last one, so `ctr import` then `ctr export` of that name would
// export the last entry's target.
Deno.test({
  name: "openLayout: a repeated name means the last entry, as after containerd's import",
  async fn() {
    await using store = await TempStore.create();
    const first = await store.blob(MANIFEST);
    const second = await store.blob(OTHER);
    await store.index([
      { ...first, annotations: { [IMAGE_NAME]: "a:1" } },
      { ...second, annotations: { [IMAGE_NAME]: "a:1" } },
    ]);
    const layout = await openLayout(store.root);
    assert.equal((await layout.getImage("a:1")).target.digest, second.digest);
  },
});

Deno.test("openLayout accepts a file: URL and trims trailing slashes", async () => {
  await using store = await TempStore.create();
  const spaced = `${store.root}/dir with space%`;
  await Deno.mkdir(`${spaced}/blobs/sha256`, { recursive: true });
  const bytes = te.encode("hello");
  await Deno.writeFile(`${spaced}/blobs/sha256/${digestOf(bytes).slice(7)}`, bytes);
  const url = new URL(`file://${spaced.split("/").map(encodeURIComponent).join("/")}/`);
  assert.match(url.href, /dir%20with%20space%25\/$/);
  const layout = await openLayout(url);
  assert.equal(layout.root, spaced);
  const blob = await layout.open(descriptorOf(bytes));
  assert.deepEqual(await readAll(blob.stream), bytes);
  assert.equal((await openLayout(`${spaced}///`)).root, spaced);
  assert.equal((await openLayout(store.root + "/")).root, store.root);
});

Deno.test("openLayout refuses an empty path", async () => {
  assert.ok((await rejection(openLayout(""))) instanceof InvalidArgumentError);
});

// Regression (found by a Go oracle or review; the code once did this): the documentation promises InvalidArgumentError for a store that is not "a non-empty path
// or a file: URL", but a URL of another scheme makes node:url's fileURLToPath throw a TypeError
// ([ERR_INVALID_URL_SCHEME] "The URL must be of scheme file") before the check is reached, and a
// value that is neither string nor URL (from JavaScript callers) a TypeError
// [ERR_INVALID_ARG_TYPE].
Deno.test({
  name: "openLayout refuses a URL that is not file: with InvalidArgumentError",
  async fn() {
    const error = await rejection(openLayout(new URL("https://example.com/store")));
    assert.ok(error instanceof InvalidArgumentError, String(error));
    const other = await rejection(openLayout(42 as unknown as string));
    assert.ok(other instanceof InvalidArgumentError, String(other));
  },
});

Deno.test("openLayout: a store with blobs/ and no index.json has no names (containerd's content dir)", async () => {
  await using store = await TempStore.create();
  await Deno.mkdir(`${store.root}/ingest`);
  const descriptor = await store.blob(MANIFEST);
  const layout = await openLayout(store.root);
  assert.deepEqual(await layout.listImages(), []);
  assert.ok((await rejection(layout.getImage("anything"))) instanceof NotFoundError);
  assert.deepEqual(await layout.stat(descriptor), { size: MANIFEST.length });
  assert.deepEqual(await readVerified(layout, descriptor), MANIFEST);
});

Deno.test("openLayout: index.json without blobs/ is a store whose blobs are all absent", async () => {
  await using store = await TempStore.create({ blobs: false });
  const target = descriptorOf(MANIFEST, { annotations: { [REF_NAME]: "v1" } });
  await store.index([target]);
  const layout = await openLayout(store.root);
  assert.deepEqual((await layout.listImages()).map((i) => i.name), ["v1"]);
  const error = await rejection(layout.open(target));
  assert.ok(error instanceof NotFoundError);
  assert.equal((error as NotFoundError).digest, target.digest);
});

Deno.test("openLayout: a directory with neither blobs/ nor index.json is NotFoundError", async () => {
  await using store = await TempStore.create({ blobs: false });
  await Deno.writeTextFile(`${store.root}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
  const error = await rejection(openLayout(store.root));
  assert.ok(error instanceof NotFoundError);
  assert.match(error.message, /has no blobs\/ or index\.json/);
  // A path that does not exist says so; so does a file given as a store.
  const missing = await rejection(openLayout(`${store.root}/nope`));
  assert.ok(missing instanceof NotFoundError);
  assert.equal(missing.message, `Store ${store.root}/nope does not exist`);
  const notDir = await rejection(openLayout(`${store.root}/oci-layout`));
  assert.ok(notDir instanceof InvalidArgumentError);
  assert.match(notDir.message, /^Store .*\/oci-layout is not a directory \(/);
  // blobs/ that is a file is no store either.
  await Deno.writeTextFile(`${store.root}/blobs`, "");
  assert.ok((await rejection(openLayout(store.root))) instanceof NotFoundError);
});

Deno.test("openLayout refuses an index.json that is not a valid index", async () => {
  await using store = await TempStore.create();
  const cases = [
    "",
    "{",
    "[]",
    '"x"',
    "\ufeff{}",
    '{"manifests":{}}',
    '{"manifests":[{"size":"1"}]}',
    '{"manifests":[{"size":-1}]}',
    '{"manifests":[{"annotations":{"a":1}}]}',
    '{"schemaVersion":"2"}',
  ];
  for (const text of cases) {
    await store.index(text);
    const error = await rejection(openLayout(store.root));
    assert.ok(error instanceof InvalidDocumentError, `${JSON.stringify(text)}: ${error}`);
    assert.match(error.message, /index\.json/);
  }
  // Whatever index.json says about its own kind is not checked here, as containerd's import
  // does not check it either; an empty or unnamed list is fine.
  await store.index('{"schemaVersion":2,"manifests":[]}');
  assert.deepEqual(await (await openLayout(store.root)).listImages(), []);
  await store.index("{}");
  assert.deepEqual(await (await openLayout(store.root)).listImages(), []);
});

// Regression (found by a Go oracle or review; the code once did this): an index.json that is the JSON literal null is accepted by Go's json.Unmarshal (an empty
// index), but openLayout rejects with a TypeError ("Cannot read properties of undefined (reading
// 'mediaType')") from decodeIndex, neither an empty store nor an InvalidDocumentError.
Deno.test({
  name: "openLayout: an index.json of null is an empty index (or InvalidDocumentError)",
  async fn() {
    await using store = await TempStore.create();
    await store.index("null");
    let layout: Layout;
    try {
      layout = await openLayout(store.root);
    } catch (error) {
      assert.ok(error instanceof InvalidDocumentError, String(error));
      return;
    }
    assert.deepEqual(await layout.listImages(), []);
  },
});

Deno.test("openLayout refuses an index.json over the size limit", async () => {
  await using store = await TempStore.create();
  assert.equal(MAX_STORE_INDEX_SIZE, 64 * 1024 * 1024);
  // A sparse file: no disk space, and reading stops one byte past the limit.
  using file = await Deno.open(`${store.root}/index.json`, { write: true, create: true });
  await file.truncate(MAX_STORE_INDEX_SIZE + 1);
  const error = await rejection(openLayout(store.root));
  assert.ok(error instanceof InvalidDocumentError);
  assert.match(error.message, /over the 67108864-byte limit/);
  // Exactly the limit is read (and then fails to parse, being NUL bytes).
  await file.truncate(MAX_STORE_INDEX_SIZE);
  const atLimit = await rejection(openLayout(store.root));
  assert.ok(atLimit instanceof InvalidDocumentError);
  assert.match(atLimit.message, /invalid JSON/);
});

Deno.test("openLayout refuses an index.json that is not a regular file, without blocking", async () => {
  await using store = await TempStore.create();
  const index = `${store.root}/index.json`;
  await Deno.mkdir(index);
  assert.ok((await quickly(rejection(openLayout(store.root)))) instanceof InvalidDocumentError);
  await Deno.remove(index);
  await mkfifo(index);
  assert.ok((await quickly(rejection(openLayout(store.root)))) instanceof InvalidDocumentError);
  await Deno.remove(index);
  await Deno.symlink("/dev/zero", index);
  assert.ok((await quickly(rejection(openLayout(store.root)))) instanceof InvalidDocumentError);
  await Deno.remove(index);
  // A symbolic link to a regular file is followed.
  await Deno.writeTextFile(`${store.root}/real.json`, '{"manifests":[]}');
  await Deno.symlink(`${store.root}/real.json`, index);
  assert.deepEqual(await (await openLayout(store.root)).listImages(), []);
  // A dangling link is an absent index.json.
  await Deno.remove(`${store.root}/real.json`);
  assert.deepEqual(await (await openLayout(store.root)).listImages(), []);
});

// ---------------------------------------------------------------------------------------------
// Blobs

Deno.test("Layout.stat and open serve a stored blob", async () => {
  await using store = await TempStore.create();
  const big = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => i * 7);
  for (
    const [bytes, algorithm] of [[MANIFEST, "sha256"], [big, "sha512"], [
      new Uint8Array(),
      "sha384",
    ]] as const
  ) {
    const descriptor = await store.blob(bytes, algorithm);
    const layout = await openLayout(store.root);
    assert.deepEqual(await layout.stat(descriptor), { size: bytes.length });
    const blob = await layout.open(descriptor);
    assert.equal(blob.size, bytes.length);
    assert.deepEqual(await readAll(blob.stream), bytes);
    assert.deepEqual(await readVerified(layout, descriptor, {}, Infinity), bytes);
  }
});

Deno.test("Layout: an absent blob is NotFoundError; an invalid digest never reaches the disk", async () => {
  await using store = await TempStore.create();
  const layout = await openLayout(store.root);
  const absent = descriptorOf(MANIFEST);
  for (
    const error of [await rejection(layout.stat(absent)), await rejection(layout.open(absent))]
  ) {
    assert.ok(error instanceof NotFoundError, String(error));
    assert.equal(error.digest, absent.digest);
  }
  await Deno.writeTextFile(`${store.root}/secret`, "x");
  for (const digest of ["sha256:../secret", "sha256:" + "A".repeat(64), "md5:" + "0".repeat(32)]) {
    const d = { ...absent, digest };
    assert.ok((await rejection(layout.stat(d))) instanceof InvalidDigestError, digest);
    assert.ok((await rejection(layout.open(d))) instanceof InvalidDigestError, digest);
  }
});

Deno.test("Layout.open hands out a symbolic link's bytes only after verifying them", async () => {
  await using store = await TempStore.create();
  const layout = await openLayout(store.root);
  const descriptor = descriptorOf(MANIFEST);
  const target = `${store.root}/elsewhere`;
  await Deno.symlink(target, store.path(descriptor.digest));

  // A link to the right bytes works, from the first byte.
  await Deno.writeFile(target, MANIFEST);
  const good = await layout.open(descriptor);
  assert.equal(good.size, MANIFEST.length);
  assert.deepEqual(await readAll(good.stream), MANIFEST);

  // Same size, other bytes: refused before any stream is handed out.
  const forged = MANIFEST.slice();
  forged[3] ^= 0x20;
  await Deno.writeFile(target, forged);
  const mismatch = await rejection(layout.open(descriptor));
  assert.ok(mismatch instanceof DigestMismatchError, String(mismatch));
  assert.equal(mismatch.expected, descriptor.digest);
  assert.equal(mismatch.actual, digestOf(forged));
  assert.equal(mismatch.digest, descriptor.digest);
  assert.match(mismatch.message, /symbolic link/);

  // Longer or shorter: SizeMismatchError.
  await Deno.writeFile(target, new Uint8Array([...MANIFEST, 0x20]));
  const longer = await rejection(layout.open(descriptor));
  assert.ok(longer instanceof SizeMismatchError);
  assert.equal(longer.expected, MANIFEST.length);
  assert.equal(longer.actual, MANIFEST.length + 1);
  await Deno.writeFile(target, MANIFEST.slice(1));
  const shorter = await rejection(layout.open(descriptor));
  assert.ok(shorter instanceof SizeMismatchError);
  assert.equal(shorter.actual, MANIFEST.length - 1);

  // A chain of links is a link too.
  await Deno.writeFile(target, forged);
  await Deno.remove(store.path(descriptor.digest));
  await Deno.symlink(target, `${store.root}/hop`);
  await Deno.symlink(`${store.root}/hop`, store.path(descriptor.digest));
  assert.ok((await rejection(layout.open(descriptor))) instanceof DigestMismatchError);

  // A dangling link is an absent blob.
  await Deno.remove(target);
  assert.ok((await rejection(layout.open(descriptor))) instanceof NotFoundError);
  assert.ok((await rejection(layout.stat(descriptor))) instanceof NotFoundError);
});

Deno.test("Layout.open reads a huge link target only as far as size + 1", async () => {
  await using store = await TempStore.create();
  const layout = await openLayout(store.root);
  const descriptor = descriptorOf(MANIFEST);
  const target = `${store.root}/huge`;
  {
    using file = await Deno.open(target, { write: true, create: true });
    await file.truncate(64 * 1024 * 1024 * 1024); // sparse, 64 GiB
  }
  await Deno.symlink(target, store.path(descriptor.digest));
  const started = performance.now();
  const error = await quickly(rejection(layout.open(descriptor)));
  assert.ok(error instanceof SizeMismatchError, String(error));
  assert.equal(error.actual, MANIFEST.length + 1);
  assert.ok(performance.now() - started < 2000);
  // stat reports the target's size, unverified; the exporter compares it with the descriptor.
  assert.equal((await layout.stat(descriptor)).size, 64 * 1024 * 1024 * 1024);
});

Deno.test("Layout refuses a link to /dev/zero, a FIFO and a directory without blocking", async () => {
  await using store = await TempStore.create();
  const layout = await openLayout(store.root);
  const cases: [string, (path: string) => Promise<void>][] = [
    ["link to /dev/zero", (path) => Deno.symlink("/dev/zero", path)],
    ["link to /dev/null", (path) => Deno.symlink("/dev/null", path)],
    ["FIFO", mkfifo],
    ["link to a FIFO", async (path) => {
      await mkfifo(`${store.root}/fifo`);
      await Deno.symlink(`${store.root}/fifo`, path);
    }],
    ["directory", (path) => Deno.mkdir(path)],
    ["link to a directory", (path) => Deno.symlink(store.root, path)],
  ];
  for (const [what, make] of cases) {
    const descriptor = descriptorOf(te.encode(what));
    const path = store.path(descriptor.digest);
    await make(path);
    for (
      const error of [
        await quickly(rejection(layout.stat(descriptor))),
        await quickly(rejection(layout.open(descriptor))),
      ]
    ) {
      assert.ok(error instanceof InvalidDocumentError, `${what}: ${error}`);
      assert.match(error.message, /is not a regular file/);
      assert.equal((error as InvalidDocumentError).digest, descriptor.digest);
    }
    assert.ok(
      (await quickly(rejection(readVerified(layout, descriptor)))) instanceof InvalidDocumentError,
    );
    await Deno.remove(path);
    await Deno.remove(`${store.root}/fifo`).catch(() => {});
  }
});

Deno.test("readVerified through a Layout checks size and digest of plain files", async () => {
  await using store = await TempStore.create();
  const layout = await openLayout(store.root);
  const descriptor = descriptorOf(MANIFEST);
  const path = store.path(descriptor.digest);
  // Longer: stops one byte past the size.
  await Deno.writeFile(path, new Uint8Array([...MANIFEST, ...new Uint8Array(1 << 20)]));
  const longer = await rejection(readVerified(layout, descriptor));
  assert.ok(longer instanceof SizeMismatchError);
  assert.equal(longer.actual, MANIFEST.length + 1);
  // Shorter.
  await Deno.writeFile(path, MANIFEST.slice(0, 5));
  const shorter = await rejection(readVerified(layout, descriptor));
  assert.ok(shorter instanceof SizeMismatchError);
  assert.equal(shorter.actual, 5);
  // Other bytes of the right size.
  await Deno.writeFile(path, OTHER.slice(0, MANIFEST.length));
  assert.ok((await rejection(readVerified(layout, descriptor))) instanceof DigestMismatchError);
  // Right bytes.
  await Deno.writeFile(path, MANIFEST);
  assert.deepEqual(await readVerified(layout, descriptor), MANIFEST);
});

Deno.test("Layout.open of a plain file is not verified (the exporter hashes while copying)", async () => {
  await using store = await TempStore.create();
  const layout: Layout = await openLayout(store.root);
  const descriptor = descriptorOf(MANIFEST);
  await Deno.writeFile(store.path(descriptor.digest), OTHER);
  const blob = await layout.open(descriptor);
  assert.equal(blob.size, OTHER.length); // the stored size, not the descriptor's
  assert.deepEqual(await readAll(blob.stream), OTHER);
  // Cancelling the stream closes the file (the sanitizer would report a leak).
  const again = await layout.open(descriptor);
  await again.stream.cancel();
});

Deno.test("Layout.open after stat reads the blob as it is then: a change in between is caught", async () => {
  // stat() remembers a regular file's size so that the export's open() need not look again; what
  // open() then reads is checked against the descriptor all the same, a link is verified before
  // any byte, and a FIFO never waited on.
  await using store = await TempStore.create();
  const layout = await openLayout(store.root);
  const descriptor = descriptorOf(MANIFEST);
  const path = store.path(descriptor.digest);
  await Deno.writeFile(path, MANIFEST);
  const cases: [string, () => Promise<void>, (error: unknown) => boolean][] = [
    [
      "grown",
      () => Deno.writeFile(path, new Uint8Array([...MANIFEST, 1, 2, 3])),
      (e) => e instanceof SizeMismatchError && e.actual === MANIFEST.length + 1,
    ],
    [
      "shrunk",
      () => Deno.writeFile(path, MANIFEST.slice(0, 5)),
      (e) => e instanceof SizeMismatchError && e.actual === 5,
    ],
    [
      "rewritten",
      () => Deno.writeFile(path, OTHER.slice(0, MANIFEST.length)),
      (e) => e instanceof DigestMismatchError,
    ],
    ["removed", () => Deno.remove(path), (e) => e instanceof NotFoundError],
  ];
  for (const [what, change, expected] of cases) {
    await Deno.writeFile(path, MANIFEST);
    assert.deepEqual(await layout.stat(descriptor), { size: MANIFEST.length });
    await change();
    const error = await rejection(readVerified(layout, descriptor));
    assert.ok(expected(error), `${what}: ${error}`);
  }
  // Swapped for a link to a file outside the store: verified in full before any byte is handed
  // out, as any link. Swapped for a FIFO: refused without waiting for a writer.
  const outside = `${store.root}/../${store.root.split("/").pop()}-outside`;
  await Deno.writeFile(outside, OTHER.slice(0, MANIFEST.length));
  try {
    await Deno.writeFile(path, MANIFEST);
    await layout.stat(descriptor);
    await Deno.remove(path);
    await Deno.symlink(outside, path);
    assert.ok((await quickly(rejection(layout.open(descriptor)))) instanceof DigestMismatchError);
  } finally {
    await Deno.remove(outside);
  }
  await Deno.remove(path);
  await Deno.writeFile(path, MANIFEST);
  await layout.stat(descriptor);
  await Deno.remove(path);
  await mkfifo(path);
  assert.ok((await quickly(rejection(readVerified(layout, descriptor)))) instanceof Error);
  await Deno.remove(path);
  // Unchanged, it reads as ever; a second open (nothing remembered) too.
  await Deno.writeFile(path, MANIFEST);
  await layout.stat(descriptor);
  assert.deepEqual(await readVerified(layout, descriptor), MANIFEST);
  assert.deepEqual(await readVerified(layout, descriptor), MANIFEST);
});
