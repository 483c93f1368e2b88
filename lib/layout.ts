/**
 * The filesystem store: an OCI image-layout directory, or containerd's content directory
 * (`.../io.containerd.content.v1.content`), read as a content provider and an image store.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import type { BlobInfo, ContentProvider, Image, ImageStore, OpenedBlob } from "./content.ts";
import { Digester, parseDigest } from "./digest.ts";
import {
  ANNOTATION_IMAGE_NAME,
  ANNOTATION_REF_NAME,
  decodeIndex,
  type Descriptor,
  DocumentError,
} from "./documents.ts";
import {
  DigestMismatchError,
  InvalidArgumentError,
  InvalidDocumentError,
  NotFoundError,
  SizeMismatchError,
} from "./errors.ts";

/** A store's `index.json` may list many images, so it gets a larger cap than a manifest. */
export const MAX_STORE_INDEX_SIZE = 64 * 1024 * 1024;

/** Chunk size for reading a symlinked blob while verifying it. */
const VERIFY_CHUNK = 1024 * 1024;

/**
 * An opened filesystem store. It is both the {@linkcode ContentProvider} the exporter reads blobs
 * from and the {@linkcode ImageStore} it resolves names with.
 */
export class Layout implements ContentProvider, ImageStore {
  /** The store's root directory. */
  readonly root: string;
  readonly #images: readonly Image[];

  /** Use {@linkcode openLayout} rather than this constructor. */
  constructor(root: string, images: readonly Image[]) {
    this.root = root;
    this.#images = images;
  }

  /** Lists the named entries of the store's `index.json`, in its order. */
  listImages(): Promise<Image[]> {
    return Promise.resolve(this.#images.map(cloneImage));
  }

  /** Looks up an image by its exact name. */
  getImage(name: string): Promise<Image> {
    const image = this.#images.find((i) => i.name === name);
    if (image === undefined) {
      return Promise.reject(new NotFoundError(`Image ${name} not found in ${this.root}`));
    }
    return Promise.resolve(cloneImage(image));
  }

  /** Reports a blob's stored size; refuses anything but a regular file. */
  async stat(descriptor: Descriptor): Promise<BlobInfo> {
    const path = this.#blobPath(descriptor);
    const info = await statBlob(path, descriptor);
    return { size: info.size };
  }

  /**
   * Opens a blob. A blob stored as a symbolic link is verified in full (size and digest) through
   * the opened file before it is handed out, so a link cannot smuggle another file's bytes into
   * an archive.
   */
  async open(descriptor: Descriptor): Promise<OpenedBlob> {
    const path = this.#blobPath(descriptor);
    const link = await isSymlink(path, descriptor);
    await statBlob(path, descriptor); // refuse FIFOs and devices before open() can block on them
    const file = await openFile(path, descriptor);
    try {
      const info = await file.stat();
      if (!info.isFile) throw notRegular(descriptor);
      if (link) {
        await verifyFile(file, descriptor);
        await file.seek(0, Deno.SeekMode.Start);
      }
      return { size: info.size, stream: file.readable };
    } catch (error) {
      file.close();
      throw error;
    }
  }

  #blobPath(descriptor: Descriptor): string {
    const { algorithm, encoded } = parseDigest(descriptor.digest);
    return `${this.root}/blobs/${algorithm}/${encoded}`;
  }
}

/**
 * Opens a filesystem store: a directory with `blobs/<algorithm>/<hex>` and, optionally, an
 * `index.json` naming its images (by the `io.containerd.image.name` annotation, else
 * `org.opencontainers.image.ref.name`). A directory with `blobs/` and no `index.json`, such as
 * containerd's content directory, is a store without names.
 *
 * @throws {NotFoundError} when the directory has neither `blobs/` nor `index.json`.
 * @throws {InvalidDocumentError} when `index.json` is not a valid OCI index.
 */
export async function openLayout(dir: string | URL): Promise<Layout> {
  const root = typeof dir === "string" ? dir : fileURLToPath(dir);
  if (typeof root !== "string" || root === "") {
    throw new InvalidArgumentError("Store directory must be a non-empty path or a file: URL");
  }
  const trimmed = root.length > 1 ? root.replace(/\/+$/, "") : root;
  const hasBlobs = await isDirectory(`${trimmed}/blobs`);
  const indexBytes = await readCapped(`${trimmed}/index.json`, MAX_STORE_INDEX_SIZE);
  if (!hasBlobs && indexBytes === undefined) {
    throw new NotFoundError(
      `${root} is not an OCI layout or containerd content store: it has no blobs/ or index.json`,
    );
  }
  const images: Image[] = [];
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
    const seen = new Set<string>();
    for (const target of manifests) {
      const name = target.annotations?.[ANNOTATION_IMAGE_NAME] ||
        target.annotations?.[ANNOTATION_REF_NAME];
      if (!name || seen.has(name)) continue;
      seen.add(name);
      images.push({ name, target });
    }
  }
  return new Layout(trimmed, images);
}

function cloneImage(image: Image): Image {
  return { name: image.name, target: structuredClone(image.target) };
}

function notRegular(descriptor: Descriptor): InvalidDocumentError {
  return new InvalidDocumentError(
    `Blob ${descriptor.digest} is not a regular file`,
    { digest: descriptor.digest },
  );
}

function notFound(descriptor: Descriptor, cause: unknown): NotFoundError {
  return new NotFoundError(`Blob ${descriptor.digest} not found`, {
    digest: descriptor.digest,
    cause,
  });
}

async function statBlob(path: string, descriptor: Descriptor): Promise<Deno.FileInfo> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw notFound(descriptor, error);
    throw error;
  }
  if (!info.isFile) throw notRegular(descriptor);
  return info;
}

async function isSymlink(path: string, descriptor: Descriptor): Promise<boolean> {
  try {
    return (await Deno.lstat(path)).isSymlink;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw notFound(descriptor, error);
    throw error;
  }
}

async function openFile(path: string, descriptor: Descriptor): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw notFound(descriptor, error);
    throw error;
  }
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
  const context = { digest: descriptor.digest };
  if (total !== descriptor.size) {
    throw new SizeMismatchError(
      total > descriptor.size
        ? `Blob ${descriptor.digest} (a symbolic link) is longer than its descriptor's ${descriptor.size} bytes`
        : `Blob ${descriptor.digest} (a symbolic link) is ${total} bytes, but its descriptor says ${descriptor.size}`,
      descriptor.size,
      total,
      context,
    );
  }
  const actual = digester.digest();
  if (actual !== descriptor.digest) {
    throw new DigestMismatchError(
      `Blob ${descriptor.digest} (a symbolic link) has digest ${actual}: its content does not match`,
      descriptor.digest,
      actual,
      context,
    );
  }
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
  const bytes = new Uint8Array(Math.min(info.size, limit) + 1);
  let filled = 0;
  while (filled < bytes.length) {
    const n = await file.read(bytes.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  if (filled > limit) {
    throw new InvalidDocumentError(`${path} is over the ${limit}-byte limit for a store index`);
  }
  return bytes.subarray(0, filled);
}
