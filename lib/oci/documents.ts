/**
 * The JSON documents of an image: descriptors, manifests and indexes, decoded as containerd's Go
 * code decodes them and encoded byte for byte as Go's `encoding/json` writes them.
 *
 * @module
 */
import { describe, parseDigest } from "./digest.ts";
import { InvalidArgumentError } from "./errors.ts";
import {
  canonicalBase64,
  decodeParsed,
  encodeString,
  encodeStringList,
  encodeStringMap,
  GoJsonError,
  type ParsedJson,
  parseJson,
  PRESENT,
  type Schema,
} from "./go_json.ts";
import { isIndexType, isManifestType, OCI_INDEX } from "./media_types.ts";
import type { Platform } from "./platforms.ts";

/**
 * An OCI content descriptor: what a blob is, its digest and its size.
 *
 * @example Describe a manifest and export it
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Descriptor, exportArchive, openLayout } from "@ocipack/ocipack";
 *
 * const manifest: Descriptor = {
 *   mediaType: "application/vnd.oci.image.manifest.v1+json",
 *   digest: "sha256:fa5e103a9036d0e4c6cfdc69b6c8a9c4412bea050dabb55f09c2262754d025d9",
 *   size: 695,
 * };
 *
 * const store = await openLayout("testdata/store");
 * assert.equal((await store.stat(manifest)).size, manifest.size);
 * const archive = exportArchive(store, {
 *   manifests: [{ descriptor: manifest, names: ["example.com/hello:1.0"] }],
 * });
 * await archive.pipeTo(new WritableStream());
 * ```
 *
 * @example Find a platform's manifest in an index
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Descriptor, openLayout } from "@ocipack/ocipack";
 *
 * const store = await openLayout("testdata/store");
 * const { target } = await store.getImage("example.com/multi:1.0");
 * const index: { manifests: Descriptor[] } = await new Response(
 *   (await store.open(target)).stream,
 * ).json();
 * const arm64 = index.manifests.find((d) => d.platform?.architecture === "arm64");
 * assert.equal(arm64?.platform?.variant, "v8");
 * ```
 */
export interface Descriptor {
  /** The media type of the referenced content. */
  mediaType: string;
  /** The digest of the content, `algorithm:hex`. */
  digest: string;
  /** The size of the content in bytes. */
  size: number;
  /** Alternative locations of the content (used by foreign layers). */
  urls?: string[];
  /** Arbitrary metadata. */
  annotations?: Record<string, string>;
  /** The content itself, base64, for small blobs. */
  data?: string;
  /** The platform the referenced manifest is for (in an index). */
  platform?: Platform;
  /** The type of an artifact, when the descriptor refers to one. */
  artifactType?: string;
}

/** An image manifest (OCI or Docker schema 2), as far as the export needs it. */
export interface Manifest {
  /** The media type the manifest declares for itself, if any. */
  mediaType?: string;
  /** The image config. */
  config: Descriptor;
  /** The layers, in order. */
  layers: Descriptor[];
}

/** An image index (OCI index or Docker manifest list), as far as the export needs it. */
export interface Index {
  /** The media type the index declares for itself, if any. */
  mediaType?: string;
  /** The manifests (or nested indexes) it lists. */
  manifests: Descriptor[];
}

/** The annotation containerd uses for an image's full name. */
export const ANNOTATION_IMAGE_NAME = "io.containerd.image.name";
/** The OCI annotation for an image's reference name. */
export const ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name";

const STRING: Schema = { kind: "string" };
const INT: Schema = { kind: "int" };
const INT64: Schema = { kind: "int64" };
const STRINGS: Schema = { kind: "array", of: STRING };
const STRING_MAP: Schema = { kind: "map", of: STRING };
const RAW: Schema = { kind: "raw" };

const PLATFORM: Schema = {
  kind: "struct",
  nullable: true,
  fields: {
    architecture: STRING,
    os: STRING,
    "os.version": STRING,
    "os.features": STRINGS,
    variant: STRING,
  },
};

const DESCRIPTOR: Schema = {
  kind: "struct",
  fields: {
    mediaType: STRING,
    digest: STRING,
    size: INT,
    urls: STRINGS,
    annotations: STRING_MAP,
    data: { kind: "bytes" },
    platform: PLATFORM,
    artifactType: STRING,
  },
};

