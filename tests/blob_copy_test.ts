/**
 * The two ways blob bytes reach the archive: straight into the consumer's buffer through the
 * provider's `read()` (the filesystem store), and through the blob's stream (any provider). Both
 * must give the same bytes for every kind of consumer, and fail the same way on bad blobs. The
 * image here has a layer of several MiB, so reads ramp up and span several consumer buffers.
 */
import assert from "node:assert/strict";
import {
  type ContentProvider,
  DigestMismatchError,
  exportArchive,
  type ImageStore,
  type OpenedBlob,
  openLayout,
  SizeMismatchError,
} from "../mod.ts";
import { type Desc, ScratchStore } from "./support/scratch_store.ts";
import { prng } from "./support/seeded.ts";
import { entry, readTar } from "./support/tar_reader.ts";
import { concat } from "./support/bytes.ts";

const NAME = "example.com/blobs:1";
const MiB = 1024 * 1024;

/** Random bytes from a seed. */
function randomBytes(length: number, seed: number): Uint8Array {
  const next = prng(seed);
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i += 4) {
    new DataView(bytes.buffer).setUint32(i, Math.floor(next() * 2 ** 32), true);
  }
  return bytes;
}

/** A scratch store with an image whose layers are 5 MiB + 123 bytes, 0 bytes and 70001 bytes. */
async function makeStore(): Promise<{ store: ScratchStore; layers: Desc[]; big: Uint8Array }> {
  const store = await ScratchStore.copy();
  const big = randomBytes(5 * MiB + 124, 1).subarray(0, 5 * MiB + 123);
  const layers = [
    await store.put("application/vnd.oci.image.layer.v1.tar", big),
    await store.put("application/vnd.oci.image.layer.v1.tar", new Uint8Array(0)),
    await store.put(
      "application/vnd.oci.image.layer.v1.tar",
      randomBytes(70004, 2).subarray(1, 70002),
    ),
  ];
  const config = await store.put(
    "application/vnd.oci.image.config.v1+json",
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: [] },
    }),
  );
  const manifest = await store.put(
    "application/vnd.oci.image.manifest.v1+json",
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config,
      layers,
    }),
  );
  await store.name(manifest, NAME);
  return { store, layers, big };
}

type Provider = ContentProvider & ImageStore;

/** The store as a provider that changes what `open()` returns. */
function wrap(
  layout: Provider,
  change: (blob: OpenedBlob, descriptor: Desc) => OpenedBlob | Promise<OpenedBlob>,
): Provider {
  return {
    stat: (d) => layout.stat(d),
    open: async (d) => await change(await layout.open(d), d as Desc),
    getImage: (n) => layout.getImage(n),
    listImages: () => layout.listImages(),
  };
}

/** Whether a descriptor is a layer (the blobs the exporter streams; documents are read whole). */
function isLayer(descriptor: Desc): boolean {
  return descriptor.mediaType.includes(".layer.");
}

/** The providers under test: read() (the store itself), stream only, and read() in trickles. */
function providers(layout: Provider): [string, Provider][] {
  return [
    ["read()", layout],
    ["stream only", wrap(layout, ({ size, stream }) => ({ size, stream }))],
    [
      "read() of at most 1000 bytes",
      wrap(layout, (blob) => ({
        size: blob.size,
        stream: blob.stream,
        read: (buffer) => blob.read!(buffer.subarray(0, 1000)),
      })),
    ],
  ];
}

/** Reads a stream with a BYOB reader, two buffers of `size` bytes used in turn. */
async function readByob(stream: ReadableStream<Uint8Array>, size: number): Promise<Uint8Array> {
  const reader = stream.getReader({ mode: "byob" });
  const parts: Uint8Array[] = [];
  let buffers = [new ArrayBuffer(size), new ArrayBuffer(size)];
  while (true) {
    const { value, done } = await reader.read(new Uint8Array(buffers[0]));
    if (done) break;
    parts.push(value.slice());
    buffers = [buffers[1], value.buffer as ArrayBuffer];
  }
  return concat(parts);
}

/** The consumers under test. */
const CONSUMERS: [string, (s: ReadableStream<Uint8Array>) => Promise<Uint8Array>][] = [
  ["a default reader", async (s) => new Uint8Array(await new Response(s).arrayBuffer())],
  ["a BYOB reader with 8 MiB buffers", (s) => readByob(s, 8 * MiB)],
  ["a BYOB reader with 1.5 MiB buffers", (s) => readByob(s, 1.5 * MiB)],
  ["a BYOB reader with 777-byte buffers", (s) => readByob(s, 777)],
];

