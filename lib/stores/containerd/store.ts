/**
 * A containerd root as a store, with no daemon: image names, targets and content labels from its
 * metadata database (`io.containerd.metadata.v1.bolt/meta.db`, read read-only with the bbolt
 * reader of `bbolt.ts`), blobs from its content directory (`io.containerd.content.v1.content`,
 * through a {@linkcode Layout}, so verified as always).
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import type { Descriptor } from "../../oci/documents.ts";
import { parseDigest } from "../../oci/digest.ts";
import {
  InvalidArgumentError,
  InvalidDocumentError,
  NotFoundError,
  OcipackError,
} from "../../oci/errors.ts";
import type { BlobInfo, ContentProvider, Image, ImageStore, OpenedBlob } from "../content.ts";
import { type Layout, openLayout } from "../layout.ts";
import { readBolt } from "./bbolt.ts";
import { type ContainerdNamespace, readNamespace, readNamespaces } from "./metadata.ts";

/** Where a containerd root keeps its metadata database. */
export const CONTAINERD_METADATA_DB = "io.containerd.metadata.v1.bolt/meta.db";
/** Where a containerd root keeps its content (blobs). */
export const CONTAINERD_CONTENT_DIR = "io.containerd.content.v1.content";
/** The namespace `ctr` uses when none is given. */
export const CONTAINERD_DEFAULT_NAMESPACE = "default";

export type { ContainerdNamespace };

/**
 * Options of {@linkcode openContainerd}.
 *
 * @example Open Kubernetes' images on a k3s or RKE2 node
 * ```ts
 * import { type ContainerdOptions, openContainerd } from "@ocipack/ocipack";
 *
 * const root = "/var/lib/rancher/k3s/agent/containerd"; // RKE2: /var/lib/rancher/rke2/agent/containerd
 * const options: ContainerdOptions = { namespace: "k8s.io" };
 * if (await Deno.stat(`${root}/io.containerd.metadata.v1.bolt`).catch(() => null)) {
 *   const store = await openContainerd(root, options);
 *   console.log((await store.listImages()).length);
 * }
 * ```
 */
export interface ContainerdOptions {
  /**
   * The namespace whose images to read, as `ctr -n` takes it (default `default`; Kubernetes
   * uses `k8s.io`, Docker's containerd image store `moby`).
   */
  namespace?: string;
}

/**
 * The images of one namespace of a containerd root, read from a snapshot of its metadata taken
 * when it was opened, and the blobs of its content directory. Only content the namespace holds is
 * served (a blob another namespace pulled is not found here, as through containerd); each blob's
 * `stat` carries its content labels, so an export copies the `containerd.io/distribution.source.*`
 * labels into `index.json` as containerd 2.x's `ctr images export` does.
 *
 * @example List the images of a containerd root, and what an export copies from its labels
 * ```ts
 * import assert from "node:assert/strict";
 * import { openContainerd } from "@ocipack/ocipack";
 *
 * // testdata/containerd is a containerd root written by containerd (or /var/lib/containerd).
 * const store = await openContainerd("testdata/containerd", { namespace: "default" });
 * const names = (await store.listImages()).map((image) => image.name);
 * assert.deepEqual(names, ["docker.io/library/hello:docker", "docker.io/library/hello:oci"]);
 *
 * const { target } = await store.getImage("docker.io/library/hello:oci");
 * const { labels } = await store.stat(target);
 * assert.equal(labels?.["containerd.io/distribution.source.registry.example"], "library/hello");
 * ```
 */
export class ContainerdStore implements ContentProvider, ImageStore {
  /** The containerd root directory. */
  readonly root: string;
  /** The namespace. */
  readonly namespace: string;
  readonly #content: Layout;
  readonly #images: ReadonlyMap<string, Image>;
  readonly #blobs: ReadonlyMap<string, Readonly<Record<string, string>>>;

