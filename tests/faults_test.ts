/**
 * Bad input and faults (issue 6): one test per rule. Whatever a store holds, an export ends in a
 * complete, verified archive or in one clear error of a documented class, naming the blob and the
 * image; and no file handle stays open (the resource sanitizer checks every test).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  type ContentProvider,
  DigestMismatchError,
  exportArchive,
  type ExportOptions,
  InvalidArgumentError,
  InvalidDigestError,
  InvalidDocumentError,
  NotFoundError,
  OcipackError,
  openLayout,
  SizeMismatchError,
} from "../mod.ts";
import { type Desc, ScratchStore } from "./support/scratch_store.ts";
import { readTar } from "./support/tar_reader.ts";

const HELLO = "docker.io/library/hello:oci";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";

async function exportFrom(dir: string, options: ExportOptions): Promise<Uint8Array> {
  const stream = exportArchive(await openLayout(dir), options);
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Exports, expecting an error of `type` whose message matches every pattern. */
async function expectError(
  dir: string,
  options: ExportOptions,
  type: new (...args: never[]) => OcipackError,
  ...patterns: RegExp[]
): Promise<OcipackError> {
  let caught: unknown;
  try {
    await exportFrom(dir, options);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof type, `expected ${type.name}, got ${caught}`);
  const message = (caught as Error).message;
  assert.ok(!message.includes("\n"), `one line: ${message}`);
  for (const p of patterns) assert.match(message, p);
  return caught as OcipackError;
}

/** A manifest for the hello image's config and layers, with changes. */
async function helloManifest(store: ScratchStore, change: (m: Record<string, unknown>) => void) {
  const hello = await store.target(HELLO);
  const manifest = await store.json(hello.digest);
  change(manifest);
  return await store.put(OCI_MANIFEST, JSON.stringify(manifest));
}

Deno.test("crafted digests are refused before any path is built from them", async (t) => {
  await using store = await ScratchStore.copy();
  // A file outside the store that a path traversal would reach.
  const secret = `${store.dir}/../ocipack-secret-${crypto.randomUUID()}`;
  await Deno.writeTextFile(secret, "secret");
  try {
    const bad = [
      "sha256:../../../" + secret,
      "sha256:" + "A".repeat(64),
      "sha256:" + "a".repeat(63),
      "sha256:" + "a".repeat(65),
      "sha512:" + "a".repeat(64),
      "md5:d41d8cd98f00b204e9800998ecf8427e",
      "sha256",
      "",
      ":abc",
      "sha256:" + "a".repeat(62) + "/x",
    ];
    for (const digest of bad) {
      await t.step(JSON.stringify(digest.slice(0, 40)), async () => {
        const manifest = await helloManifest(store, (m) => {
          (m.layers as Desc[])[0].digest = digest;
        });
        await store.name(manifest, "crafted:1");
        const error = await expectError(
          store.dir,
          { images: ["crafted:1"] },
          InvalidDigestError,
          /Invalid digest/,
          /of image crafted:1/,
        );
        assert.equal(error.image, "crafted:1");
      });
    }
    await t.step("in a request", async () => {
      await assert.rejects(
        exportFrom(store.dir, {
          manifests: [{ descriptor: { mediaType: OCI_MANIFEST, digest: "sha256:../x", size: 1 } }],
        }),
        InvalidArgumentError,
      );
    });
  } finally {
    await Deno.remove(secret);
  }
});

Deno.test("descriptor sizes must be non-negative safe integers", async (t) => {
  await using store = await ScratchStore.copy();
  for (const size of [-1, 1.5, "12", 2 ** 53, 1e400, null]) {
    await t.step(String(size), async () => {
      const hello = await store.target(HELLO);
      const text = (await Deno.readTextFile(store.path(hello.digest)))
        .replace(/"size": \d+/, `"size": ${size === 1e400 ? "1e400" : JSON.stringify(size)}`);
      const manifest = await store.put(OCI_MANIFEST, text);
      await store.name(manifest, "sizes:1");
      if (size === null) {
        // Go's zero value: the config's size becomes 0, which the stored blob contradicts.
        await expectError(
          store.dir,
          { images: ["sizes:1"] },
          SizeMismatchError,
          /of image sizes:1/,
        );
      } else {
        await expectError(store.dir, { images: ["sizes:1"] }, InvalidDocumentError, /size/);
      }
    });
  }
});

