/**
 * An image archive (a plain tar file) opened as a content provider and an image store: its
 * entries are indexed in one pass (seeking past the bodies), then blobs are read by offset. An
 * OCI layout's images are named from its `index.json` as {@linkcode openLayout} names them; a
 * Docker-format archive (`manifest.json` only) gets the manifests and index containerd's importer
 * would make of it.
 *
 * @module
 */
import type { BlobInfo, ContentProvider, Image, ImageStore, OpenedBlob } from "../content.ts";
import { MAX_STORE_INDEX_SIZE } from "../layout.ts";
import { readStream } from "./read_stream.ts";
import {
  type ArchiveFileInfo,
  decodeManifestJson,
  synthesizeDockerImages,
} from "./docker_format.ts";
import {
  type Compression,
  readTarFile,
  sniffCompression,
  type TarReaderEntry,
} from "./tar_reader.ts";
import { blobPath, Digester, parseDigest } from "../../oci/digest.ts";
import {
  ANNOTATION_IMAGE_NAME,
  ANNOTATION_REF_NAME,
  decodeIndex,
  type Descriptor,
  DocumentError,
  OCI_LAYOUT,
} from "../../oci/documents.ts";
import { InvalidArchiveError, InvalidArgumentError, NotFoundError } from "../../oci/errors.ts";
import { decodeJson, GoJsonError } from "../../oci/go_json.ts";

/** Where an entry's bytes are in the archive file. */
interface Span {
  offset: number;
  size: number;
}

/** The largest `manifest.json`, `oci-layout` or config read (20 MiB, as containerd's importer). */
const MAX_JSON = 20 * 1024 * 1024;
const READ_CHUNK = 1 << 20;

