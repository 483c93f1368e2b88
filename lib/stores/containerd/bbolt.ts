/**
 * A read-only reader of bbolt database files (the format of containerd's `meta.db`), written from
 * the file format: it never locks, writes or maps the file, so it reads a database that a running
 * containerd holds open just as well as one on a stopped node or a mounted backup.
 *
 * The format, in short. The file is an array of pages of one size (the page size, 4 KiB on most
 * machines). Every page starts with a 16-byte header: its id (u64), flags (u16: 0x01 branch,
 * 0x02 leaf, 0x04 meta, 0x10 freelist), an element count (u16) and how many pages after it
 * continue it (`overflow`, u32). Pages 0 and 1 are meta pages, written alternately by successive
 * transactions: after the header, magic `0xED0CDAED` (u32), version 2 (u32), page size (u32),
 * flags (u32), the root bucket (root page id u64, sequence u64), the freelist page id (u64), the
 * high-water mark (the number of pages in use, u64), the transaction id (u64) and an FNV-1a
 * 64-bit checksum of the meta's bytes before it. The valid meta with the higher transaction id is
 * the database. A bucket is a B+tree: branch pages hold 16-byte elements (key position relative
 * to the element, key size, child page id), leaf pages 16-byte elements (flags, key position,
 * key size, value size; the value follows the key). A leaf element flagged 0x01 is a nested
 * bucket: its value is a bucket header (root page id, sequence) and, when the root is 0, the
 * bucket's one leaf page inline after it. All integers are little-endian (bbolt writes the host's
 * byte order; every platform containerd runs on in practice is little-endian).
 *
 * A reader that does not take bbolt's lock can see a file being changed: {@linkcode readBolt}
 * copies the file into memory (or, over 256 MiB, reads its pages as they are needed), compares
 * both meta pages before and after, and reads again when a transaction was committed meanwhile.
 * Pages reachable from the newest meta are never rewritten before the next meta is, so an
 * unchanged meta means a consistent read.
 *
 * Anything out of place (bad magic or checksum, a page id past the end of the file or the
 * high-water mark, a page that is not what its parent says, a tree deeper than bbolt can make, a
 * page that refers back to an ancestor or that two elements point to, element bounds outside their
 * page) is an
 * {@linkcode InvalidDocumentError} naming the file: never an exception of another kind, and never
 * a loop.
 *
 * @module
 */
import { InvalidDocumentError } from "../../oci/errors.ts";

/** The magic number of a bbolt meta page. */
export const BOLT_MAGIC = 0xed0cdaed;
/** The only data-format version bbolt has written. */
export const BOLT_VERSION = 2;

const PAGE_HEADER_SIZE = 16;
const ELEMENT_SIZE = 16;
const BUCKET_HEADER_SIZE = 16;
/** Meta fields start after the page header; the checksum covers the 56 bytes before it. */
const META_OFFSET = PAGE_HEADER_SIZE;
const META_CHECKSUMMED = 56;
const META_END = META_OFFSET + META_CHECKSUMMED + 8;

const BRANCH_PAGE = 0x01;
const LEAF_PAGE = 0x02;
const BUCKET_LEAF = 0x01;

const encoder = new TextEncoder();
/** Keys looked up by name (`v1`, `images`, `target`...), encoded once. */
const encodedKeys = new Map<string, Uint8Array>();

function encodeKey(key: string): Uint8Array {
  let bytes = encodedKeys.get(key);
  if (bytes === undefined) {
    bytes = encoder.encode(key);
    if (encodedKeys.size < 256) encodedKeys.set(key, bytes);
  }
  return bytes;
}

/** Page sizes bbolt may have used: powers of two from 512 bytes to 1 MiB. */
const MIN_PAGE_SIZE = 512;
const MAX_PAGE_SIZE = 1024 * 1024;
/** Deeper than any tree bbolt makes (a 4 KiB page holds 250 elements of the smallest size). */
const MAX_TREE_DEPTH = 32;
/** Buckets nested in buckets; containerd nests six deep. */
const MAX_BUCKET_NESTING = 64;