Deno.test("a blob longer or shorter than its descriptor", async (t) => {
  await using store = await ScratchStore.copy();
  const hello = await store.target(HELLO);
  const layer = (await store.json<{ layers: Desc[] }>(hello.digest)).layers[1];
  const original = await Deno.readFile(store.path(layer.digest));
  for (
    const [label, bytes] of [
      ["longer", new Uint8Array([...original, 0])],
      ["shorter", original.subarray(0, original.length - 1)],
    ] as const
  ) {
    await t.step(label, async () => {
      await Deno.writeFile(store.path(layer.digest), bytes);
      const error = await expectError(
        store.dir,
        { images: [HELLO] },
        SizeMismatchError,
        /Layer sha256:[0-9a-f]{64} of image docker\.io\/library\/hello:oci/,
      );
      assert.equal(error.digest, layer.digest);
    });
  }
  await Deno.writeFile(store.path(layer.digest), original);
});

Deno.test("a tampered blob: digest mismatch, and its record is never completed", async () => {
  await using store = await ScratchStore.copy();
  const hello = await store.target(HELLO);
  const layer = (await store.json<{ layers: Desc[] }>(hello.digest)).layers[1];
  const bytes = await Deno.readFile(store.path(layer.digest));
  bytes[bytes.length - 1] ^= 1;
  await Deno.writeFile(store.path(layer.digest), bytes);
  // Read chunk by chunk, as a consumer writing to disk would, and keep what arrived.
  const reader = exportArchive(await openLayout(store.dir), { images: [HELLO] }).getReader();
  const received: number[] = [];
  let caught: unknown;
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      received.push(...value);
    }
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof DigestMismatchError, String(caught));
  assert.equal(caught.expected, layer.digest);
  assert.match(
    caught.message,
    /^Layer (sha256:[0-9a-f]{64}) of image docker\.io\/library\/hello:oci does not match its digest: expected \1, found sha256:[0-9a-f]{64}$/,
  );
  // The tampered layer's last byte never reached the consumer.
  const tail = bytes.subarray(bytes.length - 512);
  const out = new Uint8Array(received);
  const found = out.findIndex((_, i) => tail.every((b, j) => out[i + j] === b));
  assert.equal(found, -1);
});

Deno.test("a tampered manifest is refused before it is parsed", async () => {
  await using store = await ScratchStore.copy();
  const hello = await store.target(HELLO);
  await Deno.writeTextFile(
    store.path(hello.digest),
    "{not json, but the right size?".padEnd(hello.size),
  );
  await expectError(
    store.dir,
    { images: [HELLO] },
    DigestMismatchError,
    /^Manifest sha256:[0-9a-f]{64} of image docker\.io\/library\/hello:oci does not match its digest: expected sha256:[0-9a-f]{64}, found sha256:/,
  );
});

Deno.test("a missing blob: NotFoundError naming the blob and the image, before any output", async () => {
  await using store = await ScratchStore.copy();
  const hello = await store.target(HELLO);
  const config = (await store.json<{ config: Desc }>(hello.digest)).config;
  await Deno.remove(store.path(config.digest));
  const reader = exportArchive(await openLayout(store.dir), { images: [HELLO] }).getReader();
  const error = await reader.read().then(() => undefined, (e) => e);
  assert.ok(error instanceof NotFoundError);
  assert.equal(error.message, `Config ${config.digest} of image ${HELLO} not found`);
});

Deno.test("under skipMissing, a config or layer of the wrong size is named as such", async (t) => {
  await using store = await ScratchStore.copy();
  const hello = await store.target(HELLO);
  const { config, layers } = await store.json<{ config: Desc; layers: Desc[] }>(hello.digest);
  for (const [role, blob] of [["Config", config], ["Layer", layers[1]]] as const) {
    await t.step(role, async () => {
      const original = await Deno.readFile(store.path(blob.digest));
      await Deno.writeFile(store.path(blob.digest), new Uint8Array([...original, 0]));
      const error = await expectError(
        store.dir,
        { images: [HELLO], skipMissing: true },
        SizeMismatchError,
        new RegExp(`^${role} ${blob.digest} of image docker\\.io/library/hello:oci `),
      );
      assert.equal(error.digest, blob.digest);
      await Deno.writeFile(store.path(blob.digest), original);
    });
  }
});

