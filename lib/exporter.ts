/**
 * The exporter: options in, a `ReadableStream<Uint8Array>` of the archive out.
 *
 * The stream is a byte stream and entirely pull-driven: the walk runs on the first read, and each
 * read after that fills the consumer's buffer (or an allocated 1 MiB one) with tar framing and blob
 * bytes read straight into it from the provider, hashed in place. A blob's digest and size are
 * checked before its last bytes are handed over, so a record that fails verification is never
 * completed in the output.
 *
 * @module
 */
import {
  type BlobOrigin,
  capitalize,
  type ContentProvider,
  describeBlob,
  type ImageStore,
} from "./content.ts";
import { Digester, parseDigest } from "./digest.ts";
import {
  ANNOTATION_IMAGE_NAME,
  ANNOTATION_REF_NAME,
  checkDescriptor,
  type Descriptor,
} from "./documents.ts";
import {
  DigestMismatchError,
  InvalidArgumentError,
  OcipackError,
  SizeMismatchError,
} from "./errors.ts";
import { isNonDistributable } from "./media_types.ts";
import { ordered, parsePlatform, type Platform, type PlatformMatcher } from "./platforms.ts";
import { ociReferenceName } from "./reference.ts";
import { BLOCK_SIZE, encodeHeader, endOfArchive, headerLength, paddingLength } from "./tar.ts";
import { type ArchivePlan, type ArchiveRecord, planArchive, type WalkOptions } from "./walk.ts";

/** A manifest or index to export by descriptor, under zero or more names. */
export interface ManifestRequest {
  /** The manifest or index. */
  descriptor: Descriptor;
  /**
   * Names to export it under; each gets its own index.json entry (containerd's `WithManifest`).
   * Without names, the descriptor goes in as it is.
   */
  names?: readonly string[];
}

/** Which platforms to select from an index: a string, a platform, a list, or a matcher. */
export type PlatformOption =
  | string
  | Platform
  | readonly (string | Platform)[]
  | PlatformMatcher;

/** Progress of an export, reported after each chunk. */
export interface ExportProgress {
  /** Archive bytes produced so far. */
  bytes: number;
  /** The archive's total size in bytes. */
  totalBytes: number;
  /** How many entries the archive's index.json lists. */
  images: number;
  /** How many blobs the archive holds. */
  blobs: number;
  /** The digest of the blob being copied, if one is. */
  blob?: string;
}

/** What to export and how; containerd 2.x's export options. */
export interface ExportOptions {
  /** Images by name, resolved through the provider's image store (containerd's `WithImage`). */
  images?: readonly string[];
  /** Manifests or indexes by descriptor (containerd's `WithManifest`); after `images`. */
  manifests?: readonly ManifestRequest[];
  /**
   * Select children of an index for this platform: a string such as `linux/arm64/v8`, a platform,
   * a list of them in order of preference, or a matcher. Without it every child goes in and
   * manifest.json gets no entry for an index, as containerd does with no platform.
   */
  platform?: PlatformOption;
  /** Also put in the children of an index that do not match the platform. */
  allPlatforms?: boolean;
  /** Leave Docker's manifest.json out. */
  skipDockerManifest?: boolean;
  /** Leave non-distributable (foreign) layers out of `blobs/`; manifests still list them. */
  skipNonDistributable?: boolean;
  /** Return false to leave a blob out of `blobs/` (combined with `skipNonDistributable`). */
  blobFilter?: (descriptor: Descriptor) => boolean;
  /** Leave out absent manifests, and the children of a manifest that has an absent child. */
  skipMissing?: boolean;
  /** Called after each chunk with the export's progress. */
  onProgress?: (progress: ExportProgress) => void;
}

/** The size of the buffer allocated for a chunk when the consumer does not bring its own. */
const CHUNK_SIZE = 1024 * 1024;

