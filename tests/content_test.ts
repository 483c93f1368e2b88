// Tests for lib/stores/content.ts: readVerified reads at most size + 1 bytes and verifies size and digest
// before handing anything back.
import assert from "node:assert/strict";
import {
  capitalize,
  type ContentProvider,
  describeBlob,
  MAX_DOCUMENT_SIZE,
  type OpenedBlob,
  readVerified,
} from "../lib/stores/content.ts";
import { digestOf } from "../lib/oci/digest.ts";
import type { Descriptor } from "../lib/oci/documents.ts";
import {
  DigestMismatchError,
  InvalidDigestError,
  InvalidDocumentError,
  NotFoundError,
  SizeMismatchError,
} from "../lib/oci/errors.ts";

const te = new TextEncoder();

interface Source {
  /** The bytes served, repeated forever when `endless` is set. */
  bytes: Uint8Array;
  /** Chunk size the stream serves (default: everything at once). */
  chunk?: number;
  endless?: boolean;
  /** Fail the stream after this many chunks. */
  failAfter?: number;
  /** Serve a byte stream (type: "bytes") rather than a default stream. */
  byteStream?: boolean;
}

/** An in-memory provider that records how it was used. */
class FakeProvider implements ContentProvider {
  readonly sources = new Map<string, Source>();
  opens = 0;
  chunksServed = 0;
  bytesServed = 0;
  cancelled = 0;

  add(digest: string, source: Source): this {
    this.sources.set(digest, source);
    return this;
  }

  stat(descriptor: Descriptor) {
    const source = this.sources.get(descriptor.digest);
    if (!source) return Promise.reject(new NotFoundError(`no ${descriptor.digest}`));
    return Promise.resolve({ size: source.bytes.length });
  }

  open(descriptor: Descriptor): Promise<OpenedBlob> {
    this.opens++;
    const source = this.sources.get(descriptor.digest);
    if (!source) return Promise.reject(new NotFoundError(`no ${descriptor.digest}`));
    const chunk = source.chunk ?? Math.max(1, source.bytes.length);
    let offset = 0;
    let served = 0;
    const pull = (controller: ReadableStreamDefaultController<Uint8Array>) => {
      if (source.failAfter !== undefined && served >= source.failAfter) {
        controller.error(new Error("disk on fire"));
        return;
      }
      if (offset >= source.bytes.length) {
        if (!source.endless || source.bytes.length === 0) {
          controller.close();
          return;
        }
        offset = 0;
      }
      const piece = source.bytes.slice(offset, offset + chunk);
      offset += piece.length;
      served++;
      this.chunksServed++;
      this.bytesServed += piece.length;
      controller.enqueue(piece);
    };
    const stream = source.byteStream
      ? new ReadableStream({
        type: "bytes",
        pull: (c) => pull(c as unknown as ReadableStreamDefaultController<Uint8Array>),
        cancel: () => {
          this.cancelled++;
        },
      })
      : new ReadableStream<Uint8Array>({
        pull,
        cancel: () => {
          this.cancelled++;
        },
      }, { highWaterMark: 0 });
    return Promise.resolve({ size: source.bytes.length, stream });
  }
}

function describe(bytes: Uint8Array, fields: Partial<Descriptor> = {}): Descriptor {
  return {
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest: digestOf(bytes),
    size: bytes.length,
    ...fields,
  };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  assert.fail("did not reject");
}

const DOC = te.encode('{"schemaVersion":2,"layers":[]}');

Deno.test("readVerified returns the bytes of a blob that matches its descriptor", async () => {
  for (const options of [{}, { chunk: 1 }, { chunk: 5 }, { byteStream: true, chunk: 7 }]) {
    const provider = new FakeProvider().add(digestOf(DOC), { bytes: DOC, ...options });
    const bytes = await readVerified(provider, describe(DOC));
    assert.deepEqual(bytes, DOC);
    assert.equal(provider.opens, 1);
  }
  // Other algorithms, and the empty blob.
  for (const algorithm of ["sha384", "sha512"]) {
    const provider = new FakeProvider().add(digestOf(DOC, algorithm), { bytes: DOC });
    assert.deepEqual(
      await readVerified(provider, describe(DOC, { digest: digestOf(DOC, algorithm) })),
      DOC,
    );
  }
  const empty = new Uint8Array();
  const provider = new FakeProvider().add(digestOf(empty), { bytes: empty });
  assert.deepEqual(await readVerified(provider, describe(empty)), empty);
});

Deno.test("readVerified stops after size + 1 bytes of a blob that is too long", async () => {
  const descriptor = describe(DOC);
  for (
    const options of [{ chunk: 1 }, { chunk: 4 }, { chunk: 1000 }, { chunk: 3, byteStream: true }]
  ) {
    // An endless stream of the right bytes repeated: the read must stop, and cancel the stream.
    const provider = new FakeProvider().add(descriptor.digest, {
      bytes: DOC,
      endless: true,
      ...options,
    });
    const error = await rejection(
      readVerified(provider, descriptor, { role: "manifest", image: "img:1" }),
    );
    assert.ok(error instanceof SizeMismatchError, String(error));
    assert.equal(error.expected, DOC.length);
    assert.equal(error.actual, DOC.length + 1);
    assert.equal(error.digest, descriptor.digest);
    assert.equal(error.image, "img:1");
    assert.equal(
      error.message,
      `Manifest ${descriptor.digest} of image img:1 is longer than its descriptor's ${DOC.length} bytes`,
    );
    assert.ok(provider.bytesServed <= DOC.length + options.chunk, `served ${provider.bytesServed}`);
    assert.equal(provider.cancelled, 1, "the stream is cancelled");
  }
  // A blob one byte too long, whose first `size` bytes are the right ones.
  const longer = new Uint8Array([...DOC, 0x0a]);
  const provider = new FakeProvider().add(descriptor.digest, { bytes: longer });
  assert.ok(await rejection(readVerified(provider, descriptor)) instanceof SizeMismatchError);
});