  /**
   * Internal: use {@linkcode openContainerd}.
   *
   * @ignore
   */
  constructor(
    root: string,
    namespace: string,
    content: Layout,
    images: readonly Image[],
    blobs: ReadonlyMap<string, Readonly<Record<string, string>>>,
  ) {
    this.root = root;
    this.namespace = namespace;
    this.#content = content;
    this.#images = new Map(images.map((image) => [image.name, image]));
    this.#blobs = blobs;
  }

  /** Lists the namespace's images, in name order (as `ctr images ls`). */
  listImages(): Promise<Image[]> {
    return Promise.resolve([...this.#images.values()].map(cloneImage));
  }

  /**
   * Looks up an image by its exact name.
   *
   * @throws {NotFoundError} when the namespace has no image of that name.
   */
  getImage(name: string): Promise<Image> {
    const image = this.#images.get(name);
    if (image === undefined) {
      return Promise.reject(
        new NotFoundError(`Image ${name} not found in namespace ${this.namespace} of ${this.root}`),
      );
    }
    return Promise.resolve(cloneImage(image));
  }

  /**
   * Reports a blob's stored size and its content labels.
   *
   * @throws {NotFoundError} when the namespace holds no such content, or its file is absent.
   */
  async stat(descriptor: Descriptor): Promise<BlobInfo> {
    const labels = this.#labels(descriptor);
    const { size } = await this.#content.stat(descriptor);
    return Object.keys(labels).length > 0 ? { size, labels: { ...labels } } : { size };
  }

  /**
   * Opens a blob of the namespace's content.
   *
   * @throws {NotFoundError} when the namespace holds no such content, or its file is absent.
   */
  async open(descriptor: Descriptor): Promise<OpenedBlob> {
    this.#labels(descriptor);
    return await this.#content.open(descriptor);
  }

  #labels(descriptor: Descriptor): Readonly<Record<string, string>> {
    parseDigest(descriptor.digest); // an invalid digest is an InvalidDigestError, as for a Layout
    const labels = this.#blobs.get(descriptor.digest);
    if (labels === undefined) {
      throw new NotFoundError(
        `Blob ${descriptor.digest} not found in namespace ${this.namespace} of ${this.root}`,
        { digest: descriptor.digest },
      );
    }
    return labels;
  }
}

/**
 * Opens one namespace of a containerd root (`/var/lib/containerd`, or any copy of one: the
 * directory holding `io.containerd.metadata.v1.bolt` and `io.containerd.content.v1.content`),
 * whether containerd runs or not. The metadata database is read once, read-only and without a
 * lock; a file changed by a running containerd while it is read is read again.
 *
 * @throws {NotFoundError} when `root` has no metadata database, or no such namespace (the
 * message lists those it has).
 * @throws {InvalidDocumentError} when the metadata database is corrupt or truncated.
 *
 * @example Export an image from a containerd root, daemon or no daemon
 * ```ts
 * import assert from "node:assert/strict";
 * import { exportArchive, openContainerd } from "@ocipack/ocipack";
 *
 * // Docker's containerd image store: /var/lib/containerd, namespace moby.
 * const store = await openContainerd("testdata/containerd", { namespace: "moby" });
 * const archive = exportArchive(store, { images: ["docker.io/library/hello:oci"] });
 * const bytes = await new Response(archive).bytes();
 * assert.ok(bytes.length > 0);
 * ```
 *
 * @example Ask for a namespace that is not there
 * ```ts
 * import assert from "node:assert/strict";
 * import { NotFoundError, openContainerd } from "@ocipack/ocipack";
 *
 * await assert.rejects(
 *   openContainerd("testdata/containerd", { namespace: "k8s.io" }),
 *   (error) => error instanceof NotFoundError && /moby \(1 image\)/.test(error.message),
 * );
 * ```
 */
export async function openContainerd(
  root: string | URL,
  options: ContainerdOptions = {},
): Promise<ContainerdStore> {
  const dir = rootPath(root);
  const namespace = options.namespace ?? CONTAINERD_DEFAULT_NAMESPACE;
  if (typeof namespace !== "string" || namespace === "") {
    throw new InvalidArgumentError("Namespace must be a non-empty string");
  }
  const { metadata, namespaces } = await readMetadata(dir, (db) => ({
    metadata: readNamespace(db, namespace),
    namespaces: readNamespaces(db),
  }));
  if (metadata === undefined) {
    const known = namespaces.map((n) => `${n.name} (${plural(n.images, "image")})`).join(", ");
    throw new NotFoundError(
      `Namespace ${namespace} not found in ${dir}: ${
        known === "" ? "it has no namespaces" : `it has ${known}`
      }`,
    );
  }
  const content = await openLayout(`${dir}/${CONTAINERD_CONTENT_DIR}`);
  return new ContainerdStore(dir, namespace, content, metadata.images, metadata.blobs);
}

/**
 * Lists the namespaces of a containerd root with their image counts, in name order (as `ctr
 * namespaces ls`, plus the counts).
 *
 * @throws {NotFoundError} when `root` has no metadata database.
 * @throws {InvalidDocumentError} when the metadata database is corrupt or truncated.
 *
 * @example Find the namespaces that hold images
 * ```ts
 * import assert from "node:assert/strict";
 * import { listContainerdNamespaces } from "@ocipack/ocipack";
 *
 * // On a k3s node: /var/lib/rancher/k3s/agent/containerd, where images are in k8s.io.
 * const namespaces = await listContainerdNamespaces("testdata/containerd");
 * assert.deepEqual(namespaces, [{ name: "default", images: 2 }, { name: "moby", images: 1 }]);
 * ```
 */
export async function listContainerdNamespaces(
  root: string | URL,
): Promise<ContainerdNamespace[]> {
  return await readMetadata(rootPath(root), readNamespaces);
}

/**
 * Whether a directory is a containerd root: whether it holds `io.containerd.metadata.v1.bolt/meta.db`.
 *
 * @example Tell a containerd root from an OCI layout
 * ```ts
 * import assert from "node:assert/strict";
 * import { isContainerdRoot } from "@ocipack/ocipack";
 *
 * assert.equal(await isContainerdRoot("testdata/containerd"), true);
 * assert.equal(await isContainerdRoot("testdata/store"), false);
 * ```
 */
export async function isContainerdRoot(dir: string | URL): Promise<boolean> {
  try {
    return (await Deno.stat(`${rootPath(dir)}/${CONTAINERD_METADATA_DB}`)).isFile;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return false;
    }
    throw error;
  }
}

