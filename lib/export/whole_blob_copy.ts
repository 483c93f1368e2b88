/**
 * A blob the provider read whole when it was opened (`OpenedBlob.bytes`): verified at once, then
 * copied out.
 *
 * @module
 */
import { type BlobOrigin, checkBlobEnd } from "../stores/content.ts";
import { digestOf, parseDigest } from "../oci/digest.ts";
import type { Descriptor } from "../oci/documents.ts";
import type { BlobCopy, BlobRead } from "./blob_copy.ts";

/**
 * A blob already in memory. Its size and digest are checked before any of its bytes is handed
 * over; nothing is open, so there is nothing to close.
 */
export class WholeBlobCopy implements BlobCopy {
  readonly digest: string;
  readonly size: number;
  #rest: Uint8Array;

  /** @throws {SizeMismatchError | DigestMismatchError} when the bytes are not the blob's. */
  constructor(descriptor: Descriptor, origin: BlobOrigin, bytes: Uint8Array) {
    const { algorithm } = parseDigest(descriptor.digest);
    const content = bytes.subarray(0, descriptor.size + 1);
    checkBlobEnd(descriptor, origin, content.length, () => digestOf(content, algorithm));
    this.digest = descriptor.digest;
    this.size = descriptor.size;
    this.#rest = content;
  }

  read(target: Uint8Array): Promise<BlobRead> {
    const n = Math.min(target.length, this.#rest.length);
    target.set(this.#rest.subarray(0, n));
    this.#rest = this.#rest.subarray(n);
    return Promise.resolve({ bytes: n, done: this.#rest.length === 0 });
  }

  cancel(): Promise<void> {
    return Promise.resolve();
  }
}
