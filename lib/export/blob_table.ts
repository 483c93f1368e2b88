/**
 * The blobs of an export, held compactly: what grows with the number of blobs is kept in typed
 * arrays, not in objects and strings. A blob is an id for its digest ({@linkcode DigestIds}); the
 * archive's record of it is its size, an index into the media types seen, and the image and role
 * it was first reached from. Descriptors and origins are made again when asked for. At 100,000
 * blobs this holds about 6 MB in a few dozen buffers, where a descriptor and a record object per
 * blob held about 30 MB in 400,000 objects that the garbage collector walked again and again.
 *
 * @module
 */
import type { BlobOrigin } from "../stores/content.ts";
import { DigestIds, grow } from "../oci/digest_ids.ts";
import type { Descriptor } from "../oci/documents.ts";

/** The roles a blob may have to an image; an origin with any other is kept whole. */
const ROLES = ["", "manifest", "index", "config", "layer", "blob"];

/** Media types a table interns before it keeps descriptors of others whole. */
const MAX_MEDIA_TYPES = 1024;

/**
 * The blobs an export walks into, by id: every digest it sees, and for those that go into the
 * archive, what their record needs. Digests must be valid before they are given to it.
 */
export class BlobTable extends DigestIds {
  /** Per id, for blobs in the archive: 1 if it is, then its size, media type, image and role. */
  #inArchive = new Uint8Array(512);
  #size = new Float64Array(512);
  #mediaType = new Uint16Array(512);
  #image = new Uint32Array(512);
  #role = new Uint8Array(512);
  #archived = 0;
  readonly #mediaTypes: string[] = [];
  readonly #mediaTypeIndex = new Map<string, number>();
  /** The images blobs were reached from; index 0 is none. */
  readonly #images: (string | undefined)[] = [undefined];
  readonly #imageIndex = new Map<string, number>();
  /** Descriptors and origins that the arrays cannot hold, by id. */
  readonly #wholeDescriptors = new Map<number, Descriptor>();
  readonly #wholeOrigins = new Map<number, BlobOrigin>();

  /** How many blobs are in the archive. */
  get archived(): number {
    return this.#archived;
  }

  /**
   * Puts a blob (`id`, interned from the descriptor's digest) in the archive with the descriptor
   * and origin it was reached by, unless it is there already: the first one stays.
   */
  add(id: number, descriptor: Descriptor, origin: BlobOrigin): void {
    this.#inArchive = grow(this.#inArchive, id + 1);
    if (this.#inArchive[id] === 1) return;
    this.#inArchive[id] = 1;
    this.#archived++;
    this.#size = grow(this.#size, id + 1);
    this.#mediaType = grow(this.#mediaType, id + 1);
    this.#image = grow(this.#image, id + 1);
    this.#role = grow(this.#role, id + 1);
    this.#size[id] = descriptor.size;
    const mediaType = this.#internMediaType(descriptor.mediaType);
    if (mediaType !== undefined && isPlain(descriptor)) this.#mediaType[id] = mediaType;
    else this.#wholeDescriptors.set(id, descriptor);
    const role = ROLES.indexOf(origin.role ?? "");
    if (role < 0 || !isPlainOrigin(origin)) {
      this.#wholeOrigins.set(id, origin);
    } else {
      this.#role[id] = role;
      this.#image[id] = this.#internImage(origin.image);
    }
  }

  /** Whether an id's blob is in the archive. */
  inArchive(id: number): boolean {
    return id < this.#inArchive.length && this.#inArchive[id] === 1;
  }

  /** The descriptor an archived blob was first reached by (made again, or kept whole). */
  descriptor(id: number): Descriptor {
    const whole = this.#wholeDescriptors.get(id);
    if (whole !== undefined) return whole;
    return {
      mediaType: this.#mediaTypes[this.#mediaType[id]],
      digest: this.digest(id),
      size: this.#size[id],
    };
  }

  /** Where an archived blob was first reached from. */
  origin(id: number): BlobOrigin {
    const whole = this.#wholeOrigins.get(id);
    if (whole !== undefined) return whole;
    const origin: BlobOrigin = {};
    const image = this.#images[this.#image[id]];
    if (image !== undefined) origin.image = image;
    if (this.#role[id] !== 0) origin.role = ROLES[this.#role[id]];
    return origin;
  }

  /** The ids of the archived blobs, in the order of their paths in the archive. */
  archiveOrder(): Uint32Array {
    const ids = new Uint32Array(this.#archived);
    let n = 0;
    for (let id = 0; id < this.size; id++) if (this.inArchive(id)) ids[n++] = id;
    return this.sort(ids);
  }

  #internMediaType(mediaType: string): number | undefined {
    let index = this.#mediaTypeIndex.get(mediaType);
    if (index === undefined && this.#mediaTypes.length < MAX_MEDIA_TYPES) {
      index = this.#mediaTypes.push(mediaType) - 1;
      this.#mediaTypeIndex.set(mediaType, index);
    }
    return index;
  }

  #internImage(image: string | undefined): number {
    if (image === undefined) return 0;
    let index = this.#imageIndex.get(image);
    if (index === undefined) {
      index = this.#images.push(image) - 1;
      this.#imageIndex.set(image, index);
    }
    return index;
  }
}

/** Whether a descriptor has nothing but a media type, a digest and a size. */
function isPlain(descriptor: Descriptor): boolean {
  for (const key in descriptor) {
    if (key === "mediaType" || key === "digest" || key === "size") continue;
    if ((descriptor as unknown as Record<string, unknown>)[key] !== undefined) return false;
  }
  return true;
}

/** Whether an origin has nothing but an image and a role. */
function isPlainOrigin(origin: BlobOrigin): boolean {
  for (const key in origin) if (key !== "image" && key !== "role") return false;
  return true;
}