async function readMetadata<T>(
  dir: string,
  read: Parameters<typeof readBolt<T>>[1],
): Promise<T> {
  const path = `${dir}/${CONTAINERD_METADATA_DB}`;
  try {
    return await readBolt(path, read);
  } catch (error) {
    if (error instanceof OcipackError) throw error;
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      throw new NotFoundError(
        `${dir} is not a containerd root: it has no ${CONTAINERD_METADATA_DB}`,
        {
          cause: error,
        },
      );
    }
    if (error instanceof Error && error.name in Deno.errors) {
      throw new InvalidDocumentError(`Cannot read ${path}: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

function rootPath(root: string | URL): string {
  if (root instanceof URL) {
    if (root.protocol !== "file:") {
      throw new InvalidArgumentError(
        `A containerd root must be a directory path or a file: URL, not ${root}`,
      );
    }
    return trimSlashes(fileURLToPath(root));
  }
  if (typeof root !== "string" || root === "") {
    throw new InvalidArgumentError("A containerd root must be a non-empty directory path");
  }
  return trimSlashes(root);
}

function trimSlashes(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, "") : path;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** A copy a caller may change: image targets from meta.db have no fields but these. */
function cloneImage(image: Image): Image {
  const { annotations, ...target } = image.target;
  return {
    name: image.name,
    target: annotations === undefined ? target : { ...target, annotations: { ...annotations } },
  };
}