/**
 * Streams an image archive (OCI layout with Docker's manifest.json) of the requested images,
 * byte-identical to containerd 2.x's `archive.Export` with the same options, except that
 * manifest.json lists images in request order and leaves digest-only names out of RepoTags.
 *
 * Options are checked at once (a bad option throws here); the store is not touched until the
 * stream is first read. Blob digests and sizes are verified while streaming: a mismatch errors the
 * stream with an {@linkcode OcipackError} naming the blob and the image.
 *
 * @throws {InvalidArgumentError} when the options are malformed.
 */
export function exportArchive(
  provider: ContentProvider & Partial<ImageStore>,
  options: ExportOptions,
): ReadableStream<Uint8Array> {
  const resolved = resolveOptions(provider, options);
  let writer: ArchiveWriter | undefined;
  let cancelled = false;
  const source: UnderlyingByteSource = {
    type: "bytes",
    autoAllocateChunkSize: CHUNK_SIZE,
    async pull(controller: ReadableByteStreamController) {
      if (writer === undefined) {
        const requests = await resolveRequests(provider, options, resolved.names);
        const plan = await planArchive(provider, requests, resolved.walk);
        writer = new ArchiveWriter(provider, plan, options.onProgress);
      }
      if (cancelled) return;
      const request = controller.byobRequest!;
      const view = request.view!;
      try {
        const { buffer, filled, ended } = await writer.fill(
          view.buffer as ArrayBuffer,
          view.byteOffset,
          view.byteLength,
        );
        if (cancelled) return void writer.close();
        if (ended && filled === 0) controller.close();
        if (buffer === view.buffer) request.respond(filled);
        else request.respondWithNewView(new Uint8Array(buffer, view.byteOffset, filled));
        if (ended && filled > 0) controller.close();
      } catch (error) {
        await writer.close();
        throw error;
      }
    },
    async cancel() {
      cancelled = true;
      await writer?.close();
    },
  };
  return new ReadableStream(source);
}

interface ResolvedOptions {
  names: readonly string[];
  walk: WalkOptions;
}

function resolveOptions(
  provider: ContentProvider & Partial<ImageStore>,
  options: ExportOptions,
): ResolvedOptions {
  if (typeof options !== "object" || options === null) {
    throw new InvalidArgumentError("Export options must be an object");
  }
  if (typeof provider?.open !== "function" || typeof provider?.stat !== "function") {
    throw new InvalidArgumentError("The content provider must have open() and stat() methods");
  }
  const names = options.images ?? [];
  if (!Array.isArray(names) || names.some((n) => typeof n !== "string" || n === "")) {
    throw new InvalidArgumentError("Option images must be a list of non-empty image names");
  }
  if (names.length > 0 && typeof provider.getImage !== "function") {
    throw new InvalidArgumentError(
      "Option images needs a store that resolves names (getImage); use manifests instead",
    );
  }
  const manifests = options.manifests ?? [];
  if (!Array.isArray(manifests)) {
    throw new InvalidArgumentError("Option manifests must be a list of { descriptor, names }");
  }
  if (names.length === 0 && manifests.length === 0) {
    throw new InvalidArgumentError("Nothing to export: give at least one image or manifest");
  }
  for (const key of ["blobFilter", "onProgress"] as const) {
    if (options[key] !== undefined && typeof options[key] !== "function") {
      throw new InvalidArgumentError(`Option ${key} must be a function`);
    }
  }
  const filters: ((d: Descriptor) => boolean)[] = [];
  if (options.skipNonDistributable) filters.push((d) => !isNonDistributable(d.mediaType));
  if (options.blobFilter) filters.push(options.blobFilter);
  return {
    names,
    walk: {
      platform: toMatcher(options.platform),
      allPlatforms: Boolean(options.allPlatforms),
      skipDockerManifest: Boolean(options.skipDockerManifest),
      skipMissing: Boolean(options.skipMissing),
      blobFilter: filters.length === 0 ? undefined : (d) => filters.every((f) => f(d)),
    },
  };
}

