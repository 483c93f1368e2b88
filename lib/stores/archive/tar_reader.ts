/**
 * A strict, streaming tar reader for image archives: one pass over a `ReadableStream` (plain,
 * gzip or zstd, sniffed from the first bytes) or a seekable file, yielding each entry with the
 * offset of its body and its bytes, and refusing what an image archive has no use for with an
 * {@linkcode InvalidArchiveError} that names the entry.
 *
 * It reads what Go's `archive/tar` writes and what real archives hold: USTAR names with a prefix,
 * GNU long names and link names (`L`, `K`), PAX `path`, `linkpath` and `size` records, base-256
 * sizes, v7 headers. It refuses hard links, devices, FIFOs, sparse files, any other entry type,
 * names that are absolute, climb out with `..` or repeat (after Go's `path.Clean`, as containerd's
 * importer keys entries), a symbolic link that is not at a Docker layer path or points outside the
 * archive, bad header checksums, a truncated archive, and anything but zero bytes after the end
 * marker.
 *
 * @module
 */
import * as zlib from "node:zlib";
import { InvalidArchiveError } from "../../oci/errors.ts";
import { goPathClean, goPathJoin } from "../../oci/go_path.ts";

/** What a tar entry is. Every other kind is refused. */
export type TarEntryType = "file" | "directory" | "symlink";

/** One entry of an archive, as {@linkcode readTar} yields it. */
export interface TarReaderEntry {
  /** The name after Go's `path.Clean`: no `./` prefix, no trailing slash. */
  name: string;
  /** The name as the headers give it. */
  rawName: string;
  /** A regular file, a directory or a symbolic link. */
  type: TarEntryType;
  /** The permission bits. */
  mode: number;
  /** The body's size in bytes (0 for a symbolic link). */
  size: number;
  /** A symbolic link's target as written; empty for other entries. */
  linkname: string;
  /** A symbolic link's target resolved against its directory (`path.Join(dir, linkname)`). */
  target: string;
  /** The offset of the body in the (decompressed) tar stream. */
  offset: number;
  /**
   * The body's bytes, in chunks that stay valid after the next one is read. Read it before
   * asking for the next entry, or it is skipped; it can be read once.
   */
  chunks(): AsyncIterable<Uint8Array>;
}

/** How {@linkcode readTar} reads an archive. */
export interface TarReadOptions {
  /**
   * Whether a symbolic link may stand at `name`, pointing at `target` (already resolved and
   * known not to leave the archive). Default: {@linkcode isDockerLayerPath} of the name.
   */
  allowSymlink?: (name: string, target: string) => boolean;
  /** Refuse a compressed archive that expands past this many bytes. Default: no bound. */
  maxDecompressedSize?: number;
  /**
   * Refuse a compressed archive that expands more than this many times its compressed size,
   * once past 64 MiB (a decompression bomb). Default: 200.
   */
  maxRatio?: number;
  /** Called once with the compression found: `none`, `gzip` or `zstd`. */
  onCompression?: (compression: Compression) => void;
}

/** The compression of a whole archive. */
export type Compression = "none" | "gzip" | "zstd";

/** The size of a tar block. */
const BLOCK = 512;
/** The most a PAX header, GNU long name or global header body may be (Go: 1 MiB). */
const MAX_SPECIAL = 1 << 20;
/** The largest body chunk handed out. */
const CHUNK = 1 << 20;
/** Below this many decompressed bytes no ratio is enforced. */
const RATIO_FLOOR = 64 * 1024 * 1024;

const decoder = new TextDecoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Where a Docker-format archive may hold a symbolic link: a layer, `<id>/layer.tar` as
 * `docker save` (Docker 24 and older) writes for a layer shared between images, or a top-level
 * `<name>.tar` / `.tar.gz` / `.tar.zst`. Nothing under `blobs/`, and no JSON document, may be a link.
 */
export function isDockerLayerPath(name: string): boolean {
  if (name.startsWith("blobs/")) return false;
  return /^[^/]+\/layer\.tar$/.test(name) || /^[^/]+\.tar(\.gz|\.zst)?$/.test(name);
}

/** Pulls bytes from somewhere, tracking the position. */
interface ByteSource {
  /** Bytes read or skipped so far. */
  position: number;
  /** Up to `max` (at least 1) bytes, or null at the end. */
  next(max: number): Promise<Uint8Array | null>;
  /** Skips up to `n` bytes; returns how many were there. */
  skip(n: number): Promise<number>;
  /** Gives up the underlying stream or file. */
  cancel(): Promise<void>;
}

