/**
 * Error classes thrown by ocipack. Every error the library raises on purpose is an
 * {@linkcode OcipackError}; the subclasses say what kind of problem it was, so callers can branch
 * on `instanceof` rather than on message text.
 *
 * @module
 */

/**
 * Where an error was found: the blob and the image it was reached from, when known. Every
 * {@linkcode OcipackError} takes one, and copies `digest` and `image` onto its own fields.
 *
 * @example Raise an error from a custom content provider
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ErrorContext, NotFoundError } from "@ocipack/ocipack";
 *
 * const digest = "sha256:a1920b7a6790f4fa856824ff02128decd120eb77ec1188592117dfb05f4c0876";
 * const context: ErrorContext = { digest, cause: new Error("HTTP 404") };
 * const error = new NotFoundError(`Blob ${digest} not found`, context);
 *
 * assert.equal(error.digest, digest);
 * assert.equal(error.image, undefined);
 * assert.equal((error.cause as Error).message, "HTTP 404");
 * ```
 */
export interface ErrorContext {
  /** The digest of the blob the error concerns. */
  digest?: string;
  /** The name (or digest) of the requested image the blob was reached from. */
  image?: string;
  /** The media type of the blob the error concerns, when known. */
  mediaType?: string;
  /** The underlying error, if any. */
  cause?: unknown;
}

