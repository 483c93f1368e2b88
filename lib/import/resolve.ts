/**
 * What an archive read in one pass holds, as `ctr images import` sees it: the root index
 * (`index.json` of an OCI layout, which wins, or the index synthesized from Docker's
 * `manifest.json`), the images it names, and every blob reached from it for the selected
 * platforms, each checked present with the right size, every document parsed and of its kind.
 *
 * @module
 */
import type { ArchiveContents } from "./read_archive.ts";
import { configPlatform, synthesizeDockerImages } from "../stores/archive/docker_format.ts";
import { checkLayoutVersion } from "../stores/archive/store.ts";
import { MAX_DOCUMENT_SIZE } from "../stores/content.ts";
import { parseDigest } from "../oci/digest.ts";
import {
  ANNOTATION_IMAGE_NAME,
  ANNOTATION_REF_NAME,
  checkDocumentKind,
  decodeIndex,
  decodeManifest,
  type Descriptor,
  DocumentError,
} from "../oci/documents.ts";
import { InvalidArchiveError, type OcipackError } from "../oci/errors.ts";
import { isIndexType, isManifestType, isNonDistributable, OCI_INDEX } from "../oci/media_types.ts";
import type { Platform, PlatformMatcher } from "../oci/platforms.ts";
import { digestOf } from "../oci/digest.ts";
import { parseReference } from "../oci/reference.ts";

/** The deepest nesting of indexes followed. */
const MAX_DEPTH = 32;

/** A name given to a descriptor of the archive. */
export interface ResolvedImage {
  /** The image name. */
  name: string;
  /** The manifest or index it points to. */
  target: Descriptor;
}

/** An archive's content, resolved. */
export interface ResolvedArchive {
  /** `oci` (an `oci-layout` and `index.json`) or `docker` (`manifest.json` only). */
  format: "oci" | "docker";
  /** The root index: `index.json`, or the one synthesized from `manifest.json`. */
  root: Descriptor;
  /** The root index's entries. */
  entries: Descriptor[];
  /** The blobs to keep: every blob reached for the selected platforms (and the root's entries). */
  blobs: Map<string, Descriptor>;
  /** Documents made here (Docker format: manifests and index): digest -> bytes. */
  synthesized: Map<string, Uint8Array>;
  /** The blobs reached from each root entry (by digest), the entry's own included. */
  reached: Map<string, Set<string>>;
  /** The platforms of each root entry (by digest), as found walking it. */
  platforms: Map<string, Platform[]>;
}

/** How to resolve. */
export interface ResolveOptions {
  /** Which platforms' content must be present; undefined means every platform. */
  platform?: PlatformMatcher;
}

function invalid(message: string, entry?: string, digest?: string): InvalidArchiveError {
  return new InvalidArchiveError(message, { entry, digest });
}

/**
 * Resolves an archive's content. Throws an {@linkcode InvalidArchiveError} at the first problem:
 * an unsupported layout version, no `index.json` in an OCI layout, neither layout nor
 * `manifest.json`, a missing blob, a size that differs, a document that does not parse or is not
 * what its media type says.
 */
