/**
 * A blob copied through the provider's `read()`, straight into the consumer's buffer.
 *
 * @module
 */
import {
  type BlobOrigin,
  checkBlobEnd,
  closeBlob,
  type OpenedBlob,
  sizeMismatch,
} from "../stores/content.ts";
import { Digester, parseDigest } from "../oci/digest.ts";
import type { Descriptor } from "../oci/documents.ts";
import type { BlobCopy, BlobRead } from "./blob_copy.ts";
/** The first read into a consumer's buffer; each next one doubles, up to {@linkcode MAX_READ}. */
const FIRST_READ = 64 * 1024;
/** The largest single read into a consumer's buffer. */
const MAX_READ = 1024 * 1024;

/**
 * Where a blob's end is confirmed: a read of one byte past its size, which must find none. Whatever
 * a faulty provider puts there is never used, so all blobs share it (a new one for each of 100,000
 * blobs was 100,000 ArrayBuffers for the garbage collector).
 */
const SPARE = new Uint8Array(1);

/**
 * A blob read through the provider's `read()` straight into the consumer's buffer: no copy. The
 * buffer is filled by a series of reads, each started before the bytes of the one before are
 * hashed, so reading overlaps hashing; reads start small and grow, so that hashing starts soon
 * in each new buffer. Never more than size + 1 bytes are asked for.
 */
export class DirectBlobCopy implements BlobCopy {
  readonly digest: string;
  readonly size: number;
  readonly #descriptor: Descriptor;
  readonly #origin: BlobOrigin;
  readonly #digester: Digester;
  readonly #blob: OpenedBlob;
  readonly #read: (buffer: Uint8Array) => Promise<number | null>;
  /** The last read started, which may still be in flight. */
  #reading?: Promise<number>;
  #received = 0;
  #closed = false;

  constructor(
    descriptor: Descriptor,
    origin: BlobOrigin,
    blob: OpenedBlob,
  ) {
    this.#descriptor = descriptor;
    this.#origin = origin;
    this.digest = descriptor.digest;
    this.size = descriptor.size;
    this.#digester = new Digester(parseDigest(descriptor.digest).algorithm);
    this.#blob = blob;
    this.#read = blob.read!.bind(blob);
  }

  /** Reads into `buffer`, resolving with the count (0 at the end). */
  async #readInto(buffer: Uint8Array): Promise<number> {
    const n = await this.#read(buffer);
    if (n === null) return 0;
    if (!Number.isSafeInteger(n) || n < 0 || n > buffer.length) {
      throw new RangeError(
        `The content provider's read() of blob ${this.digest} gave ${n} for a buffer of ` +
          `${buffer.length} bytes`,
      );
    }
    return n;
  }

  async read(target: Uint8Array): Promise<BlobRead> {
    const remaining = this.size - this.#received;
    const want = Math.min(target.length, remaining);
    // Where the blob ends in this target with a byte to spare after it, the read that reaches
    // the end asks for that byte too: a provider that gives fewer bytes than asked may know it
    // is at the end (the filesystem store does, and closes the file then), and one that gives
    // it shows the blob is too long. The spare byte is overwritten by what follows the blob.
    const spare = want === remaining && target.length > want ? 1 : 0;
    const range = (from: number, size: number) =>
      target.subarray(from, from + size + (from + size === want ? spare : 0));
    let filled = 0;
    let size = Math.min(FIRST_READ, want);
    try {
      let reading = want > 0 ? this.#start(range(0, size)) : undefined;
      while (reading !== undefined) {
        const n = await reading;
        if (n === 0) throw sizeMismatch(this.#descriptor, this.#origin, this.#received);
        if (filled + n > want) throw sizeMismatch(this.#descriptor, this.#origin, this.size + 1);
        const start = filled;
        filled += n;
        this.#received += n;
        size = Math.min(2 * size, MAX_READ, want - filled);
        // The next read runs while these bytes are hashed.
        reading = size > 0 ? this.#start(range(filled, size)) : undefined;
        this.#digester.update(target.subarray(start, filled));
      }
      if (this.#received < this.size) return { bytes: filled, done: false };
      // The whole blob is in: it must end here, and hash to its digest.
      if (await this.#start(SPARE) > 0) {
        throw sizeMismatch(this.#descriptor, this.#origin, this.size + 1);
      }
      checkBlobEnd(this.#descriptor, this.#origin, this.#received, () => this.#digester.digest());
    } catch (error) {
      await this.cancel();
      throw error;
    }
    await this.cancel();
    return { bytes: filled, done: true };
  }

  /** Starts a read into `buffer`; it resolves with the count, 0 at the end. */
  #start(buffer: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(new Error(`Blob ${this.digest} is closed`));
    const reading = this.#readInto(buffer);
    this.#reading = reading;
    reading.catch(() => {}); // awaited by read(); a failure there errors the export
    return reading;
  }

  /** Closes the blob, once no read is in flight into a buffer it no longer owns. */
  async cancel(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#reading?.catch(() => {});
    await closeBlob(this.#blob);
  }
}
