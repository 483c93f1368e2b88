/**
 * The archive writer: the planned records as tar, chunk by chunk, into buffers it is handed, with
 * blob bodies copied and verified on the way. Headers, padding and small blobs are written
 * straight into the buffer being filled; only what does not fit waits in a queue for the next.
 * Nothing is kept per record beyond the plan: each header is encoded when its record comes.
 *
 * @module
 */
import type { ContentProvider } from "../stores/content.ts";
import { type BlobCopy, openBlobCopy } from "./blob_copy.ts";
import type { ExportProgress } from "./options.ts";
import {
  BLOCK_SIZE,
  encodeHeader,
  encodeHeaderInto,
  endOfArchive,
  headerLength,
  paddingLength,
  type TarEntry,
} from "./tar.ts";
import type { ArchivePlan, ArchiveRecord, FileRecord, RecordList } from "./walk.ts";
/** Result of filling one chunk. */
export interface Fill {
  /** Bytes written into the chunk. */
  filled: number;
  /** The archive is complete. */
  ended: boolean;
}

/** Writes the planned records as tar, chunk by chunk, into buffers it is handed. */
export class ArchiveWriter {
  readonly #provider: ContentProvider;
  readonly #records: RecordList;
  readonly #onProgress?: (progress: ExportProgress) => void;
  readonly #progress: ExportProgress;
  #next = 0;
  /** Bytes queued for the output ahead of anything else: what did not fit in the last buffer. */
  #pending: Uint8Array[] = [];
  #blob?: BlobCopy;
  /** The file record whose body is being written, and how many of its bytes were. */
  #file?: { record: FileRecord; body: AsyncIterator<Uint8Array>; written: number };
  #ended = false;

  constructor(
    provider: ContentProvider,
    plan: ArchivePlan,
    onProgress?: (progress: ExportProgress) => void,
  ) {
    this.#provider = provider;
    this.#records = plan.records;
    this.#onProgress = onProgress;
    let totalBytes = 2 * BLOCK_SIZE;
    let blobs = 0;
    for (const record of plan.records) {
      const size = sizeOf(record);
      totalBytes += headerLength(entryOf(record)) + size + paddingLength(size);
      if (record.kind === "blob") blobs++;
    }
    this.#progress = { bytes: 0, totalBytes, images: plan.manifests.length, blobs };
  }

  /** The archive's size in bytes. */
  get totalBytes(): number {
    return this.#progress.totalBytes;
  }

  /** How many entries the archive's index.json lists. */
  get images(): number {
    return this.#progress.images;
  }

  /** How many blobs the archive holds. */
  get blobs(): number {
    return this.#progress.blobs;
  }

  /** Fills up to `length` bytes at `offset` of `buffer`. */
  async fill(buffer: ArrayBufferLike, offset: number, length: number): Promise<Fill> {
    const target = new Uint8Array(buffer, offset, length);
    let filled = 0;
    while (filled < length) {
      if (this.#pending.length > 0) {
        const head = this.#pending[0];
        const n = Math.min(head.length, length - filled);
        target.set(n === head.length ? head : head.subarray(0, n), filled);
        filled += n;
        if (n === head.length) this.#pending.shift();
        else this.#pending[0] = head.subarray(n);
      } else if (this.#blob !== undefined) {
        const result = await this.#blob.read(target.subarray(filled));
        filled += result.bytes;
        if (result.done) {
          filled += this.#put(target, filled, ZEROS.subarray(0, paddingLength(this.#blob.size)));
          this.#blob = undefined;
        }
      } else if (this.#file !== undefined) {
        filled += await this.#fillFile(target, filled);
      } else if (this.#next < this.#records.length) {
        filled += await this.#startNext(target, filled);
      } else if (!this.#ended) {
        this.#ended = true;
        filled += this.#put(target, filled, endOfArchive());
      } else {
        break;
      }
    }
    this.#progress.bytes += filled;
    this.#progress.blob = this.#blob?.digest;
    this.#onProgress?.({ ...this.#progress });
    return { filled, ended: this.#ended && this.#pending.length === 0 };
  }

  /**
   * Starts the next record: writes its header at `at` of `target` (or queues it, when it does
   * not fit), with its body when in memory, or opens its blob. Returns the bytes written.
   */
  async #startNext(target: Uint8Array, at: number): Promise<number> {
    const record = this.#records.at(this.#next++)!;
    const entry = entryOf(record);
    let written: number;
    if (headerLength(entry) <= target.length - at) {
      written = encodeHeaderInto(entry, target, at);
    } else {
      written = this.#put(target, at, encodeHeader(entry));
    }
    if (record.kind === "file") {
      this.#file = { record, body: record.body()[Symbol.asyncIterator](), written: 0 };
    } else if (record.kind === "blob" && record.bytes !== undefined) {
      written += this.#put(target, at + written, record.bytes);
      written += this.#put(target, at + written, ZEROS.subarray(0, paddingLength(entry.size)));
    } else if (record.kind === "blob") {
      this.#blob = await openBlobCopy(this.#provider, record.descriptor, record.origin);
    }
    return written;
  }

  /**
   * Writes the next chunk of the file record's body at `at` of `target` (what does not fit is
   * queued), or its padding at the end. Returns the bytes written.
   */
  async #fillFile(target: Uint8Array, at: number): Promise<number> {
    const file = this.#file!;
    const { value, done } = await file.body.next();
    if (!done) {
      file.written += value.length;
      if (file.written <= file.record.size) return this.#put(target, at, value);
    }
    if (file.written !== file.record.size) {
      const made = file.written > file.record.size ? "over" : `${file.written} bytes long, not`;
      throw new Error(
        `The archive's ${file.record.name} came out ${made} the ${file.record.size} bytes ` +
          `it was measured at`,
      );
    }
    this.#file = undefined;
    return this.#put(target, at, ZEROS.subarray(0, paddingLength(file.record.size)));
  }

  /**
   * Writes what fits of `bytes` at `at` of `target` and queues the rest (which must stay
   * unchanged until written); returns the bytes written.
   */
  #put(target: Uint8Array, at: number, bytes: Uint8Array): number {
    if (this.#pending.length > 0) {
      this.#pending.push(bytes);
      return 0;
    }
    const n = Math.min(bytes.length, target.length - at);
    target.set(n === bytes.length ? bytes : bytes.subarray(0, n), at);
    if (n < bytes.length) this.#pending.push(bytes.subarray(n));
    return n;
  }

  /** Closes the blob being copied, if any. */
  async close(): Promise<void> {
    const blob = this.#blob;
    this.#blob = undefined;
    await blob?.cancel();
    const file = this.#file;
    this.#file = undefined;
    await file?.body.return?.();
  }
}

function sizeOf(record: ArchiveRecord): number {
  if (record.kind === "directory") return 0;
  if (record.kind === "file") return record.size;
  return record.descriptor.size;
}

function entryOf(record: ArchiveRecord): TarEntry {
  return {
    name: record.name,
    mode: record.mode,
    size: sizeOf(record),
    typeflag: record.kind === "directory" ? "5" as const : "0" as const,
  };
}

/** Zeros for padding; never written to. */
const ZEROS = new Uint8Array(BLOCK_SIZE);