class StreamSource implements ByteSource {
  position = 0;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #chunk: Uint8Array = new Uint8Array(0);
  #at = 0;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  async next(max: number): Promise<Uint8Array | null> {
    while (this.#at >= this.#chunk.length) {
      const { done, value } = await this.#reader.read();
      if (done) return null;
      this.#chunk = value;
      this.#at = 0;
    }
    const end = Math.min(this.#chunk.length, this.#at + max);
    const out = this.#chunk.subarray(this.#at, end);
    this.position += out.length;
    this.#at = end;
    return out;
  }

  async skip(n: number): Promise<number> {
    let skipped = 0;
    while (skipped < n) {
      const chunk = await this.next(Math.min(n - skipped, 1 << 30));
      if (chunk === null) break;
      skipped += chunk.length;
    }
    return skipped;
  }

  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

/** A plain tar file read with seeks past bodies that are not read. */
class FileSource implements ByteSource {
  position = 0;
  constructor(readonly file: Deno.FsFile, readonly length: number) {}

  async next(max: number): Promise<Uint8Array | null> {
    const buffer = new Uint8Array(Math.min(max, CHUNK));
    const n = await this.file.read(buffer);
    if (n === null || n === 0) return null;
    this.position += n;
    return buffer.subarray(0, n);
  }

  async skip(n: number): Promise<number> {
    const skipped = Math.max(0, Math.min(n, this.length - this.position));
    this.position += skipped;
    await this.file.seek(this.position, Deno.SeekMode.Start);
    return skipped;
  }

  cancel(): Promise<void> {
    return Promise.resolve();
  }
}

/** Reads exactly `n` bytes (n small), or fewer at the end. */
async function readUpTo(source: ByteSource, n: number): Promise<Uint8Array> {
  const first = await source.next(n);
  if (first === null) return new Uint8Array(0);
  if (first.length === n) return first;
  const out = new Uint8Array(n);
  out.set(first);
  let filled = first.length;
  while (filled < n) {
    const more = await source.next(n - filled);
    if (more === null) break;
    out.set(more, filled);
    filled += more.length;
  }
  return out.subarray(0, filled);
}

function isZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

function cString(block: Uint8Array, offset: number, length: number): string {
  const bytes = block.subarray(offset, offset + length);
  const end = bytes.indexOf(0);
  return decoder.decode(end === -1 ? bytes : bytes.subarray(0, end));
}

/** Go's `parseNumeric`: base-256 when the top bit is set, else octal padded with spaces/NULs. */
function parseNumeric(block: Uint8Array, offset: number, length: number): number | undefined {
  const field = block.subarray(offset, offset + length);
  if (field[0] & 0x80) {
    if (field[0] === 0xff) return undefined; // negative
    let value = field[0] & 0x7f;
    for (let i = 1; i < field.length; i++) {
      value = value * 256 + field[i];
      if (value > Number.MAX_SAFE_INTEGER) return undefined;
    }
    return value;
  }
  const text = decoder.decode(field).replace(/^[ \0]+|[ \0]+$/g, "");
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) return undefined;
  const value = parseInt(text, 8);
  return Number.isSafeInteger(value) ? value : undefined;
}

function checksumOk(block: Uint8Array): boolean {
  const stored = parseNumeric(block, 148, 8);
  if (stored === undefined) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i];
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

/** Parses PAX records strictly (`"%d %s=%s\n"`, each length exact). */
function parsePax(body: Uint8Array, entry: string): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  // Lengths count bytes, so the records are split on bytes and each decoded on its own.
  while (at < body.length) {
    if (body[at] === 0) {
      if (isZero(body.subarray(at))) break; // padding, as some writers leave
    }
    const space = body.indexOf(0x20, at);
    const lengthText = space === -1 ? "" : decoder.decode(body.subarray(at, space));
    const length = /^[1-9][0-9]*$/.test(lengthText) ? Number(lengthText) : NaN;
    if (!(length > space - at + 1) || at + length > body.length || body[at + length - 1] !== 0x0a) {
      throw archiveError("has a malformed PAX record", entry);
    }
    let record: string;
    try {
      record = strictDecoder.decode(body.subarray(space + 1, at + length - 1));
    } catch {
      throw archiveError("has a PAX record that is not UTF-8", entry);
    }
    const eq = record.indexOf("=");
    if (eq <= 0) throw archiveError("has a malformed PAX record", entry);
    records.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return records;
}