/** Where a database's bytes come from: a file read at offsets, or bytes in memory. */
export interface ByteSource {
  /** The number of bytes. */
  readonly size: number;
  /** Returns `length` bytes at `offset`; fewer only at the end of the source. */
  read(offset: number, length: number): Uint8Array;
}

/** A source over bytes in memory. */
export function bytesSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: (offset, length) => bytes.subarray(offset, offset + length),
  };
}

/** One entry of a bucket: a key with either a value or a nested bucket. */
export interface BoltEntry {
  /** The key's bytes. */
  key: Uint8Array;
  /** The value, for a plain entry. */
  value?: Uint8Array;
  /** The nested bucket, for a bucket entry. */
  bucket?: BoltBucket;
}

/** A meta page's fields, as far as a reader needs them. */
interface Meta {
  pageSize: number;
  root: bigint;
  highWater: bigint;
  txid: bigint;
}

/** One page (with its overflow pages) or an inline bucket's page. */
interface Page {
  bytes: Uint8Array;
  view: DataView;
  flags: number;
  count: number;
  /** The page id, or -1 for an inline page. */
  id: number;
  /** `page <id>`, or for an inline page `<the ident of its parent page> element <index>`. */
  ident: string;
}

/**
 * One consistent view of a bbolt database: the tree of its newest valid meta page. Pages are
 * read from the source as they are needed, and cached.
 */
export class BoltSnapshot {
  /** The file's name, for error messages. */
  readonly name: string;
  /** The page size. */
  readonly pageSize: number;
  /** The transaction id of the meta page in use. */
  readonly txid: bigint;
  /** The meta page's high-water mark: how many pages are in use (the file may be longer). */
  readonly pageCount: number;
  /** How many distinct pages were read, how many of them were branch pages, and overflow pages. */
  readonly stats = { pages: 0, branchPages: 0, overflowPages: 0 };
  readonly #source: ByteSource;
  readonly #meta: Meta;
  /** Pages that may be referenced: below both the high-water mark and the end of the file. */
  readonly #pageLimit: number;
  readonly #metaBytes: Uint8Array;
  readonly #pages = new Map<number, Page>();
  /** Who refers to each page read: in a valid file, every page has one parent. */
  readonly #owners = new Map<number, string>();