Deno.test("blobs that are not regular files are refused without blocking", async (t) => {
  await using store = await ScratchStore.copy();
  const hello = await store.target(HELLO);
  const layer = (await store.json<{ layers: Desc[] }>(hello.digest)).layers[1];
  const path = store.path(layer.digest);
  const original = await Deno.readFile(path);
  const kinds: [string, () => Promise<void>][] = [
    ["directory", () => Deno.mkdir(path)],
    ["FIFO", async () => {
      assert.equal((await new Deno.Command("mkfifo", { args: [path] }).output()).code, 0);
    }],
    ["symlink to /dev/zero", () => Deno.symlink("/dev/zero", path)],
    ["symlink to a directory", () => Deno.symlink("/", path)],
  ];
  for (const [label, make] of kinds) {
    await t.step(label, async () => {
      await Deno.remove(path, { recursive: true });
      await make();
      await expectError(
        store.dir,
        { images: [HELLO] },
        InvalidDocumentError,
        /is not a regular file/,
      );
    });
  }
  await Deno.remove(path, { recursive: true });
  await Deno.writeFile(path, original);
});

Deno.test("a symlinked blob is verified before any of its bytes reach the output", async (t) => {
  await using store = await ScratchStore.copy();
  const hello = await store.target(HELLO);
  const layer = (await store.json<{ layers: Desc[] }>(hello.digest)).layers[1];
  const path = store.path(layer.digest);
  const original = await Deno.readFile(path);
  const secretPath = `${store.dir}/secret`;
  const secret = new TextEncoder().encode("TOP-SECRET ".repeat(Math.ceil(layer.size / 11)))
    .subarray(0, layer.size);
  await Deno.writeFile(secretPath, secret);
  await t.step("a link to another file of the same size", async () => {
    await Deno.remove(path);
    await Deno.symlink(secretPath, path);
    const reader = exportArchive(await openLayout(store.dir), { images: [HELLO] }).getReader();
    let out = "";
    let caught: unknown;
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        out += new TextDecoder().decode(value);
      }
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof DigestMismatchError, String(caught));
    assert.ok(!out.includes("TOP-SECRET"), "no byte of the linked file leaked");
  });
  await t.step("a link to a copy with the right content is fine", async () => {
    await Deno.writeFile(secretPath, original);
    const archive = readTar(await exportFrom(store.dir, { images: [HELLO] }));
    assert.ok(archive.some((r) => r.name === `blobs/sha256/${layer.digest.slice(7)}`));
  });
});

Deno.test("JSON documents are size-capped", async (t) => {
  await using store = await ScratchStore.copy();
  await t.step("a manifest over 4 MiB", async () => {
    const big = await helloManifest(store, (m) => {
      m.annotations = { padding: "x".repeat(4 * 1024 * 1024) };
    });
    await store.name(big, "big:1");
    await expectError(
      store.dir,
      { images: ["big:1"] },
      InvalidDocumentError,
      /over the 4194304-byte limit/,
      /big:1/,
    );
  });
  await t.step("an index.json over 64 MiB", async () => {
    const file = await Deno.open(`${store.dir}/index.json`, { write: true });
    await file.truncate(64 * 1024 * 1024 + 1);
    file.close();
    await assert.rejects(openLayout(store.dir), InvalidDocumentError);
  });
});

Deno.test("documents that are not what their media type says (CVE-2021-41190)", async (t) => {
  await using store = await ScratchStore.copy();
  const hello = await store.target(HELLO);
  const manifest = await store.json(hello.digest);
  const cases: [string, string, unknown][] = [
    ["a manifest with manifests", OCI_MANIFEST, { ...manifest, manifests: [] }],
    ["a manifest whose mediaType says index", OCI_MANIFEST, { ...manifest, mediaType: OCI_INDEX }],
    ["an index with layers", OCI_INDEX, { schemaVersion: 2, manifests: [], layers: [] }],
    ["an index with a config", OCI_INDEX, { schemaVersion: 2, manifests: [], config: {} }],
    ["a Docker schema 1 manifest", OCI_MANIFEST, { schemaVersion: 1, fsLayers: [] }],
    ["not JSON", OCI_MANIFEST, "{]"],
    ["a manifest whose layers are a string", OCI_MANIFEST, { ...manifest, layers: "x" }],
    ["an index whose manifests hold a number", OCI_INDEX, { schemaVersion: 2, manifests: [1] }],
  ];
  for (const [label, mediaType, doc] of cases) {
    await t.step(label, async () => {
      const blob = await store.put(mediaType, typeof doc === "string" ? doc : JSON.stringify(doc));
      await store.name(blob, "confused:1");
      await expectError(
        store.dir,
        { images: ["confused:1"], platform: "linux/amd64" },
        InvalidDocumentError,
        /confused:1/,
      );
    });
  }
});