export async function resolveArchive(
  contents: ArchiveContents,
  options: ResolveOptions = {},
): Promise<ResolvedArchive> {
  const synthesized = new Map<string, Uint8Array>();
  let format: "oci" | "docker";
  let root: Descriptor;
  let rootBytes: Uint8Array;
  // File digests of the Docker format, for presence checks: digest -> size.
  const available = new Map<string, number>();
  for (const [digest, { size }] of contents.blobs) available.set(digest, size);

  if (contents.ociLayout !== undefined) {
    format = "oci";
    checkLayoutVersion(contents.ociLayout);
    if (contents.index === undefined) {
      throw invalid("The archive has an oci-layout but no index.json", "index.json");
    }
    rootBytes = contents.index;
    root = { mediaType: OCI_INDEX, digest: digestOf(rootBytes), size: rootBytes.length };
  } else if (contents.manifestJson !== undefined) {
    format = "docker";
    const resolve = (name: string) => contents.files.get(contents.symlinks.get(name) ?? name);
    for (const [name, target] of contents.symlinks) {
      if (contents.files.get(target) === undefined) {
        throw invalid(
          `Entry ${JSON.stringify(name)} is a symbolic link to ${
            JSON.stringify(target)
          }, which is not a file of the archive`,
          name,
        );
      }
    }
    const docker = await synthesizeDockerImages(
      contents.manifestJson,
      (name) => {
        const file = resolve(name);
        if (file?.diffIdError !== undefined) {
          throw invalid(`Layer ${name} cannot be decompressed: ${file.diffIdError}`, name);
        }
        return file;
      },
      (name) => {
        const file = resolve(name)!;
        const bytes = contents.documents.get(file.digest);
        if (bytes === undefined) {
          throw invalid(
            `Image config ${name} is not a JSON document of at most ${MAX_DOCUMENT_SIZE} bytes`,
            name,
          );
        }
        return Promise.resolve(bytes);
      },
    );
    for (const file of contents.files.values()) available.set(file.digest, file.size);
    for (const m of docker.manifests) {
      synthesized.set(m.descriptor.digest, m.bytes);
      available.set(m.descriptor.digest, m.bytes.length);
    }
    rootBytes = docker.index.bytes;
    root = docker.index.descriptor;
  } else {
    throw invalid(
      "The archive is not an image archive: it has neither oci-layout nor manifest.json",
    );
  }
  synthesized.set(root.digest, rootBytes);
  available.set(root.digest, rootBytes.length);

  const document = (descriptor: Descriptor): Uint8Array | undefined =>
    synthesized.get(descriptor.digest) ?? contents.documents.get(descriptor.digest);

  let entries: Descriptor[];
  try {
    entries = decodeIndex(rootBytes).manifests;
  } catch (error) {
    if (!(error instanceof DocumentError)) throw error;
    throw invalid(`Invalid index.json: ${error.message}`, "index.json");
  }

  const rootName = format === "oci" ? "index.json" : "manifest.json";
  const blobs = new Map<string, Descriptor>();
  const reached = new Map<string, Set<string>>();
  let reaching = new Set<string>();
  const platforms = new Map<string, Platform[]>();
  const fileNames = new Map<string, string>();
  for (const file of contents.files.values()) fileNames.set(file.digest, file.name);
  const nameOf = (d: Descriptor) =>
    contents.blobs.get(d.digest)?.name ?? fileNames.get(d.digest) ??
      (synthesized.has(d.digest) ? `${rootName} (${d.digest})` : d.digest);

  const need = (descriptor: Descriptor, role: string, from: string, optional = false): boolean => {
    try {
      parseDigest(descriptor.digest);
    } catch (error) {
      throw invalid(
        `A ${role} descriptor in ${from} has an invalid digest: ${(error as OcipackError).message}`,
        from,
      );
    }
    const size = available.get(descriptor.digest);
    if (size === undefined) {
      if (optional) return false;
      const path = `blobs/${descriptor.digest.replace(":", "/")}`;
      throw invalid(
        `The ${role} ${descriptor.digest} named in ${from} is not in the archive (no entry ${path})`,
        path,
        descriptor.digest,
      );
    }
    if (size !== descriptor.size) {
      throw invalid(
        `Entry ${
          nameOf(descriptor)
        } is ${size} bytes, but the ${role} descriptor says ${descriptor.size}`,
        nameOf(descriptor),
        descriptor.digest,
      );
    }
    blobs.set(descriptor.digest, descriptor);
    reaching.add(descriptor.digest);
    return true;
  };

  const walk = (descriptor: Descriptor, depth: number, found: Platform[], from: string): void => {
    if (depth > MAX_DEPTH) throw invalid(`Indexes nest more than ${MAX_DEPTH} deep`);
    const manifest = isManifestType(descriptor.mediaType);
    const index = isIndexType(descriptor.mediaType);
    if (!manifest && !index) {
      need(descriptor, "blob", from);
      return;
    }
    const role = manifest ? "manifest" : "index";
    need(descriptor, role, from);
    if (descriptor.size > MAX_DOCUMENT_SIZE) {
      throw invalid(
        `The ${role} ${descriptor.digest} is ${descriptor.size} bytes, over the ` +
          `${MAX_DOCUMENT_SIZE}-byte limit for a document`,
        nameOf(descriptor),
      );
    }
    const bytes = document(descriptor);
    if (bytes === undefined) {
      throw invalid(`The ${role} ${descriptor.digest} is not a JSON document`, nameOf(descriptor));
    }
    try {
      checkDocumentKind(bytes, descriptor.mediaType);
      if (manifest) {
        const m = decodeManifest(bytes);
        need(m.config, "config", nameOf(descriptor));
        const config = document(m.config);
        const platform = descriptor.platform ??
          (config === undefined ? undefined : configPlatform(config, nameOf(m.config)));
        if (
          platform !== undefined && platform.os !== "unknown" && platform.architecture !== "unknown"
        ) {
          found.push(platform);
        }
        for (const layer of m.layers) {
          need(layer, "layer", nameOf(descriptor), isNonDistributable(layer.mediaType));
        }
      } else {
        for (const child of decodeIndex(bytes).manifests) {
          if (child.platform !== undefined && options.platform?.match(child.platform) === false) {
            continue;
          }
          walk(child, depth + 1, found, nameOf(descriptor));
        }
      }
    } catch (error) {
      if (!(error instanceof DocumentError)) throw error;
      throw invalid(`Invalid ${role} ${descriptor.digest}: ${error.message}`, nameOf(descriptor));
    }
  };

  for (const entry of entries) {
    reaching = reached.get(entry.digest) ?? new Set();
    reached.set(entry.digest, reaching);
    // As ctr: the root's entries are filtered by platform too; a filtered one keeps its name.
    const found: Platform[] = [];
    if (entry.platform !== undefined && options.platform?.match(entry.platform) === false) {
      need(entry, isIndexType(entry.mediaType) ? "index" : "manifest", rootName);
      found.push(entry.platform);
    } else {
      try {
        walk(entry, 0, found, rootName);
      } catch (error) {
        const name = entry.annotations?.[ANNOTATION_IMAGE_NAME] ||
          entry.annotations?.[ANNOTATION_REF_NAME];
        if (error instanceof InvalidArchiveError && name) {
          error.message += ` (image ${name})`;
        }
        throw error;
      }
    }
    platforms.set(entry.digest, found);
  }
  return { format, root, entries, blobs, reached, synthesized, platforms };
}