  /** Reads the meta pages of `source`; use {@linkcode openBoltBytes} or {@linkcode readBolt}. */
  constructor(source: ByteSource, name: string) {
    this.name = name;
    this.#source = source;
    if (source.size < META_END) {
      throw this.corrupt(`${source.size} bytes is too short for a bbolt file`);
    }
    const pageSize = this.#findPageSize();
    this.pageSize = pageSize;
    this.#metaBytes = this.#readMetaBytes();
    const metas = [0, 1].map((i) =>
      parseMeta(this.#metaBytes.subarray(i * META_END, (i + 1) * META_END))
    );
    const valid = metas.filter((m): m is Meta => typeof m !== "string");
    if (valid.length === 0) {
      throw this.corrupt(`no valid meta page (${metas.join("; ")})`);
    }
    const meta = valid.reduce((a, b) => (b.txid > a.txid ? b : a));
    if (meta.pageSize !== pageSize) {
      throw this.corrupt(`its meta pages disagree on the page size`);
    }
    this.#meta = meta;
    this.txid = meta.txid;
    const filePages = Math.floor(source.size / pageSize);
    if (meta.highWater > BigInt(filePages)) {
      throw this.corrupt(
        `it is truncated: ${source.size} bytes, but its meta page says ${meta.highWater} pages ` +
          `of ${pageSize} bytes are in use`,
      );
    }
    this.#pageLimit = Number(meta.highWater);
    this.pageCount = this.#pageLimit;
  }

  /** The root bucket, whose entries are the top-level buckets. */
  root(): BoltBucket {
    const root = this.#pageId(this.#meta.root, "the root bucket");
    return new BoltBucket(this, root, undefined, 0, "the meta page");
  }

  /**
   * Whether both meta pages still hold the bytes they held when this snapshot was made: when
   * they do, no transaction was committed since, and every page read belongs to this snapshot.
   */
  unchanged(file: ByteSource = this.#source): boolean {
    try {
      return equalBytes(this.#readMetaBytes(file), this.#metaBytes);
    } catch {
      return false;
    }
  }

  /** An {@linkcode InvalidDocumentError} naming the file. */
  corrupt(message: string): InvalidDocumentError {
    return new InvalidDocumentError(`Invalid bbolt file ${this.name}: ${message}`);
  }

  /**
   * Reads page `id` and its overflow pages, checking its header, for `referrer` (the element
   * that points to it). A page that a second referrer points to is an error: every page of a
   * bbolt file has one parent, and a file whose trees share pages could make a walk of it take
   * time exponential in its size. @internal
   */
  page(id: number, referrer: string): Page {
    const owner = this.#owners.get(id);
    if (owner === undefined) this.#owners.set(id, referrer);
    else if (owner !== referrer) {
      throw this.corrupt(`page ${id} has two parents (${owner} and ${referrer})`);
    }
    const cached = this.#pages.get(id);
    if (cached !== undefined) return cached;
    if (id < 2 || id >= this.#pageLimit) {
      throw this.corrupt(`page id ${id} is out of range (2 to ${this.#pageLimit - 1})`);
    }
    const offset = id * this.pageSize;
    const header = this.#read(offset, PAGE_HEADER_SIZE, `page ${id}`);
    const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
    const stored = view.getBigUint64(0, true);
    if (stored !== BigInt(id)) throw this.corrupt(`page ${id} has the header of page ${stored}`);
    const overflow = view.getUint32(12, true);
    if (overflow >= this.#pageLimit - id) {
      throw this.corrupt(`page ${id} claims ${overflow} overflow pages, past the last page`);
    }
    const length = (overflow + 1) * this.pageSize;
    const bytes = this.#read(offset, length, `page ${id}`);
    const page = makePage(bytes, id, `page ${id}`);
    this.#pages.set(id, page);
    this.stats.pages++;
    this.stats.overflowPages += overflow;
    if (page.flags === BRANCH_PAGE) this.stats.branchPages++;
    return page;
  }

  /** Checks a page id read from the file and makes it a number. @internal */
  pageId(id: bigint, what: string): number {
    return this.#pageId(id, what);
  }

  #pageId(id: bigint, what: string): number {
    if (id < 2n || id >= BigInt(this.#pageLimit)) {
      throw this.corrupt(`${what} is page ${id}, out of range (2 to ${this.#pageLimit - 1})`);
    }
    return Number(id);
  }

  #read(offset: number, length: number, what: string): Uint8Array {
    const bytes = this.#source.read(offset, length);
    if (bytes.length < length) {
      throw this.corrupt(`it is truncated: ${what} ends past the end of the file`);
    }
    return bytes;
  }

  /** The first bytes of both meta pages, back to back. */
  #readMetaBytes(source: ByteSource = this.#source): Uint8Array {
    const out = new Uint8Array(2 * META_END);
    const read = (offset: number, what: string) => {
      const bytes = source.read(offset, META_END);
      if (bytes.length < META_END) throw this.corrupt(`it is truncated: it ends in ${what}`);
      return bytes;
    };
    out.set(read(0, "meta page 0"), 0);
    out.set(read(this.pageSize, "meta page 1"), META_END);
    return out;
  }

