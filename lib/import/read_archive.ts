/**
 * One pass over an archive stream, shared by `import` and `verify`: every entry is checked by the
 * strict tar reader, every blob under `blobs/` is hashed and must match its name, every other file
 * is hashed (and a compressed one's uncompressed digest computed, for Docker's `diff_ids`), and the
 * small JSON documents are kept. Blob bodies can go to a sink (the importer's staging directory).
 *
 * @module
 */
import {
  type Compression,
  readTar,
  sniffCompression,
  type TarReadOptions,
  zstdDecompressor,
} from "../stores/archive/tar_reader.ts";
import type { ArchiveFileInfo } from "../stores/archive/docker_format.ts";
import { blobDigest } from "../stores/archive/store.ts";
import { MAX_STORE_INDEX_SIZE } from "../stores/layout.ts";
import { MAX_DOCUMENT_SIZE } from "../stores/content.ts";
import { Digester } from "../oci/digest.ts";
import { InvalidArchiveError } from "../oci/errors.ts";

/** The most a `manifest.json` or `oci-layout` may be (containerd's importer: 20 MiB). */
export const MAX_ARCHIVE_JSON = 20 * 1024 * 1024;
/** The most memory the kept documents may take together. */
const MAX_DOCUMENTS_TOTAL = 256 * 1024 * 1024;
/** Below this many uncompressed bytes no ratio is enforced on a layer. */
const LAYER_RATIO_FLOOR = 64 * 1024 * 1024;
const LAYER_MAX_RATIO = 200;

/** Where a blob body can be written while it is read. */
export interface BlobSink {
  /**
   * Called before an entry's body is read: `digest` is known for `blobs/...` entries (from the
   * name, not yet verified) and undefined for other files. Returns a writer, or undefined to only
   * hash the body (a blob the store already has).
   */
  open(name: string, digest: string | undefined, size: number): Promise<BlobWriter | undefined>;
}

/** Receives one body. */
export interface BlobWriter {
  /** Writes the next chunk. */
  write(chunk: Uint8Array): Promise<void>;
  /** The body is complete and hashes to `digest`. */
  commit(digest: string): Promise<void>;
  /** The body is not wanted (an error); remove what was written. */
  abort(): Promise<void>;
}

/** A regular file outside `blobs/`, for Docker's format. */
export interface ArchiveFile extends ArchiveFileInfo {
  /** Its name in the archive. */
  name: string;
  /** Why its uncompressed digest is unknown, when it was compressed and could not be read. */
  diffIdError?: string;
}

/** What one pass found. */
export interface ArchiveContents {
  /** The compression of the whole archive. */
  compression: Compression;
  /** Bytes of tar read (after decompression). */
  tarBytes: number;
  /** `oci-layout`, `index.json`, `manifest.json`, when present. */
  ociLayout?: Uint8Array;
  /** `index.json`. */
  index?: Uint8Array;
  /** `manifest.json`. */
  manifestJson?: Uint8Array;
  /** Blobs under `blobs/`, verified against their names: digest -> size and entry name. */
  blobs: Map<string, { size: number; name: string }>;
  /** Other regular files by name. */
  files: Map<string, ArchiveFile>;
  /** Symbolic links: name -> target (resolved). */
  symlinks: Map<string, string>;
  /** Small documents (JSON, at most 4 MiB) by digest. */
  documents: Map<string, Uint8Array>;
  /** How many bodies the sink wrote, and how many it only hashed. */
  written: number;
  /** Blobs the sink did not need (already present). */
  skipped: number;
}

/** Options of {@linkcode readArchive}. */
export interface ReadArchiveOptions extends TarReadOptions {
  /** Where bodies go; without one they are only hashed. */
  sink?: BlobSink;
  /** Stops the pass. */
  signal?: AbortSignal;
}

/** Whether the first bytes may start a JSON object (the first non-space byte is `{`, or none). */
function looksLikeJson(first: Uint8Array): boolean {
  for (const b of first) {
    if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) continue;
    return b === 0x7b;
  }
  return true;
}

/** Hashes the uncompressed bytes of a gzip or zstd body fed to it chunk by chunk. */
class UncompressedDigest {
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #done: Promise<string>;
  #failed?: string;

  constructor(compression: "gzip" | "zstd", compressedSize: number) {
    const transform = compression === "gzip"
      ? new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>
      : zstdDecompressor();
    this.#writer = transform.writable.getWriter();
    const digester = new Digester("sha256");
    this.#done = (async () => {
      let total = 0;
      const reader = transform.readable.getReader();
      try {
        while (true) {
          const { done, value } = await reader.read();
          if (done) break;
          total += value.length;
          if (total > LAYER_RATIO_FLOOR && total > LAYER_MAX_RATIO * compressedSize) {
            throw new Error(`it expands more than ${LAYER_MAX_RATIO} times`);
          }
          digester.update(value);
        }
      } catch (error) {
        await reader.cancel().catch(() => {});
        throw error;
      }
      return digester.digest();
    })();
    this.#done.catch((error) => this.#failed = (error as Error).message ?? String(error));
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.#failed !== undefined) return;
    await this.#writer.write(chunk).catch(() => {});
  }

  async finish(): Promise<{ digest?: string; error?: string }> {
    await this.#writer.close().catch(() => {});
    try {
      return { digest: await this.#done };
    } catch (error) {
      return { error: (error as Error).message ?? String(error) };
    }
  }
}

