/**
 * The filesystem store: an OCI image-layout directory, or containerd's content directory
 * (`.../io.containerd.content.v1.content`), read as a content provider and an image store.
 *
 * @module
 */
import { closeSync, constants, openSync, readSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  type BlobInfo,
  type ContentProvider,
  digestMismatch,
  type Image,
  type ImageStore,
  type OpenedBlob,
  sizeMismatch,
} from "./content.ts";
import { blobPath, Digester, parseDigest } from "../oci/digest.ts";
import { DigestIds, grow } from "../oci/digest_ids.ts";
import {
  ANNOTATION_IMAGE_NAME,
  ANNOTATION_REF_NAME,
  decodeIndex,
  type Descriptor,
  DocumentError,
} from "../oci/documents.ts";
import { InvalidArgumentError, InvalidDocumentError, NotFoundError } from "../oci/errors.ts";

/**
 * The largest store `index.json` that {@linkcode openLayout} reads, in bytes (64 MiB). A store's
 * `index.json` may list many images, so it gets a larger cap than a manifest.
 *
 * @example Check a store's index.json against the cap
 * ```ts
 * import assert from "node:assert/strict";
 * import { MAX_STORE_INDEX_SIZE } from "@ocipack/ocipack";
 *
 * const { size } = await Deno.stat("testdata/store/index.json");
 * assert(size <= MAX_STORE_INDEX_SIZE);
 * ```
 */
export const MAX_STORE_INDEX_SIZE = 64 * 1024 * 1024;

/**
 * Blobs up to this size (256 KiB) are read with synchronous calls: configs, manifests and small
 * layers take one read, straight into the consumer's buffer, and are closed at their end.
 */
const SMALL_BLOB_SIZE = 256 * 1024;

/**
 * How many blobs a store remembers between stat() and open() (131,072, about 6 MiB): an export
 * looks up every blob before it writes the first, then opens each once.
 */
const MAX_CHECKED_BLOBS = 1 << 17;

/** Chunk size for reading a symlinked blob while verifying it. */
const VERIFY_CHUNK = 1024 * 1024;

/**
 * An opened filesystem store. It is both the {@linkcode ContentProvider} the exporter reads blobs
 * from and the {@linkcode ImageStore} it resolves names with.
 *
 * @example Use a store as provider and image store
 * ```ts
 * import assert from "node:assert/strict";
 * import { exportArchive, Layout, openLayout } from "@ocipack/ocipack";
 *
 * const store: Layout = await openLayout("testdata/store");
 * assert.equal(store.root, "testdata/store");
 * // The same object resolves the name and serves the blobs.
 * await exportArchive(store, { images: ["docker.io/library/hello:docker"] })
 *   .pipeTo(new WritableStream());
 * ```
 */
export class Layout implements ContentProvider, ImageStore {
  /** The store's root directory. */
  readonly root: string;
  readonly #realRoot: string;
  readonly #images: readonly Image[];
  /** The images by name. */
  readonly #byName: ReadonlyMap<string, Image>;
  /** The real path of each blob directory looked up so far. */
  readonly #realDirs = new Map<string, string>();
  /**
   * Blobs that {@linkcode stat} found to be regular files inside the store (not links), for the
   * next {@linkcode open} of each: their sizes by id, NaN once opened; see
   * {@linkcode MAX_CHECKED_BLOBS}.
   */
  #checked = new DigestIds();
  #checkedSizes = new Float64Array(1024);

  /**
   * Internal: use {@linkcode openLayout}, which reads and checks the store's `index.json`.
   *
   * @ignore
   */
  constructor(root: string, images: readonly Image[], realRoot: string = root) {
    this.root = root;
    this.#realRoot = realRoot;
    this.#images = images;
    this.#byName = new Map(images.map((image) => [image.name, image]));
  }