  /**
   * The page size: the first meta page's when it is valid; otherwise that of a valid second meta
   * page found where a page of its size would put it (as bbolt does).
   */
  #findPageSize(): number {
    const first = parseMeta(this.#read(0, META_END, "meta page 0"));
    if (typeof first !== "string") {
      if (!validPageSize(first.pageSize)) {
        throw this.corrupt(`page size ${first.pageSize} is not a power of two from 512 to 1 MiB`);
      }
      if (2 * first.pageSize > this.#source.size) {
        throw this.corrupt("it is truncated: it ends before its second meta page");
      }
      return first.pageSize;
    }
    for (let size = MIN_PAGE_SIZE; size <= MAX_PAGE_SIZE; size *= 2) {
      if (size + META_END > this.#source.size) break;
      const second = parseMeta(this.#source.read(size, META_END));
      if (typeof second !== "string" && second.pageSize === size) return size;
    }
    throw this.corrupt(`no valid meta page (${first})`);
  }
}

/**
 * A bucket of a {@linkcode BoltSnapshot}: a B+tree of keys in byte order, each with a value or a
 * nested bucket.
 */
export class BoltBucket {
  readonly #db: BoltSnapshot;
  /** The root page id, when the bucket has pages of its own. */
  readonly #root: number | undefined;
  /** The inline page, when the bucket is stored in its parent's value. */
  readonly #inline: Page | undefined;
  readonly #nesting: number;
  /** What refers to the root page: the meta page, or the leaf element of the parent bucket. */
  readonly #referrer: string;

  /** Use {@linkcode BoltSnapshot.root} and {@linkcode BoltBucket.bucket}. @internal */
  constructor(
    db: BoltSnapshot,
    root: number | undefined,
    inline: Page | undefined,
    nesting: number,
    referrer: string,
  ) {
    this.#db = db;
    this.#root = root;
    this.#inline = inline;
    this.#nesting = nesting;
    this.#referrer = referrer;
  }

  /** Every entry, in key order. */
  *entries(): Generator<BoltEntry> {
    if (this.#inline !== undefined) {
      yield* this.#leafEntries(this.#inline);
    } else {
      yield* this.#walk(this.#root!, this.#referrer, [], 0);
    }
  }

  /** The number of entries. */
  count(): number {
    let n = 0;
    for (const _ of this.entries()) n++;
    return n;
  }

  /** The value stored under `key` (undefined when absent or a bucket). */
  get(key: string | Uint8Array): Uint8Array | undefined {
    return this.#find(key)?.value;
  }

  /** The nested bucket under `key` (undefined when absent or a plain value). */
  bucket(key: string | Uint8Array): BoltBucket | undefined {
    return this.#find(key)?.bucket;
  }

  #find(key: string | Uint8Array): BoltEntry | undefined {
    const wanted = typeof key === "string" ? encodeKey(key) : key;
    let page: Page;
    if (this.#inline !== undefined) {
      page = this.#inline;
    } else {
      const path: number[] = [];
      page = this.#db.page(this.#root!, this.#referrer);
      this.#checkNode(page);
      while (page.flags === BRANCH_PAGE) {
        path.push(page.id);
        if (path.length > MAX_TREE_DEPTH) throw this.#db.corrupt("a bucket's tree is too deep");
        // The child whose first key is the last one not above the wanted key.
        let lo = 0;
        let hi = page.count - 1;
        while (lo < hi) {
          const mid = (lo + hi + 1) >> 1;
          if (compareBytes(this.#branchKey(page, mid), wanted) <= 0) lo = mid;
          else hi = mid - 1;
        }
        const child = this.#branchChild(page, lo);
        if (path.includes(child)) throw this.#cycle(page.id, child);
        page = this.#db.page(child, elementName(page, lo));
        this.#checkNode(page);
      }
    }
    let lo = 0;
    let hi = page.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const entry = this.#leafEntry(page, mid);
      const order = compareBytes(entry.key, wanted);
      if (order === 0) return this.#resolve(entry, page, mid);
      if (order < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  *#walk(id: number, referrer: string, ancestors: number[], depth: number): Generator<BoltEntry> {
    if (depth > MAX_TREE_DEPTH) throw this.#db.corrupt("a bucket's tree is too deep");
    const page = this.#db.page(id, referrer);
    this.#checkNode(page);
    if (page.flags === LEAF_PAGE) {
      yield* this.#leafEntries(page);
      return;
    }
    const path = [...ancestors, id];
    for (let i = 0; i < page.count; i++) {
      const child = this.#branchChild(page, i);
      if (path.includes(child)) throw this.#cycle(id, child);
      yield* this.#walk(child, elementName(page, i), path, depth + 1);
    }
  }

  *#leafEntries(page: Page): Generator<BoltEntry> {
    let previous: Uint8Array | undefined;
    for (let i = 0; i < page.count; i++) {
      const entry = this.#leafEntry(page, i);
      if (previous !== undefined && compareBytes(previous, entry.key) >= 0) {
        throw this.#db.corrupt(`${describe(page)} has keys out of order`);
      }
      previous = entry.key;
      yield this.#resolve(entry, page, i);
    }
  }

  /** Makes a bucket entry's bucket from its header; plain values pass through. */
  #resolve(
    entry: { key: Uint8Array; value: Uint8Array; isBucket: boolean },
    parent: Page,
    index: number,
  ): BoltEntry {
    if (!entry.isBucket) return { key: entry.key, value: entry.value };
    if (this.#nesting >= MAX_BUCKET_NESTING) {
      throw this.#db.corrupt("buckets are nested too deep");
    }
    const value = entry.value;
    if (value.length < BUCKET_HEADER_SIZE) {
      throw this.#db.corrupt(`a bucket's header is ${value.length} bytes, not 16`);
    }
    const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
    const root = view.getBigUint64(0, true);
    let bucket: BoltBucket;
    if (root === 0n) {
      const inline = value.subarray(BUCKET_HEADER_SIZE);
      if (inline.length < PAGE_HEADER_SIZE) {
        throw this.#db.corrupt("an inline bucket is shorter than a page header");
      }
      const page = makePage(inline, -1, elementName(parent, index));
      if (page.flags !== LEAF_PAGE) {
        throw this.#db.corrupt(`an inline bucket's page is not a leaf (flags ${hex(page.flags)})`);
      }
      bucket = new BoltBucket(this.#db, undefined, page, this.#nesting + 1, "");
    } else {
      const id = this.#db.pageId(root, "a bucket's root");
      bucket = new BoltBucket(
        this.#db,
        id,
        undefined,
        this.#nesting + 1,
        elementName(parent, index),
      );
    }
    return { key: entry.key, bucket };
  }

  #checkNode(page: Page): void {
    if (page.flags !== BRANCH_PAGE && page.flags !== LEAF_PAGE) {
      throw this.#db.corrupt(
        `${describe(page)} is not a branch or leaf page (flags ${hex(page.flags)})`,
      );
    }
    if (page.flags === BRANCH_PAGE && page.count === 0) {
      throw this.#db.corrupt(`${describe(page)} is an empty branch page`);
    }
    if (PAGE_HEADER_SIZE + page.count * ELEMENT_SIZE > page.bytes.length) {
      throw this.#db.corrupt(`${describe(page)} has more elements than fit in it`);
    }
  }

  #element(page: Page, index: number): number {
    const at = PAGE_HEADER_SIZE + index * ELEMENT_SIZE;
    if (at + ELEMENT_SIZE > page.bytes.length) {
      throw this.#db.corrupt(`${describe(page)} has more elements than fit in it`);
    }
    return at;
  }

