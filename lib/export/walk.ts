/**
 * The walk: which descriptors an export holds, and the tar records it is made of. This is
 * containerd 2.x's `archive.Export` up to the point where it starts writing (`getRecords`,
 * `images.Walk` with `ChildrenHandler`, `manifestsRecord`), with three additions: every JSON
 * document is verified before it is parsed, the expansion of each document is memoized (a diamond of
 * shared children costs linear time and nothing can loop), and each blob is looked up before the
 * first byte is written, so a missing or wrong-size blob fails the export before any output.
 *
 * What the plan holds grows with the number of blobs, so it holds little per blob: a record with
 * the blob's descriptor (as its manifest gave it) and where it was reached from (one object per
 * image and role); its path is made when asked for. Documents are parsed once; their verified
 * bytes are kept for the writer up to a fixed budget, beyond which the writer reads them again.
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
import { isDigest, parseDigest } from "../oci/digest.ts";
import { BlobTable } from "./blob_table.ts";
import { grow } from "../oci/digest_ids.ts";
import {
  ANNOTATION_IMAGE_NAME,
  archiveIndexParts,
  decodeChecked,
  decodeManifest,
  type Descriptor,
  type DockerManifestEntry,
  DocumentError,
  encodeDockerManifestEntry,
  OCI_LAYOUT,
} from "../oci/documents.ts";
import {
  InvalidArgumentError,
  InvalidDigestError,
  InvalidDocumentError,
  NotFoundError,
} from "../oci/errors.ts";
import { isIndexType, isManifestType } from "../oci/media_types.ts";
import { byPreference, formatPlatform, type PlatformMatcher } from "../oci/platforms.ts";
import { familiarizeReference, isDigestOnlyReference } from "../oci/reference.ts";

/**
 * How many bytes of verified documents (manifests, indexes) a plan keeps for the writer, 8 MiB:
 * those it keeps are not opened again, and the memory they take stays the same however many
 * images there are. (Opening a file costs Deno about 20 µs outside `--allow-all`: it resolves the
 * path's links to check it.)
 */
export const DOCUMENT_CACHE_BYTES = 8 * 1024 * 1024;

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
  /** How many bytes of documents to keep for the writer (default {@linkcode DOCUMENT_CACHE_BYTES}). */
  documentCacheBytes?: number;
}