/** Turns the platform option into a matcher: strings and platforms become `ordered(...)`. */
function toMatcher(option: PlatformOption | undefined): PlatformMatcher | undefined {
  if (option === undefined) return undefined;
  if (
    typeof option === "object" && option !== null && !Array.isArray(option) &&
    typeof (option as PlatformMatcher).match === "function" &&
    typeof (option as PlatformMatcher).less === "function"
  ) {
    return option as PlatformMatcher;
  }
  const list = (Array.isArray(option) ? option : [option]) as (string | Platform)[];
  if (list.length === 0) throw new InvalidArgumentError("Option platform is an empty list");
  return ordered(...list.map((p) => {
    if (typeof p === "string") return parsePlatform(p);
    if (typeof p !== "object" || p === null || typeof p.os !== "string") {
      throw new InvalidArgumentError(
        "Option platform must be a string, a platform ({ os, architecture, variant? }), a list " +
          "of those, or a matcher ({ match, less })",
      );
    }
    return p as Platform;
  }));
}

/** The requested descriptors, with name annotations, in request order. */
async function resolveRequests(
  provider: Partial<ImageStore>,
  options: ExportOptions,
  names: readonly string[],
): Promise<Descriptor[]> {
  const requests: Descriptor[] = [];
  for (const name of names) {
    const image = await provider.getImage!(name);
    requests.push(withName(checkDescriptor(image.target, `target of image ${name}`), name));
  }
  for (const [i, request] of (options.manifests ?? []).entries()) {
    const descriptor = checkDescriptor(request?.descriptor, `manifests[${i}].descriptor`);
    const requestNames = request.names ?? [];
    if (!Array.isArray(requestNames) || requestNames.some((n) => typeof n !== "string" || !n)) {
      throw new InvalidArgumentError(`Option manifests[${i}].names must be a list of names`);
    }
    if (requestNames.length === 0) requests.push(descriptor);
    for (const name of requestNames) requests.push(withName(descriptor, name));
  }
  return requests;
}

/** containerd's `addNameAnnotation`: a copy of the annotations plus the two name annotations. */
function withName(descriptor: Descriptor, name: string): Descriptor {
  return {
    ...structuredClone(descriptor),
    annotations: {
      ...descriptor.annotations,
      [ANNOTATION_IMAGE_NAME]: name,
      [ANNOTATION_REF_NAME]: ociReferenceName(name),
    },
  };
}

/** Result of filling one chunk. */
interface Fill {
  buffer: ArrayBuffer;
  filled: number;
  ended: boolean;
}

/** Writes the planned records as tar, chunk by chunk, into buffers it is handed. */
class ArchiveWriter {
  readonly #provider: ContentProvider;
  readonly #records: readonly ArchiveRecord[];
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