  /** `length` bytes at element-relative `pos`, checked against the page's bounds. */
  #slice(page: Page, at: number, pos: number, length: number): Uint8Array {
    const start = at + pos;
    if (start + length > page.bytes.length) {
      throw this.#db.corrupt(`${describe(page)} has an element past its end`);
    }
    return page.bytes.subarray(start, start + length);
  }

  #branchKey(page: Page, index: number): Uint8Array {
    const at = this.#element(page, index);
    return this.#slice(page, at, page.view.getUint32(at, true), page.view.getUint32(at + 4, true));
  }

  #branchChild(page: Page, index: number): number {
    const at = this.#element(page, index);
    return this.#db.pageId(page.view.getBigUint64(at + 8, true), `a child of ${describe(page)}`);
  }

  #leafEntry(page: Page, index: number): { key: Uint8Array; value: Uint8Array; isBucket: boolean } {
    const at = this.#element(page, index);
    const flags = page.view.getUint32(at, true);
    const pos = page.view.getUint32(at + 4, true);
    const keySize = page.view.getUint32(at + 8, true);
    const valueSize = page.view.getUint32(at + 12, true);
    const key = this.#slice(page, at, pos, keySize);
    const value = this.#slice(page, at, pos + keySize, valueSize);
    return { key, value, isBucket: (flags & BUCKET_LEAF) !== 0 };
  }

  #cycle(from: number, to: number): InvalidDocumentError {
    return this.#db.corrupt(`page ${from} refers back to its ancestor page ${to}`);
  }
}