Deno.test("every provider and consumer gives the same archive, holding each blob as stored", async (t) => {
  const { store, layers, big } = await makeStore();
  await using _ = store;
  const layout = await openLayout(store.dir);
  const expected = await CONSUMERS[0][1](exportArchive(layout, { images: [NAME] }));
  const records = readTar(expected);
  assert.deepEqual(entry(records, `blobs/${layers[0].digest.replace(":", "/")}`).body, big);
  assert.equal(entry(records, `blobs/${layers[1].digest.replace(":", "/")}`).size, 0);
  assert.equal(entry(records, `blobs/${layers[2].digest.replace(":", "/")}`).size, 70001);
  for (const [providerLabel, provider] of providers(layout)) {
    for (const [consumerLabel, consume] of CONSUMERS) {
      await t.step(`${providerLabel}, ${consumerLabel}`, async () => {
        const actual = await consume(exportArchive(provider, { images: [NAME] }));
        assert.equal(actual.length, expected.length);
        assert.ok(actual.every((b, i) => b === expected[i]), "same bytes");
      });
    }
  }
});

/**
 * The bytes a consumer received before the export failed, and why: a BYOB reader with 2 MiB
 * buffers, or a default reader (which gets chunks made ahead of its reads).
 */
async function exportUntilError(
  provider: Provider,
  mode: "byob" | "default",
): Promise<[Uint8Array, unknown]> {
  const stream = exportArchive(provider, { images: [NAME] });
  let read: () => Promise<ReadableStreamReadResult<Uint8Array>>;
  if (mode === "byob") {
    const reader = stream.getReader({ mode: "byob" });
    read = () => reader.read(new Uint8Array(2 * MiB));
  } else {
    const reader = stream.getReader();
    read = () => reader.read();
  }
  const parts: Uint8Array[] = [];
  try {
    while (true) {
      const { value, done } = await read();
      if (done) break;
      parts.push(value);
    }
  } catch (error) {
    return [concat(parts), error];
  }
  return [concat(parts), undefined];
}

/** Whether `needle` occurs in `haystack`. */
function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

Deno.test("a bad large blob fails the same way on both paths, its last bytes held back", async (t) => {
  const { store, layers, big } = await makeStore();
  await using _ = store;
  const path = store.path(layers[0].digest);
  const tampered = big.slice();
  tampered[tampered.length - 1] ^= 1;
  const cases: [string, Uint8Array, new (...a: never[]) => Error][] = [
    ["its last byte changed", tampered, DigestMismatchError],
    ["one byte longer", concat([big, new Uint8Array([7])]), SizeMismatchError],
    ["one byte shorter", big.subarray(0, big.length - 1), SizeMismatchError],
  ];
  for (const [label, bytes, type] of cases) {
    await Deno.writeFile(path, bytes);
    for (
      const [[providerLabel, provider], mode] of providers(await openLayout(store.dir))
        .flatMap((p) => (["byob", "default"] as const).map((m) => [p, m] as const))
    ) {
      await t.step(`${label}, ${providerLabel}, ${mode} reader`, async () => {
        // As if the file changed after it was looked at: stat and open report the expected size,
        // so only reading it finds the difference.
        const changed: Provider = {
          stat: (d) => Promise.resolve({ size: d.size }),
          open: async (d) => ({ ...await provider.open(d), size: d.size }),
          getImage: (n) => provider.getImage(n),
          listImages: () => provider.listImages(),
        };
        const [received, error] = await exportUntilError(changed, mode);
        assert.ok(error instanceof type, `expected ${type.name}, got ${error}`);
        assert.match((error as Error).message, /^Layer sha256:[0-9a-f]{64} of image example\.com/);
        // Most of the layer went out, but never its last 512 bytes.
        assert.ok(received.length >= 4 * MiB, `${received.length} bytes received`);
        assert.ok(!contains(received, bytes.subarray(bytes.length - 512)));
      });
    }
  }
});

Deno.test("a blob stream that gives an empty chunk instead of ending is closed", async () => {
  const { store } = await makeStore();
  await using _ = store;
  const layout = await openLayout(store.dir);
  const expected = await new Response(exportArchive(layout, { images: [NAME] })).bytes();
  let opened = 0;
  let cancelled = 0;
  // Each layer in one chunk, then an empty chunk, then nothing: the stream never closes itself.
  // (Documents are read to their stream's end, so theirs are left as they are.)
  const provider = wrap(layout, async (blob, d) => {
    if (!isLayer(d)) return blob;
    const bytes = await new Response(blob.stream).bytes();
    opened++;
    const chunks = [bytes, new Uint8Array(0)];
    return {
      size: bytes.length,
      stream: new ReadableStream<Uint8Array>({
        pull: (controller) =>
          chunks.length > 0 ? controller.enqueue(chunks.shift()!) : new Promise(() => {}),
        cancel: () => void cancelled++,
      }, { highWaterMark: 0 }),
    };
  });
  const archive = await new Response(exportArchive(provider, { images: [NAME] })).bytes();
  assert.deepEqual(archive, expected);
  assert.ok(opened > 0);
  assert.equal(cancelled, opened, "every blob stream is closed once");
});

