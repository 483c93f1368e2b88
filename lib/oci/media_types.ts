/**
 * Media types of the OCI image spec and Docker's schema 2, and the predicates containerd's
 * `images` package uses to classify them.
 *
 * @module
 */

/** OCI image index. */
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
/** OCI image manifest. */
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
/** OCI image config. */
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
/** OCI layer, uncompressed. */
export const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar";
/** OCI layer, gzip. */
export const OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
/** OCI non-distributable layer, gzip (deprecated by the spec, still met in the wild). */
export const OCI_LAYER_NONDISTRIBUTABLE_GZIP =
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
/** Docker manifest list. */
export const DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
/** Docker schema 2 manifest. */
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
/** Docker image config. */
export const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
/** Docker layer, gzip. */
export const DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/** Docker foreign layer, gzip (Windows base layers). */
export const DOCKER_FOREIGN_LAYER_GZIP =
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

/** Whether a media type is an image manifest (OCI or Docker schema 2): containerd's `IsManifestType`. */
export function isManifestType(mediaType: string): boolean {
  return mediaType === OCI_MANIFEST || mediaType === DOCKER_MANIFEST;
}

/** Whether a media type is an index (OCI index or Docker manifest list): containerd's `IsIndexType`. */
export function isIndexType(mediaType: string): boolean {
  return mediaType === OCI_INDEX || mediaType === DOCKER_MANIFEST_LIST;
}

/** Whether a media type is a non-distributable (foreign) layer: containerd's `IsNonDistributable`. */
export function isNonDistributable(mediaType: string): boolean {
  return mediaType.startsWith("application/vnd.oci.image.layer.nondistributable.") ||
    mediaType.startsWith("application/vnd.docker.image.rootfs.foreign.");
}