/** Options for naming the images of an archive, as `ctr images import` names them. */
export interface NamingOptions {
  /**
   * `--base-name`: keep only full names with this prefix (and every `io.containerd.image.name`,
   * as ctr does), and name a bare tag `BASE:TAG`. Default: `import-YYYY-MM-DD`, under which full
   * names are all kept.
   */
  baseName?: string;
  /** `--digests`: also name every entry `BASE@digest`. */
  digests?: boolean;
  /** `--index-name`: a name for the root index itself. */
  indexName?: string;
  /** The date for the default base name (tests). */
  now?: Date;
}

/** The names `ctr images import` gives the entries of a root index. */
export function nameImages(
  root: Descriptor,
  entries: readonly Descriptor[],
  options: NamingOptions = {},
): ResolvedImage[] {
  const filter = options.baseName !== undefined && options.baseName !== "";
  const now = options.now ?? new Date();
  const pad = (n: number) => String(n).padStart(2, "0");
  const prefix = filter
    ? options.baseName!
    : `import-${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
  const images: ResolvedImage[] = [];
  if (options.indexName) images.push({ name: options.indexName, target: root });
  for (const entry of entries) {
    const name = entryName(entry, prefix, filter);
    if (name !== "") images.push({ name: checkName(name), target: entry });
    if (options.digests) images.push({ name: `${prefix}@${entry.digest}`, target: entry });
  }
  // A name given twice (two tags of one manifest under --digests) points where it last did.
  const unique = new Map<string, ResolvedImage>();
  for (const image of images) unique.set(image.name, image);
  return [...unique.values()];
}

/**
 * Refuses a name the store could not export again: one that is not a reference (distribution's
 * `Parse`), such as one with invalid UTF-8, control characters or upper case in its path.
 * ctr stores any string; an exporter must parse the names it writes.
 */
function checkName(name: string): string {
  try {
    parseReference(name);
  } catch (error) {
    throw new InvalidArchiveError(
      `index.json names an image ${JSON.stringify(name)}, which is not a valid reference: ${
        (error as Error).message
      }`,
      { entry: "index.json", cause: error },
    );
  }
  return name;
}

/** containerd's `imageName` with `AddRefPrefix` / `FilterRefPrefix`. */
function entryName(entry: Descriptor, prefix: string, filter: boolean): string {
  const full = entry.annotations?.[ANNOTATION_IMAGE_NAME];
  if (full) return full;
  const ref = entry.annotations?.[ANNOTATION_REF_NAME];
  if (!ref) return "";
  if (!/[/:@]/.test(ref)) return `${prefix}:${ref}`;
  if (!filter || isImagePrefix(ref, prefix)) return ref;
  const last = ref.slice(ref.lastIndexOf("/") + 1);
  if (
    last.startsWith(prefix) &&
    (last.length === prefix.length || last[prefix.length] === ":" || last[prefix.length] === "@")
  ) {
    return ref;
  }
  return "";
}

function isImagePrefix(s: string, prefix: string): boolean {
  if (!s.startsWith(prefix)) return false;
  return s.length === prefix.length || "/:@".includes(s[prefix.length]);
}
