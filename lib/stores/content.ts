/**
 * The content-provider interface the exporter reads blobs through, the image-store interface it
 * resolves names with, and a reader for the small JSON documents the walk must parse.
 *
 * @module
 */
import type { Descriptor } from "../oci/documents.ts";
import { digestOf, parseDigest } from "../oci/digest.ts";
import {
  DigestMismatchError,
  InvalidDocumentError,
  OcipackError,
  SizeMismatchError,
} from "../oci/errors.ts";

/**
 * What a provider knows of a stored blob without reading it.
 *
 * @example Check a blob's stored size
 * ```ts
 * import assert from "node:assert/strict";
 * import { type BlobInfo, openLayout } from "@ocipack/ocipack";
 *
 * const store = await openLayout("testdata/store");
 * const { target } = await store.getImage("docker.io/library/hello:oci");
 * const info: BlobInfo = await store.stat(target);
 * assert.equal(info.size, target.size);
 * ```
 */
export interface BlobInfo {
  /** The stored size in bytes. */
  size: number;
  /**
   * The blob's content labels, where the store keeps them (containerd's metadata, a registry
   * source). The exporter copies those starting `containerd.io/distribution.source.` into the
   * `index.json` entry of each requested manifest or index, as containerd 2.x does; a store
   * without labels leaves this out.
   */
  labels?: Readonly<Record<string, string>>;
}

/** The prefix of the content labels that record where a blob was pulled from. */
export const LABEL_DISTRIBUTION_SOURCE = "containerd.io/distribution.source";

/**
 * An opened blob: its stored size and a stream of its bytes.
 *
 * @example Read a manifest from a store
 * ```ts
 * import assert from "node:assert/strict";
 * import { openLayout, type OpenedBlob } from "@ocipack/ocipack";
 *
 * const store = await openLayout("testdata/store");
 * const { target } = await store.getImage("docker.io/library/hello:oci");
 * const blob: OpenedBlob = await store.open(target);
 * const manifest = await new Response(blob.stream).json();
 * assert.equal(manifest.layers.length, 2);
 * ```
 *
 * @example Read a blob into a buffer of your own
 * ```ts
 * import assert from "node:assert/strict";
 * import { openLayout } from "@ocipack/ocipack";
 *
 * const store = await openLayout("testdata/store");
 * const { target } = await store.getImage("docker.io/library/hello:oci");
 * const blob = await store.open(target);
 * const buffer = new Uint8Array(blob.size);
 * let filled = 0;
 * while (filled < buffer.length) {
 *   const n = await blob.read!(buffer.subarray(filled));
 *   if (n === null) break;
 *   filled += n;
 * }
 * await blob.stream.cancel(); // closes the file
 * assert.equal(filled, target.size);
 * ```
 */
export interface OpenedBlob {
  /** The stored size in bytes. */
  size: number;
  /**
   * The bytes. A byte stream (`type: "bytes"`) lets the exporter read straight into its own
   * buffers; any other stream works too. The exporter reads it to the end or cancels it.
   */
  stream: ReadableStream<Uint8Array>;
  /**
   * Optionally, reads the blob's next bytes into `buffer`, as `Deno.FsFile.read` does: resolves
   * with how many bytes it placed at the start of `buffer` (at most its length), or null at the
   * end. When it is given, the exporter reads through it alone, straight into the consumer's
   * buffer with the next read in flight while the last one is hashed, and closes the blob when
   * it is done (`close()`, else by cancelling `stream`).
   */
  read?(buffer: Uint8Array): Promise<number | null>;
  /**
   * Optionally, closes the blob without using `stream`, which then need not ever be made: once
   * done with a blob, the exporter calls this when it is given, and cancels `stream` otherwise.
   */
  close?(): void | Promise<void>;
}

