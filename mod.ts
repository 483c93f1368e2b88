/**
 * ocipack streams container images out of a content store into an image archive that
 * `docker load`, `podman load`, `ctr images import` and `skopeo` accept: an OCI image layout with
 * Docker's `manifest.json`, byte-identical to what containerd 2.x's exporter (`ctr images export`)
 * writes for the same content and options.
 *
 * The archive comes back as a `ReadableStream<Uint8Array>`; blobs are read from the store as the
 * stream is read, and every blob's digest and size are verified on the way through.
 *
 * @example Export an image from an OCI layout directory to a file
 * ```ts
 * import { exportArchive, openLayout } from "@ocipack/ocipack";
 *
 * const dir = await Deno.makeTempDir();
 * try {
 *   const store = await openLayout("testdata/store");
 *   using file = await Deno.open(`${dir}/hello.tar`, { write: true, create: true });
 *   await exportArchive(store, { images: ["docker.io/library/hello:oci"] }).pipeTo(file.writable);
 * } finally {
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 *
 * @example Export an image straight from a registry (`ocipack export docker://...` on the CLI)
 * ```ts ignore
 * import { exportArchive, openRegistry } from "@ocipack/ocipack";
 *
 * await using registry = openRegistry({ plainHttp: ["127.0.0.1:5000"] });
 * using file = await Deno.open("app.tar", { write: true, create: true, truncate: true });
 * await exportArchive(registry, { images: ["127.0.0.1:5000/app:1"] }).pipeTo(file.writable);
 * ```
 *
 * @module
 */

export { exportArchive, type PreparedExport, prepareExport } from "./lib/export/exporter.ts";
export type { IncompleteImage } from "./lib/export/walk.ts";
export type {
  ExportOptions,
  ExportProgress,
  ManifestRequest,
  PlatformOption,
} from "./lib/export/options.ts";
export { Layout, MAX_STORE_INDEX_SIZE, openLayout } from "./lib/stores/layout.ts";
export { ArchiveStore, openArchive } from "./lib/stores/archive/store.ts";
export { importArchive, type ImportOptions, type ImportResult } from "./lib/import/importer.ts";
export { StoreWriteError } from "./lib/stores/layout_writer.ts";
export {
  type VerifiedImage,
  verifyArchive,
  type VerifyOptions,
  type VerifyResult,
} from "./lib/import/verify.ts";
export {
  type BlobInfo,
  type ContentProvider,
  type Image,
  type ImageStore,
  MAX_DOCUMENT_SIZE,
  type OpenedBlob,
} from "./lib/stores/content.ts";
export type { Descriptor } from "./lib/oci/documents.ts";
export {
  defaultStrict,
  formatPlatform,
  hostPlatform,
  only,
  ordered,
  parsePlatform,
  type Platform,
  type PlatformMatcher,
} from "./lib/oci/platforms.ts";
export {
  DigestMismatchError,
  type ErrorContext,
  InvalidArchiveError,
  InvalidArgumentError,
  InvalidDigestError,
  InvalidDocumentError,
  NotFoundError,
  OcipackError,
  SizeMismatchError,
} from "./lib/oci/errors.ts";
export {
  type ContainerdNamespace,
  type ContainerdOptions,
  ContainerdStore,
  isContainerdRoot,
  listContainerdNamespaces,
  openContainerd,
} from "./lib/stores/containerd/store.ts";
export { openRegistry, Registry, type RegistryOptions } from "./lib/stores/registry/registry.ts";
export type { CredentialOption, RegistryCredentials } from "./lib/stores/registry/credentials.ts";
export type { RetryPolicy } from "./lib/stores/registry/http.ts";
export { RegistryError } from "./lib/stores/registry/errors.ts";
