/**
 * `verify`: the checks of an import without a store. One pass over the archive: every blob's
 * digest and size, every descriptor present for the selected platforms, Docker's `manifest.json`
 * consistent with `index.json`; resolves with the images it holds.
 *
 * @module
 */
import { readArchive } from "./read_archive.ts";
import { resolveArchive } from "./resolve.ts";
import { decodeManifestJson } from "../stores/archive/docker_format.ts";
import { decodeIndex, decodeManifest, type Descriptor } from "../oci/documents.ts";
import { blobPath } from "../oci/digest.ts";
import { InvalidArchiveError } from "../oci/errors.ts";
import { isIndexType, isManifestType } from "../oci/media_types.ts";
import { defaultStrict, formatPlatform, type PlatformMatcher } from "../oci/platforms.ts";
import { normalizeReference } from "../oci/reference.ts";

/**
 * Options of {@linkcode verifyArchive}.
 *
 * @example Check only the platform an archive was made for
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   exportArchive,
 *   openLayout,
 *   ordered,
 *   parsePlatform,
 *   type VerifyOptions,
 *   verifyArchive,
 * } from "@ocipack/ocipack";
 *
 * const store = await openLayout("testdata/store");
 * const archive = exportArchive(store, { images: ["example.com/multi:1.0"], platform: "linux/arm64" });
 * const options: VerifyOptions = { platform: ordered(parsePlatform("linux/arm64")) };
 * const result = await verifyArchive(archive, options);
 * assert.deepEqual(result.images[0].platforms, ["linux/arm64/v8"]);
 * ```
 */
export interface VerifyOptions {
  /**
   * Which platforms' content must be present. Default: exactly this machine's platform, as the
   * exporter's CLI; `"all"` for every platform.
   */
  platform?: PlatformMatcher | "all";
  /** Stops the pass. */
  signal?: AbortSignal;
}

/**
 * One image an archive holds.
 *
 * @example List what an archive holds
 * ```ts
 * import assert from "node:assert/strict";
 * import { exportArchive, openLayout, type VerifiedImage, verifyArchive } from "@ocipack/ocipack";
 *
 * const store = await openLayout("testdata/store");
 * const archive = exportArchive(store, { images: ["example.com/multi:1.0"], allPlatforms: true });
 * const { images } = await verifyArchive(archive, { platform: "all" });
 * const [image]: VerifiedImage[] = images;
 * assert.equal(image.name, "example.com/multi:1.0");
 * assert.equal(image.target.mediaType, "application/vnd.oci.image.index.v1+json");
 * ```
 */
export interface VerifiedImage {
  /** Its name (`io.containerd.image.name`, else `org.opencontainers.image.ref.name`), if any. */
  name?: string;
  /** The manifest or index. */
  target: Descriptor;
  /** The platforms of its manifests that were checked, formatted (`linux/arm64/v8`). */
  platforms: string[];
}

/**
 * What {@linkcode verifyArchive} found.
 *
 * @example Count what was checked
 * ```ts
 * import assert from "node:assert/strict";
 * import { exportArchive, openLayout, type VerifyResult, verifyArchive } from "@ocipack/ocipack";
 *
 * const store = await openLayout("testdata/store");
 * const archive = exportArchive(store, { images: ["example.com/multi:1.0"], allPlatforms: true });
 * const result: VerifyResult = await verifyArchive(archive, { platform: "all" });
 * assert.equal(result.compression, "none");
 * assert(result.blobs > 0 && result.bytes > 0);
 * ```
 */
export interface VerifyResult {
  /** `oci` or `docker`. */
  format: "oci" | "docker";
  /** The archive's compression. */
  compression: "none" | "gzip" | "zstd";
  /** The images, in `index.json` (or `manifest.json`) order. */
  images: VerifiedImage[];
  /** How many blobs were checked (present for the selected platforms). */
  blobs: number;
  /** Bytes of tar read. */
  bytes: number;
}