const DESCRIPTOR_POINTER: Schema = { ...DESCRIPTOR, nullable: true };
const DESCRIPTORS: Schema = { kind: "array", of: DESCRIPTOR };

const MANIFEST: Schema = {
  kind: "struct",
  fields: {
    schemaVersion: INT64,
    mediaType: STRING,
    artifactType: STRING,
    config: DESCRIPTOR,
    layers: DESCRIPTORS,
    subject: DESCRIPTOR_POINTER,
    annotations: STRING_MAP,
  },
};

const INDEX: Schema = {
  kind: "struct",
  fields: {
    schemaVersion: INT64,
    mediaType: STRING,
    artifactType: STRING,
    manifests: DESCRIPTORS,
    subject: DESCRIPTOR_POINTER,
    annotations: STRING_MAP,
  },
};

/** containerd's `unknownDocument`: which kind of document a blob says it is. */
const UNKNOWN_DOCUMENT: Schema = {
  kind: "struct",
  fields: { mediaType: STRING, config: RAW, layers: RAW, manifests: RAW, fsLayers: RAW },
};

type Fields = Record<string, unknown>;

/** A problem with a document's content; the caller wraps it with the blob's identity. */
export class DocumentError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "DocumentError";
  }
}

function parse(bytes: Uint8Array): ParsedJson {
  try {
    return parseJson(bytes);
  } catch (error) {
    if (error instanceof GoJsonError) throw new DocumentError(error.message);
    throw error;
  }
}

function decode(parsed: ParsedJson, schema: Schema): Fields {
  try {
    return decodeParsed(parsed, schema) as Fields;
  } catch (error) {
    if (error instanceof GoJsonError) throw new DocumentError(error.message);
    throw error;
  }
}

/**
 * containerd's `validateMediaType`: refuses a document that claims, by its fields or its own
 * `mediaType`, to be another kind than its descriptor's media type says (CVE-2021-41190), and
 * Docker schema 1 manifests.
 *
 * @throws {DocumentError}
 */
export function checkDocumentKind(bytes: Uint8Array, mediaType: string): void {
  checkKind(parse(bytes), mediaType);
}

function checkKind(parsed: ParsedJson, mediaType: string): void {
  const doc = decode(parsed, UNKNOWN_DOCUMENT);
  const docType = typeof doc.mediaType === "string" ? doc.mediaType : "";
  if (doc.fsLayers === PRESENT) throw new DocumentError("schema 1 manifests are not supported");
  if (isManifestType(mediaType) && (doc.manifests === PRESENT || isIndexType(docType))) {
    throw new DocumentError(`expected a manifest (${mediaType}) but found an index`);
  }
  if (
    isIndexType(mediaType) &&
    (doc.config === PRESENT || doc.layers === PRESENT || isManifestType(docType))
  ) {
    throw new DocumentError(`expected an index (${mediaType}) but found a manifest`);
  }
}

/**
 * Decodes a manifest as Go's `json.Unmarshal` into `ocispec.Manifest` would, then checks each
 * descriptor's size.
 *
 * @throws {DocumentError}
 */
export function decodeManifest(bytes: Uint8Array): Manifest {
  return toManifest(parse(bytes));
}

function toManifest(parsed: ParsedJson): Manifest {
  const fields = decode(parsed, MANIFEST);
  return {
    mediaType: fields.mediaType as string | undefined,
    config: toDescriptor(fields.config, "config"),
    layers: ((fields.layers ?? []) as unknown[]).map((d, i) => toDescriptor(d, `layers[${i}]`)),
  };
}

/**
 * Decodes an index as Go's `json.Unmarshal` into `ocispec.Index` would, then checks each
 * descriptor's size.
 *
 * @throws {DocumentError}
 */
export function decodeIndex(bytes: Uint8Array): Index {
  return toIndex(parse(bytes));
}

function toIndex(parsed: ParsedJson): Index {
  const fields = decode(parsed, INDEX);
  return {
    mediaType: fields.mediaType as string | undefined,
    manifests: ((fields.manifests ?? []) as unknown[]).map((d, i) =>
      toDescriptor(d, `manifests[${i}]`)
    ),
  };
}

