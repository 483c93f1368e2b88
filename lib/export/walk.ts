/**
 * The walk: which descriptors an export holds, and the tar records it is made of. This is
 * containerd 2.x's `archive.Export` up to the point where it starts writing (`getRecords`,
 * `images.Walk` with `ChildrenHandler`, `manifestsRecord`), with three additions: every JSON
 * document is verified before it is parsed, the expansion of each document is memoized (a diamond of
 * shared children costs linear time and nothing can loop), and each blob is looked up before the
 * first byte is written, so a missing or wrong-size blob fails the export before any output.
 *
 * @module
 */
import {
  type BlobInfo,
  type BlobOrigin,
  capitalize,
  type ContentProvider,
  describeBlob,
  LABEL_DISTRIBUTION_SOURCE,
  MAX_DOCUMENT_SIZE,
  readVerified,
  sizeMismatch,
  withOrigin,
} from "../stores/content.ts";
import { blobPath, isDigest, parseDigest } from "../oci/digest.ts";
import {
  ANNOTATION_IMAGE_NAME,
  checkDocumentKind,
  decodeIndex,
  decodeManifest,
  type Descriptor,
  type DockerManifestEntry,
  DocumentError,
  encodeArchiveIndex,
  encodeDockerManifest,
  OCI_LAYOUT,
} from "../oci/documents.ts";
import {
  InvalidArgumentError,
  InvalidDigestError,
  InvalidDocumentError,
  NotFoundError,
} from "../oci/errors.ts";
import { compareCodePoints } from "../oci/go_json.ts";
import { isIndexType, isManifestType } from "../oci/media_types.ts";
import { byPreference, type PlatformMatcher } from "../oci/platforms.ts";
import { familiarizeReference, isDigestOnlyReference } from "../oci/reference.ts";

/** How deep indexes may nest below a requested descriptor before the walk gives up. */
export const MAX_WALK_DEPTH = 32;

/** The options of the walk, resolved from the public export options. */
export interface WalkOptions {
  /** Selects an index's children; without one, every child goes in and none is selected. */
  platform?: PlatformMatcher;
  /** Children that do not match the platform still go in (but are not selected). */
  allPlatforms?: boolean;
  /** Leave out Docker's manifest.json. */
  skipDockerManifest?: boolean;
  /** Returns false for a blob that should be left out of `blobs/` (it stays in manifests). */
  blobFilter?: (descriptor: Descriptor) => boolean;
  /** Leave out absent manifests, and the children of a manifest with an absent child. */
  skipMissing?: boolean;
}

/** A tar record whose body is in memory. */
export interface FileRecord {
  /** The record kind. */
  kind: "file";
  /** Path in the archive. */
  name: string;
  /** Permission bits. */
  mode: number;
  /** The body. */
  bytes: Uint8Array;
}

/** A directory record. */
export interface DirectoryRecord {
  /** The record kind. */
  kind: "directory";
  /** Path in the archive, ending in `/`. */
  name: string;
  /** Permission bits. */
  mode: number;
}

/** A blob record, streamed from the provider (or from verified bytes already read). */
export interface BlobRecord {
  /** The record kind. */
  kind: "blob";
  /** Path in the archive: `blobs/<algorithm>/<hex>`. */
  name: string;
  /** Permission bits. */
  mode: number;
  /** The blob's descriptor. */
  descriptor: Descriptor;
  /** Where the blob was reached from, for error messages. */
  origin: BlobOrigin;
  /** The verified bytes, for JSON documents the walk has already read. */
  bytes?: Uint8Array;
}

/** One record of the archive. */
export type ArchiveRecord = FileRecord | DirectoryRecord | BlobRecord;

/** What the walk found: the archive's records, sorted and without repeated names. */
export interface ArchivePlan {
  /** The records in archive order. */
  records: ArchiveRecord[];
  /** The descriptors listed in the archive's index.json. */
  manifests: Descriptor[];
}

type Children = Descriptor[] | "skip";

/** How many of an index's next manifests the walk reads ahead. */
const READ_AHEAD_DOCUMENTS = 8;

const encoder = new TextEncoder();

/** Computes an export's records. */
export async function planArchive(
  provider: ContentProvider,
  requests: readonly Descriptor[],
  options: WalkOptions = {},
): Promise<ArchivePlan> {
  return await new Walk(provider, options).run(requests);
}

class Walk {
  readonly #provider: ContentProvider;
  readonly #options: WalkOptions;
  readonly #records: ArchiveRecord[] = [];
  readonly #algorithms = new Set<string>();
  /** Children of each expanded (media type, digest). */
  readonly #expanded = new Map<string, Children>();
  /** Verified bytes of each document read, by digest. */
  readonly #documents = new Map<string, Uint8Array>();
  /** Documents being read ahead of the walk, by digest. */
  readonly #reading = new Map<string, Promise<Uint8Array>>();
  /** What the provider said of blobs already looked up, by digest. */
  readonly #infos = new Map<string, BlobInfo>();