Deno.test("readVerified refuses a blob that is too short", async () => {
  const descriptor = describe(DOC);
  for (const chunk of [1, 100]) {
    const provider = new FakeProvider().add(descriptor.digest, { bytes: DOC.slice(0, 10), chunk });
    const error = await rejection(readVerified(provider, descriptor));
    assert.ok(error instanceof SizeMismatchError);
    assert.equal(error.expected, DOC.length);
    assert.equal(error.actual, 10);
    assert.equal(
      error.message,
      `Blob ${descriptor.digest} is 10 bytes, but its descriptor says ${DOC.length}`,
    );
  }
  const empty = new FakeProvider().add(descriptor.digest, { bytes: new Uint8Array() });
  assert.equal(((await rejection(readVerified(empty, descriptor))) as SizeMismatchError).actual, 0);
});

Deno.test("readVerified refuses bytes whose digest differs", async () => {
  const descriptor = describe(DOC);
  const other = DOC.slice();
  other[5] ^= 1;
  const provider = new FakeProvider().add(descriptor.digest, { bytes: other, chunk: 3 });
  const error = await rejection(readVerified(provider, descriptor, { role: "index", image: "x" }));
  assert.ok(error instanceof DigestMismatchError);
  assert.equal(error.expected, descriptor.digest);
  assert.equal(error.actual, digestOf(other));
  assert.equal(error.digest, descriptor.digest);
  assert.equal(error.image, "x");
  assert.equal(
    error.message,
    `Index ${descriptor.digest} of image x does not match its digest: expected ` +
      `${descriptor.digest}, found ${digestOf(other)}`,
  );
  // The same bytes under another algorithm's digest.
  const sha512 = describe(DOC, { digest: digestOf(other, "sha512") });
  const p512 = new FakeProvider().add(sha512.digest, { bytes: DOC });
  const e512 = await rejection(readVerified(p512, sha512));
  assert.ok(e512 instanceof DigestMismatchError);
  assert.equal(e512.actual, digestOf(DOC, "sha512"));
});

Deno.test("readVerified refuses a document over the limit before opening it", async () => {
  const big = describe(DOC, { size: MAX_DOCUMENT_SIZE + 1 });
  const provider = new FakeProvider().add(big.digest, { bytes: DOC });
  const error = await rejection(readVerified(provider, big, { role: "manifest" }));
  assert.ok(error instanceof InvalidDocumentError);
  assert.equal(error.digest, big.digest);
  assert.equal(
    error.message,
    `Manifest ${big.digest} is ${
      MAX_DOCUMENT_SIZE + 1
    } bytes, over the ${MAX_DOCUMENT_SIZE}-byte limit for a document`,
  );
  assert.equal(provider.opens, 0);
  // A custom limit; the limit itself is allowed.
  const small = new FakeProvider().add(digestOf(DOC), { bytes: DOC });
  assert.ok(
    await rejection(readVerified(small, describe(DOC), {}, DOC.length - 1)) instanceof
      InvalidDocumentError,
  );
  assert.equal(small.opens, 0);
  assert.deepEqual(await readVerified(small, describe(DOC), {}, DOC.length), DOC);
  assert.equal(MAX_DOCUMENT_SIZE, 4 * 1024 * 1024);
});

Deno.test("readVerified reads a document of exactly the default limit", async () => {
  const bytes = new Uint8Array(MAX_DOCUMENT_SIZE).fill(0x20);
  const provider = new FakeProvider().add(digestOf(bytes), { bytes, chunk: 65536 });
  assert.equal((await readVerified(provider, describe(bytes))).length, MAX_DOCUMENT_SIZE);
});

Deno.test("readVerified validates the digest before using the provider", async () => {
  const provider = new FakeProvider();
  for (
    const digest of ["sha256:../../x", "md5:" + "0".repeat(32), "", "sha256:" + "A".repeat(64)]
  ) {
    const error = await rejection(readVerified(provider, describe(DOC, { digest })));
    assert.ok(error instanceof InvalidDigestError, String(error));
  }
  assert.equal(provider.opens, 0);
});

Deno.test("readVerified passes on the provider's errors", async () => {
  const missing = await rejection(readVerified(new FakeProvider(), describe(DOC)));
  assert.ok(missing instanceof NotFoundError);
  const provider = new FakeProvider().add(digestOf(DOC), { bytes: DOC, chunk: 2, failAfter: 3 });
  const error = await rejection(readVerified(provider, describe(DOC)));
  assert.equal(error.message, "disk on fire");
});

Deno.test("describeBlob and capitalize", () => {
  const d = describe(DOC);
  assert.equal(describeBlob(d), `blob ${d.digest}`);
  assert.equal(describeBlob(d, { role: "config" }), `config ${d.digest}`);
  assert.equal(describeBlob(d, { role: "layer", image: "a:1" }), `layer ${d.digest} of image a:1`);
  // The image is not repeated when it was requested by this very digest.
  assert.equal(describeBlob(d, { role: "manifest", image: d.digest }), `manifest ${d.digest}`);
  assert.equal(capitalize("blob x"), "Blob x");
  assert.equal(capitalize(""), "");
  assert.equal(capitalize("éa"), "Éa");
});