/**
 * {@linkcode checkDocumentKind}, then {@linkcode decodeManifest} or {@linkcode decodeIndex} as the
 * media type says, from one parse of the bytes.
 *
 * @throws {DocumentError}
 */
export function decodeChecked(
  bytes: Uint8Array,
  mediaType: string,
): { manifest: Manifest } | { index: Index } {
  const parsed = parse(bytes);
  checkKind(parsed, mediaType);
  return isManifestType(mediaType) ? { manifest: toManifest(parsed) } : { index: toIndex(parsed) };
}

/** Media types seen, each kept once: thousands of descriptors share a handful of them. */
const MEDIA_TYPES = new Map<string, string>();

/** The one copy of a media type string that descriptors share (at most 1,024 are kept). */
function shared(mediaType: string): string {
  const known = MEDIA_TYPES.get(mediaType);
  if (known !== undefined) return known;
  if (MEDIA_TYPES.size < 1024) MEDIA_TYPES.set(mediaType, mediaType);
  return mediaType;
}

/** Fills Go's zero values into a decoded descriptor and checks its size. */
function toDescriptor(value: unknown, path: string): Descriptor {
  const fields = (value ?? {}) as Fields;
  const size = (fields.size ?? 0) as number;
  if (size < 0) throw new DocumentError(`${path}.size: ${size} is negative`);
  const descriptor: Descriptor = {
    mediaType: shared((fields.mediaType ?? "") as string),
    digest: (fields.digest ?? "") as string,
    size,
  };
  for (const key of ["urls", "annotations", "data", "platform", "artifactType"] as const) {
    if (fields[key] !== undefined) (descriptor as unknown as Fields)[key] = fields[key];
  }
  if (descriptor.platform) descriptor.platform = toPlatform(descriptor.platform);
  return descriptor;
}

function toPlatform(value: unknown): Platform {
  const fields = value as Fields;
  const platform: Platform = {
    architecture: (fields.architecture ?? "") as string,
    os: (fields.os ?? "") as string,
  };
  for (const key of ["os.version", "os.features", "variant"] as const) {
    if (fields[key] !== undefined) (platform as unknown as Fields)[key] = fields[key];
  }
  return platform;
}

/**
 * Checks a descriptor given through the API: each field of the type a JSON document would give
 * it, a valid digest, and a size that is a non-negative safe integer. Returns a clean copy holding
 * only the descriptor's fields.
 *
 * @throws {InvalidArgumentError}
 */
export function checkDescriptor(value: unknown, what = "descriptor"): Descriptor {
  const fail = (why: string) => new InvalidArgumentError(`Invalid ${what}: ${why}`);
  if (!isObject(value)) throw fail("expected an object");
  const { mediaType, digest, size } = value;
  if (typeof mediaType !== "string") throw fail(`mediaType must be a string`);
  try {
    parseDigest(digest);
  } catch (error) {
    throw fail((error as Error).message);
  }
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw fail(`size must be a non-negative safe integer, got ${describe(size)}`);
  }
  const descriptor: Descriptor = { mediaType, digest: digest as string, size };
  if (value.urls !== undefined) descriptor.urls = strings(value.urls, "urls", fail);
  if (value.annotations !== undefined) {
    if (!isObject(value.annotations)) throw fail("annotations must be an object of strings");
    const entries = Object.entries(value.annotations);
    if (entries.some(([, v]) => typeof v !== "string")) {
      throw fail("annotations must be an object of strings");
    }
    descriptor.annotations = Object.fromEntries(entries) as Record<string, string>;
  }
  if (value.data !== undefined) {
    try {
      descriptor.data = canonicalBase64(value.data as string);
    } catch {
      throw fail("data must be a base64 string");
    }
  }
  if (value.platform !== undefined) descriptor.platform = checkPlatform(value.platform, fail);
  if (value.artifactType !== undefined) {
    if (typeof value.artifactType !== "string") throw fail("artifactType must be a string");
    descriptor.artifactType = value.artifactType;
  }
  return descriptor;
}

