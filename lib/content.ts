/**
 * The content-provider interface the exporter reads blobs through, the image-store interface it
 * resolves names with, and a reader for the small JSON documents the walk must parse.
 *
 * @module
 */
import type { Descriptor } from "./documents.ts";
import { Digester, parseDigest } from "./digest.ts";
import { DigestMismatchError, InvalidDocumentError, SizeMismatchError } from "./errors.ts";

/** What a provider knows of a stored blob without reading it. */
export interface BlobInfo {
  /** The stored size in bytes. */
  size: number;
}

/** An opened blob: its stored size and a stream of its bytes. */
export interface OpenedBlob {
  /** The stored size in bytes. */
  size: number;
  /**
   * The bytes. A byte stream (`type: "bytes"`) lets the exporter read straight into its own
   * buffers; any other stream works too. The exporter reads it to the end or cancels it.
   */
  stream: ReadableStream<Uint8Array>;
}

/**
 * A source of blobs, addressed by descriptor. Implementations reject with
 * {@linkcode NotFoundError} for a blob they do not hold; they need not verify digests (the
 * exporter does), and must not build paths or URLs from a digest that {@linkcode parseDigest}
 * has not accepted.
 */
export interface ContentProvider {
  /** Reports a blob's stored size. */
  stat(descriptor: Descriptor): Promise<BlobInfo>;
  /** Opens a blob for reading. */
  open(descriptor: Descriptor): Promise<OpenedBlob>;
}

/** A named image: a name and the descriptor of its manifest or index. */
export interface Image {
  /** The image's name, for example `docker.io/library/alpine:3.20`. */
  name: string;
  /** The manifest or index the name points to. */
  target: Descriptor;
}

/** Resolves image names to descriptors. */
export interface ImageStore {
  /** Lists every named image, in store order. */
  listImages(): Promise<Image[]>;
  /** Looks up one image by its exact name; rejects with {@linkcode NotFoundError}. */
  getImage(name: string): Promise<Image>;
}

/** Manifests and indexes larger than this are refused, as registries and containers/image do. */
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
  if (filled !== descriptor.size) {
    throw new SizeMismatchError(
      filled > descriptor.size
        ? `${capitalize(label)} is longer than its descriptor's ${descriptor.size} bytes`
        : `${capitalize(label)} is ${filled} bytes, but its descriptor says ${descriptor.size}`,
      descriptor.size,
      filled,
      context,
    );
  }
  const content = bytes.subarray(0, filled);
  const digester = new Digester(algorithm);
  digester.update(content);
  const actual = digester.digest();
  if (actual !== descriptor.digest) {
    throw new DigestMismatchError(
      `${capitalize(label)} has digest ${actual}: its content does not match`,
      descriptor.digest,
      actual,
      context,
    );
  }
  return content;
}

/** Upper-cases the first letter of a message fragment. */
export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