/** A tar record whose body the export makes itself (oci-layout, index.json, manifest.json). */
export interface FileRecord {
  /** The record kind. */
  kind: "file";
  /** Path in the archive. */
  name: string;
  /** Permission bits. */
  mode: number;
  /** The body's length in bytes. */
  size: number;
  /**
   * The body, made when it is written: chunks whose lengths add up to `size`. Each call makes it
   * anew, so that a body that grows with the number of images is never held whole.
   */
  body(): AsyncIterable<Uint8Array>;
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

/**
 * Records in archive order, each made when asked for: an array is one, and so is a plan's, which
 * keeps its blobs in a compact table rather than as objects.
 */
export interface RecordList extends Iterable<ArchiveRecord> {
  /** How many records there are. */
  readonly length: number;
  /** The record at an index. */
  at(index: number): ArchiveRecord | undefined;
}

/** What the walk found: the archive's records, sorted and without repeated names. */
export interface ArchivePlan {
  /** The records in archive order. */
  records: RecordList;
  /** The descriptors listed in the archive's index.json. */
  manifests: Descriptor[];
  /**
   * Under skipMissing, the images left out because their content is incomplete (nothing could
   * load them): out of manifest.json, or out of the archive when the requested manifest or index
   * itself is absent. Absent requests come first, then the rest in request order.
   */
  incomplete: IncompleteImage[];
}

/**
 * An image left out of manifest.json because some of its content is not in the store (under
 * `skipMissing`); when the requested manifest or index itself is absent, it is left out of
 * index.json too.
 *
 * @example Warn about images a partial store cannot give whole
 * ```ts
 * import assert from "node:assert/strict";
 * import { type IncompleteImage, openLayout, prepareExport } from "@ocipack/ocipack";
 *
 * const store = await openLayout("testdata/partial");
 * const prepared = await prepareExport(store, {
 *   images: ["example.com/partial:1"],
 *   platform: "linux/arm/v7",
 *   skipMissing: true,
 * });
 * const [image]: readonly IncompleteImage[] = prepared.incomplete;
 * assert.deepEqual(image.names, ["example.com/partial:1"]);
 * assert.equal(image.missing.role, "layer");
 * await prepared.stream().cancel(); // the archive would hold the rest, without manifest.json
 * ```
 */
export interface IncompleteImage {
  /** The names it was requested under (none for a descriptor requested without a name). */
  names: string[];
  /** The manifest that would have had the manifest.json entry (or the absent request). */
  manifest: Descriptor;
  /** The first absent blob: the manifest (or index) itself, its config or a layer. */
  missing: { role: string; digest: string };
}

type Children = readonly Descriptor[] | "skip";

/**
 * A manifest or index read and parsed, and whether the walk has been through its children. Once
 * it has, a manifest keeps its children only as ids in the blob table (config first), which is
 * all manifest.json needs of them.
 */
interface Expansion {
  mediaType: string;
  children: Children;
  walked: boolean;
  /** A walked manifest's children: where their ids start in the walk's pool, and how many. */
  firstId: number;
  ids: number;
  /** The same digest expanded as another media type. */
  next?: Expansion;
}

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
  /** Every digest the walk has seen, and the blobs that go into the archive. */
  readonly #table = new BlobTable();
  /** The children of walked manifests, as ids in the table, one manifest after another. */
  #childIds = new Uint32Array(4096);
  #childIdsUsed = 0;
  readonly #algorithms = new Set<string>();
  /**
   * Children of each expanded manifest or index, by the id of its digest in the table (then media
   * type: the same bytes may be reached as two types). Blobs without children are not kept here.
   */
  readonly #expanded = new Map<number, Expansion>();
  /**
   * Verified bytes of documents read, by digest, up to {@linkcode DOCUMENT_CACHE_BYTES} in all:
   * their records carry them to the writer, which then need not open them again.
   */
  readonly #documents = new Map<string, Uint8Array>();
  /** Under skipMissing: manifests whose content is incomplete, and the first blob absent. */
  readonly #absent = new Map<string, { role: string; digest: string }>();
  #documentBytes = 0;
  /** Documents being read ahead of the walk, by digest. */
  readonly #reading = new Map<string, Promise<Uint8Array>>();
  /** What the provider said of requested blobs already looked up, by digest. */
  readonly #infos = new Map<string, BlobInfo>();

  constructor(provider: ContentProvider, options: WalkOptions) {
    this.#provider = provider;
    this.#options = options;
  }