Deno.test("a provider whose read() breaks its contract is a one-line error", async (t) => {
  const { store } = await makeStore();
  await using _ = store;
  const layout = await openLayout(store.dir);
  for (
    const [label, read, pattern] of [
      [
        "more bytes than asked",
        (b: Uint8Array) => Promise.resolve(b.length + 1),
        /gave \d+ for a buffer of \d+ bytes/,
      ],
      ["a negative count", () => Promise.resolve(-1), /gave -1 for a buffer/],
      [
        "a rejection mid-blob",
        () => Promise.reject(new Error("Input/output error (simulated)")),
        /Input\/output error \(simulated\)/,
      ],
    ] as const
  ) {
    await t.step(label, async () => {
      let cancelled = 0;
      const provider = wrap(layout, (blob) => {
        if (blob.size < MiB) return blob;
        let reads = 0;
        return {
          size: blob.size,
          // Cancelling it closes the real file, which the resource sanitizer checks.
          stream: new ReadableStream({
            cancel() {
              cancelled++;
              return blob.stream.cancel();
            },
          }),
          // The first read is real; the second breaks.
          read: (buffer) => reads++ === 0 ? blob.read!(buffer) : read(buffer),
        };
      });
      const [, error] = await exportUntilError(provider, "byob");
      assert.ok(error instanceof Error, String(error));
      assert.match(error.message, pattern);
      assert.ok(!error.message.includes("\n"));
      assert.equal(cancelled, 1, "the blob was closed once");
    });
  }
});

Deno.test("cancelling while a read into the consumer's buffer is in flight closes the blob", async () => {
  const { store } = await makeStore();
  await using _ = store;
  let opened = 0;
  let cancelled = 0;
  const layout = await openLayout(store.dir);
  const provider = wrap(layout, (blob) => {
    opened++;
    return {
      ...blob,
      stream: new ReadableStream({
        cancel() {
          cancelled++;
          return blob.stream.cancel();
        },
      }),
    };
  });
  for (const delay of [0, 1, 5]) {
    const reader = exportArchive(provider, { images: [NAME] }).getReader({ mode: "byob" });
    const pending = reader.read(new Uint8Array(8 * MiB));
    await new Promise((resolve) => setTimeout(resolve, delay));
    await reader.cancel("enough");
    // The read was cut short by the cancel, or (the blobs being read in few calls) was done first.
    const result = await pending;
    assert.ok(result.done || result.value.length > 0);
  }
  // However far each export got (documents are read through read(), small blobs in one call),
  // every blob it opened was closed once, which the resource sanitizer confirms for the files
  // underneath.
  assert.ok(opened > 0);
  assert.equal(cancelled, opened);
});

Deno.test("a default reader's next chunk is made ahead; cancelling then closes the blob", async () => {
  const { store } = await makeStore();
  await using _ = store;
  const layout = await openLayout(store.dir);
  // Counts the layers opened and closed (documents are read to their end, as they are).
  let opened = 0;
  let closed = 0;
  const provider = wrap(layout, (blob, d) => {
    if (!isLayer(d)) return blob;
    opened++;
    const stream = new ReadableStream<Uint8Array>({
      cancel() {
        closed++;
        return blob.stream.cancel();
      },
    });
    return { ...blob, stream };
  });
  let made = 0;
  const reader = exportArchive(provider, {
    images: [NAME],
    onProgress: (progress) => made = progress.bytes,
  }).getReader();
  const first = await reader.read();
  assert.ok(!first.done && first.value.length > 0);
  // Without another read, the next chunk is made: more bytes than were handed over, with the
  // 5 MiB layer still open.
  for (let i = 0; i < 500 && made <= first.value!.length; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.ok(made > first.value!.length, `${made} bytes made, ${first.value!.length} read`);
  await reader.cancel("enough");
  assert.ok(opened > 0);
  assert.equal(closed, opened, "every opened blob is closed");
  // Cancelling while the next chunk is still being made waits for it, then closes what it opened.
  for (const delay of [0, 0, 1, 2, 5]) {
    const reader = exportArchive(provider, { images: [NAME] }).getReader();
    await reader.read();
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    await reader.cancel("enough");
    assert.equal(closed, opened, `every opened blob is closed (cancel after ${delay} ms)`);
  }
});

Deno.test("a consumer may switch from a default reader to a BYOB reader mid-stream", async () => {
  const { store } = await makeStore();
  await using _ = store;
  const layout = await openLayout(store.dir);
  const expected = await new Response(exportArchive(layout, { images: [NAME] })).bytes();
  const stream = exportArchive(layout, { images: [NAME] });
  const reader = stream.getReader();
  const first = await reader.read();
  reader.releaseLock();
  const rest = await readByob(stream, 1.5 * MiB);
  assert.deepEqual(concat([first.value!, rest]), expected);
});