  constructor(provider: ContentProvider, options: WalkOptions) {
    this.#provider = provider;
    this.#options = options;
  }

  async run(requests: readonly Descriptor[]): Promise<ArchivePlan> {
    const options = this.#options;
    const manifests: Descriptor[] = [];
    for (const request of requests) {
      // containerd 2.x copies each requested descriptor's distribution-source labels, and drops
      // one whose blob is absent (it fails to read its labels). We drop it only under
      // skipMissing; otherwise it is an error.
      const origin = { image: imageOf(request), role: roleOf(request) };
      let info: BlobInfo;
      try {
        info = await this.#info(request, origin);
      } catch (error) {
        if (options.skipMissing && error instanceof NotFoundError) continue;
        throw error;
      }
      manifests.push(withSourceLabels(request, info.labels));
    }

    /** manifest.json entries by manifest digest, in the order first requested. */
    const dockerManifests = new Map<string, { manifest: Descriptor; names: string[] }>();
    const resolvedIndexes = new Map<string, string>();
    for (const desc of manifests) {
      const origin: BlobOrigin = { image: imageOf(desc) };
      const name = desc.annotations?.[ANNOTATION_IMAGE_NAME] ?? "";
      if (isManifestType(desc.mediaType)) {
        let entry = dockerManifests.get(desc.digest);
        if (entry === undefined) {
          await this.#visit(desc, { ...origin, role: "manifest" }, 0);
          entry = { manifest: desc, names: [] };
          dockerManifests.set(desc.digest, entry);
        }
        if (name !== "") entry.names.push(name);
      } else if (isIndexType(desc.mediaType)) {
        let selectedDigest = resolvedIndexes.get(desc.digest);
        if (selectedDigest === undefined) {
          const first = await this.#exportIndex(desc, { ...origin, role: "index" });
          // containerd replaces any entry the manifest already had (names included).
          if (first) dockerManifests.set(first.digest, { manifest: first, names: [] });
          selectedDigest = first?.digest ?? "";
          resolvedIndexes.set(desc.digest, selectedDigest);
        }
        if (selectedDigest !== "" && name !== "") {
          dockerManifests.get(selectedDigest)!.names.push(name);
        }
      } else {
        throw new InvalidArgumentError(
          `Only manifests and indexes may be exported: ${describeBlob(desc, origin)} is ` +
            `${JSON.stringify(desc.mediaType)}`,
          { digest: desc.digest, image: origin.image },
        );
      }
    }

    const records = this.#records;
    records.push(file("oci-layout", 0o444, OCI_LAYOUT));
    records.push(file("index.json", 0o644, encodeArchiveIndex(manifests)));
    if (!options.skipDockerManifest && dockerManifests.size > 0) {
      const entries: DockerManifestEntry[] = [];
      for (const { manifest, names } of dockerManifests.values()) {
        entries.push(await this.#dockerManifestEntry(manifest, names));
      }
      records.push(file("manifest.json", 0o644, encodeDockerManifest(entries)));
    }
    if (this.#algorithms.size > 0) {
      records.push({ kind: "directory", name: "blobs/", mode: 0o755 });
      for (const algorithm of this.#algorithms) {
        records.push({ kind: "directory", name: `blobs/${algorithm}/`, mode: 0o755 });
      }
    }
    records.sort((a, b) => compareCodePoints(a.name, b.name));
    const unique = records.filter((r, i) => i === 0 || r.name !== records[i - 1].name);
    await this.#statRecords(unique);
    return { records: unique, manifests };
  }

  /**
   * A requested index: its blob, then each child the platform lets in. Returns the child that
   * gets the manifest.json entry, if any.
   */
  async #exportIndex(desc: Descriptor, origin: BlobOrigin): Promise<Descriptor | undefined> {
    const options = this.#options;
    this.#validate(desc, origin);
    // containerd parses a requested index without checking its kind; #children refuses a
    // confused document here as everywhere else (CVE-2021-41190). An index is never skipped.
    const children = await this.#children(desc, origin) as Descriptor[];
    this.#addBlob(desc, origin, false);
    const selected: Descriptor[] = [];
    const visits = children.filter((child) =>
      !options.platform || options.allPlatforms || child.platform === undefined ||
      options.platform.match(child.platform)
    );
    let visited = 0;
    for (const child of children) {
      if (options.platform) {
        if (child.platform === undefined || options.platform.match(child.platform)) {
          selected.push(child);
        } else if (!options.allPlatforms) {
          continue;
        }
      }
      this.#readAhead(visits, visited++, origin);
      await this.#visit(child, { image: origin.image, role: roleOf(child) }, 1);
    }
    if (selected.length > 0) {
      return selected.sort(byPreference(options.platform!))[0];
    }
    if (options.platform) {
      throw new NotFoundError(
        `No manifest found for the platform in ${describeBlob(desc, origin)}`,
        { digest: desc.digest, image: origin.image },
      );
    }
    return undefined;
  }