/** Escapes control characters, so a message stays on one line whatever it quotes. */
export function oneLine(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => {
    const escapes: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
    return escapes[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}

/**
 * The base class of every error ocipack raises on purpose. Its `name` is the name of the
 * subclass, such as `NotFoundError`.
 *
 * @example Handle any of ocipack's errors
 * ```ts
 * import assert from "node:assert/strict";
 * import { exportArchive, OcipackError, openLayout } from "@ocipack/ocipack";
 *
 * const store = await openLayout("testdata/store");
 * const archive = exportArchive(store, {
 *   images: ["example.com/multi:1.0"],
 *   platform: "windows/amd64",
 * });
 * try {
 *   await archive.pipeTo(new WritableStream());
 *   assert.fail("example.com/multi:1.0 has no windows/amd64 manifest");
 * } catch (error) {
 *   if (!(error instanceof OcipackError)) throw error;
 *   assert.equal(error.name, "NotFoundError");
 *   assert.equal(error.image, "example.com/multi:1.0");
 *   assert.match(error.digest!, /^sha256:/); // the index that has no such manifest
 * }
 * ```
 */
export class OcipackError extends Error {
  /** The digest of the blob the error concerns, when there is one. */
  readonly digest?: string;
  /** The requested image the blob was reached from, when known. */
  readonly image?: string;
  /** The media type of the blob the error concerns, when known. */
  readonly mediaType?: string;

  /**
   * Creates an error with optional context. The message is kept to one line: control characters
   * (which names, annotations and parser messages quoting a document may carry) are escaped.
   */
  constructor(message: string, context: ErrorContext = {}) {
    super(oneLine(message), context.cause === undefined ? undefined : { cause: context.cause });
    this.name = new.target.name;
    this.digest = context.digest;
    this.image = context.image;
    this.mediaType = context.mediaType;
  }
}

/**
 * A blob, image or platform that was asked for is not there.
 *
 * @example Check whether a store has an image
 * ```ts
 * import assert from "node:assert/strict";
 * import { NotFoundError, openLayout } from "@ocipack/ocipack";
 *
 * const store = await openLayout("testdata/store");
 *
 * async function hasImage(name: string): Promise<boolean> {
 *   try {
 *     await store.getImage(name);
 *     return true;
 *   } catch (error) {
 *     if (error instanceof NotFoundError) return false;
 *     throw error;
 *   }
 * }
 *
 * assert.equal(await hasImage("docker.io/library/hello:oci"), true);
 * assert.equal(await hasImage("docker.io/library/hello:missing"), false);
 * ```
 *
 * @example Find out which blob is missing
 * ```ts
 * import assert from "node:assert/strict";
 * import { NotFoundError, openLayout } from "@ocipack/ocipack";
 *
 * const store = await openLayout("testdata/store");
 * const digest = `sha256:${"0".repeat(64)}`;
 * try {
 *   await store.open({ mediaType: "application/vnd.oci.image.layer.v1.tar", digest, size: 512 });
 *   assert.fail("the store has no such blob");
 * } catch (error) {
 *   if (!(error instanceof NotFoundError)) throw error;
 *   assert.equal(error.digest, digest);
 * }
 * ```
 */
export class NotFoundError extends OcipackError {}

/**
 * A blob's bytes hash to a different digest than its descriptor names.
 *
 * @example Catch a corrupted layer
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   type ContentProvider,
 *   DigestMismatchError,
 *   exportArchive,
 *   type ImageStore,
 *   openLayout,
 * } from "@ocipack/ocipack";
 *
 * // A store whose layers come back with their first byte flipped.
 * const layout = await openLayout("testdata/store");
 * const corrupted: ContentProvider & ImageStore = {
 *   listImages: () => layout.listImages(),
 *   getImage: (name) => layout.getImage(name),
 *   stat: (descriptor) => layout.stat(descriptor),
 *   async open(descriptor) {
 *     const blob = await layout.open(descriptor);
 *     if (!descriptor.mediaType.includes("layer")) return blob;
 *     const bytes = await new Response(blob.stream).bytes();
 *     bytes[0] ^= 0xff;
 *     return { size: bytes.length, stream: ReadableStream.from([bytes]) };
 *   },
 * };
 *
 * const archive = exportArchive(corrupted, { images: ["docker.io/library/hello:oci"] });
 * try {
 *   await archive.pipeTo(new WritableStream());
 *   assert.fail("the corrupted layer should have been noticed");
 * } catch (error) {
 *   if (!(error instanceof DigestMismatchError)) throw error;
 *   assert.equal(error.expected, error.digest);
 *   assert.notEqual(error.actual, error.expected);
 *   assert.equal(error.image, "docker.io/library/hello:oci");
 * }
 * ```
 */
export class DigestMismatchError extends OcipackError {
  /** The digest the descriptor names. */
  readonly expected: string;
  /** The digest of the bytes that were read. */
  readonly actual: string;

  /** Creates the error for a blob whose bytes hash to `actual` instead of `expected`. */
  constructor(message: string, expected: string, actual: string, context: ErrorContext = {}) {
    super(message, context);
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * A blob holds a different number of bytes than its descriptor says.
 *
 * @example Catch a descriptor with the wrong size
 * ```ts
 * import assert from "node:assert/strict";
 * import { exportArchive, openLayout, SizeMismatchError } from "@ocipack/ocipack";
 *
 * const store = await openLayout("testdata/store");
 * const { target } = await store.getImage("docker.io/library/hello:oci");
 * const wrong = { ...target, size: target.size - 1 };
 * try {
 *   await exportArchive(store, { manifests: [{ descriptor: wrong }] })
 *     .pipeTo(new WritableStream());
 *   assert.fail("the size should not match");
 * } catch (error) {
 *   if (!(error instanceof SizeMismatchError)) throw error;
 *   assert.equal(error.digest, target.digest);
 *   assert.equal(error.expected, target.size - 1);
 *   assert.equal(error.actual, target.size); // reading stopped one byte past the expected size
 * }
 * ```
 */
export class SizeMismatchError extends OcipackError {
  /** The size the descriptor gives. */
  readonly expected: number;
  /**
   * The size found: the stored size, or a lower bound (`expected + 1`) when the blob was longer
   * than expected and reading stopped there.
   */
  readonly actual: number;

  /** Creates the error for a blob of `actual` bytes where `expected` were due. */
  constructor(message: string, expected: number, actual: number, context: ErrorContext = {}) {
    super(message, context);
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * A digest string that is not valid: an unknown algorithm, or an encoded part that is not
 * lower-case hex of the algorithm's exact length.
 *
 * @example Catch a malformed digest
 * ```ts
 * import assert from "node:assert/strict";
 * import { InvalidDigestError, openLayout } from "@ocipack/ocipack";
 *
 * const store = await openLayout("testdata/store");
 * try {
 *   await store.stat({ mediaType: "application/octet-stream", digest: "sha256:abc", size: 3 });
 *   assert.fail("sha256:abc is too short to be a digest");
 * } catch (error) {
 *   if (!(error instanceof InvalidDigestError)) throw error;
 *   assert.match(error.message, /sha256 needs 64 hex digits/);
 * }
 * ```
 */
export class InvalidDigestError extends OcipackError {}

/**
 * Content in the store that cannot be used as it is: a JSON document (index.json, a manifest, an
 * index) that does not parse, is too large, has fields of the wrong type or claims to be what its
 * media type says it is not; a blob that is not a regular file; a walk that nests too deep.
 *
 * @example Catch a store whose index.json is damaged
 * ```ts
 * import assert from "node:assert/strict";
 * import { InvalidDocumentError, openLayout } from "@ocipack/ocipack";
 *
 * const dir = await Deno.makeTempDir();
 * try {
 *   await Deno.mkdir(`${dir}/blobs`);
 *   await Deno.writeTextFile(`${dir}/index.json`, "{ not json");
 *   await openLayout(dir);
 *   assert.fail("the index should not parse");
 * } catch (error) {
 *   if (!(error instanceof InvalidDocumentError)) throw error;
 *   assert.match(error.message, /^Invalid .*index\.json: /);
 * } finally {
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export class InvalidDocumentError extends OcipackError {}

/**
 * An argument the caller gave that cannot be used: an option of the wrong shape, a name or platform
 * that does not parse, a descriptor that is not a manifest or an index.
 *
 * @example Catch a bad option before streaming
 * ```ts
 * import assert from "node:assert/strict";
 * import { exportArchive, InvalidArgumentError, openLayout } from "@ocipack/ocipack";
 *
 * const store = await openLayout("testdata/store");
 * try {
 *   // Options are checked when the stream is made, before anything is read.
 *   exportArchive(store, { images: ["example.com/multi:1.0"], platform: "linux/*" });
 *   assert.fail("wildcards are not platforms");
 * } catch (error) {
 *   if (!(error instanceof InvalidArgumentError)) throw error;
 *   assert.equal(error.message, 'Invalid platform "linux/*": wildcards are not supported');
 * }
 * ```
 */
export class InvalidArgumentError extends OcipackError {}

/**
 * An archive that cannot be read as an image archive: a tar stream that is truncated, has a bad
 * header checksum, an entry of a refused kind (a hard link, a device, a FIFO, a sparse file, a
 * symbolic link outside a Docker layer path), a name that is absolute, climbs out with `..` or
 * repeats, bytes other than zeros after its end; or an archive whose content does not add up (a
 * blob whose name is not its digest, a missing blob, a `manifest.json` that disagrees with
 * `index.json`). `entry` names the tar entry at fault, when there is one.
 *
 * @example Refuse a damaged archive
 * ```ts
 * import assert from "node:assert/strict";
 * import { InvalidArchiveError, verifyArchive } from "@ocipack/ocipack";
 *
 * // One header block whose checksum field does not match its bytes.
 * const block = new Uint8Array(512);
 * block.set(new TextEncoder().encode("index.json"));
 * block.set(new TextEncoder().encode("0000000\0"), 148);
 * try {
 *   await verifyArchive(ReadableStream.from([block, new Uint8Array(1024)]));
 *   assert.fail("the header is damaged");
 * } catch (error) {
 *   if (!(error instanceof InvalidArchiveError)) throw error;
 *   assert.equal(error.entry, "index.json");
 * }
 * ```
 */
export class InvalidArchiveError extends OcipackError {
  /** The name of the tar entry at fault, when there is one. */
  readonly entry?: string;

  /** Creates the error; `entry` names the tar entry at fault. */
  constructor(message: string, context: ErrorContext & { entry?: string } = {}) {
    super(message, context);
    this.entry = context.entry;
  }
}
