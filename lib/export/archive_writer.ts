/**
 * The archive writer: the planned records as tar, chunk by chunk, into buffers it is handed, with
 * blob bodies copied and verified on the way.
 *
 * @module
 */
import type { ContentProvider } from "../stores/content.ts";
import { type BlobCopy, openBlobCopy } from "./blob_copy.ts";
import type { ExportProgress } from "./options.ts";
import { BLOCK_SIZE, encodeHeader, endOfArchive, paddingLength } from "./tar.ts";
import type { ArchivePlan, ArchiveRecord } from "./walk.ts";
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
  readonly #records: readonly ArchiveRecord[];
  /** Each record's tar header, encoded once: its length counts toward the total. */
  readonly #headers: readonly Uint8Array[];
  readonly #onProgress?: (progress: ExportProgress) => void;
  readonly #progress: ExportProgress;
  #next = 0;
  /** Bytes queued for the output ahead of anything else (framing, in-memory bodies). */
  #pending: Uint8Array[] = [];
  #blob?: BlobCopy;
  #ended = false;

  constructor(
    provider: ContentProvider,
    plan: ArchivePlan,
    onProgress?: (progress: ExportProgress) => void,
  ) {
    this.#provider = provider;
    this.#records = plan.records;
    this.#headers = plan.records.map((record) => encodeHeader(entryOf(record)));
    this.#onProgress = onProgress;
    let totalBytes = 2 * BLOCK_SIZE;
    let blobs = 0;
    for (const [i, record] of plan.records.entries()) {
      const size = sizeOf(record);
      totalBytes += this.#headers[i].length + size + paddingLength(size);
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
    let filled = 0;
    while (filled < length) {
      if (this.#pending.length > 0) {
        const head = this.#pending[0];
        const n = Math.min(head.length, length - filled);
        new Uint8Array(buffer, offset + filled, n).set(head.subarray(0, n));
        filled += n;
        if (n === head.length) this.#pending.shift();
        else this.#pending[0] = head.subarray(n);
      } else if (this.#blob !== undefined) {
        const target = new Uint8Array(buffer, offset + filled, length - filled);
        const result = await this.#blob.read(target);
        filled += result.bytes;
        if (result.done) {
          this.#pending.push(padding(this.#blob.size));
          this.#blob = undefined;
        }
      } else if (!(await this.#startNext())) {
        break;
      }
    }
    this.#progress.bytes += filled;
    this.#progress.blob = this.#blob?.digest;
    this.#onProgress?.({ ...this.#progress });
    return { filled, ended: this.#ended && this.#pending.length === 0 };
  }

  /** Queues the next record's header (and body, when in memory); false once the archive ended. */
  async #startNext(): Promise<boolean> {
    if (this.#next === this.#records.length) {
      if (!this.#ended) {
        this.#ended = true;
        this.#pending.push(endOfArchive());
        return true;
      }
      return false;
    }
    const record = this.#records[this.#next];
    this.#pending.push(this.#headers[this.#next++]);
    if (record.kind === "file" || (record.kind === "blob" && record.bytes !== undefined)) {
      this.#pending.push(record.bytes!, padding(record.bytes!.length));
    } else if (record.kind === "blob") {
      this.#blob = await openBlobCopy(this.#provider, record.descriptor, record.origin);
    }
    return true;
  }

  /** Closes the blob being copied, if any. */
  async close(): Promise<void> {
    const blob = this.#blob;
    this.#blob = undefined;
    await blob?.cancel();
  }
}

function sizeOf(record: ArchiveRecord): number {
  if (record.kind === "directory") return 0;
  if (record.kind === "file") return record.bytes.length;
  return record.descriptor.size;
}

function entryOf(record: ArchiveRecord) {
  return {
    name: record.name,
    mode: record.mode,
    size: sizeOf(record),
    typeflag: record.kind === "directory" ? "5" as const : "0" as const,
  };
}

const ZEROS = new Uint8Array(BLOCK_SIZE);

function padding(size: number): Uint8Array {
  return ZEROS.subarray(0, paddingLength(size));
}