/**
 * An opened archive file: the {@linkcode ContentProvider} and {@linkcode ImageStore} that
 * {@linkcode openArchive} returns. Blobs are read from the file at their offsets; a Docker-format
 * archive's synthesized manifests and index are held in memory.
 *
 * @example List what an archive holds
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ArchiveStore, exportArchive, openArchive, openLayout } from "@ocipack/ocipack";
 *
 * const dir = await Deno.makeTempDir();
 * try {
 *   const layout = await openLayout("testdata/store");
 *   await Deno.writeFile(
 *     `${dir}/hello.tar`,
 *     exportArchive(layout, { images: ["docker.io/library/hello:oci"] }),
 *   );
 *   const archive: ArchiveStore = await openArchive(`${dir}/hello.tar`);
 *   assert.equal(archive.format, "oci");
 *   const [image] = await archive.listImages();
 *   assert.equal(image.name, "docker.io/library/hello:oci");
 *   assert.equal((await archive.stat(image.target)).size, image.target.size);
 * } finally {
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export class ArchiveStore implements ContentProvider, ImageStore {
  /** The archive's path. */
  readonly path: string;
  /** `oci` when the archive has an `oci-layout`, else `docker`. */
  readonly format: "oci" | "docker";
  readonly #blobs: Map<string, Span>;
  readonly #memory: Map<string, Uint8Array>;
  readonly #images: Image[];

  /**
   * Internal: use {@linkcode openArchive}.
   *
   * @ignore
   */
  constructor(
    path: string,
    format: "oci" | "docker",
    blobs: Map<string, Span>,
    memory: Map<string, Uint8Array>,
    images: Image[],
  ) {
    this.path = path;
    this.format = format;
    this.#blobs = blobs;
    this.#memory = memory;
    this.#images = images;
  }

  /** Lists the archive's named images, in `index.json` order. */
  listImages(): Promise<Image[]> {
    return Promise.resolve(
      this.#images.map((i) => ({ name: i.name, target: structuredClone(i.target) })),
    );
  }

  /** Looks up an image by its exact name; rejects with {@linkcode NotFoundError}. */
  getImage(name: string): Promise<Image> {
    const image = this.#images.find((i) => i.name === name);
    if (image === undefined) {
      return Promise.reject(new NotFoundError(`Image ${name} not found in ${this.path}`));
    }
    return Promise.resolve({ name: image.name, target: structuredClone(image.target) });
  }

  /** Reports a blob's stored size; rejects with {@linkcode NotFoundError} when it is absent. */
  stat(descriptor: Descriptor): Promise<BlobInfo> {
    try {
      parseDigest(descriptor.digest);
      const memory = this.#memory.get(descriptor.digest);
      if (memory !== undefined) return Promise.resolve({ size: memory.length });
      return Promise.resolve({ size: this.#span(descriptor).size });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Opens a blob: its bytes are read from the archive file at their offset. */
  async open(descriptor: Descriptor): Promise<OpenedBlob> {
    parseDigest(descriptor.digest);
    const memory = this.#memory.get(descriptor.digest);
    if (memory !== undefined) {
      return { size: memory.length, stream: ReadableStream.from([memory.slice()]) };
    }
    const span = this.#span(descriptor);
    const file = await Deno.open(this.path, { read: true });
    try {
      await file.seek(span.offset, Deno.SeekMode.Start);
    } catch (error) {
      file.close();
      throw error;
    }
    return spanReader(file, span.size);
  }

  #span(descriptor: Descriptor): Span {
    const span = this.#blobs.get(descriptor.digest);
    if (span === undefined) {
      throw new NotFoundError(`Blob ${descriptor.digest} not found`, { digest: descriptor.digest });
    }
    return span;
  }
}

/** A blob of `size` bytes read from an open file at its current position; closes the file. */
function spanReader(file: Deno.FsFile, size: number): OpenedBlob {
  let remaining = size;
  const read = async (buffer: Uint8Array): Promise<number | null> => {
    if (remaining === 0) return null;
    const n = await file.read(buffer.length > remaining ? buffer.subarray(0, remaining) : buffer);
    if (n === null) {
      throw new InvalidArchiveError("The archive file was truncated while it was read");
    }
    remaining -= n;
    return n;
  };
  // Pull only when asked: read() shares the file position.
  const stream = readStream(
    { read, close: () => file.close() },
    () => Math.min(READ_CHUNK, Math.max(remaining, 1)),
    0,
  );
  return { size, stream, read };
}

/** Reads `span` of an open file into memory. */
async function readSpan(file: Deno.FsFile, span: Span): Promise<Uint8Array> {
  const bytes = new Uint8Array(span.size);
  await file.seek(span.offset, Deno.SeekMode.Start);
  let filled = 0;
  while (filled < span.size) {
    const n = await file.read(bytes.subarray(filled));
    if (n === null) {
      throw new InvalidArchiveError("The archive file was truncated while it was read");
    }
    filled += n;
  }
  return bytes;
}

/** Hashes `span` of an open file; also returns its first bytes' compression. */
async function hashSpan(
  file: Deno.FsFile,
  span: Span,
): Promise<{ digest: string; compression: Compression }> {
  const digester = new Digester("sha256");
  await file.seek(span.offset, Deno.SeekMode.Start);
  const buffer = new Uint8Array(Math.min(READ_CHUNK, Math.max(span.size, 1)));
  let remaining = span.size;
  let head: Uint8Array | undefined;
  while (remaining > 0) {
    const n = await file.read(buffer.subarray(0, Math.min(buffer.length, remaining)));
    if (n === null) {
      throw new InvalidArchiveError("The archive file was truncated while it was read");
    }
    if (head === undefined) head = buffer.slice(0, Math.min(n, 4));
    digester.update(buffer.subarray(0, n));
    remaining -= n;
  }
  let compression: Compression = "none";
  try {
    compression = head === undefined ? "none" : sniffCompression(head);
  } catch {
    compression = "none"; // bzip2 or xz: containerd sees an uncompressed layer
  }
  return { digest: digester.digest(), compression };
}

/**
 * Opens an image archive file (a plain tar, as `ocipack export`, `ctr images export`,
 * `docker save`, `podman save` or skopeo write it) as a {@linkcode ContentProvider} and
 * {@linkcode ImageStore}. The archive's entries are checked and indexed in one pass that seeks past
 * their bodies; blobs are then read from their offsets. Digests are not checked here: the exporter
 * verifies every blob it copies, and `verifyArchive` checks a whole archive.
 *
 * A compressed archive cannot be read at random: decompress it first, or import it into a store.
 *
 * @throws {InvalidArgumentError} when the file is gzip- or zstd-compressed.
 * @throws {InvalidArchiveError} when it is not a well-formed image archive.
 *
 * @example Re-export one platform out of an archive
 * ```ts
 * import assert from "node:assert/strict";
 * import { exportArchive, openArchive, openLayout } from "@ocipack/ocipack";
 *
 * const dir = await Deno.makeTempDir();
 * try {
 *   const layout = await openLayout("testdata/store");
 *   const all = exportArchive(layout, { images: ["example.com/multi:1.0"], allPlatforms: true });
 *   await Deno.writeFile(`${dir}/multi.tar`, all);
 *
 *   const archive = await openArchive(`${dir}/multi.tar`);
 *   const names = (await archive.listImages()).map((image) => image.name);
 *   assert.deepEqual(names, ["example.com/multi:1.0"]);
 *   const arm64 = exportArchive(archive, { images: names, platform: "linux/arm64" });
 *   const again = exportArchive(layout, { images: names, platform: "linux/arm64" });
 *   assert.deepEqual(await new Response(arm64).bytes(), await new Response(again).bytes());
 * } finally {
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export async function openArchive(path: string): Promise<ArchiveStore> {
  if (typeof path !== "string" || path === "") {
    throw new InvalidArgumentError("Archive must be a non-empty file path");
  }
  using file = await Deno.open(path, { read: true });
  const head = new Uint8Array(4);
  const n = await file.read(head) ?? 0;
  const compression = sniffCompression(head.subarray(0, n));
  if (compression !== "none") {
    throw new InvalidArgumentError(
      `${path} is ${compression}-compressed: an archive is read at random only as a plain tar; ` +
        `decompress it first (${compression === "gzip" ? "gunzip" : "unzstd"} -k ${path}) ` +
        "or import it into a store (ocipack import)",
    );
  }
  const entries = new Map<string, TarReaderEntry>();
  for await (const entry of readTarFile(file)) entries.set(entry.name, entry);

  const json = async (name: string, limit: number): Promise<Uint8Array | undefined> => {
    const entry = resolve(entries, name);
    if (entry === undefined) return undefined;
    if (entry.size > limit) {
      throw new InvalidArchiveError(
        `Entry ${JSON.stringify(name)} is over the ${limit}-byte limit`,
        {
          entry: name,
        },
      );
    }
    return await readSpan(file, entry);
  };

  const layoutBytes = await json("oci-layout", MAX_JSON);
  if (layoutBytes !== undefined) {
    checkLayoutVersion(layoutBytes);
    const indexBytes = await json("index.json", MAX_STORE_INDEX_SIZE);
    if (indexBytes === undefined) {
      throw new InvalidArchiveError(`${path} has an oci-layout but no index.json`, {
        entry: "index.json",
      });
    }
    let manifests: Descriptor[];
    try {
      manifests = decodeIndex(indexBytes).manifests;
    } catch (error) {
      if (!(error instanceof DocumentError)) throw error;
      throw new InvalidArchiveError(`Invalid index.json in ${path}: ${error.message}`, {
        entry: "index.json",
        cause: error,
      });
    }
    const blobs = new Map<string, Span>();
    for (const entry of entries.values()) {
      const digest = blobDigest(entry.name);
      if (digest !== undefined && entry.type === "file") blobs.set(digest, entry);
    }
    return new ArchiveStore(path, "oci", blobs, new Map(), namedImages(manifests));
  }

  const manifestJson = await json("manifest.json", MAX_JSON);
  if (manifestJson === undefined) {
    throw new InvalidArchiveError(
      `${path} is not an image archive: it has neither oci-layout nor manifest.json`,
    );
  }
  // Docker format: the files manifest.json names are hashed to get their digests.
  const infos = new Map<string, ArchiveFileInfo>();
  const blobs = new Map<string, Span>();
  for (const entry of decodeManifestJson(manifestJson)) {
    for (const name of [entry.config, ...entry.layers]) {
      const target = resolve(entries, name);
      if (target === undefined || infos.has(name)) continue;
      const { digest, compression } = await hashSpan(file, target);
      infos.set(name, { digest, size: target.size, compression });
      blobs.set(digest, target);
    }
  }
  const docker = await synthesizeDockerImages(
    manifestJson,
    (name) => infos.get(name),
    async (name) => await json(name, MAX_JSON) ?? new Uint8Array(0),
  );
  const memory = new Map<string, Uint8Array>();
  for (const m of docker.manifests) memory.set(m.descriptor.digest, m.bytes);
  memory.set(docker.index.descriptor.digest, docker.index.bytes);
  return new ArchiveStore(path, "docker", blobs, memory, namedImages(docker.entries));
}

/** The entry at a path, following one symbolic link (to a regular file). */
function resolve(entries: Map<string, TarReaderEntry>, name: string): TarReaderEntry | undefined {
  const entry = entries.get(name);
  if (entry?.type === "symlink") {
    const target = entries.get(entry.target);
    if (target?.type !== "file") {
      throw new InvalidArchiveError(
        `Entry ${JSON.stringify(name)} is a symbolic link to ${
          JSON.stringify(entry.target)
        }, which is not a file of the archive`,
        { entry: name },
      );
    }
    return target;
  }
  return entry?.type === "file" ? entry : undefined;
}

/** `blobs/<alg>/<hex>` -> `<alg>:<hex>` when it is a valid digest; otherwise undefined. */
export function blobDigest(name: string): string | undefined {
  const parts = name.split("/");
  if (parts.length !== 3 || parts[0] !== "blobs") return undefined;
  const digest = `${parts[1]}:${parts[2]}`;
  try {
    parseDigest(digest);
  } catch {
    return undefined;
  }
  return blobPath(digest) === name ? digest : undefined;
}

/**
 * Checks an `oci-layout` file: version 1.0.0, as containerd's importer requires.
 *
 * @throws {InvalidArchiveError}
 */
export function checkLayoutVersion(bytes: Uint8Array): void {
  let version: unknown;
  try {
    const fields = decodeJson(bytes, {
      kind: "struct",
      fields: { imageLayoutVersion: { kind: "string" } },
    }) as Record<string, unknown> | null;
    version = fields?.imageLayoutVersion;
  } catch (error) {
    if (!(error instanceof GoJsonError)) throw error;
    throw new InvalidArchiveError(`Invalid oci-layout: ${error.message}`, { entry: "oci-layout" });
  }
  if (version !== JSON.parse(OCI_LAYOUT).imageLayoutVersion) {
    throw new InvalidArchiveError(
      `Unsupported OCI layout version ${JSON.stringify(version ?? "")} (only 1.0.0)`,
      { entry: "oci-layout" },
    );
  }
}

/** Images named by `io.containerd.image.name`, else `ref.name`; a repeated name keeps its last. */
export function namedImages(manifests: readonly Descriptor[]): Image[] {
  const images = new Map<string, Image>();
  for (const target of manifests) {
    const name = target.annotations?.[ANNOTATION_IMAGE_NAME] ||
      target.annotations?.[ANNOTATION_REF_NAME];
    if (name) images.set(name, { name, target });
  }
  return [...images.values()];
}