function archiveError(what: string, entry: string | undefined): InvalidArchiveError {
  const subject = entry === undefined ? "The archive" : `Entry ${JSON.stringify(entry)}`;
  return new InvalidArchiveError(`${subject} ${what}`, { entry });
}

const REFUSED_TYPES: Record<string, string> = {
  "1": "is a hard link, which an image archive does not use",
  "3": "is a character device",
  "4": "is a block device",
  "6": "is a FIFO",
  "S": "is a sparse file",
};

/** The parser proper, over any byte source. */
async function* parseEntries(
  source: ByteSource,
  options: TarReadOptions,
): AsyncGenerator<TarReaderEntry, void, undefined> {
  const allowSymlink = options.allowSymlink ?? ((name: string) => isDockerLayerPath(name));
  const seen = new Set<string>();
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax = new Map<string, string>();
  let previous: string | undefined;

  const readSpecial = async (size: number, entry: string): Promise<Uint8Array> => {
    if (size > MAX_SPECIAL) {
      throw archiveError(`is a ${size}-byte special header, over 1 MiB`, entry);
    }
    const body = await readUpTo(source, size);
    if (body.length < size) throw truncated(entry);
    await skipPadding(size, entry);
    return body.slice();
  };
  const skipPadding = async (size: number, entry: string): Promise<void> => {
    const padding = (BLOCK - size % BLOCK) % BLOCK;
    if (padding > 0 && await source.skip(padding) < padding) throw truncated(entry);
  };
  const truncated = (entry: string | undefined) =>
    archiveError(
      entry === undefined
        ? "is truncated: it ends without an end-of-archive marker"
        : "is truncated: the archive ends inside it",
      entry,
    );

  while (true) {
    const headerAt = source.position;
    const block = await readUpTo(source, BLOCK);
    if (block.length === 0) {
      throw new InvalidArchiveError(
        `The archive is truncated: it ends without an end-of-archive marker${
          previous === undefined ? "" : ` after entry ${JSON.stringify(previous)}`
        }`,
        { entry: previous },
      );
    }
    if (block.length < BLOCK) throw truncated(previous);
    if (isZero(block)) {
      const second = await readUpTo(source, BLOCK);
      if (second.length < BLOCK || !isZero(second)) {
        throw new InvalidArchiveError(
          second.length < BLOCK
            ? `The archive is truncated: its end-of-archive marker is cut at offset ${headerAt}`
            : `The archive has a lone zero block at offset ${headerAt}, then more entries`,
          { entry: previous },
        );
      }
      if (longName !== undefined || longLink !== undefined || pax.size > 0) {
        throw archiveError("is an extended header with no entry after it", previous);
      }
      while (true) {
        const rest = await source.next(CHUNK);
        if (rest === null) return;
        if (!isZero(rest)) {
          throw new InvalidArchiveError(
            `The archive has non-zero bytes after its end-of-archive marker (at offset ${
              source.position - rest.length + rest.findIndex((b) => b !== 0)
            })`,
          );
        }
      }
    }
    const headerName = cString(block, 0, 100);
    const magic = decoder.decode(block.subarray(257, 265));
    const ustar = magic === "ustar\x0000";
    const prefix = ustar ? cString(block, 345, 155) : "";
    const plainName = prefix === "" ? headerName : `${prefix}/${headerName}`;
    const label = longName ?? pax.get("path") ?? plainName;
    if (!checksumOk(block)) throw archiveError("has a bad header checksum", label);
    const typeflag = String.fromCharCode(block[156]);
    let size = parseNumeric(block, 124, 12);
    if (size === undefined) throw archiveError("has an invalid size field", label);
    if (pax.has("size")) {
      const text = pax.get("size")!;
      if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(Number(text))) {
        throw archiveError("has an invalid PAX size", label);
      }
      size = Number(text);
    }

    if (typeflag === "x" || typeflag === "g" || typeflag === "L" || typeflag === "K") {
      const body = await readSpecial(size, label);
      if (typeflag === "x") {
        for (const [key, value] of parsePax(body, label)) pax.set(key, value);
      } else if (typeflag === "L") {
        longName = cString(body, 0, body.length);
      } else if (typeflag === "K") {
        longLink = cString(body, 0, body.length);
      } else if ([...parsePax(body, label).keys()].some((k) => k.startsWith("GNU.sparse."))) {
        throw archiveError("is a sparse file", label);
      }
      continue;
    }

    const rawName = label;
    const rawLink = longLink ?? pax.get("linkpath") ?? cString(block, 157, 100);
    const sparse = [...pax.keys()].some((k) => k.startsWith("GNU.sparse."));
    longName = undefined;
    longLink = undefined;
    pax = new Map();
    if (sparse) throw archiveError("is a sparse file", rawName);
    if (REFUSED_TYPES[typeflag] !== undefined) throw archiveError(REFUSED_TYPES[typeflag], rawName);
    let type: TarEntryType;
    if (typeflag === "0" || typeflag === "\0") {
      type = rawName.endsWith("/") ? "directory" : "file";
    } else if (typeflag === "5") {
      type = "directory";
    } else if (typeflag === "2") {
      type = "symlink";
    } else {
      throw archiveError(`has an unsupported type ${JSON.stringify(typeflag)}`, rawName);
    }
    if (rawName === "" || rawName.includes("\0")) throw archiveError("has an empty name", rawName);
    if (rawName.startsWith("/")) throw archiveError("has an absolute name", rawName);
    const name = goPathClean(rawName);
    if (name === ".." || name.startsWith("../")) {
      throw archiveError("has a name that climbs out of the archive (..)", rawName);
    }
    if (name === "." && type !== "directory") throw archiveError("has an empty name", rawName);
    let target = "";
    if (type === "symlink") {
      if (rawLink === "" || rawLink.startsWith("/")) {
        throw archiveError("is a symbolic link to an absolute or empty path", rawName);
      }
      target = goPathJoin(name.includes("/") ? name.slice(0, name.lastIndexOf("/")) : ".", rawLink);
      if (target === ".." || target.startsWith("../") || target === ".") {
        throw archiveError("is a symbolic link that points outside the archive", rawName);
      }
      if (!allowSymlink(name, target)) {
        throw archiveError("is a symbolic link where only a Docker layer may be one", rawName);
      }
      size = 0;
    }
    if (name !== ".") {
      if (seen.has(name)) throw archiveError("appears twice in the archive", rawName);
      seen.add(name);
    }
    previous = rawName;

    const offset = source.position;
    const bodySize = size;
    let remaining = type === "file" ? bodySize : 0;
    let consumed = false;
    const entry: TarReaderEntry = {
      name,
      rawName,
      type,
      mode: parseNumeric(block, 100, 8) ?? 0,
      size: type === "file" ? bodySize : 0,
      linkname: type === "symlink" ? rawLink : "",
      target,
      offset,
      chunks: async function* (): AsyncGenerator<Uint8Array> {
        if (consumed) throw new Error(`The body of ${rawName} was already read or skipped`);
        consumed = true;
        while (remaining > 0) {
          const chunk = await source.next(Math.min(remaining, CHUNK));
          if (chunk === null) throw truncated(rawName);
          remaining -= chunk.length;
          yield chunk;
        }
      },
    };
    yield entry;
    consumed = true;
    // A directory's (or link's) body, if a writer gave it one, is skipped with the rest.
    const skip = remaining + (type === "file" ? 0 : bodySize);
    if (skip > 0 && await source.skip(skip) < skip) throw truncated(rawName);
    remaining = 0;
    await skipPadding(bodySize, rawName);
  }
}