/**
 * A source of blobs, addressed by descriptor. Implementations reject with
 * {@linkcode NotFoundError} for a blob they do not hold; they need not verify digests (the
 * exporter does), and must not build paths or URLs from a digest they have not validated (a
 * known algorithm, then lower-case hex of its exact length; {@linkcode Layout} rejects anything
 * else with {@linkcode InvalidDigestError}).
 *
 * @example Serve blobs from memory
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   type ContentProvider,
 *   type Descriptor,
 *   exportArchive,
 *   NotFoundError,
 *   openLayout,
 * } from "@ocipack/ocipack";
 *
 * // Blobs held in memory by digest; here, copied from the test store.
 * const blobs = new Map<string, Uint8Array>();
 * const dir = "testdata/store/blobs/sha256";
 * for await (const entry of Deno.readDir(dir)) {
 *   blobs.set(`sha256:${entry.name}`, await Deno.readFile(`${dir}/${entry.name}`));
 * }
 *
 * function lookup(descriptor: Descriptor): Promise<Uint8Array> {
 *   const bytes = blobs.get(descriptor.digest);
 *   if (bytes !== undefined) return Promise.resolve(bytes);
 *   const error = new NotFoundError(`Blob ${descriptor.digest} not found`, {
 *     digest: descriptor.digest,
 *   });
 *   return Promise.reject(error);
 * }
 *
 * const memory: ContentProvider = {
 *   async stat(descriptor) {
 *     return { size: (await lookup(descriptor)).length };
 *   },
 *   async open(descriptor) {
 *     const bytes = await lookup(descriptor);
 *     return { size: bytes.length, stream: ReadableStream.from([bytes]) };
 *   },
 * };
 *
 * // Without an image store, images are exported by descriptor.
 * const layout = await openLayout("testdata/store");
 * const { name, target } = await layout.getImage("docker.io/library/hello:oci");
 * const options = { manifests: [{ descriptor: target, names: [name] }] };
 * const fromMemory = await new Response(exportArchive(memory, options)).bytes();
 * const fromLayout = await new Response(exportArchive(layout, options)).bytes();
 * assert.deepEqual(fromMemory, fromLayout);
 * ```
 */
export interface ContentProvider {
  /** Reports a blob's stored size. */
  stat(descriptor: Descriptor): Promise<BlobInfo>;
  /** Opens a blob for reading. */
  open(descriptor: Descriptor): Promise<OpenedBlob>;
}

/**
 * A named image: a name and the descriptor of its manifest or index.
 *
 * @example Look up what an image name points to
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Image, openLayout } from "@ocipack/ocipack";
 *
 * const store = await openLayout("testdata/store");
 * const image: Image = await store.getImage("example.com/multi:1.0");
 * assert.equal(image.target.mediaType, "application/vnd.oci.image.index.v1+json");
 * ```
 */
export interface Image {
  /** The image's name, for example `docker.io/library/alpine:3.20`. */
  name: string;
  /** The manifest or index the name points to. */
  target: Descriptor;
}

/**
 * Resolves image names to descriptors. {@linkcode exportArchive} needs one, besides the
 * {@linkcode ContentProvider}, to export images by name (its `images` option).
 *
 * @example Export under names kept in your own catalogue
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   type ContentProvider,
 *   type Descriptor,
 *   exportArchive,
 *   type ImageStore,
 *   NotFoundError,
 *   openLayout,
 * } from "@ocipack/ocipack";
 *
 * // Names from a catalogue (a database, say); blobs from an OCI layout.
 * const layout = await openLayout("testdata/store");
 * const hello = await layout.getImage("docker.io/library/hello:oci");
 * const catalogue = new Map<string, Descriptor>([["registry.example/hello:1.0", hello.target]]);
 *
 * const store: ContentProvider & ImageStore = {
 *   stat: (descriptor) => layout.stat(descriptor),
 *   open: (descriptor) => layout.open(descriptor),
 *   listImages() {
 *     return Promise.resolve([...catalogue].map(([name, target]) => ({ name, target })));
 *   },
 *   getImage(name) {
 *     const target = catalogue.get(name);
 *     if (target === undefined) {
 *       return Promise.reject(new NotFoundError(`Image ${name} not found`));
 *     }
 *     return Promise.resolve({ name, target });
 *   },
 * };
 *
 * let blobs = 0;
 * const archive = exportArchive(store, {
 *   images: ["registry.example/hello:1.0"],
 *   onProgress: (progress) => blobs = progress.blobs,
 * });
 * await archive.pipeTo(new WritableStream());
 * assert.equal(blobs, 4); // the manifest, its config and two layers
 * ```
 */