/**
 * Verifies an archive (plain, gzip or zstd) in one pass without storing anything.
 *
 * @throws {InvalidArchiveError} at the first problem, naming the entry.
 *
 * @example Verify an archive made by the exporter
 * ```ts
 * import assert from "node:assert/strict";
 * import { exportArchive, openLayout, verifyArchive } from "@ocipack/ocipack";
 *
 * const store = await openLayout("testdata/store");
 * const archive = exportArchive(store, {
 *   images: ["example.com/multi:1.0"],
 *   allPlatforms: true,
 * });
 * const result = await verifyArchive(archive, { platform: "all" });
 * assert.equal(result.format, "oci");
 * assert.equal(result.images[0].name, "example.com/multi:1.0");
 * assert(result.images[0].platforms.includes("linux/arm64/v8"));
 * ```
 */
export async function verifyArchive(
  stream: ReadableStream<Uint8Array>,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  const matcher = options.platform === "all" ? undefined : options.platform ?? defaultStrict();
  const input = options.signal === undefined
    ? stream
    : stream.pipeThrough(new TransformStream<Uint8Array, Uint8Array>(), { signal: options.signal });
  const contents = await readArchive(input, { signal: options.signal });
  const resolved = await resolveArchive(contents, { platform: matcher });
  if (resolved.format === "oci" && contents.manifestJson !== undefined) {
    checkManifestJson(
      contents.manifestJson,
      resolved.entries,
      (d) => contents.documents.get(d.digest),
    );
  }
  return {
    format: resolved.format,
    compression: contents.compression,
    images: resolved.entries.map((target) => ({
      name: target.annotations?.["io.containerd.image.name"] ||
        target.annotations?.["org.opencontainers.image.ref.name"] || undefined,
      target,
      platforms: [...new Set((resolved.platforms.get(target.digest) ?? []).map(formatPlatform))],
    })),
    blobs: resolved.blobs.size,
    bytes: contents.tarBytes,
  };
}

/**
 * Checks Docker's `manifest.json` of an OCI archive against its `index.json`: each entry's
 * config and layers are those of a manifest reached from the index, and each RepoTag names an
 * index entry that leads to that manifest.
 */
function checkManifestJson(
  bytes: Uint8Array,
  entries: readonly Descriptor[],
  document: (d: Descriptor) => Uint8Array | undefined,
): void {
  // Every manifest reachable from the index, with the index entries it is reached from.
  const manifests = new Map<string, { config: string; layers: string[]; from: Set<Descriptor> }>();
  const visit = (d: Descriptor, from: Descriptor, depth: number) => {
    if (depth > 32) return;
    const doc = document(d);
    if (doc === undefined) return;
    if (isManifestType(d.mediaType)) {
      const m = decodeManifest(doc);
      const known = manifests.get(d.digest) ?? {
        config: blobPath(m.config.digest),
        layers: m.layers.map((l) => blobPath(l.digest)),
        from: new Set<Descriptor>(),
      };
      known.from.add(from);
      manifests.set(d.digest, known);
    } else if (isIndexType(d.mediaType)) {
      for (const child of decodeIndex(doc).manifests) visit(child, from, depth + 1);
    }
  };
  for (const entry of entries) visit(entry, entry, 0);
  for (const [i, entry] of decodeManifestJson(bytes).entries()) {
    const matches = [...manifests.values()].filter((m) =>
      m.config === entry.config && m.layers.length === entry.layers.length &&
      m.layers.every((l, k) => l === entry.layers[k])
    );
    if (matches.length === 0) {
      throw new InvalidArchiveError(
        `manifest.json entry ${i} (config ${entry.config}) matches no manifest of index.json`,
        { entry: "manifest.json" },
      );
    }
    for (const tag of entry.repoTags) {
      let name: string;
      try {
        name = normalizeReference(tag);
      } catch {
        throw new InvalidArchiveError(`manifest.json has a RepoTag that does not parse: ${tag}`, {
          entry: "manifest.json",
        });
      }
      const ok = matches.flatMap((m) => [...m.from]).some((d) =>
        d.annotations?.["io.containerd.image.name"] === name ||
        d.annotations?.["org.opencontainers.image.ref.name"] === name
      );
      if (!ok) {
        throw new InvalidArchiveError(
          `manifest.json names ${tag} for config ${entry.config}, but index.json does not name ` +
            "that image so",
          { entry: "manifest.json" },
        );
      }
    }
  }
}