/** Prepends already-read chunks to the rest of a reader. */
function replay(
  head: Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array>,
): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (head.length > 0) return controller.enqueue(head.shift()!);
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel(reason) {
      await reader.cancel(reason);
    },
  });
}

/** Sniffs a compression from the first bytes: gzip, zstd, or none (other formats refused). */
export function sniffCompression(head: Uint8Array): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return "zstd";
  if (head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68) {
    throw new InvalidArchiveError("The archive is bzip2-compressed: decompress it first");
  }
  if (head[0] === 0xfd && head[1] === 0x37 && head[2] === 0x7a && head[3] === 0x58) {
    throw new InvalidArchiveError("The archive is xz-compressed: decompress it first");
  }
  return "none";
}

/** A zstd decompressor as a web transform, over `node:zlib`. */
export function zstdDecompressor(): TransformStream<Uint8Array, Uint8Array> {
  // deno-lint-ignore no-explicit-any
  const z = (zlib as any).createZstdDecompress() as import("node:stream").Transform;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let failed: unknown;
  const readable = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      z.on("data", (data: Uint8Array) => {
        controller.enqueue(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        if ((controller.desiredSize ?? 1) <= 0) z.pause();
      });
      z.on("end", () => controller.close());
      z.on("error", (error: Error) => {
        failed = error;
        controller.error(error);
      });
    },
    pull() {
      z.resume();
    },
    cancel() {
      z.destroy();
    },
  }, { highWaterMark: 4 });
  const writable = new WritableStream<Uint8Array>({
    write(chunk) {
      if (failed !== undefined) throw failed;
      return new Promise((resolve, reject) => {
        z.write(chunk, (error?: Error | null) => error ? reject(error) : resolve());
      });
    },
    close() {
      return new Promise((resolve) => z.end(resolve));
    },
    abort() {
      z.destroy();
    },
  });
  return { readable, writable } as TransformStream<Uint8Array, Uint8Array>;
}