export interface ImageStore {
  /** Lists every named image, in store order. */
  listImages(): Promise<Image[]>;
  /** Looks up one image by its exact name; rejects with {@linkcode NotFoundError}. */
  getImage(name: string): Promise<Image>;
}

/**
 * The size cap for a manifest or index, in bytes (4 MiB): larger ones are refused, as registries
 * and containers/image do.
 *
 * @example Refuse an oversized document before reading it
 * ```ts
 * import assert from "node:assert/strict";
 * import { MAX_DOCUMENT_SIZE, openLayout } from "@ocipack/ocipack";
 *
 * const store = await openLayout("testdata/store");
 * const { target } = await store.getImage("example.com/multi:1.0");
 * if (target.size > MAX_DOCUMENT_SIZE) throw new Error(`${target.digest} is too large`);
 * const index = await new Response((await store.open(target)).stream).json();
 * assert.equal(index.manifests.length, 6);
 * ```
 */
export const MAX_DOCUMENT_SIZE = 4 * 1024 * 1024;

/** Where a blob was reached from, for error messages. */
export interface BlobOrigin {
  /** The requested image (name or digest) the blob was reached from. */
  image?: string;
  /** What the blob is to that image: `manifest`, `index`, `config`, `layer`, `blob`. */
  role?: string;
}

/** `manifest sha256:... of image "name"`: how errors name a blob. */
export function describeBlob(descriptor: Descriptor, origin: BlobOrigin = {}): string {
  const of = origin.image === undefined || origin.image === descriptor.digest
    ? ""
    : ` of image ${origin.image}`;
  return `${origin.role ?? "blob"} ${descriptor.digest}${of}`;
}

/**
 * Reads a whole blob into memory, at most `limit` bytes, and verifies its size and digest before
 * returning it, so nothing unverified is ever parsed. Reads at most `size + 1` bytes.
 *
 * @throws {InvalidDocumentError} when the descriptor's size is over `limit`.
 * @throws {SizeMismatchError | DigestMismatchError} when the bytes are not the descriptor's.
 */
export async function readVerified(
  provider: ContentProvider,
  descriptor: Descriptor,
  origin: BlobOrigin = {},
  limit: number = MAX_DOCUMENT_SIZE,
): Promise<Uint8Array> {
  const { algorithm } = parseDigest(descriptor.digest);
  const label = describeBlob(descriptor, origin);
  const context = { digest: descriptor.digest, image: origin.image };
  if (descriptor.size > limit) {
    throw new InvalidDocumentError(
      `${
        capitalize(label)
      } is ${descriptor.size} bytes, over the ${limit}-byte limit for a document`,
      context,
    );
  }
  const blob = await provider.open(descriptor);
  const bytes = new Uint8Array(descriptor.size + 1);
  let filled = 0;
  if (typeof blob.read === "function") {
    // Straight into `bytes`, to the end or one byte past the descriptor's size.
    try {
      filled = await readFull(blob.read.bind(blob), bytes);
    } finally {
      await closeBlob(blob);
    }
    const content = bytes.subarray(0, filled);
    checkBlobEnd(descriptor, origin, filled, () => digestOf(content, algorithm));
    return content;
  }
  const reader = blob.stream.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      const room = bytes.length - filled;
      bytes.set(value.length > room ? value.subarray(0, room) : value, filled);
      filled += Math.min(value.length, room);
      if (filled === bytes.length) break; // one byte more than expected: too long
    }
  } finally {
    await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
  const content = bytes.subarray(0, filled);
  checkBlobEnd(descriptor, origin, filled, () => digestOf(content, algorithm));
  return content;
}

