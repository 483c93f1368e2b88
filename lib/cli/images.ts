/**
 * Images in a store, as a command line deals with them: resolving what a user typed (a name, a
 * short name, `name@digest`, a bare digest) to a request, and summarizing each image for a
 * listing the way `ctr images ls` does (media type, digest, size, platforms).
 *
 * @module
 */
import {
  type ContentProvider,
  type Image,
  type ImageStore,
  MAX_DOCUMENT_SIZE,
  readVerified,
} from "../stores/content.ts";
import { isDigest } from "../oci/digest.ts";
import {
  checkDescriptor,
  decodeIndex,
  decodeManifest,
  type Descriptor,
  isObject,
} from "../oci/documents.ts";
import { InvalidArgumentError, InvalidDocumentError, NotFoundError } from "../oci/errors.ts";
import type { ManifestRequest } from "../export/options.ts";
import { isIndexType, isManifestType, OCI_INDEX, OCI_MANIFEST } from "../oci/media_types.ts";
import {
  byPreference,
  formatPlatform,
  normalizePlatform,
  type Platform,
  type PlatformMatcher,
} from "../oci/platforms.ts";
import { normalizeReference, parseNormalizedNamed } from "../oci/reference.ts";

const decoder = new TextDecoder();

/** A store that resolves names and provides blobs, such as a {@linkcode Layout}. */
export type Store = ContentProvider & ImageStore;

/**
 * Resolves what a user typed to an export request, in this order:
 * 1. a bare digest (`sha256:...`): that manifest or index, unnamed;
 * 2. a name the store has, exactly;
 * 3. `name@digest`: the blob with that digest, exported under the name as typed;
 * 4. the normalized form of a short name (`alpine` -> `docker.io/library/alpine:latest`).
 *
 * The media type of a digest is taken from the store's images when one has that target, or else
 * read from the (verified) blob itself.
 *
 * @throws {NotFoundError} when nothing matches.
 */
export async function resolveImage(store: Store, reference: string): Promise<ManifestRequest> {
  // A digest has a colon and no slash: most names are not even tried (a failed parse throws).
  if (reference.includes(":") && !reference.includes("/") && isDigest(reference)) {
    return { descriptor: await descriptorFor(store, reference, reference) };
  }
  const exact = await findImage(store, reference);
  if (exact !== undefined) return { descriptor: exact.target, names: [reference] };

  const at = reference.lastIndexOf("@");
  if (at > 0 && isDigest(reference.slice(at + 1))) {
    parseNormalizedNamed(reference); // the name must be one a user could load
    return {
      descriptor: await descriptorFor(store, reference.slice(at + 1), reference),
      names: [reference],
    };
  }
  let normalized: string | undefined;
  try {
    normalized = normalizeReference(reference);
  } catch {
    // not a valid reference: nothing more to try
  }
  if (normalized !== undefined && normalized !== reference) {
    const image = await findImage(store, normalized);
    if (image !== undefined) return { descriptor: image.target, names: [normalized] };
  }
  const images = await store.listImages();
  const byPrefix = matchDigestPrefix(images, reference);
  if (byPrefix !== undefined) return { descriptor: byPrefix };
  const similar = images.map((i) => i.name).filter((name) => {
    const last = lastPathPart(name);
    return last === reference || last.replace(/[:@].*$/, "") === reference;
  });
  const hint = similar.length === 0
    ? ""
    : `; did you mean ${similar.slice(0, 3).join(" or ")}${similar.length > 3 ? " or …" : ""}?`;
  throw new NotFoundError(`Image ${reference} not found in the store${hint}`, {
    image: reference,
  });
}

/** Docker's short image IDs: at least this many hex digits of a digest select an image. */
export const MIN_DIGEST_PREFIX = 12;

/**
 * The target of the one image whose digest starts with `reference` (`sha256:` optional, at
 * least {@linkcode MIN_DIGEST_PREFIX} hex digits), as docker selects images by a short ID.
 *
 * @throws {InvalidArgumentError} when several different targets match.
 */
