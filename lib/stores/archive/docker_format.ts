/**
 * Docker's archive format (`manifest.json` with `Config`, `RepoTags` and `Layers` paths), turned
 * into content as containerd's importer (`core/images/archive/importer.go`) does: a Docker schema 2
 * manifest per entry, `json.Marshal`led with the same bytes, its descriptor carrying the config's
 * platform, and one index entry per normalized RepoTag, so the digests are those
 * `ctr images import` gives. Besides containerd, each layer's uncompressed digest is checked against
 * the config's `rootfs.diff_ids` where it is known.
 *
 * @module
 */
import type { Compression } from "./tar_reader.ts";
import { digestOf } from "../../oci/digest.ts";
import {
  ANNOTATION_IMAGE_NAME,
  ANNOTATION_REF_NAME,
  type Descriptor,
  encodeDescriptor,
} from "../../oci/documents.ts";
import { InvalidArchiveError } from "../../oci/errors.ts";
import { decodeJson, GoJsonError, type Schema } from "../../oci/go_json.ts";
import {
  DOCKER_CONFIG,
  DOCKER_LAYER_GZIP,
  DOCKER_MANIFEST,
  OCI_INDEX,
} from "../../oci/media_types.ts";
import { normalizePlatform, type Platform } from "../../oci/platforms.ts";
import { normalizeReference, ociReferenceName } from "../../oci/reference.ts";

/** An uncompressed Docker layer. */
export const DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar";
/** A zstd layer: containerd gives it the gzip type (containerd#14160); we give it the right one. */
export const OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";

/** What is known of a file of the archive that a `manifest.json` entry may point at. */
export interface ArchiveFileInfo {
  /** Its sha256 digest. */
  digest: string;
  /** Its size. */
  size: number;
  /** The compression its first bytes show. */
  compression: Compression;
  /** The sha256 of its uncompressed bytes, when it was computed (for the diff_ids check). */
  diffId?: string;
}

/** One `manifest.json` entry. */
export interface DockerManifestJsonEntry {
  /** Path of the config in the archive. */
  config: string;
  /** Names, as Docker writes them (familiar form). */
  repoTags: string[];
  /** Paths of the layers. */
  layers: string[];
}

/** A synthesized document and its descriptor. */
export interface SynthesizedBlob {
  /** The document's descriptor. */
  descriptor: Descriptor;
  /** Its bytes. */
  bytes: Uint8Array;
}

/** What a Docker-format archive turns into. */
export interface DockerImages {
  /** The index of every image, as containerd writes it (`{"schemaVersion":2,"manifests":[...]}`). */
  index: SynthesizedBlob;
  /** The index's entries, with their names. */
  entries: Descriptor[];
  /** One synthesized manifest per `manifest.json` entry. */
  manifests: SynthesizedBlob[];
  /** Every file the images use, by archive path, with the digest and size it gets. */
  files: Map<string, Descriptor>;
}

const STRING: Schema = { kind: "string" };
const MANIFEST_JSON: Schema = {
  kind: "array",
  of: {
    kind: "struct",
    fields: {
      Config: STRING,
      RepoTags: { kind: "array", of: STRING },
      Layers: { kind: "array", of: STRING },
    },
  },
};

const CONFIG: Schema = {
  kind: "struct",
  fields: {
    architecture: STRING,
    os: STRING,
    "os.version": STRING,
    "os.features": { kind: "array", of: STRING },
    variant: STRING,
    rootfs: {
      kind: "struct",
      fields: { type: STRING, diff_ids: { kind: "array", of: STRING } },
    },
  },
};

const encoder = new TextEncoder();

/**
 * Decodes `manifest.json` as Go decodes it into `[]struct{Config; RepoTags; Layers}`.
 *
 * @throws {InvalidArchiveError}
 */
export function decodeManifestJson(bytes: Uint8Array): DockerManifestJsonEntry[] {
  try {
    const list = (decodeJson(bytes, MANIFEST_JSON) ?? []) as Record<string, unknown>[];
    return list.map((e) => ({
      config: (e.Config ?? "") as string,
      repoTags: (e.RepoTags ?? []) as string[],
      layers: (e.Layers ?? []) as string[],
    }));
  } catch (error) {
    if (!(error instanceof GoJsonError)) throw error;
    throw new InvalidArchiveError(`Invalid manifest.json: ${error.message}`, {
      entry: "manifest.json",
    });
  }
}

/** The media type containerd's `detectLayerMediaType` gives (zstd: the OCI zstd type, on purpose). */
export function layerMediaType(compression: Compression): string {
  return compression === "gzip"
    ? DOCKER_LAYER_GZIP
    : compression === "zstd"
    ? OCI_LAYER_ZSTD
    : DOCKER_LAYER;
}

/**
 * Turns a Docker-format archive's `manifest.json` into content.
 *
 * @param file what is known of the archive file at a path (already resolved through symbolic
 *   links), or undefined when there is none.
 * @param readConfig the bytes of the config at a path (verified against its digest by the caller).
 * @throws {InvalidArchiveError} naming the `manifest.json` entry or file at fault.
 */