Deno.test("a diamond of shared indexes costs linear time; deep nesting is capped", async (t) => {
  await using store = await ScratchStore.copy();
  const hello = await store.target(HELLO);
  await t.step("a diamond 25 levels deep (2^25 paths, 25 documents)", async () => {
    // Level k's index lists level k+1 twice.
    let child: Desc = { ...hello, platform: { architecture: "amd64", os: "linux" } };
    for (let level = 0; level < 25; level++) {
      child = await store.put(
        OCI_INDEX,
        JSON.stringify({ schemaVersion: 2, manifests: [child, child] }),
      );
    }
    await store.name(child, "diamond:1");
    const started = performance.now();
    // The selected child is an index, which cannot have a manifest.json entry (as in containerd).
    const archive = readTar(
      await exportFrom(store.dir, {
        images: ["diamond:1"],
        platform: "linux/amd64",
        skipDockerManifest: true,
      }),
    );
    assert.ok(performance.now() - started < 5000);
    assert.ok(archive.some((r) => r.name === `blobs/sha256/${hello.digest.slice(7)}`));
  });
  await t.step("indexes nested 40 deep", async () => {
    let child: Desc = hello;
    for (let level = 0; level < 40; level++) {
      child = await store.put(OCI_INDEX, JSON.stringify({ schemaVersion: 2, manifests: [child] }));
    }
    await store.name(child, "deep:1");
    await expectError(
      store.dir,
      { images: ["deep:1"] },
      InvalidDocumentError,
      /nested more than 32 levels/,
      /deep:1/,
    );
  });
});

Deno.test("a read error mid-blob errors the stream and closes the blob", async () => {
  const layout = await openLayout(new URL("../testdata/store/", import.meta.url));
  let cancelled = 0;
  const failing: ContentProvider = {
    stat: (d) => layout.stat(d),
    async open(d) {
      const blob = await layout.open(d);
      if (!d.mediaType.includes("layer")) return blob;
      const reader = blob.stream.getReader();
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (sent > 0) throw new Error("Input/output error (simulated)");
          const { value } = await reader.read();
          sent += value!.length;
          controller.enqueue(value!.subarray(0, 100));
        },
        async cancel() {
          cancelled++;
          await reader.cancel();
        },
      });
      return { size: blob.size, stream };
    },
  };
  const store = { ...failing, getImage: (n: string) => layout.getImage(n) };
  await assert.rejects(
    new Response(exportArchive(store, { images: [HELLO] })).arrayBuffer(),
    /Input\/output error \(simulated\)/,
  );
  // The failing stream errored itself; the underlying file was closed by cancel or EOF.
  assert.ok(cancelled <= 1);
});

Deno.test("a provider that throws a non-Error is reported, not swallowed", async () => {
  const layout = await openLayout(new URL("../testdata/store/", import.meta.url));
  const store = {
    stat: (d: Desc) => layout.stat(d),
    open: () => Promise.reject("a string"),
    getImage: (n: string) => layout.getImage(n),
  };
  await assert.rejects(new Response(exportArchive(store, { images: [HELLO] })).arrayBuffer());
});

Deno.test("every error class is exported and carries digest and image", async () => {
  await using store = await ScratchStore.copy();
  const hello = await store.target(HELLO);
  const layer = (await store.json<{ layers: Desc[] }>(hello.digest)).layers[0];
  await Deno.remove(store.path(layer.digest));
  const error = await expectError(store.dir, { images: [HELLO] }, NotFoundError);
  assert.equal(error.digest, layer.digest);
  assert.equal(error.image, HELLO);
  assert.equal(error.name, "NotFoundError");
  assert.ok(error instanceof OcipackError && error instanceof Error);
  assert.equal(createHash("sha256").update("").digest("hex").length, 64);
});