function matchDigestPrefix(images: readonly Image[], reference: string): Descriptor | undefined {
  const match = /^(?:sha256:)?([0-9a-f]+)$/.exec(reference);
  if (match === null || match[1].length < MIN_DIGEST_PREFIX) return undefined;
  const prefix = `sha256:${match[1]}`;
  const targets = new Map<string, Image[]>();
  for (const image of images) {
    if (!image.target.digest.startsWith(prefix)) continue;
    targets.set(image.target.digest, [...targets.get(image.target.digest) ?? [], image]);
  }
  if (targets.size > 1) {
    const names = [...targets.values()].map((list) => list[0].name);
    throw new InvalidArgumentError(
      `Digest prefix ${reference} matches ${targets.size} images (${names.join(", ")}): ` +
        "give more digits",
    );
  }
  const [only] = targets.values();
  if (only === undefined) return undefined;
  const { mediaType, digest, size } = only[0].target;
  return { mediaType, digest, size };
}

/** The last path part of a name: `partial:1` for `example.com/partial:1`. */
function lastPathPart(name: string): string {
  return name.slice(name.lastIndexOf("/") + 1);
}

async function findImage(store: Store, name: string): Promise<Image | undefined> {
  try {
    return await store.getImage(name);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

/** The descriptor of a blob known only by digest: from the store's images, else sniffed. */
async function descriptorFor(store: Store, digest: string, label: string): Promise<Descriptor> {
  const known = (await store.listImages()).find((i) => i.target.digest === digest);
  if (known !== undefined) {
    const { mediaType, size } = known.target;
    return { mediaType, digest, size };
  }
  const { size } = await store.stat({ mediaType: "", digest, size: 0 });
  if (size > MAX_DOCUMENT_SIZE) {
    throw new InvalidArgumentError(
      `${label} is ${size} bytes: too large to be a manifest or index`,
    );
  }
  const bytes = await readVerified(store, { mediaType: "", digest, size }, { image: label });
  let fields: Record<string, unknown>;
  try {
    fields = JSON.parse(decoder.decode(bytes));
  } catch {
    throw new InvalidArgumentError(`${label} is not a manifest or index (not JSON)`);
  }
  let mediaType = typeof fields?.mediaType === "string" ? fields.mediaType : "";
  if (mediaType === "") {
    // OCI documents may leave mediaType out; tell them apart by their fields. (An image config
    // has a "config" object too, but no layers.)
    if (Array.isArray(fields?.manifests)) mediaType = OCI_INDEX;
    else if (isObject(fields?.config) && Array.isArray(fields?.layers)) mediaType = OCI_MANIFEST;
  }
  if (!isManifestType(mediaType) && !isIndexType(mediaType)) {
    throw new InvalidArgumentError(
      `${label} is not a manifest or index (media type ${JSON.stringify(mediaType)})`,
    );
  }
  return checkDescriptor({ mediaType, digest, size });
}

/** One line of an image listing. */
export interface ImageSummary {
  /** The image's name. */
  name: string;
  /** The target's media type. */
  mediaType: string;
  /** The target's digest. */
  digest: string;
  /**
   * Bytes of content for the host platform (the target, the best-matching manifest, its config
   * and layers), as `ctr images ls` counts them; `undefined` when content is missing.
   */
  size?: number;
  /** The platforms the image is for, formatted and sorted; empty when unknown. */
  platforms: string[];
}

/** Summarizes every image of a store, as `ctr images ls` lists them. */
export async function listImageSummaries(
  store: Store,
  host: PlatformMatcher,
): Promise<ImageSummary[]> {
  // Several names may share a target: each target is summarized once. Only the summaries are
  // kept, not the documents, so memory grows with the images and not with their documents.
  const summarized = new Map<string, Promise<Pick<ImageSummary, "size" | "platforms">>>();
  const summaries: ImageSummary[] = [];
  for (const image of await store.listImages()) {
    const { target } = image;
    const key = `${target.mediaType}\0${target.digest}\0${target.size}`;
    let summary = summarized.get(key);
    if (summary === undefined) {
      summary = summarize(store, target, host);
      summarized.set(key, summary);
    }
    const { size, platforms } = await summary;
    summaries.push({
      name: image.name,
      mediaType: target.mediaType,
      digest: target.digest,
      size,
      platforms: [...platforms],
    });
  }
  return summaries;
}

/** The size and platforms of one target; a manifest's document is read and decoded once. */
async function summarize(
  store: Store,
  target: Descriptor,
  host: PlatformMatcher,
): Promise<Pick<ImageSummary, "size" | "platforms">> {
  if (!isManifestType(target.mediaType)) {
    // An index: its documents, shared between the walks for size and platforms, read once.
    const documents = new Map<string, Promise<Uint8Array>>();
    const read: ReadDocument = (desc) => {
      const key = `${desc.digest}\0${desc.size}`;
      let bytes = documents.get(key);
      if (bytes === undefined) {
        bytes = readVerified(store, desc);
        bytes.catch(() => {}); // each use handles the failure
        documents.set(key, bytes);
      }
      return bytes;
    };
    return {
      size: await imageSize(read, target, host).catch(() => undefined),
      platforms: await imagePlatforms(read, target).catch(() => []),
    };
  }
  const read: ReadDocument = (desc) => readVerified(store, desc);
  // A platform on the target itself is the image's platform; no document needs reading for it.
  const given = target.platform === undefined ? undefined : await imagePlatforms(read, target);
  let manifest;
  try {
    manifest = decodeManifest(await read(target));
  } catch {
    return { size: undefined, platforms: given ?? [] };
  }
  let size = target.size;
  for (const d of [manifest.config, ...manifest.layers]) size += d.size;
  const platforms = given ??
    await configPlatform(read, manifest.config).then((p) => [p], () => []);
  return { size, platforms };
}

/** Reads a document's verified bytes. */
type ReadDocument = (desc: Descriptor) => Promise<Uint8Array>;

/** Content size for one platform: containerd's `Image.Size` with `LimitManifests(..., 1)`. */
async function imageSize(
  read: ReadDocument,
  target: Descriptor,
  matcher: PlatformMatcher,
  depth = 0,
): Promise<number> {
  if (depth > 8) throw new InvalidDocumentError("Image nests too deep");
  let size = target.size;
  if (isManifestType(target.mediaType)) {
    const manifest = decodeManifest(await read(target));
    for (const d of [manifest.config, ...manifest.layers]) size += d.size;
  } else if (isIndexType(target.mediaType)) {
    const children = decodeIndex(await read(target)).manifests
      .filter((m) => m.platform === undefined || matcher.match(m.platform))
      .sort(byPreference(matcher));
    if (children.length > 0) size += await imageSize(read, children[0], matcher, depth + 1);
  }
  return size;
}

/** containerd's `images.Platforms`: from index entries, or from a manifest's config. */
async function imagePlatforms(read: ReadDocument, target: Descriptor): Promise<string[]> {
  const found = new Set<string>();
  const visit = async (desc: Descriptor, depth: number): Promise<void> => {
    if (depth > 8) return;
    if (desc.platform !== undefined) {
      if (desc.platform.os !== "unknown" && desc.platform.architecture !== "unknown") {
        found.add(formatPlatform(desc.platform));
      }
      return;
    }
    if (isIndexType(desc.mediaType)) {
      for (const child of decodeIndex(await read(desc)).manifests) {
        await visit(child, depth + 1);
      }
    } else if (isManifestType(desc.mediaType)) {
      const { config } = decodeManifest(await read(desc));
      found.add(await configPlatform(read, config));
    }
  };
  await visit(target, 0);
  return [...found].sort();
}

/** The platform an image config names, formatted. */
async function configPlatform(read: ReadDocument, config: Descriptor): Promise<string> {
  const image = JSON.parse(decoder.decode(await read(config)));
  const platform: Platform = {
    os: String(image?.os ?? ""),
    architecture: String(image?.architecture ?? ""),
  };
  if (typeof image?.variant === "string" && image.variant) platform.variant = image.variant;
  return formatPlatform(normalizePlatform(platform));
}