export async function synthesizeDockerImages(
  manifestJson: Uint8Array,
  file: (path: string) => ArchiveFileInfo | undefined,
  readConfig: (path: string) => Promise<Uint8Array>,
): Promise<DockerImages> {
  const entries = decodeManifestJson(manifestJson);
  const files = new Map<string, Descriptor>();
  const manifests: SynthesizedBlob[] = [];
  const indexEntries: Descriptor[] = [];
  const need = (path: string, what: string): ArchiveFileInfo => {
    const info = file(path);
    if (info === undefined) {
      throw new InvalidArchiveError(
        `The ${what} ${JSON.stringify(path)} of manifest.json is not in the archive`,
        {
          entry: path,
        },
      );
    }
    return info;
  };
  for (const entry of entries) {
    const configInfo = need(entry.config, "image config");
    const config: Descriptor = {
      mediaType: DOCKER_CONFIG,
      digest: configInfo.digest,
      size: configInfo.size,
    };
    files.set(entry.config, config);
    const layers: Descriptor[] = entry.layers.map((path) => {
      const info = need(path, "layer");
      const layer = {
        mediaType: layerMediaType(info.size === 0 ? "none" : info.compression),
        digest: info.digest,
        size: info.size,
      };
      files.set(path, layer);
      return layer;
    });
    const configBytes = await readConfig(entry.config);
    const parsed = decodeConfig(configBytes, entry.config);
    checkDiffIds(entry, parsed.diffIds, entry.layers.map((p) => need(p, "layer")));
    const bytes = encoder.encode(
      `{"schemaVersion":2,"mediaType":"${DOCKER_MANIFEST}","config":${encodeDescriptor(config)}` +
        `,"layers":[${layers.map(encodeDescriptor).join(",")}]}`,
    );
    const descriptor: Descriptor = {
      mediaType: DOCKER_MANIFEST,
      digest: digestOf(bytes),
      size: bytes.length,
    };
    descriptor.platform = parsed.platform;
    manifests.push({ descriptor, bytes });
    if (entry.repoTags.length === 0) {
      indexEntries.push(descriptor);
      continue;
    }
    for (const tag of entry.repoTags) {
      let name: string;
      try {
        name = normalizeReference(tag);
      } catch (error) {
        throw new InvalidArchiveError(
          `manifest.json has a RepoTag that does not parse: ${(error as Error).message}`,
          { entry: "manifest.json", cause: error },
        );
      }
      indexEntries.push({
        ...descriptor,
        annotations: {
          [ANNOTATION_IMAGE_NAME]: name,
          [ANNOTATION_REF_NAME]: ociReferenceName(name),
        },
      });
    }
  }
  const list = indexEntries.length === 0
    ? "null"
    : `[${indexEntries.map(encodeDescriptor).join(",")}]`;
  const indexBytes = encoder.encode(`{"schemaVersion":2,"manifests":${list}}`);
  return {
    index: {
      descriptor: { mediaType: OCI_INDEX, digest: digestOf(indexBytes), size: indexBytes.length },
      bytes: indexBytes,
    },
    entries: indexEntries,
    manifests,
    files,
  };
}

/**
 * The platform of an image config as containerd's `ConfigPlatform` gives it (normalized).
 *
 * @throws {InvalidArchiveError} when the config does not parse.
 */
export function configPlatform(bytes: Uint8Array, path: string): Platform {
  return decodeConfig(bytes, path).platform;
}

/** The platform (as containerd's `ConfigPlatform`, normalized) and diff_ids of a config. */
function decodeConfig(
  bytes: Uint8Array,
  path: string,
): { platform: Platform; diffIds?: string[] } {
  let fields: Record<string, unknown>;
  try {
    fields = (decodeJson(bytes, CONFIG) ?? {}) as Record<string, unknown>;
  } catch (error) {
    if (!(error instanceof GoJsonError)) throw error;
    throw new InvalidArchiveError(`Invalid image config ${path}: ${error.message}`, {
      entry: path,
    });
  }
  const raw: Platform = {
    architecture: (fields.architecture ?? "") as string,
    os: (fields.os ?? "") as string,
  };
  if (fields["os.version"]) raw["os.version"] = fields["os.version"] as string;
  if ((fields["os.features"] as string[] | undefined)?.length) {
    raw["os.features"] = fields["os.features"] as string[];
  }
  if (fields.variant) raw.variant = fields.variant as string;
  const platform = normalizePlatform(raw);
  const rootfs = fields.rootfs as Record<string, unknown> | undefined;
  return { platform, diffIds: rootfs?.diff_ids as string[] | undefined };
}

function checkDiffIds(
  entry: DockerManifestJsonEntry,
  diffIds: string[] | undefined,
  layers: ArchiveFileInfo[],
): void {
  if (diffIds === undefined) {
    // The config's diff_ids are all that ties a Docker archive's layers to its image: without
    // them a changed layer would go unnoticed. The image spec requires them.
    if (layers.length === 0) return;
    throw new InvalidArchiveError(
      `Image config ${entry.config} has no rootfs.diff_ids, so its layers cannot be checked`,
      { entry: entry.config },
    );
  }
  if (diffIds.length !== layers.length) {
    throw new InvalidArchiveError(
      `Image config ${entry.config} lists ${diffIds.length} diff_ids for ${layers.length} layers`,
      { entry: entry.config },
    );
  }
  layers.forEach((layer, i) => {
    const actual = layer.compression === "none" || layer.size === 0 ? layer.digest : layer.diffId;
    if (actual !== undefined && actual !== diffIds[i]) {
      throw new InvalidArchiveError(
        `Layer ${entry.layers[i]} uncompresses to ${actual}, but image config ${entry.config} ` +
          `says diff_id ${diffIds[i]}`,
        { entry: entry.layers[i] },
      );
    }
  });
}