  async run(requests: readonly Descriptor[]): Promise<ArchivePlan> {
    const options = this.#options;
    const manifests: Descriptor[] = [];
    const incomplete: IncompleteImage[] = [];
    for (const request of requests) {
      // containerd 2.x copies each requested descriptor's distribution-source labels, and drops
      // one whose blob is absent (it fails to read its labels). We drop it only under
      // skipMissing; otherwise it is an error.
      const origin = { image: imageOf(request), role: roleOf(request) };
      let info: BlobInfo;
      try {
        info = await this.#info(request, origin);
      } catch (error) {
        if (!options.skipMissing || !(error instanceof NotFoundError)) throw error;
        // Left out of the archive altogether (index.json too), and said so.
        const name = request.annotations?.[ANNOTATION_IMAGE_NAME];
        incomplete.push({
          names: name ? [name] : [],
          manifest: request,
          missing: { role: origin.role, digest: request.digest },
        });
        continue;
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
    // Arrays grown by push keep room for more (about 200 bytes each): kept to the end, one per
    // image, they are trimmed to what they hold.
    for (const entry of dockerManifests.values()) entry.names = entry.names.slice();

    const records: ArchiveRecord[] = [];
    records.push(file("oci-layout", 0o444, OCI_LAYOUT));
    // Both documents grow with the number of images, and come last in the archive: each is
    // measured now and made again, entry by entry, when it is written, so that neither its
    // entries nor its bytes are held while the blobs are copied.
    records.push(await partsFile("index.json", () => archiveIndexParts(manifests)));
    if (!options.skipDockerManifest && dockerManifests.size > 0) {
      // An entry whose content is incomplete would make an archive that nothing can load:
      // containerd writes it anyway; we leave it out and say so. Every entry's manifest was
      // walked, so #absent knows.
      const complete: { manifest: Descriptor; names: string[] }[] = [];
      for (const entry of dockerManifests.values()) {
        const missing = this.#absent.get(entry.manifest.digest);
        if (missing === undefined) complete.push(entry);
        else incomplete.push({ names: entry.names, manifest: entry.manifest, missing });
      }
      if (complete.length > 0) {
        records.push(await partsFile("manifest.json", () => this.#dockerManifestParts(complete)));
      }
    }
    if (this.#algorithms.size > 0) {
      records.push({ kind: "directory", name: "blobs/", mode: 0o755 });
      for (const algorithm of this.#algorithms) {
        records.push({ kind: "directory", name: `blobs/${algorithm}/`, mode: 0o755 });
      }
    }
    const blobs = this.#table.archiveOrder();
    await this.#statRecords(blobs);
    records.sort(byName);
    return {
      records: new PlanRecords(records, blobs, this.#table, this.#documents),
      manifests,
      incomplete,
    };
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
    const id = this.#table.intern(desc.digest);
    const children = (await this.#expand(desc, origin, id)).children as Descriptor[];
    this.#addBlob(desc, origin, false, id);
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
      const asked = options.platform.description;
      const has = [...new Set(children.map((c) => c.platform && formatPlatform(c.platform)))]
        .filter((p) => p !== undefined);
      throw new NotFoundError(
        `No manifest for platform ${asked ?? "asked for"} in ${describeBlob(desc, origin)}` +
          ` (it has ${has.length > 0 ? has.join(", ") : "no platforms"})`,
        { digest: desc.digest, image: origin.image },
      );
    }
    return undefined;
  }

  /**
   * containerd's `images.Walk` with `ChildrenHandler` and the export handler. Returns the id of
   * the descriptor's digest in the blob table.
   */
  async #visit(desc: Descriptor, origin: BlobOrigin, depth: number): Promise<number> {
    if (depth > MAX_WALK_DEPTH) {
      throw new InvalidDocumentError(
        `${
          capitalize(describeBlob(desc, origin))
        } is nested more than ${MAX_WALK_DEPTH} levels deep`,
        { digest: desc.digest, image: origin.image },
      );
    }
    this.#validate(desc, origin);
    const id = this.#table.intern(desc.digest);
    const manifest = isManifestType(desc.mediaType);
    if (!manifest && !isIndexType(desc.mediaType)) {
      // No children: nothing to expand or remember (the table keeps each blob once).
      this.#addBlob(desc, origin, true, id);
      return id;
    }
    const expansion = await this.#expand(desc, origin, id);
    const children = expansion.children;
    if (children === "skip") return id;
    this.#addBlob(desc, origin, true, id);
    if (expansion.walked) return id; // its children were walked the first time, from the same bytes
    expansion.walked = true;
    if (manifest) {
      const config = { image: origin.image, role: "config" };
      const layer = { image: origin.image, role: "layer" };
      const ids: number[] = [];
      for (const [i, child] of children.entries()) {
        ids.push(await this.#visit(child, i === 0 ? config : layer, depth + 1));
      }
      // Walked: from now on only the children's ids are kept.
      this.#childIds = grow(this.#childIds, this.#childIdsUsed + ids.length);
      this.#childIds.set(ids, this.#childIdsUsed);
      expansion.firstId = this.#childIdsUsed;
      expansion.ids = ids.length;
      this.#childIdsUsed += ids.length;
      expansion.children = WALKED;
    } else {
      for (const [i, child] of children.entries()) {
        this.#readAhead(children, i, origin);
        await this.#visit(child, { image: origin.image, role: roleOf(child) }, depth + 1);
      }
    }
    return id;
  }

  /** A manifest's or index's children, from the document read the first time it is asked. */
  async #expand(desc: Descriptor, origin: BlobOrigin, id: number): Promise<Expansion> {
    let expansion = this.#expansion(desc, id);
    if (expansion === undefined) {
      const children = await this.#children(desc, origin);
      // Every field set here, so that the object keeps them all in itself.
      expansion = {
        mediaType: desc.mediaType,
        children,
        walked: false,
        next: undefined,
        firstId: 0,
        ids: 0,
      };
      const first = this.#expanded.get(id);
      if (first === undefined) this.#expanded.set(id, expansion);
      else [expansion.next, first.next] = [first.next, expansion];
    }
    return expansion;
  }

  /** The expansion of a manifest or index (whose digest has this id), if it was expanded. */
  #expansion(desc: Descriptor, id: number): Expansion | undefined {
    let expansion = this.#expanded.get(id);
    while (expansion !== undefined && expansion.mediaType !== desc.mediaType) {
      expansion = expansion.next;
    }
    return expansion;
  }

  /** containerd's `images.Children`, or the skip-missing handler wrapped around it. */
  async #children(desc: Descriptor, origin: BlobOrigin): Promise<Children> {
    const manifest = isManifestType(desc.mediaType);
    if (!manifest && !isIndexType(desc.mediaType)) return [];
    let bytes: Uint8Array;
    try {
      bytes = await this.#document(desc, origin);
    } catch (error) {
      if (manifest && this.#options.skipMissing && error instanceof NotFoundError) {
        this.#absent.set(desc.digest, { role: "manifest", digest: desc.digest });
        return "skip";
      }
      throw error;
    }
    const decoded = this.#parse(desc, origin, () => decodeChecked(bytes, desc.mediaType));
    if ("index" in decoded) return decoded.index.manifests;
    const { config, layers } = decoded.manifest;
    const children = [config, ...layers];
    if (this.#options.skipMissing) {
      for (const [i, child] of children.entries()) {
        const childOrigin = { image: origin.image, role: i === 0 ? "config" : "layer" };
        this.#validate(child, childOrigin);
        if (!(await this.#exists(child, childOrigin))) {
          this.#absent.set(desc.digest, { role: childOrigin.role, digest: child.digest });
          return [];
        }
      }
    }
    return children;
  }

  /** manifest.json in parts, one per entry: the text is their concatenation. */
  async *#dockerManifestParts(
    entries: Iterable<{ manifest: Descriptor; names: string[] }>,
  ): AsyncGenerator<string> {
    let first = true;
    for (const { manifest, names } of entries) {
      const entry = await this.#dockerManifestEntry(manifest, names);
      yield (first ? "[" : ",") + encodeDockerManifestEntry(entry);
      first = false;
    }
    yield "]";
  }

  /** One manifest.json entry, from the manifest's verified bytes. */
  async #dockerManifestEntry(
    desc: Descriptor,
    names: readonly string[],
  ): Promise<DockerManifestEntry> {
    const origin: BlobOrigin = { image: names[0] ?? desc.digest, role: "manifest" };
    // The manifest's children as the walk kept them; read again when it did not (skipMissing
    // left them out) or the entry is not a manifest (a platform may select an index in an
    // index, which decodeManifest then refuses, as containerd fails there too).
    const expansion = isManifestType(desc.mediaType)
      ? this.#expansion(desc, this.#table.find(desc.digest))
      : undefined;
    let config: string;
    let layers: string[];
    if (expansion?.ids) {
      const ids = this.#childIds.subarray(expansion.firstId, expansion.firstId + expansion.ids);
      config = this.#table.path(ids[0]);
      layers = Array.from(ids.subarray(1), (id) => this.#table.path(id));
    } else {
      const bytes = await this.#document(desc, origin);
      const manifest = this.#parse(desc, origin, () => decodeManifest(bytes));
      const path = (d: Descriptor, role: string) => {
        this.#validate(d, { image: origin.image, role });
        return blobPathOf(d.digest);
      };
      config = path(manifest.config, "config");
      layers = manifest.layers.map((layer) => path(layer, "layer"));
    }
    const repoTags: string[] = [];
    for (const name of names) {
      // containerd writes digest-only names too, but docker load rejects them ("invalid tag").
      if (isDigestOnlyReference(name)) continue;
      repoTags.push(familiarizeReference(name));
    }
    return {
      config,
      repoTags: repoTags.length > 0 ? repoTags : undefined,
      layers: layers.length > 0 ? layers : undefined,
    };
  }

  /** The export handler: a blob record (unless filtered out) and its algorithm's directory. */
  #addBlob(desc: Descriptor, origin: BlobOrigin, registerAlgorithm: boolean, id: number): void {
    // The digest was validated: its algorithm is what comes before the colon.
    if (registerAlgorithm) this.#algorithms.add(desc.digest.slice(0, desc.digest.indexOf(":")));
    if (this.#options.blobFilter && !this.#options.blobFilter(desc)) return;
    this.#table.add(id, desc, origin);
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

  /** Reads and verifies a JSON document, and keeps its bytes while the budget allows. */
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
    const budget = this.#options.documentCacheBytes ?? DOCUMENT_CACHE_BYTES;
    if (this.#documentBytes + bytes.length <= budget) {
      this.#documents.set(desc.digest, bytes);
      this.#documentBytes += bytes.length;
    }
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

  /** Looks up every blob that will be streamed from the provider. */
  async #statRecords(ids: Uint32Array): Promise<void> {
    for (const id of ids) {
      const descriptor = this.#table.descriptor(id);
      // A manifest or index was read whole, and verified, to be expanded.
      if (isManifestType(descriptor.mediaType) || isIndexType(descriptor.mediaType)) continue;
      const origin = this.#table.origin(id);
      // Requested blobs were looked up already; the others once each, and not remembered.
      const info = this.#infos.get(descriptor.digest) ??
        await withOrigin(this.#provider.stat(descriptor), descriptor, origin);
      if (info.size !== descriptor.size) throw sizeMismatch(descriptor, origin, info.size);
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

/** The size of each chunk a document made in parts is encoded into, 64 KiB. */
const PART_CHUNK = 64 * 1024;

/** Text made in parts, as strings. */
type Parts = Iterable<string> | AsyncIterable<string>;

/**
 * A file record whose body is text made in parts: measured now, in one pass that keeps nothing,
 * and made again when it is written. (Held as bytes from the plan to the end, index.json and
 * manifest.json took 20 MB at 20,000 images; making them twice costs about 1% of the export.)
 */
async function partsFile(name: string, parts: () => Parts): Promise<FileRecord> {
  let size = 0;
  for await (const part of parts()) size += utf8Length(part);
  return { kind: "file", name, mode: 0o644, size, body: () => encodeParts(parts()) };
}

/** The length of a string in UTF-8, as TextEncoder writes it (a lone surrogate as U+FFFD). */
export function utf8Length(text: string): number {
  let length = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      length += 1;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      // A pair: four bytes for two code units. A lone high surrogate: three bytes, as any other.
      if (next >= 0xdc00 && next <= 0xdfff) i++;
      length += 2;
    } else {
      length += 2;
    }
  }
  return length;
}

/**
 * UTF-8 of text made in parts, in one pass, in chunks of {@linkcode PART_CHUNK} bytes (the last
 * one shorter): neither the whole text nor all of its parts are held at once.
 */
async function* encodeParts(parts: Parts): AsyncGenerator<Uint8Array> {
  let chunk = new Uint8Array(PART_CHUNK);
  let at = 0;
  for await (let part of parts) {
    while (true) {
      const { read, written } = encoder.encodeInto(part, chunk.subarray(at));
      at += written;
      if (read === part.length) break;
      // The chunk is full (up to 3 bytes short, where a character did not fit): the next one.
      part = part.slice(read);
      yield chunk.subarray(0, at);
      chunk = new Uint8Array(PART_CHUNK);
      at = 0;
    }
  }
  if (at > 0) yield chunk.subarray(0, at);
}

/** `blobs/<algorithm>/<hex>` for a validated digest. */
function blobPathOf(digest: string): string {
  const colon = digest.indexOf(":");
  return `blobs/${digest.slice(0, colon)}/${digest.slice(colon + 1)}`;
}

/** Orders records by name; names are ASCII, where this is byte order. */
function byName(a: ArchiveRecord, b: ArchiveRecord): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** What a walked manifest keeps as its children: nothing but their ids. */
const WALKED: readonly Descriptor[] = Object.freeze([]);

/**
 * A plan's records: the archive's own files and directories, sorted, and its blobs in the blob
 * table, in path order; each blob's record is made when asked for. No blob's path equals a file's
 * or a directory's (`blobs/<algorithm>/<hex>` against `blobs/`, `blobs/<algorithm>/`, and names
 * outside `blobs/`).
 */
class PlanRecords implements RecordList {
  readonly #files: readonly ArchiveRecord[];
  readonly #blobs: Uint32Array;
  readonly #table: BlobTable;
  readonly #documents: ReadonlyMap<string, Uint8Array>;
  /** Where each file or directory goes: before the blob at this index of #blobs. */
  readonly #before: number[];

  constructor(
    files: readonly ArchiveRecord[],
    blobs: Uint32Array,
    table: BlobTable,
    documents: ReadonlyMap<string, Uint8Array>,
  ) {
    this.#files = files;
    this.#blobs = blobs;
    this.#table = table;
    this.#documents = documents;
    // Each file's place among the blobs, by binary search on their paths.
    this.#before = files.map((file) => {
      let low = 0;
      let high = blobs.length;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (table.path(blobs[middle]) < file.name) low = middle + 1;
        else high = middle;
      }
      return low;
    });
  }

  get length(): number {
    return this.#files.length + this.#blobs.length;
  }

  at(index: number): ArchiveRecord | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) return undefined;
    // File k sits at position #before[k] + k; count the files before this index.
    let files = 0;
    while (files < this.#files.length && this.#before[files] + files < index) files++;
    if (files < this.#files.length && this.#before[files] + files === index) {
      return this.#files[files];
    }
    return this.#blob(this.#blobs[index - files]);
  }

  #blob(id: number): BlobRecord {
    const descriptor = this.#table.descriptor(id);
    const record: BlobRecord = {
      kind: "blob",
      name: blobPathOf(descriptor.digest),
      mode: 0o444,
      descriptor,
      origin: this.#table.origin(id),
    };
    // The verified bytes, when the walk kept them and they are what the record says.
    const bytes = this.#documents.get(descriptor.digest);
    if (bytes !== undefined && bytes.length === descriptor.size) record.bytes = bytes;
    return record;
  }

  *[Symbol.iterator](): Iterator<ArchiveRecord> {
    let file = 0;
    let blob = 0;
    while (file < this.#files.length || blob < this.#blobs.length) {
      if (file < this.#files.length && this.#before[file] === blob) {
        yield this.#files[file++];
      } else {
        yield this.#blob(this.#blobs[blob++]);
      }
    }
  }
}

function file(name: string, mode: number, text: string): FileRecord {
  const bytes = encoder.encode(text);
  return {
    kind: "file",
    name,
    mode,
    size: bytes.length,
    body: async function* () {
      yield bytes;
    },
  };
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