/**
 * Opens a database held in memory (a copy of a file, a test's bytes).
 *
 * @throws {InvalidDocumentError} when its meta pages are not those of a bbolt database.
 */
export function openBoltBytes(bytes: Uint8Array, name: string): BoltSnapshot {
  return new BoltSnapshot(bytesSource(bytes), name);
}

/** How many times {@linkcode readBolt} reads a file that keeps changing before it gives up. */
export const BOLT_READ_TRIES = 8;

/** Files up to this size (256 MiB) are copied into memory by {@linkcode readBolt} before parsing. */
export const BOLT_IN_MEMORY_LIMIT = 256 * 1024 * 1024;

/** Options of {@linkcode readBolt}. */
export interface ReadBoltOptions {
  /**
   * Files up to this many bytes are copied into memory, and parsed once the copy is known to be
   * consistent; larger ones are read page by page while they are parsed (default
   * {@linkcode BOLT_IN_MEMORY_LIMIT}). A copy makes the time a commit can spoil a read that of
   * the copy alone: a few milliseconds, however long the caller's `read` takes.
   */
  inMemoryLimit?: number;
}

/**
 * Runs `read` over a consistent snapshot of the bbolt file at `path`, opened read-only and
 * without a lock. A snapshot is consistent when neither meta page changed from before its pages
 * were read to after: pages reachable from the newest meta are never rewritten before the next
 * meta is written. When a transaction was committed meanwhile, the file is read again, up to
 * {@linkcode BOLT_READ_TRIES} times.
 *
 * @throws {InvalidDocumentError} when the file is not a valid bbolt database, or kept changing.
 * The file's absence, or a permission error, is left to the caller as the `Deno.errors` error
 * `Deno.open` throws.
 */
export async function readBolt<T>(
  path: string,
  read: (db: BoltSnapshot) => T,
  options: ReadBoltOptions = {},
): Promise<T> {
  const limit = options.inMemoryLimit ?? BOLT_IN_MEMORY_LIMIT;
  using file = await Deno.open(path, { read: true });
  for (let attempt = 1; attempt <= BOLT_READ_TRIES; attempt++) {
    const before = await file.stat();
    const onDisk = fileSource(file, before.size, path);
    const inMemory = before.size <= limit;
    const source = inMemory ? bytesSource(await readFrom(file, before.size, path)) : onDisk;
    let snapshot: BoltSnapshot | undefined;
    let result: { value: T } | { error: unknown } | undefined;
    try {
      snapshot = new BoltSnapshot(source, path);
      // A copy in memory is parsed once it is known to be consistent, below.
      if (!inMemory) result = { value: read(snapshot) };
    } catch (error) {
      result = { error };
    }
    // Without a snapshot (no valid meta page), a changed size or time says a write was under way.
    const after = snapshot === undefined ? await file.stat() : undefined;
    const stable = snapshot !== undefined
      ? snapshot.unchanged(onDisk)
      : after!.size === before.size && after!.mtime?.getTime() === before.mtime?.getTime();
    if (stable) {
      if (result !== undefined && "error" in result) throw result.error;
      return result !== undefined ? result.value : read(snapshot!);
    }
    await new Promise((resolve) => setTimeout(resolve, 5 * attempt));
  }
  throw new InvalidDocumentError(
    `Invalid bbolt file ${path}: it changed during each of ${BOLT_READ_TRIES} reads`,
  );
}

