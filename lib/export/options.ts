/**
 * The exporter's public options, and their resolution: checked at once, platforms turned into a
 * matcher, names resolved through the store into the descriptors to export.
 *
 * @module
 */
import type { Image, ImageStore } from "../stores/content.ts";
import {
  ANNOTATION_IMAGE_NAME,
  ANNOTATION_REF_NAME,
  checkDescriptor,
  type Descriptor,
  isObject,
} from "../oci/documents.ts";
import { InvalidArgumentError, OcipackError } from "../oci/errors.ts";
import { isNonDistributable } from "../oci/media_types.ts";
import { ordered, parsePlatform, type Platform, type PlatformMatcher } from "../oci/platforms.ts";
import { ociReferenceName } from "../oci/reference.ts";
import type { ContentProvider } from "../stores/content.ts";
import type { WalkOptions } from "./walk.ts";
/**
 * A manifest or index to export by descriptor, under zero or more names.
 *
 * @example Export a manifest under new names
 * ```ts
 * import assert from "node:assert/strict";
 * import { exportArchive, type ManifestRequest, openLayout } from "@ocipack/ocipack";
 *
 * const store = await openLayout("testdata/store");
 * const { target } = await store.getImage("docker.io/library/hello:oci");
 * const request: ManifestRequest = {
 *   descriptor: target,
 *   names: ["registry.example/hello:1.0", "registry.example/hello:latest"],
 * };
 *
 * let images = 0;
 * await exportArchive(store, {
 *   manifests: [request],
 *   onProgress: (progress) => images = progress.images,
 * }).pipeTo(new WritableStream());
 * assert.equal(images, 2); // one index.json entry per name
 * ```
 */
export interface ManifestRequest {
  /** The manifest or index. */
  descriptor: Descriptor;
  /**
   * Names to export it under; each gets its own index.json entry (containerd's `WithManifest`).
   * Without names, the descriptor goes in as it is.
   */
  names?: readonly string[];
}

/**
 * Which platforms to select from an index: a string, a platform, a list, or a matcher.
 *
 * Strings are parsed with {@linkcode parsePlatform}. A string, a platform or a list of them
 * selects the children that match any of them, preferring earlier ones, as {@linkcode ordered}
 * does, without fallbacks: `linux/arm64` does not select `linux/arm/v7`. A matcher, such as
 * {@linkcode only}, selects every child it matches. Of the children selected, the preferred one
 * gets the image's manifest.json entry.
 *
 * @example Give a platform in each of the forms
 * ```ts
 * import {
 *   exportArchive,
 *   only,
 *   openLayout,
 *   parsePlatform,
 *   type PlatformOption,
 * } from "@ocipack/ocipack";
 *
 * const forms: PlatformOption[] = [
 *   "linux/arm/v7",
 *   { os: "linux", architecture: "arm", variant: "v7" },
 *   ["linux/riscv64", "linux/arm/v7"],
 *   only(parsePlatform("linux/arm/v7")),
 * ];
 *
 * const store = await openLayout("testdata/store");
 * for (const platform of forms) {
 *   await exportArchive(store, { images: ["example.com/multi:1.0"], platform })
 *     .pipeTo(new WritableStream());
 * }
 * ```
 */
export type PlatformOption =
  | string
  | Platform
  | readonly (string | Platform)[]
  | PlatformMatcher;

/**
 * Progress of an export, reported after each chunk.
 *
 * @example Report progress as a percentage
 * ```ts
 * import assert from "node:assert/strict";
 * import { exportArchive, type ExportProgress, openLayout } from "@ocipack/ocipack";
 *
 * const store = await openLayout("testdata/store");
 * let percent = 0;
 * const onProgress = (progress: ExportProgress) => {
 *   percent = Math.floor((100 * progress.bytes) / progress.totalBytes);
 * };
 * await exportArchive(store, { images: ["docker.io/library/hello:oci"], onProgress })
 *   .pipeTo(new WritableStream());
 * assert.equal(percent, 100);
 * ```
 */
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

/**
 * What to export and how; containerd 2.x's export options.
 *
 * @example Export one platform of a multi-platform image
 * ```ts
 * import assert from "node:assert/strict";
 * import { exportArchive, type ExportOptions, openLayout } from "@ocipack/ocipack";
 *
 * const options: ExportOptions = {
 *   images: ["example.com/multi:1.0"],
 *   platform: "linux/arm64/v8",
 * };
 * let blobs = 0;
 * const store = await openLayout("testdata/store");
 * await exportArchive(store, { ...options, onProgress: (progress) => blobs = progress.blobs })
 *   .pipeTo(new WritableStream());
 * assert.equal(blobs, 5); // the index, the arm64 manifest, its config and its two layers
 * ```
 *
 * @example Export several images into one archive
 * ```ts
 * import { exportArchive, type ExportOptions, openLayout } from "@ocipack/ocipack";
 *
 * const options: ExportOptions = {
 *   images: ["docker.io/library/hello:oci", "docker.io/library/hello:docker"],
 * };
 * const store = await openLayout("testdata/store");
 * await exportArchive(store, options).pipeTo(new WritableStream());
 * ```
 */
export interface ExportOptions {
  /**
   * Images by name, resolved through the provider's image store (containerd's `WithImage`); each
   * is exported under the name the store gives it (a registry source normalizes `alpine` to
   * `docker.io/library/alpine:latest`).
   */
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
  /**
   * Leave out absent manifests, and the children of a manifest that has an absent child. The
   * manifest that the platform selects for manifest.json must still be present.
   */
  skipMissing?: boolean;
  /** Called after each chunk with the export's progress. */
  onProgress?: (progress: ExportProgress) => void;
}

/** Checked options: the names to resolve and what the walk needs. */
export interface ResolvedOptions {
  names: readonly string[];
  walk: WalkOptions;
}

/** Checks the options at once, so that bad ones throw before any stream exists. */
export function resolveOptions(
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
    isObject(option) && typeof (option as PlatformMatcher).match === "function" &&
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
export async function resolveRequests(
  provider: Partial<ImageStore>,
  options: ExportOptions,
  names: readonly string[],
): Promise<Descriptor[]> {
  const requests: Descriptor[] = [];
  for (const name of names) {
    let image: Image;
    try {
      image = await provider.getImage!(name);
    } catch (error) {
      // Whatever the store, the error says which image was asked for.
      if (error instanceof OcipackError && error.image === undefined) {
        (error as { image?: string }).image = name;
      }
      throw error;
    }
    // The store's name for the image: the name asked for, or its normalized form (a registry
    // resolves `alpine` to `docker.io/library/alpine:latest`, the name containerd exports).
    const exported = typeof image.name === "string" && image.name !== "" ? image.name : name;
    requests.push(withName(checkDescriptor(image.target, `target of image ${name}`), exported));
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

/**
 * containerd's `addNameAnnotation`: a copy of the annotations plus the two name annotations.
 * `descriptor` is checkDescriptor's deep copy, which nothing changes: the copies for its names
 * share its nested values (a deep copy of each was a third copy of every name's descriptor).
 */
function withName(descriptor: Descriptor, name: string): Descriptor {
  return {
    ...descriptor,
    annotations: {
      ...descriptor.annotations,
      [ANNOTATION_IMAGE_NAME]: name,
      [ANNOTATION_REF_NAME]: ociReferenceName(name),
    },
  };
}