/**
 * Reads an archive in one pass. Throws an {@linkcode InvalidArchiveError} naming the entry at the
 * first problem: those of the tar reader, a `blobs/` entry whose name is not a valid digest or
 * whose content does not hash to it, a JSON file over its limit.
 */
export async function readArchive(
  stream: ReadableStream<Uint8Array>,
  options: ReadArchiveOptions = {},
): Promise<ArchiveContents> {
  let compression: Compression = "none";
  const contents: ArchiveContents = {
    compression,
    tarBytes: 0,
    blobs: new Map(),
    files: new Map(),
    symlinks: new Map(),
    documents: new Map(),
    written: 0,
    skipped: 0,
  };
  let documentBytes = 0;
  const keep = (digest: string, bytes: Uint8Array) => {
    if (contents.documents.has(digest)) return;
    documentBytes += bytes.length;
    if (documentBytes > MAX_DOCUMENTS_TOTAL) {
      throw new InvalidArchiveError(
        `The archive holds more than ${MAX_DOCUMENTS_TOTAL} bytes of JSON documents`,
      );
    }
    contents.documents.set(digest, bytes);
  };
  const readOptions: TarReadOptions = {
    ...options,
    onCompression: (c) => {
      compression = c;
      options.onCompression?.(c);
    },
  };
  for await (const entry of readTar(stream, readOptions)) {
    options.signal?.throwIfAborted();
    contents.tarBytes = entry.offset + entry.size;
    if (entry.type === "directory") continue;
    if (entry.type === "symlink") {
      contents.symlinks.set(entry.name, entry.target);
      continue;
    }
    const name = entry.name;
    const special = name === "oci-layout" || name === "manifest.json" || name === "index.json";
    if (special) {
      const limit = name === "index.json" ? MAX_STORE_INDEX_SIZE : MAX_ARCHIVE_JSON;
      if (entry.size > limit) {
        throw new InvalidArchiveError(
          `Entry ${JSON.stringify(name)} is ${entry.size} bytes, over the ${limit}-byte limit`,
          { entry: name },
        );
      }
    }
    const underBlobs = name.startsWith("blobs/");
    const named = underBlobs ? blobDigest(name) : undefined;
    if (underBlobs && named === undefined) {
      throw new InvalidArchiveError(
        `Entry ${
          JSON.stringify(entry.rawName)
        } is under blobs/ but not named blobs/<algorithm>/<hex> of a valid digest`,
        { entry: entry.rawName },
      );
    }
    const algorithm = named === undefined ? "sha256" : named.slice(0, named.indexOf(":"));
    const digester = new Digester(algorithm);
    // Documents are kept: the special files, and blobs of at most 4 MiB that start like JSON
    // (their buffer is made once the first bytes are seen).
    const mayHold = special || entry.size <= MAX_DOCUMENT_SIZE;
    let held: Uint8Array | undefined = mayHold && entry.size === 0 ? new Uint8Array(0) : undefined;
    let filled = 0;
    let head: Uint8Array | undefined;
    let uncompressed: UncompressedDigest | undefined;
    const writer = special ? undefined : await options.sink?.open(name, named, entry.size);
    let digest: string;
    try {
      for await (const chunk of entry.chunks()) {
        options.signal?.throwIfAborted();
        if (head === undefined) {
          head = chunk.slice(0, 4);
          if (mayHold && (special || looksLikeJson(head))) held = new Uint8Array(entry.size);
          if (!underBlobs && !special && entry.size > 0) {
            let sniffed: Compression = "none";
            try {
              sniffed = sniffCompression(head);
            } catch {
              // bzip2 or xz: containerd treats such a layer as uncompressed
            }
            if (sniffed !== "none") uncompressed = new UncompressedDigest(sniffed, entry.size);
          }
        }
        // The write runs on another thread while this one hashes.
        const written = writer?.write(chunk);
        try {
          digester.update(chunk);
          if (held !== undefined) held.set(chunk, filled);
          filled += chunk.length;
          await uncompressed?.write(chunk);
        } finally {
          await written;
        }
      }
      digest = digester.digest();
      if (named !== undefined && digest !== named) {
        throw new InvalidArchiveError(
          `Entry ${JSON.stringify(entry.rawName)} has digest ${digest}: its content does not ` +
            "match its name",
          { entry: entry.rawName, digest: named },
        );
      }
      await writer?.commit(digest);
    } catch (error) {
      await writer?.abort();
      if (uncompressed !== undefined) await uncompressed.finish();
      throw error;
    }
    if (writer !== undefined) contents.written++;
    else if (!special && options.sink !== undefined) contents.skipped++;
    if (special) {
      const bytes = held ?? new Uint8Array(0);
      if (name === "oci-layout") contents.ociLayout = bytes;
      else if (name === "index.json") contents.index = bytes;
      else contents.manifestJson = bytes;
      continue;
    }
    if (held !== undefined) keep(digest, held);
    if (named !== undefined) {
      contents.blobs.set(named, { size: entry.size, name });
      continue;
    }
    // A file outside blobs/: a Docker-format config or layer, perhaps.
    let file: ArchiveFile = {
      name,
      digest,
      size: entry.size,
      compression: uncompressed === undefined ? "none" : sniffCompression(head!),
    };
    if (uncompressed !== undefined) {
      const { digest: diffId, error } = await uncompressed.finish();
      file = { ...file, diffId, diffIdError: error };
    }
    contents.files.set(name, file);
  }
  contents.compression = compression;
  return contents;
}