/**
 * Reads through `read()` into `bytes` until it is full or the reads reach the end; returns how
 * many bytes were read.
 *
 * @example Read a small blob whole, with room for one byte too many
 * ```ts
 * import assert from "node:assert/strict";
 * import { readFull } from "./content.ts";
 *
 * const source = new Uint8Array([1, 2, 3]);
 * let at = 0;
 * const read = (buffer: Uint8Array) => {
 *   if (at === source.length) return Promise.resolve(null);
 *   const n = Math.min(2, buffer.length, source.length - at);
 *   buffer.set(source.subarray(at, at + n));
 *   at += n;
 *   return Promise.resolve(n);
 * };
 * assert.equal(await readFull(read, new Uint8Array(4)), 3);
 * ```
 */
export async function readFull(
  read: (buffer: Uint8Array) => Promise<number | null>,
  bytes: Uint8Array,
): Promise<number> {
  let filled = 0;
  while (filled < bytes.length) {
    const n = await read(bytes.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return filled;
}

/**
 * Closes an opened blob, through `close()` when it has one, else by cancelling its stream; a
 * failure to close is ignored.
 */
export async function closeBlob(blob: OpenedBlob): Promise<void> {
  try {
    if (typeof blob.close === "function") await blob.close();
    else await blob.stream.cancel();
  } catch {
    // nothing more can be done for it
  }
}

/**
 * The last step of verifying a blob read in full: `received` bytes must be the descriptor's size
 * and then, hashed (`digest` is called only once the size is right), its digest.
 *
 * @throws {SizeMismatchError | DigestMismatchError}
 */
export function checkBlobEnd(
  descriptor: Descriptor,
  origin: BlobOrigin,
  received: number,
  digest: () => string,
): void {
  if (received !== descriptor.size) throw sizeMismatch(descriptor, origin, received);
  const actual = digest();
  if (actual !== descriptor.digest) throw digestMismatch(descriptor, origin, actual);
}

/** Awaits a provider call, adding the blob's origin to its error (see {@linkcode attachOrigin}). */
export async function withOrigin<T>(
  promise: Promise<T>,
  descriptor: Descriptor,
  origin: BlobOrigin,
): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    throw attachOrigin(error, descriptor, origin);
  }
}

/** Upper-cases the first letter of a message fragment. */
export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * The error for a blob of `actual` bytes where its descriptor says otherwise; `actual` above the
 * descriptor's size means reading stopped one byte past it.
 */
export function sizeMismatch(
  descriptor: Descriptor,
  origin: BlobOrigin,
  actual: number,
): SizeMismatchError {
  const label = capitalize(describeBlob(descriptor, origin));
  return new SizeMismatchError(
    actual > descriptor.size
      ? `${label} is longer than its descriptor's ${descriptor.size} bytes`
      : `${label} is ${actual} bytes, but its descriptor says ${descriptor.size}`,
    descriptor.size,
    actual,
    { digest: descriptor.digest, image: origin.image },
  );
}

/** The error for a blob whose bytes hash to `actual` instead of its descriptor's digest. */
export function digestMismatch(
  descriptor: Descriptor,
  origin: BlobOrigin,
  actual: string,
): DigestMismatchError {
  return new DigestMismatchError(
    `${capitalize(describeBlob(descriptor, origin))} does not match its digest: expected ` +
      `${descriptor.digest}, found ${actual}`,
    descriptor.digest,
    actual,
    { digest: descriptor.digest, image: origin.image },
  );
}

/**
 * Adds where a blob was reached from to a provider's error, which names only the blob:
 * `Blob sha256:... not found` becomes `Layer sha256:... of image x not found`. Returns the error.
 */
export function attachOrigin(error: unknown, descriptor: Descriptor, origin: BlobOrigin): unknown {
  if (error instanceof OcipackError && error.image === undefined && origin.image !== undefined) {
    const prefix = `Blob ${descriptor.digest}`;
    error.message = error.message.startsWith(prefix)
      ? capitalize(describeBlob(descriptor, origin)) + error.message.slice(prefix.length)
      : `${error.message} (${describeBlob(descriptor, origin)})`;
    (error as { image?: string }).image = origin.image;
  }
  if (error instanceof OcipackError && error.mediaType === undefined && descriptor.mediaType) {
    (error as { mediaType?: string }).mediaType = descriptor.mediaType;
  }
  return error;
}