/** Reads a file's first `size` bytes (fewer if it is shorter now) in one sequential pass. */
async function readFrom(file: Deno.FsFile, size: number, path: string): Promise<Uint8Array> {
  const bytes = new Uint8Array(size);
  let filled = 0;
  try {
    await file.seek(0, Deno.SeekMode.Start);
    while (filled < size) {
      const n = await file.read(bytes.subarray(filled, Math.min(size, filled + 8 * 1024 * 1024)));
      if (n === null || n === 0) break;
      filled += n;
    }
  } catch (error) {
    throw new InvalidDocumentError(`Cannot read ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return bytes.subarray(0, filled);
}

/** A source reading a file at offsets (the file is read-only; nothing is mapped or locked). */
function fileSource(file: Deno.FsFile, size: number, path: string): ByteSource {
  return {
    size,
    read(offset, length) {
      const end = Math.min(offset + length, size);
      const out = new Uint8Array(Math.max(0, end - offset));
      try {
        file.seekSync(offset, Deno.SeekMode.Start);
        let filled = 0;
        while (filled < out.length) {
          const n = file.readSync(out.subarray(filled));
          if (n === null || n === 0) return out.subarray(0, filled);
          filled += n;
        }
      } catch (error) {
        throw new InvalidDocumentError(
          `Cannot read ${path}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      return out;
    },
  };
}

/** Parses a meta page's first bytes; a string says why it is not valid. */
function parseMeta(bytes: Uint8Array): Meta | string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(META_OFFSET, true);
  if (magic !== BOLT_MAGIC) {
    return magic === 0xedda0ced
      ? "a big-endian bbolt file, which this reader does not read"
      : `bad magic ${hex(magic)}: not a bbolt file`;
  }
  const version = view.getUint32(META_OFFSET + 4, true);
  if (version !== BOLT_VERSION) return `unsupported bbolt version ${version}`;
  const stored = view.getBigUint64(META_OFFSET + META_CHECKSUMMED, true);
  if (fnv1a64(bytes.subarray(META_OFFSET, META_OFFSET + META_CHECKSUMMED)) !== stored) {
    return "meta page checksum mismatch";
  }
  return {
    pageSize: view.getUint32(META_OFFSET + 8, true),
    root: view.getBigUint64(META_OFFSET + 16, true),
    highWater: view.getBigUint64(META_OFFSET + 40, true),
    txid: view.getBigUint64(META_OFFSET + 48, true),
  };
}

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK_64 = 0xffffffffffffffffn;

/** The 64-bit FNV-1a hash (Go's hash/fnv New64a). */
export function fnv1a64(bytes: Uint8Array): bigint {
  let hash = FNV_OFFSET;
  for (const byte of bytes) hash = ((hash ^ BigInt(byte)) * FNV_PRIME) & MASK_64;
  return hash;
}

function validPageSize(size: number): boolean {
  return size >= MIN_PAGE_SIZE && size <= MAX_PAGE_SIZE && (size & (size - 1)) === 0;
}

function makePage(bytes: Uint8Array, id: number, ident: string): Page {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const flags = view.getUint16(8, true);
  return { bytes, view, flags, count: view.getUint16(10, true), id, ident };
}

/** How errors name the element `index` of a page: `page 7 element 3`. */
function elementName(page: Page, index: number): string {
  return `${page.ident} element ${index}`;
}

function describe(page: Page): string {
  return page.id < 0 ? `the inline page of ${page.ident}` : `page ${page.id}`;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** Byte order, as Go's bytes.Compare. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && compareBytes(a, b) === 0;
}
