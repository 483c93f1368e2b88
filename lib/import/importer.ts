/**
 * `import`: an archive stream into an OCI layout directory, all or nothing. One pass stages every
 * blob (verified against its name) inside the store; then the archive is resolved as
 * `ctr images import` resolves it (the OCI layout wins over Docker's `manifest.json`; a Docker-format
 * image gets the manifest containerd would synthesize), and only the content of the selected
 * platforms is moved into `blobs/`, with the names added to `index.json`, under the store's lock.
 *
 * @module
 */
import { type BlobSink, readArchive } from "./read_archive.ts";
import { nameImages, resolveArchive } from "./resolve.ts";
import type { Image } from "../stores/content.ts";
import { LayoutWriter } from "../stores/layout_writer.ts";
import { InvalidArchiveError, InvalidArgumentError } from "../oci/errors.ts";
import { defaultStrict, type PlatformMatcher } from "../oci/platforms.ts";

/**
 * Options of {@linkcode importArchive}.
 *
 * @example Import every platform of an archive under a base name
 * ```ts
 * import assert from "node:assert/strict";
 * import { exportArchive, importArchive, type ImportOptions, openLayout } from "@ocipack/ocipack";
 *
 * const dir = await Deno.makeTempDir();
 * try {
 *   const store = await openLayout("testdata/store");
 *   const archive = exportArchive(store, { images: ["example.com/multi:1.0"], allPlatforms: true });
 *   const options: ImportOptions = { platform: "all", digests: true };
 *   const result = await importArchive(archive, `${dir}/layout`, options);
 *   assert(result.images.some((i) => i.name === "example.com/multi:1.0"));
 *   // --digests also names it by digest, under the default base name import-YYYY-MM-DD.
 * assert(result.images.some((i) => /^import-\d{4}-\d\d-\d\d@sha256:/.test(i.name)));
 * } finally {
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export interface ImportOptions {
  /**
   * Which platforms' content must be present and is stored. Default: exactly this machine's
   * platform, as the exporter's CLI; `"all"` for every platform. (`ctr images import` also
   * requires the platforms this machine runs, such as 386 on amd64, so it fails on a
   * single-platform export of a multi-platform image.)
   */
  platform?: PlatformMatcher | "all";
  /**
   * As ctr's `--base-name`: keep only full names under this name, and name a bare tag
   * `BASE:TAG`. Without it bare tags are named `import-YYYY-MM-DD:TAG`, as ctr does.
   */
  baseName?: string;
  /** As ctr's `--digests`: also name each image `BASE@DIGEST`. */
  digests?: boolean;
  /** As ctr's `--index-name`: name the archive's index itself (and keep it). */
  indexName?: string;
  /** The date of the default base name `import-YYYY-MM-DD` (local time). Default: now. */
  now?: Date;
  /** Stops the import; the store is left as it was. */
  signal?: AbortSignal;
  /** Refuse a compressed archive that expands past this many bytes. */
  maxDecompressedSize?: number;
}

/**
 * What {@linkcode importArchive} did.
 *
 * @example Report an import
 * ```ts
 * import assert from "node:assert/strict";
 * import { exportArchive, importArchive, type ImportResult, openLayout } from "@ocipack/ocipack";
 *
 * const dir = await Deno.makeTempDir();
 * try {
 *   const store = await openLayout("testdata/store");
 *   const archive = exportArchive(store, { images: ["docker.io/library/hello:oci"] });
 *   const result: ImportResult = await importArchive(archive, dir);
 *   assert.equal(result.format, "oci");
 *   assert.equal(result.newBlobs, 4);
 *   console.log(`${result.images.length} image(s), ${result.bytes} bytes added`);
 * } finally {
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export interface ImportResult {
  /** `oci` or `docker`. */
  format: "oci" | "docker";
  /** The archive's compression. */
  compression: "none" | "gzip" | "zstd";
  /** The names added (or moved) and what they point to. */
  images: Image[];
  /** Blobs added to the store. */
  newBlobs: number;
  /** Blobs of the images the store already had. */
  presentBlobs: number;
  /** Bytes of the blobs added. */
  bytes: number;
}