  /** Fills `length` bytes at `offset` of `buffer` (which a blob read may transfer). */
  async fill(buffer: ArrayBuffer, offset: number, length: number): Promise<Fill> {
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
        buffer = result.buffer;
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
    return { buffer, filled, ended: this.#ended && this.#pending.length === 0 };
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
    const record = this.#records[this.#next++];
    this.#pending.push(encodeHeader(entryOf(record)));
    if (record.kind === "file" || (record.kind === "blob" && record.bytes !== undefined)) {
      this.#pending.push(record.bytes!, padding(record.bytes!.length));
    } else if (record.kind === "blob") {
      this.#blob = await BlobCopy.open(this.#provider, record.descriptor, record.origin);
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

/** The result of one read of a blob into a chunk. */
interface BlobRead {
  /** The chunk's buffer: the one passed in, or its transferred successor. */
  buffer: ArrayBuffer;
  /** Bytes placed at the target's offset. */
  bytes: number;
  /** The blob is complete and verified. */
  done: boolean;
}

/**
 * One blob being copied into the archive: read into the target chunk, hashed in place, never more
 * than its size + 1 bytes read, verified at its end before its last bytes are released.
 */
class BlobCopy {
  readonly digest: string;
  readonly size: number;
  readonly #descriptor: Descriptor;
  readonly #origin: BlobOrigin;
  readonly #digester: Digester;
  readonly #byob?: ReadableStreamBYOBReader;
  readonly #reader?: ReadableStreamDefaultReader<Uint8Array>;
  #leftover?: Uint8Array;
  #read = 0;

  private constructor(
    descriptor: Descriptor,
    origin: BlobOrigin,
    stream: ReadableStream<Uint8Array>,
  ) {
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
  }

  static async open(
    provider: ContentProvider,
    descriptor: Descriptor,
    origin: BlobOrigin,
  ): Promise<BlobCopy> {
    let opened;
    try {
      opened = await provider.open(descriptor);
    } catch (error) {
      throw withOrigin(error, descriptor, origin);
    }
    const copy = new BlobCopy(descriptor, origin, opened.stream);
    if (opened.size !== descriptor.size) {
      await copy.cancel();
      throw copy.#sizeError(opened.size);
    }
    return copy;
  }

  async read(target: Uint8Array): Promise<BlobRead> {
    // Ask for one byte past the end, so a longer blob is caught without reading all of it.
    const want = Math.min(target.length, this.size - this.#read + 1);
    let chunk: Uint8Array | undefined;
    let buffer = target.buffer as ArrayBuffer;
    if (this.#byob !== undefined) {
      const result = await this.#byob.read(target.subarray(0, want));
      if (result.value !== undefined) {
        buffer = result.value.buffer as ArrayBuffer;
        chunk = result.value;
      }
      if (result.done) chunk = undefined;
    } else {
      chunk = this.#leftover;
      this.#leftover = undefined;
      if (chunk === undefined) {
        const result = await this.#reader!.read();
        chunk = result.done ? undefined : result.value;
      }
      if (chunk !== undefined && chunk.length > want) {
        this.#leftover = chunk.subarray(want);
        chunk = chunk.subarray(0, want);
      }
      if (chunk !== undefined) target.set(chunk);
    }
    if (chunk === undefined) {
      // End of the blob's stream.
      if (this.#read !== this.size) throw this.#sizeError(this.#read);
      const actual = this.#digester.digest();
      if (actual !== this.digest) {
        throw new DigestMismatchError(
          `${capitalize(this.#label())} has digest ${actual}: its content does not match`,
          this.digest,
          actual,
          { digest: this.digest, image: this.#origin.image },
        );
      }
      this.#release();
      return { buffer, bytes: 0, done: true };
    }
    if (this.#read + chunk.length > this.size) {
      await this.cancel();
      throw this.#sizeError(this.size + 1);
    }
    this.#digester.update(chunk);
    this.#read += chunk.length;
    return { buffer, bytes: chunk.length, done: false };
  }

  async cancel(): Promise<void> {
    const reader = this.#byob ?? this.#reader!;
    await reader.cancel().catch(() => {});
    this.#release();
  }

  #release(): void {
    (this.#byob ?? this.#reader!).releaseLock();
  }

  #label(): string {
    return describeBlob(this.#descriptor, this.#origin);
  }

  #sizeError(actual: number): SizeMismatchError {
    const message = actual > this.size
      ? `${capitalize(this.#label())} is longer than its descriptor's ${this.size} bytes`
      : `${capitalize(this.#label())} is ${actual} bytes, but its descriptor says ${this.size}`;
    return new SizeMismatchError(message, this.size, actual, {
      digest: this.digest,
      image: this.#origin.image,
    });
  }
}

function withOrigin(error: unknown, descriptor: Descriptor, origin: BlobOrigin): unknown {
  if (error instanceof OcipackError && error.image === undefined && origin.image !== undefined) {
    const prefix = `Blob ${descriptor.digest}`;
    error.message = error.message.startsWith(prefix)
      ? capitalize(describeBlob(descriptor, origin)) + error.message.slice(prefix.length)
      : `${error.message} (${describeBlob(descriptor, origin)})`;
    (error as { image?: string }).image = origin.image;
  }
  return error;
}