/** Whether a value is a JSON object: not null, not an array. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function strings(value: unknown, name: string, fail: (why: string) => Error): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
    throw fail(`${name} must be a list of strings`);
  }
  return [...value];
}

function checkPlatform(value: unknown, fail: (why: string) => Error): Platform {
  if (!isObject(value)) throw fail("platform must be an object");
  const { os, architecture, variant } = value;
  if (typeof os !== "string" || typeof architecture !== "string") {
    throw fail("platform needs os and architecture strings");
  }
  const platform: Platform = { architecture, os };
  if (value["os.version"] !== undefined) {
    if (typeof value["os.version"] !== "string") throw fail("platform os.version must be a string");
    platform["os.version"] = value["os.version"];
  }
  if (value["os.features"] !== undefined) {
    platform["os.features"] = strings(value["os.features"], "platform os.features", fail);
  }
  if (variant !== undefined) {
    if (typeof variant !== "string") throw fail("platform variant must be a string");
    platform.variant = variant;
  }
  return platform;
}

// ---------------------------------------------------------------------------------------------
// Encoding, byte for byte as Go's encoding/json writes these types.

/** Encodes a platform as Go encodes `ocispec.Platform`. */
export function encodePlatform(p: Platform): string {
  let out = `{"architecture":${encodeString(p.architecture)},"os":${encodeString(p.os)}`;
  if (p["os.version"]) out += `,"os.version":${encodeString(p["os.version"])}`;
  if (p["os.features"]?.length) out += `,"os.features":${encodeStringList(p["os.features"])}`;
  if (p.variant) out += `,"variant":${encodeString(p.variant)}`;
  return out + "}";
}

/** Encodes a descriptor as Go encodes `ocispec.Descriptor`. */
export function encodeDescriptor(d: Descriptor): string {
  let out = `{"mediaType":${encodeString(d.mediaType)},"digest":${encodeString(d.digest)}` +
    `,"size":${d.size}`;
  if (d.urls?.length) out += `,"urls":${encodeStringList(d.urls)}`;
  if (d.annotations && Object.keys(d.annotations).length > 0) {
    out += `,"annotations":${encodeStringMap(d.annotations)}`;
  }
  if (d.data) out += `,"data":${encodeString(d.data)}`;
  if (d.platform) out += `,"platform":${encodePlatform(d.platform)}`;
  if (d.artifactType) out += `,"artifactType":${encodeString(d.artifactType)}`;
  return out + "}";
}

/** The `index.json` containerd 2.x writes: schema version 2, the OCI index media type, the list. */
export function encodeArchiveIndex(manifests: readonly Descriptor[]): string {
  return [...archiveIndexParts(manifests)].join("");
}

/** {@linkcode encodeArchiveIndex} in parts, one per descriptor: the text is their concatenation. */
export function* archiveIndexParts(manifests: readonly Descriptor[]): Generator<string> {
  const head = `{"schemaVersion":2,"mediaType":${encodeString(OCI_INDEX)},"manifests":`;
  // containerd's list is made with make(): never nil, so an empty one is written [].
  yield `${head}[`;
  for (const [i, manifest] of manifests.entries()) {
    yield (i === 0 ? "" : ",") + encodeDescriptor(manifest);
  }
  yield "]}";
}

/** The `oci-layout` file. */
export const OCI_LAYOUT = '{"imageLayoutVersion":"1.0.0"}';

/** One entry of Docker's `manifest.json`. */
export interface DockerManifestEntry {
  /** Path of the config blob in the archive. */
  config: string;
  /** Familiar names (`name:tag`); `undefined` is written `null`. */
  repoTags?: string[];
  /** Paths of the layer blobs; `undefined` is written `null`. */
  layers?: string[];
}

/** Encodes Docker's `manifest.json` as containerd writes it. */
export function encodeDockerManifest(entries: readonly DockerManifestEntry[]): string {
  return "[" + entries.map(encodeDockerManifestEntry).join(",") + "]";
}

/** Encodes one entry of Docker's `manifest.json`. */
export function encodeDockerManifestEntry(e: DockerManifestEntry): string {
  return `{"Config":${encodeString(e.config)},"RepoTags":${encodeStringList(e.repoTags)}` +
    `,"Layers":${encodeStringList(e.layers)}}`;
}