/**
 * Turns an archive stream into a plain tar stream: sniffs gzip or zstd from the first bytes and
 * decompresses, refusing output past the size bounds.
 */
export async function decompressArchive(
  stream: ReadableStream<Uint8Array>,
  options: TarReadOptions = {},
): Promise<{ stream: ReadableStream<Uint8Array>; compression: Compression }> {
  const reader = stream.getReader();
  const head: Uint8Array[] = [];
  let length = 0;
  while (length < 4) {
    const { done, value } = await reader.read();
    if (done) break;
    head.push(value);
    length += value.length;
  }
  const first = new Uint8Array(Math.min(length, 4));
  let at = 0;
  for (const chunk of head) {
    const take = chunk.subarray(0, first.length - at);
    first.set(take, at);
    at += take.length;
    if (at === first.length) break;
  }
  const compression = sniffCompression(first);
  options.onCompression?.(compression);
  const raw = replay(head, reader);
  if (compression === "none") return { stream: raw, compression };
  let compressed = 0;
  let expanded = 0;
  const maxSize = options.maxDecompressedSize ?? Infinity;
  const maxRatio = options.maxRatio ?? 200;
  const counted = raw.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        compressed += chunk.length;
        controller.enqueue(chunk);
      },
    }),
  );
  const decompressor = compression === "gzip"
    ? new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>
    : zstdDecompressor();
  const bounded = counted.pipeThrough(decompressor).pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        expanded += chunk.length;
        if (expanded > maxSize) {
          throw new InvalidArchiveError(
            `The ${compression} archive expands past the ${maxSize}-byte bound`,
          );
        }
        if (expanded > RATIO_FLOOR && expanded > maxRatio * compressed) {
          throw new InvalidArchiveError(
            `The ${compression} archive expands more than ${maxRatio} times (${expanded} bytes ` +
              `from ${compressed}): refused as a decompression bomb`,
          );
        }
        controller.enqueue(chunk);
      },
    }),
  );
  return { stream: bounded, compression };
}

/**
 * Reads an archive stream (plain tar, gzip or zstd) in one pass, yielding its entries. Stopping
 * early (`break`) cancels the stream. Errors are {@linkcode InvalidArchiveError}s naming the entry;
 * an error of the stream itself (a failing decompression, a read error) is passed on as it is,
 * except that a corrupt compressed stream becomes an `InvalidArchiveError`.
 */
export async function* readTar(
  stream: ReadableStream<Uint8Array>,
  options: TarReadOptions = {},
): AsyncGenerator<TarReaderEntry, void, undefined> {
  const { stream: tar, compression } = await decompressArchive(stream, options);
  const source = new StreamSource(tar);
  try {
    yield* parseEntries(source, options);
  } catch (error) {
    if (compression !== "none" && !(error instanceof InvalidArchiveError) && isDecodeError(error)) {
      throw new InvalidArchiveError(
        `The ${compression} stream is corrupt: ${(error as Error).message}`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    await source.cancel();
  }
}

function isDecodeError(error: unknown): boolean {
  return error instanceof TypeError || (error instanceof Error && "code" in error);
}

/**
 * Reads a plain tar file's entries, seeking past the bodies that are not read. The file is left
 * open; its position moves.
 */
export async function* readTarFile(
  file: Deno.FsFile,
  options: TarReadOptions = {},
): AsyncGenerator<TarReaderEntry, void, undefined> {
  const { size } = await file.stat();
  await file.seek(0, Deno.SeekMode.Start);
  yield* parseEntries(new FileSource(file, size), options);
}