  /**
   * Lists the named entries of the store's `index.json`, in its order.
   *
   * @example Find every name of a manifest
   * ```ts
   * import assert from "node:assert/strict";
   * import { openLayout } from "@ocipack/ocipack";
   *
   * const store = await openLayout("testdata/store");
   * const { target } = await store.getImage("docker.io/library/hello:oci");
   * const names = (await store.listImages())
   *   .filter((image) => image.target.digest === target.digest)
   *   .map((image) => image.name);
   * assert.deepEqual(names, [
   *   "docker.io/library/hello:oci",
   *   "docker.io/library/hello:latest",
   *   "localhost:5000/team/hello:v1",
   * ]);
   * ```
   */
  listImages(): Promise<Image[]> {
    return Promise.resolve(this.#images.map(cloneImage));
  }

  /**
   * Looks up an image by its exact name.
   *
   * @throws {NotFoundError} when no entry has the name.
   *
   * @example Look up an image
   * ```ts
   * import assert from "node:assert/strict";
   * import { openLayout } from "@ocipack/ocipack";
   *
   * const store = await openLayout("testdata/store");
   * const { target } = await store.getImage("docker.io/library/hello:docker");
   * assert.equal(target.mediaType, "application/vnd.docker.distribution.manifest.v2+json");
   * ```
   */
  getImage(name: string): Promise<Image> {
    const image = this.#byName.get(name);
    if (image === undefined) {
      return Promise.reject(
        new NotFoundError(`Image ${name} not found in ${this.root}`, { image: name }),
      );
    }
    return Promise.resolve(cloneImage(image));
  }

  /**
   * Reports a blob's stored size; refuses anything but a regular file.
   *
   * @example Check that a blob is present
   * ```ts
   * import assert from "node:assert/strict";
   * import { openLayout } from "@ocipack/ocipack";
   *
   * const store = await openLayout("testdata/store");
   * const { target } = await store.getImage("docker.io/library/hello:oci");
   * assert.equal((await store.stat(target)).size, 695);
   * ```
   */
  stat(descriptor: Descriptor): Promise<BlobInfo> {
    try {
      // Synchronous, as in open().
      const path = this.#blobPath(descriptor);
      const link = fsSync(descriptor, () => Deno.lstatSync(path));
      const info = link.isSymlink ? statBlob(path, descriptor) : link;
      if (!info.isFile) throw notRegular(descriptor);
      if (!link.isSymlink && this.#inRoot(path, descriptor)) this.#check(descriptor, info.size);
      return Promise.resolve({ size: info.size });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Opens a blob. A blob that is a symbolic link, or that lies outside the store once links in
   * its path are followed, is verified in full (size and digest) through the opened file before
   * it is handed out, so a link cannot smuggle another file's bytes into an archive.
   *
   * @example Read a blob
   * ```ts
   * import assert from "node:assert/strict";
   * import { openLayout } from "@ocipack/ocipack";
   *
   * const store = await openLayout("testdata/store");
   * const { target } = await store.getImage("docker.io/library/hello:oci");
   * const { stream } = await store.open(target);
   * const manifest = await new Response(stream).json();
   * assert.equal(manifest.config.mediaType, "application/vnd.oci.image.config.v1+json");
   * ```
   */
  async open(descriptor: Descriptor): Promise<OpenedBlob> {
    const path = this.#blobPath(descriptor);
    // Synchronous calls: each takes microseconds on a local file system, where an asynchronous
    // one costs a round trip through a worker thread, which for a store of many small blobs
    // was nine tenths of an export's time (bench/run.ts --case count).
    const checked = this.#takeChecked(descriptor);
    if (checked !== undefined && checked <= SMALL_BLOB_SIZE) {
      // stat() found a small regular file inside the store, and an export opens each blob it
      // stat()ed once: open it without looking again (an lstat costs about 6 µs, its FileInfo
      // more than the call: a fifth of copying a small blob). It is opened without following a
      // link and without waiting on a FIFO, so a blob swapped for either since is no worse: a
      // link takes the path below, which verifies it before any byte is handed out; a FIFO
      // reads as empty, or fails. What is read is checked against the descriptor as ever.
      const file = openNoFollow(path, descriptor);
      if (file !== undefined) return fileBlob(file, checked);
    }
    const link = fsSync(descriptor, () => Deno.lstatSync(path));
    // Refuse FIFOs and devices before open() can block on them; a link is followed to see. (A
    // file swapped in between this and the open is caught by the digest, as any wrong bytes.)
    const info = link.isSymlink ? statBlob(path, descriptor) : link;
    if (!info.isFile) throw notRegular(descriptor);
    const inside = !link.isSymlink && this.#inRoot(path, descriptor);
    const file = fsSync(descriptor, () => Deno.openSync(path, { read: true }));
    try {
      if (!inside) {
        await verifyFile(file, descriptor);
        await file.seek(0, Deno.SeekMode.Start);
      }
      return fileBlob(file, info.size);
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /**
   * Remembers that a blob is a regular file of this size inside the store. When the memory is
   * full it starts again: what it forgets is looked at again by open().
   */
  #check(descriptor: Descriptor, size: number): void {
    if (this.#checked.size >= MAX_CHECKED_BLOBS) {
      this.#checked = new DigestIds();
      this.#checkedSizes = new Float64Array(1024);
    }
    const id = this.#checked.intern(descriptor.digest);
    this.#checkedSizes = grow(this.#checkedSizes, id + 1);
    this.#checkedSizes[id] = size;
  }

  /** The size stat() found for a blob not opened since, forgotten as it is given. */
  #takeChecked(descriptor: Descriptor): number | undefined {
    const id = this.#checked.find(descriptor.digest);
    if (id < 0 || Number.isNaN(this.#checkedSizes[id])) return undefined;
    const size = this.#checkedSizes[id];
    this.#checkedSizes[id] = NaN;
    return size;
  }

  /**
   * Whether a blob that is not a link lies inside the store once links in its directories are
   * followed; each directory's real path is looked up once.
   */
  #inRoot(path: string, descriptor: Descriptor): boolean {
    const dir = path.slice(0, path.lastIndexOf("/"));
    let real = this.#realDirs.get(dir);
    if (real === undefined) {
      real = fsSync(descriptor, () => Deno.realPathSync(dir));
      this.#realDirs.set(dir, real);
    }
    return real === this.#realRoot || real.startsWith(this.#realRoot + "/");
  }

  #blobPath(descriptor: Descriptor): string {
    return `${this.root}/${blobPath(descriptor.digest)}`;
  }
}

/**
 * Opens a filesystem store: a directory with `blobs/<algorithm>/<hex>` and, optionally, an
 * `index.json` naming its images (by the `io.containerd.image.name` annotation, else
 * `org.opencontainers.image.ref.name`). A directory with `blobs/` and no `index.json`, such as
 * containerd's content directory, is a store without names.
 *
 * @throws {InvalidArgumentError} when `dir` is empty or a URL other than a `file:` URL.
 * @throws {NotFoundError} when the directory has neither `blobs/` nor `index.json`.
 * @throws {InvalidDocumentError} when `index.json` is not a valid OCI index.
 *
 * @example Open an OCI image layout
 * ```ts
 * import assert from "node:assert/strict";
 * import { openLayout } from "@ocipack/ocipack";
 *
 * const store = await openLayout("testdata/store");
 * const names = (await store.listImages()).map((image) => image.name);
 * assert(names.includes("example.com/multi:1.0"));
 * ```
 *
 * @example Open a store by file URL
 * ```ts
 * import assert from "node:assert/strict";
 * import { fileURLToPath, pathToFileURL } from "node:url";
 * import { openLayout } from "@ocipack/ocipack";
 *
 * const url = pathToFileURL("testdata/store");
 * const store = await openLayout(url);
 * assert.equal(store.root, fileURLToPath(url)); // the root is kept as a path
 * ```
 */
export async function openLayout(dir: string | URL): Promise<Layout> {
  let root: string;
  if (dir instanceof URL) {
    if (dir.protocol !== "file:") {
      throw new InvalidArgumentError(`Store must be a directory path or a file: URL, not ${dir}`);
    }
    root = fileURLToPath(dir);
  } else if (typeof dir === "string" && dir !== "") {
    root = dir;
  } else {
    throw new InvalidArgumentError("Store must be a non-empty directory path or a file: URL");
  }
  const trimmed = root.length > 1 ? root.replace(/\/+$/, "") : root;
  await checkStoreDirectory(root);
  const hasBlobs = await isDirectory(`${trimmed}/blobs`);
  const indexBytes = await readCapped(`${trimmed}/index.json`, MAX_STORE_INDEX_SIZE);
  if (!hasBlobs && indexBytes === undefined) {
    throw new NotFoundError(
      `${root} is not an OCI layout, containerd root or content store: it has no blobs/ or index.json`,
    );
  }
  // Names from index.json; a name given twice means its last entry, as after containerd's import.
  const images = new Map<string, Image>();
  if (indexBytes !== undefined) {
    let manifests: Descriptor[];
    try {
      manifests = decodeIndex(indexBytes).manifests;
    } catch (error) {
      if (!(error instanceof DocumentError)) throw error;
      throw new InvalidDocumentError(
        `Invalid ${trimmed}/index.json: ${error.message}`,
        { cause: error },
      );
    }
    for (const target of manifests) {
      const name = target.annotations?.[ANNOTATION_IMAGE_NAME] ||
        target.annotations?.[ANNOTATION_REF_NAME];
      if (name) images.set(name, { name, target });
    }
  }
  return new Layout(trimmed, [...images.values()], await Deno.realPath(trimmed));
}

/** Fails with a message that says what is wrong when the store path is not a directory. */
async function checkStoreDirectory(root: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(root);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      throw new NotFoundError(`Store ${root} does not exist`, { cause: error });
    }
    throw error;
  }
  if (!info.isDirectory) {
    throw new InvalidArgumentError(
      `Store ${root} is not a directory (give an OCI image layout or containerd content directory)`,
    );
  }
}

function cloneImage(image: Image): Image {
  return { name: image.name, target: cloneDescriptor(image.target) };
}

/**
 * A deep copy of a descriptor decoded from JSON (strings, numbers, lists and objects of them),
 * made field by field: structuredClone costs several times as much, for each of many images.
 */
function cloneDescriptor(d: Descriptor): Descriptor {
  const copy: Descriptor = { ...d };
  if (d.urls !== undefined) copy.urls = [...d.urls];
  if (d.annotations !== undefined) copy.annotations = { ...d.annotations };
  if (d.platform !== undefined) {
    copy.platform = { ...d.platform };
    const features = d.platform["os.features"];
    if (features !== undefined) copy.platform["os.features"] = [...features];
  }
  return copy;
}

function notRegular(descriptor: Descriptor): InvalidDocumentError {
  return new InvalidDocumentError(
    `Blob ${descriptor.digest} is not a regular file`,
    { digest: descriptor.digest },
  );
}

/**
 * Runs a filesystem call for a blob, turning its errors into ocipack's: an absent blob is a
 * NotFoundError; one that cannot be read (a link loop, no permission) an InvalidDocumentError.
 */
function fsSync<T>(descriptor: Descriptor, call: () => T): T {
  try {
    return call();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      throw blobFileError(descriptor, error, true);
    }
    if (error instanceof Error && error.name in Deno.errors) {
      throw blobFileError(descriptor, error, false);
    }
    throw error;
  }
}

/** The error for a failed file call on a blob: absent, or present but unreadable. */
function blobFileError(
  descriptor: Descriptor,
  error: unknown,
  absent: boolean,
): NotFoundError | InvalidDocumentError {
  const context = { digest: descriptor.digest, cause: error };
  return absent
    ? new NotFoundError(`Blob ${descriptor.digest} not found`, context)
    : new InvalidDocumentError(
      `Blob ${descriptor.digest} cannot be read: ${(error as Error).message}`,
      context,
    );
}

function statBlob(path: string, descriptor: Descriptor): Deno.FileInfo {
  const info = fsSync(descriptor, () => Deno.statSync(path));
  if (!info.isFile) throw notRegular(descriptor);
  return info;
}

/** What fileBlob reads: a Deno file, or a file opened through `node:fs`. */
interface BlobFile {
  /** Reads into the buffer; 0 or null at the end. */
  readSync(buffer: Uint8Array): number | null;
  /** Reads into the buffer; 0 or null at the end. */
  read(buffer: Uint8Array): Promise<number | null>;
  close(): void;
}

/** `O_RDONLY | O_NOFOLLOW | O_NONBLOCK`: never through a final link, never waiting on a FIFO. */
const NO_FOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Opens a blob file without following a link at its end and without waiting on a FIFO (Deno's own
 * open can do neither), or returns undefined when the path is a link.
 */
function openNoFollow(path: string, descriptor: Descriptor): BlobFile | undefined {
  let fd: number;
  try {
    fd = openSync(path, NO_FOLLOW);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ELOOP") return undefined; // a link: looked at and verified the other way
    throw blobFileError(descriptor, error, code === "ENOENT" || code === "ENOTDIR");
  }
  const readInto = (buffer: Uint8Array): number => {
    try {
      return readSync(fd, buffer, 0, buffer.length, null);
    } catch (error) {
      throw blobFileError(descriptor, error, false);
    }
  };
  return {
    readSync: readInto,
    read: (buffer) => Promise.resolve().then(() => readInto(buffer)),
    close: () => closeSync(fd),
  };
}

/**
 * An opened blob file. `read()` is the exporter's path: a small blob is read with synchronous calls
 * (one read takes it whole, straight into the consumer's buffer), a larger one asynchronously. The
 * file is closed as soon as a read finds its end, or by `close()` (not enumerable: a wrapper that
 * spreads the blob and replaces its stream closes it through that stream). The stream, over the
 * same file, is made only if it is asked for: creating one per blob, with thousands of blobs, cost
 * a megabyte of heap per thousand, kept until a full garbage collection.
 */
function fileBlob(file: BlobFile, size: number): OpenedBlob {
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    file.close();
  };
  let stream: ReadableStream<Uint8Array> | undefined;
  const small = size <= SMALL_BLOB_SIZE;
  let received = 0;
  /**
   * The count read into `buffer`, or null at the end (which closes the file). A small blob whose
   * read gave fewer bytes than asked, bringing it to its size, is at its end: the file is closed
   * then, and the next read answers null without another call.
   */
  const done = (n: number | null, buffer: Uint8Array): number | null => {
    if (n === null || (n === 0 && buffer.length > 0)) {
      close();
      return null;
    }
    received += n;
    if (small && n < buffer.length && received === size) close();
    return n;
  };
  const read = async (buffer: Uint8Array): Promise<number | null> => {
    if (closed) return null;
    try {
      return done(small ? file.readSync(buffer) : await file.read(buffer), buffer);
    } catch (error) {
      close();
      throw error;
    }
  };
  const blob: OpenedBlob = {
    size,
    read,
    get stream(): ReadableStream<Uint8Array> {
      return stream ??= new ReadableStream({
        type: "bytes",
        autoAllocateChunkSize: Math.min(Math.max(size + 1, 1), 64 * 1024),
        async pull(controller) {
          const request = controller.byobRequest!;
          const view = request.view!;
          const n = await read(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
          if (n === null) {
            controller.close();
            request.respond(0);
          } else {
            request.respond(n);
          }
        },
        cancel: close,
      });
    },
  };
  return Object.defineProperty(blob, "close", { value: close, enumerable: false });
}

/** Hashes at most size + 1 bytes of an open file and compares size and digest. */
async function verifyFile(file: Deno.FsFile, descriptor: Descriptor): Promise<void> {
  const { algorithm } = parseDigest(descriptor.digest);
  const digester = new Digester(algorithm);
  const buffer = new Uint8Array(Math.min(VERIFY_CHUNK, descriptor.size + 1));
  let total = 0;
  while (total <= descriptor.size) {
    const want = Math.min(buffer.length, descriptor.size + 1 - total);
    const n = await file.read(buffer.subarray(0, want));
    if (n === null) break;
    digester.update(buffer.subarray(0, n));
    total += n;
  }
  // The caller adds the image the blob was reached from.
  const origin = { role: "blob (a symbolic link)" };
  if (total !== descriptor.size) throw sizeMismatch(descriptor, origin, total);
  const actual = digester.digest();
  if (actual !== descriptor.digest) throw digestMismatch(descriptor, origin, actual);
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Reads a regular file of at most `limit` bytes; `undefined` when it does not exist. */
async function readCapped(path: string, limit: number): Promise<Uint8Array | undefined> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  if (!info.isFile) {
    throw new InvalidDocumentError(`${path} is not a regular file`);
  }
  using file = await Deno.open(path, { read: true });
  // Read to the end (never trusting the size stat gave), stopping one byte past the limit.
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (total <= limit) {
    const chunk = new Uint8Array(
      Math.min(Math.max(info.size - total + 1, 64 * 1024), limit + 1 - total),
    );
    const n = await file.read(chunk);
    if (n === null) break;
    chunks.push(chunk.subarray(0, n));
    total += n;
  }
  if (total > limit) {
    throw new InvalidDocumentError(`${path} is over the ${limit}-byte limit for a store index`);
  }
  if (chunks.length === 1) return chunks[0]; // the usual case: no second copy of a large index
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}
