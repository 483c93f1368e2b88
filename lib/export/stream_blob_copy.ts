/**
 * A blob copied from the provider's stream, read ahead into buffers of our own.
 *
 * @module
 */
import { type BlobOrigin, checkBlobEnd, sizeMismatch } from "../stores/content.ts";
import { Digester, parseDigest } from "../oci/digest.ts";
import type { Descriptor } from "../oci/documents.ts";
import type { BlobCopy, BlobRead } from "./blob_copy.ts";
/** How much of a blob read through its stream is read ahead at a time, into buffers this size. */
const READ_AHEAD = 1024 * 1024;

/**
 * A blob read through its stream. The next read from the provider is always in flight while the
 * current chunk is hashed and copied out, so reading overlaps hashing. Never more than size + 1
 * bytes are asked for, and the blob's last bytes are released only once its end and its digest
 * have been checked.
 */
export class StreamBlobCopy implements BlobCopy {
  readonly digest: string;
  readonly size: number;
  readonly #descriptor: Descriptor;
  readonly #origin: BlobOrigin;
  readonly #digester: Digester;
  readonly #byob?: ReadableStreamBYOBReader;
  readonly #reader?: ReadableStreamDefaultReader<Uint8Array>;
  /** Buffers free for the next read-ahead (BYOB readers only). */
  readonly #free: ArrayBuffer[] = [];
  /** The read in flight: the next chunk, or null at the end of the stream. */
  #next?: Promise<Uint8Array | null>;
  /** Hashed bytes not yet copied out. */
  #current?: Uint8Array;
  #received = 0;
  #verified = false;
  #closed = false;

  constructor(descriptor: Descriptor, origin: BlobOrigin, stream: ReadableStream<Uint8Array>) {
    this.#descriptor = descriptor;
    this.#origin = origin;
    this.digest = descriptor.digest;
    this.size = descriptor.size;
    this.#digester = new Digester(parseDigest(descriptor.digest).algorithm);
    try {
      this.#byob = stream.getReader({ mode: "byob" });
    } catch {
      this.#reader = stream.getReader();
    }
    this.#readAhead();
  }

  /** Starts the next read: at most the bytes that could still belong to the blob, plus one. */
  #readAhead(): void {
    const want = Math.min(READ_AHEAD, this.size + 1 - this.#received);
    if (this.#byob !== undefined) {
      const buffer = this.#free.pop() ?? new ArrayBuffer(READ_AHEAD);
      this.#next = this.#byob.read(new Uint8Array(buffer, 0, want)).then((r) =>
        r.done ? null : r.value
      );
    } else {
      this.#next = this.#reader!.read().then((r) => (r.done ? null : r.value));
    }
    this.#next.catch(() => {}); // awaited later; a failure then errors the export
  }

  /** Copies the blob's next bytes to the start of `target`. */
  async read(target: Uint8Array): Promise<BlobRead> {
    if (this.#current === undefined || this.#current.length === 0) {
      const chunk = await this.#next!;
      if (chunk === null) return this.#finish();
      this.#received += chunk.length;
      if (this.#received > this.size) {
        await this.cancel();
        throw sizeMismatch(this.#descriptor, this.#origin, this.size + 1);
      }
      this.#current = chunk;
      this.#readAhead(); // the next read runs while this chunk is hashed
      this.#digester.update(chunk);
    }
    // The blob's last bytes go out only once its end and digest are confirmed.
    if (this.#received === this.size && !this.#verified) {
      const extra = await this.#next!;
      if (extra !== null && extra.length > 0) {
        await this.cancel();
        throw sizeMismatch(this.#descriptor, this.#origin, this.size + 1);
      }
      // The blob is complete. The stream is closed whether or not it said it ended: one that
      // gave an empty chunk instead would otherwise stay open.
      this.#check();
      await this.cancel();
    }
    const chunk = this.#current;
    const n = Math.min(chunk.length, target.length);
    target.set(chunk.subarray(0, n));
    this.#current = chunk.subarray(n);
    if (this.#current.length === 0 && this.#byob !== undefined) {
      this.#free.push(chunk.buffer as ArrayBuffer);
    }
    return { bytes: n, done: this.#verified && this.#current.length === 0 };
  }

  /** At the end of the stream: checks the size and the digest, and lets go of the stream. */
  #finish(): BlobRead {
    this.#check();
    this.#release();
    return { bytes: 0, done: true };
  }

  /** Checks the size and the digest of what was received. */
  #check(): void {
    checkBlobEnd(this.#descriptor, this.#origin, this.#received, () => this.#digester.digest());
    this.#verified = true;
  }

  async cancel(): Promise<void> {
    if (this.#closed) return;
    const reader = this.#byob ?? this.#reader!;
    await reader.cancel().catch(() => {});
    this.#release();
  }

  #release(): void {
    if (this.#closed) return;
    this.#closed = true;
    (this.#byob ?? this.#reader!).releaseLock();
  }
}
