/**
 * containerd's metadata schema (`core/metadata` in containerd, as versions 1.x and 2.x write it),
 * read from a {@linkcode BoltSnapshot} of `meta.db`:
 *
 * ```
 * v1/<namespace>/images/<name>/target/{digest, mediatype, size (a zig-zag varint)}
 * v1/<namespace>/images/<name>/{labels, annotations}/<key> = <value>   (annotations: the target's)
 * v1/<namespace>/content/blob/<digest>/labels/<key> = <value>
 * ```
 *
 * Keys are in byte order, so images list in name order, as `ctr images ls` shows them.
 *
 * @module
 */
import type { Descriptor } from "../../oci/documents.ts";
import { parseDigest } from "../../oci/digest.ts";
import type { Image } from "../content.ts";
import type { BoltBucket, BoltSnapshot } from "./bbolt.ts";

/**
 * A namespace of a containerd root and how many images it names.
 *
 * @example Pick the namespace with the most images
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ContainerdNamespace, listContainerdNamespaces } from "@ocipack/ocipack";
 *
 * const namespaces: ContainerdNamespace[] = await listContainerdNamespaces("testdata/containerd");
 * const busiest = namespaces.reduce((a, b) => (b.images > a.images ? b : a));
 * assert.equal(busiest.name, "default");
 * ```
 */
export interface ContainerdNamespace {
  /** The namespace, as `ctr -n` takes it: `default`, `k8s.io`, `moby`... */
  name: string;
  /** The number of named images in it. */
  images: number;
}

/** What a store needs of one namespace: its images and the labels of its content. */
export interface NamespaceMetadata {
  /** The images, in name order. */
  images: Image[];
  /** The content the namespace holds: digest -> the blob's labels. */
  blobs: Map<string, Record<string, string>>;
}

const decoder = new TextDecoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/** The namespaces of a snapshot, in name order, with their image counts. */
export function readNamespaces(db: BoltSnapshot): ContainerdNamespace[] {
  const v1 = db.root().bucket("v1");
  if (v1 === undefined) return [];
  const out: ContainerdNamespace[] = [];
  for (const entry of v1.entries()) {
    if (entry.bucket === undefined) continue; // "version" and other plain values
    let name: string;
    try {
      name = strictDecoder.decode(entry.key);
    } catch {
      // containerd's namespaces are identifiers (letters, digits, `.`, `_`, `-`): not this.
      throw db.corrupt(`a namespace name is not UTF-8 (bytes ${[...entry.key].join(",")})`);
    }
    out.push({
      name,
      images: entry.bucket.bucket("images")?.count() ?? 0,
    });
  }
  return out;
}

/**
 * The images and content labels of a namespace; undefined when there is no such namespace.
 *
 * @throws {InvalidDocumentError} when an image's target is not a valid descriptor.
 */
export function readNamespace(db: BoltSnapshot, namespace: string): NamespaceMetadata | undefined {
  const bucket = db.root().bucket("v1")?.bucket(namespace);
  if (bucket === undefined) return undefined;
  const images: Image[] = [];
  for (const entry of bucket.bucket("images")?.entries() ?? []) {
    if (entry.bucket === undefined) continue;
    const name = decoder.decode(entry.key);
    images.push({ name, target: readTarget(db, entry.bucket, name, namespace) });
  }
  const blobs = new Map<string, Record<string, string>>();
  for (const entry of bucket.bucket("content")?.bucket("blob")?.entries() ?? []) {
    if (entry.bucket === undefined) continue;
    blobs.set(decoder.decode(entry.key), readStrings(entry.bucket.bucket("labels")));
  }
  return { images, blobs };
}

function readTarget(
  db: BoltSnapshot,
  image: BoltBucket,
  name: string,
  namespace: string,
): Descriptor {
  const fail = (why: string) =>
    db.corrupt(`image ${JSON.stringify(name)} of namespace ${namespace} ${why}`);
  const target = image.bucket("target");
  if (target === undefined) throw fail("has no target");
  const digest = decoder.decode(target.get("digest") ?? new Uint8Array());
  const mediaType = decoder.decode(target.get("mediatype") ?? new Uint8Array());
  const sizeBytes = target.get("size");
  try {
    parseDigest(digest);
  } catch (error) {
    throw fail(`has an invalid target digest: ${(error as Error).message}`);
  }
  if (mediaType === "") throw fail("has no target media type");
  const size = sizeBytes === undefined ? undefined : readVarint(sizeBytes);
  if (size === undefined || size <= 0 || !Number.isSafeInteger(size)) {
    throw fail("has an invalid target size");
  }
  const descriptor: Descriptor = { mediaType, digest, size };
  const annotations = readStrings(image.bucket("annotations"));
  if (Object.keys(annotations).length > 0) descriptor.annotations = annotations;
  return descriptor;
}

/** A bucket of string values (labels, annotations) as an object; nested buckets are skipped. */
function readStrings(bucket: BoltBucket | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of bucket?.entries() ?? []) {
    if (entry.value !== undefined) out[decoder.decode(entry.key)] = decoder.decode(entry.value);
  }
  return out;
}

/**
 * Decodes a signed varint as Go's `binary.Varint` writes it (zig-zag, 7 bits a byte, at most 10
 * bytes) from the start of `bytes` (what follows is ignored, as containerd ignores it); undefined
 * when it is malformed or is not a safe integer.
 */
export function readVarint(bytes: Uint8Array): number | undefined {
  let value = 0n;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (i === 9 && byte > 1) return undefined; // overflows 64 bits
    value |= BigInt(byte & 0x7f) << BigInt(7 * i);
    if (byte < 0x80) {
      const signed = (value & 1n) === 0n ? value >> 1n : -((value >> 1n) + 1n);
      const n = Number(signed);
      return Number.isSafeInteger(n) ? n : undefined;
    }
    if (i === 9) return undefined;
  }
  return undefined;
}