  /** containerd's `images.Walk` with `ChildrenHandler` and the export handler. */
  async #visit(desc: Descriptor, origin: BlobOrigin, depth: number): Promise<void> {
    if (depth > MAX_WALK_DEPTH) {
      throw new InvalidDocumentError(
        `${
          capitalize(describeBlob(desc, origin))
        } is nested more than ${MAX_WALK_DEPTH} levels deep`,
        { digest: desc.digest, image: origin.image },
      );
    }
    this.#validate(desc, origin);
    const key = `${desc.mediaType}\0${desc.digest}`;
    let children = this.#expanded.get(key);
    const firstVisit = children === undefined;
    if (children === undefined) {
      children = await this.#children(desc, origin);
      this.#expanded.set(key, children);
    }
    if (children === "skip") return;
    this.#addBlob(desc, origin, true);
    if (!firstVisit) return; // its children were walked the first time, from the same bytes
    const manifest = isManifestType(desc.mediaType);
    for (const [i, child] of children.entries()) {
      const role = manifest ? (i === 0 ? "config" : "layer") : roleOf(child);
      if (!manifest) this.#readAhead(children, i, origin);
      await this.#visit(child, { image: origin.image, role }, depth + 1);
    }
  }

  /** containerd's `images.Children`, or the skip-missing handler wrapped around it. */
  async #children(desc: Descriptor, origin: BlobOrigin): Promise<Children> {
    const manifest = isManifestType(desc.mediaType);
    if (!manifest && !isIndexType(desc.mediaType)) return [];
    let bytes: Uint8Array;
    try {
      bytes = await this.#document(desc, origin);
    } catch (error) {
      if (manifest && this.#options.skipMissing && error instanceof NotFoundError) return "skip";
      throw error;
    }
    this.#parse(desc, origin, () => checkDocumentKind(bytes, desc.mediaType));
    if (!manifest) return this.#parse(desc, origin, () => decodeIndex(bytes).manifests);
    const { config, layers } = this.#parse(desc, origin, () => decodeManifest(bytes));
    const children = [config, ...layers];
    if (this.#options.skipMissing) {
      for (const [i, child] of children.entries()) {
        const childOrigin = { image: origin.image, role: i === 0 ? "config" : "layer" };
        this.#validate(child, childOrigin);
        if (!(await this.#exists(child, childOrigin))) return [];
      }
    }
    return children;
  }

  /** One manifest.json entry, from the manifest's verified bytes. */
  async #dockerManifestEntry(
    desc: Descriptor,
    names: readonly string[],
  ): Promise<DockerManifestEntry> {
    const origin: BlobOrigin = { image: names[0] ?? desc.digest, role: "manifest" };
    const bytes = await this.#document(desc, origin);
    const manifest = this.#parse(desc, origin, () => decodeManifest(bytes));
    const path = (d: Descriptor, role: string) => {
      this.#validate(d, { image: origin.image, role });
      return blobPath(d.digest);
    };
    const repoTags: string[] = [];
    for (const name of names) {
      // containerd writes digest-only names too, but docker load rejects them ("invalid tag").
      if (isDigestOnlyReference(name)) continue;
      repoTags.push(familiarizeReference(name));
    }
    return {
      config: path(manifest.config, "config"),
      repoTags: repoTags.length > 0 ? repoTags : undefined,
      layers: manifest.layers.length > 0
        ? manifest.layers.map((layer) => path(layer, "layer"))
        : undefined,
    };
  }

  /** The export handler: a blob record (unless filtered out) and its algorithm's directory. */
  #addBlob(desc: Descriptor, origin: BlobOrigin, registerAlgorithm: boolean): void {
    const { algorithm } = parseDigest(desc.digest);
    if (registerAlgorithm) this.#algorithms.add(algorithm);
    if (this.#options.blobFilter && !this.#options.blobFilter(desc)) return;
    this.#records.push({
      kind: "blob",
      name: blobPath(desc.digest),
      mode: 0o444,
      descriptor: desc,
      origin,
      bytes: this.#documents.get(desc.digest),
    });
  }

  /**
   * Starts reading the documents (manifests, indexes) among the next few children the walk will
   * visit, from `from` on, so that a source with latency (a registry) serves them in parallel.
   * Only children the walk visits are read; each is awaited, and any error reported, in order.
   */
  #readAhead(children: readonly Descriptor[], from: number, origin: BlobOrigin): void {
    for (const child of children.slice(from, from + READ_AHEAD_DOCUMENTS)) {
      if (!isManifestType(child.mediaType) && !isIndexType(child.mediaType)) continue;
      if (!isDigest(child.digest) || child.size > MAX_DOCUMENT_SIZE) continue; // the walk reports
      if (this.#documents.has(child.digest) || this.#reading.has(child.digest)) continue;
      const childOrigin = { image: origin.image, role: roleOf(child) };
      const reading = readVerified(this.#provider, child, childOrigin);
      reading.catch(() => {}); // awaited, and reported, when the walk gets there
      this.#reading.set(child.digest, reading);
    }
  }

  /** Reads, verifies and caches a JSON document. */
  async #document(desc: Descriptor, origin: BlobOrigin): Promise<Uint8Array> {
    const cached = this.#documents.get(desc.digest);
    if (cached !== undefined) {
      if (cached.length !== desc.size) throw sizeMismatch(desc, origin, cached.length);
      return cached;
    }
    const ahead = this.#reading.get(desc.digest);
    this.#reading.delete(desc.digest);
    // Read ahead for a descriptor of this digest; one that says another size reads its own.
    const reading =
      ahead?.then((bytes) =>
        bytes.length === desc.size ? bytes : readVerified(this.#provider, desc, origin)
      ) ?? readVerified(this.#provider, desc, origin);
    const bytes = await withOrigin(reading, desc, origin);
    this.#documents.set(desc.digest, bytes);
    return bytes;
  }

  /** Whether a blob is present (content.Exists); a present blob of the wrong size is an error. */
  async #exists(desc: Descriptor, origin: BlobOrigin): Promise<boolean> {
    try {
      await this.#info(desc, origin);
      return true;
    } catch (error) {
      if (error instanceof NotFoundError) return false;
      throw error;
    }
  }

  /** What the provider knows of a blob, looked up once per digest; its size must be right. */
  async #info(desc: Descriptor, origin: BlobOrigin): Promise<BlobInfo> {
    this.#validate(desc, origin);
    let info = this.#infos.get(desc.digest);
    if (info === undefined) {
      info = await withOrigin(this.#provider.stat(desc), desc, origin);
      this.#infos.set(desc.digest, info);
    }
    if (info.size !== desc.size) throw sizeMismatch(desc, origin, info.size);
    return info;
  }

  /** Looks up every blob record that will be streamed from the provider. */
  async #statRecords(records: readonly ArchiveRecord[]): Promise<void> {
    for (const record of records) {
      if (record.kind === "blob" && record.bytes === undefined) {
        await this.#info(record.descriptor, record.origin);
      }
    }
  }

  #validate(desc: Descriptor, origin: BlobOrigin): void {
    try {
      parseDigest(desc.digest);
    } catch (error) {
      if (!(error instanceof InvalidDigestError)) throw error;
      const of = origin.image === undefined ? "" : ` of image ${origin.image}`;
      throw new InvalidDigestError(`${error.message} (${origin.role ?? "blob"}${of})`, {
        digest: desc.digest,
        image: origin.image,
      });
    }
  }

  #parse<T>(desc: Descriptor, origin: BlobOrigin, parse: () => T): T {
    try {
      return parse();
    } catch (error) {
      if (!(error instanceof DocumentError)) throw error;
      throw new InvalidDocumentError(
        `Invalid ${describeBlob(desc, origin)}: ${error.message}`,
        { digest: desc.digest, image: origin.image },
      );
    }
  }
}

function file(name: string, mode: number, text: string): FileRecord {
  return { kind: "file", name, mode, bytes: encoder.encode(text) };
}

/** The label errors use for a requested descriptor: its image name, else its digest. */
function imageOf(desc: Descriptor): string {
  return desc.annotations?.[ANNOTATION_IMAGE_NAME] || desc.digest;
}

/**
 * containerd 2.x's `copySourceLabels`: a copy of a requested descriptor whose annotations also
 * hold its content's distribution-source labels.
 */
function withSourceLabels(
  desc: Descriptor,
  labels: Readonly<Record<string, string>> | undefined,
): Descriptor {
  if (labels === undefined) return desc;
  const sources = Object.entries(labels).filter(([key]) =>
    key.startsWith(LABEL_DISTRIBUTION_SOURCE)
  );
  if (sources.length === 0) return desc;
  return { ...desc, annotations: { ...desc.annotations, ...Object.fromEntries(sources) } };
}

function roleOf(desc: Descriptor): string {
  if (isManifestType(desc.mediaType)) return "manifest";
  if (isIndexType(desc.mediaType)) return "index";
  return "blob";
}