/**
 * Imports the images of an archive (plain, gzip or zstd tar; OCI layout or Docker format) into
 * the OCI layout at `store`, creating it when absent. Everything is checked before anything is
 * added; on any error (or an abort) the store is exactly as it was.
 *
 * @throws {InvalidArchiveError} when the archive is damaged, hostile or incomplete, naming the entry.
 *
 * @example Import an archive, then export from the store it made
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   exportArchive,
 *   importArchive,
 *   openLayout,
 *   ordered,
 *   parsePlatform,
 * } from "@ocipack/ocipack";
 *
 * const dir = await Deno.makeTempDir();
 * try {
 *   const source = await openLayout("testdata/store");
 *   const options = { images: ["example.com/multi:1.0"], platform: "linux/arm64" };
 *   const archive = await new Response(exportArchive(source, options)).bytes();
 *
 *   // The archive holds the index and its arm64 manifest: import that platform.
 *   const result = await importArchive(ReadableStream.from([archive]), `${dir}/store`, {
 *     platform: ordered(parsePlatform("linux/arm64")),
 *   });
 *   assert.deepEqual(result.images.map((i) => i.name), ["example.com/multi:1.0"]);
 *
 *   const again = exportArchive(await openLayout(`${dir}/store`), options);
 *   assert.deepEqual(await new Response(again).bytes(), archive);
 * } finally {
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export async function importArchive(
  stream: ReadableStream<Uint8Array>,
  store: string,
  options: ImportOptions = {},
): Promise<ImportResult> {
  if (typeof store !== "string" || store === "") {
    throw new InvalidArgumentError("Store must be a non-empty directory path");
  }
  const matcher = options.platform === "all" ? undefined : options.platform ?? defaultStrict();
  const writer = await LayoutWriter.open(store);
  // An abort errors a pending read at once (and cancels the source), even mid-blob.
  const input = options.signal === undefined
    ? stream
    : stream.pipeThrough(new TransformStream<Uint8Array, Uint8Array>(), { signal: options.signal });
  try {
    const sink: BlobSink = {
      async open(_name, digest, size) {
        if (digest !== undefined && (writer.staged(digest) || await writer.has(digest, size))) {
          return undefined;
        }
        return await writer.create();
      },
    };
    const contents = await readArchive(input, {
      sink,
      signal: options.signal,
      maxDecompressedSize: options.maxDecompressedSize,
    });
    options.signal?.throwIfAborted();
    const resolved = await resolveArchive(contents, { platform: matcher });
    const images = nameImages(resolved.root, resolved.entries, options);
    if (images.length === 0) {
      throw new InvalidArchiveError(
        "The archive names no image" +
          (options.baseName ? ` under ${options.baseName}` : "") +
          ": name its images with --digests or its index with --index-name",
      );
    }
    // Only what the names reach is kept: a blob no name leads to would be garbage in the store.
    const keep = new Map<string, number>();
    const named = options.indexName ? resolved.entries : images.map((i) => i.target);
    for (const target of named) {
      for (const digest of resolved.reached.get(target.digest) ?? []) {
        keep.set(digest, resolved.blobs.get(digest)!.size);
      }
    }
    if (options.indexName) keep.set(resolved.root.digest, resolved.root.size);
    for (const [digest, bytes] of resolved.synthesized) {
      if (keep.has(digest)) await writer.stageBytes(digest, bytes);
    }
    options.signal?.throwIfAborted();
    const committed = await writer.commit(images, keep);
    return {
      format: resolved.format,
      compression: contents.compression,
      images,
      newBlobs: committed.newBlobs,
      presentBlobs: committed.presentBlobs,
      bytes: committed.newBytes,
    };
  } catch (error) {
    await writer.abort();
    throw options.signal?.aborted ? options.signal.reason : error;
  }
}
