// Tests for lib/oci/media_types.ts. The expectations follow containerd's core/images/mediatypes.go:
// IsManifestType and IsIndexType are exact string switches (so any case change, parameter,
// whitespace or suffix is a miss, and schema 1 is not a manifest), while IsNonDistributable is a
// pair of prefix checks (so any suffix after the prefix matches, but the prefix is exact).
import assert from "node:assert/strict";
import {
  DOCKER_CONFIG,
  DOCKER_FOREIGN_LAYER_GZIP,
  DOCKER_LAYER_GZIP,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  isIndexType,
  isManifestType,
  isNonDistributable,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER,
  OCI_LAYER_GZIP,
  OCI_LAYER_NONDISTRIBUTABLE_GZIP,
  OCI_MANIFEST,
} from "../lib/oci/media_types.ts";

Deno.test("the constants spell the media types of the specs", () => {
  assert.deepEqual(
    [
      OCI_INDEX,
      OCI_MANIFEST,
      OCI_CONFIG,
      OCI_LAYER,
      OCI_LAYER_GZIP,
      OCI_LAYER_NONDISTRIBUTABLE_GZIP,
      DOCKER_MANIFEST_LIST,
      DOCKER_MANIFEST,
      DOCKER_CONFIG,
      DOCKER_LAYER_GZIP,
      DOCKER_FOREIGN_LAYER_GZIP,
    ],
    [
      "application/vnd.oci.image.index.v1+json",
      "application/vnd.oci.image.manifest.v1+json",
      "application/vnd.oci.image.config.v1+json",
      "application/vnd.oci.image.layer.v1.tar",
      "application/vnd.oci.image.layer.v1.tar+gzip",
      "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
      "application/vnd.docker.distribution.manifest.list.v2+json",
      "application/vnd.docker.distribution.manifest.v2+json",
      "application/vnd.docker.container.image.v1+json",
      "application/vnd.docker.image.rootfs.diff.tar.gzip",
      "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    ],
  );
});

/** [media type, isManifestType, isIndexType]. */
const DOCUMENT_CASES: [string, boolean, boolean][] = [
  [OCI_MANIFEST, true, false],
  [DOCKER_MANIFEST, true, false],
  [OCI_INDEX, false, true],
  [DOCKER_MANIFEST_LIST, false, true],
  // Other kinds of blob.
  [OCI_CONFIG, false, false],
  [DOCKER_CONFIG, false, false],
  [OCI_LAYER, false, false],
  [DOCKER_LAYER_GZIP, false, false],
  ["application/vnd.in-toto+json", false, false],
  ["application/vnd.oci.empty.v1+json", false, false],
  ["application/octet-stream", false, false],
  ["", false, false],
  // Docker schema 1 is not supported by containerd's predicates.
  ["application/vnd.docker.distribution.manifest.v1+json", false, false],
  ["application/vnd.docker.distribution.manifest.v1+prettyjws", false, false],
  // Near misses: other versions, missing or changed suffixes.
  ["application/vnd.oci.image.manifest.v2+json", false, false],
  ["application/vnd.oci.image.manifest.v1", false, false],
  ["application/vnd.oci.image.manifest.v1+json+gzip", false, false],
  ["application/vnd.oci.image.manifest.v1+jsonx", false, false],
  ["application/vnd.oci.image.index.v1", false, false],
  ["application/vnd.oci.image.index.v1+json+zstd", false, false],
  ["application/vnd.docker.distribution.manifest.list.v2", false, false],
  ["application/vnd.docker.distribution.manifest.list.v1+json", false, false],
  ["application/vnd.docker.distribution.manifest.v2+json+gzip", false, false],
  ["vnd.oci.image.manifest.v1+json", false, false],
  ["text/vnd.oci.image.manifest.v1+json", false, false],
  // Case: media types are compared byte for byte.
  ["Application/vnd.oci.image.manifest.v1+json", false, false],
  ["application/vnd.oci.image.manifest.v1+JSON", false, false],
  ["APPLICATION/VND.OCI.IMAGE.INDEX.V1+JSON", false, false],
  ["application/vnd.docker.distribution.manifest.list.V2+json", false, false],
  // No parameters, whitespace or control characters are stripped.
  [OCI_MANIFEST + "; charset=utf-8", false, false],
  [OCI_INDEX + ";", false, false],
  [" " + OCI_MANIFEST, false, false],
  [OCI_MANIFEST + " ", false, false],
  [OCI_INDEX + "\n", false, false],
  [OCI_MANIFEST + "\0", false, false],
];

Deno.test("isManifestType and isIndexType match exactly, as containerd's switches do", () => {
  for (const [mediaType, manifest, index] of DOCUMENT_CASES) {
    const label = JSON.stringify(mediaType);
    assert.equal(isManifestType(mediaType), manifest, `isManifestType(${label})`);
    assert.equal(isIndexType(mediaType), index, `isIndexType(${label})`);
  }
});

/** [media type, isNonDistributable]. */
const NONDISTRIBUTABLE_CASES: [string, boolean][] = [
  [OCI_LAYER_NONDISTRIBUTABLE_GZIP, true],
  [DOCKER_FOREIGN_LAYER_GZIP, true],
  ["application/vnd.oci.image.layer.nondistributable.v1.tar", true],
  ["application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", true],
  ["application/vnd.docker.image.rootfs.foreign.diff.tar", true],
  // A prefix check: anything after the prefix, even nothing, matches.
  ["application/vnd.oci.image.layer.nondistributable.", true],
  ["application/vnd.docker.image.rootfs.foreign.", true],
  ["application/vnd.oci.image.layer.nondistributable.v2.whatever", true],
  ["application/vnd.docker.image.rootfs.foreign.diff.tar.gzip+encrypted", true],
  // Distributable layers and other blobs.
  [OCI_LAYER, false],
  [OCI_LAYER_GZIP, false],
  [DOCKER_LAYER_GZIP, false],
  ["application/vnd.docker.image.rootfs.diff.tar", false],
  [OCI_MANIFEST, false],
  [DOCKER_MANIFEST, false],
  [OCI_CONFIG, false],
  ["", false],
  // Near misses: the prefix without its final dot, or spelled differently.
  ["application/vnd.oci.image.layer.nondistributable", false],
  ["application/vnd.docker.image.rootfs.foreign", false],
  ["application/vnd.oci.image.layer.nondistributablev1.tar", false],
  ["application/vnd.docker.image.rootfs.foreign-diff.tar.gzip", false],
  ["application/vnd.oci.image.layer.non-distributable.v1.tar", false],
  ["application/vnd.oci.image.nondistributable.v1.tar", false],
  ["application/vnd.docker.image.foreign.diff.tar.gzip", false],
  // The prefix must start the string.
  [" application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", false],
  ["x-application/vnd.oci.image.layer.nondistributable.v1.tar", false],
  // Case.
  ["application/vnd.oci.image.layer.NonDistributable.v1.tar", false],
  ["Application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", false],
  ["APPLICATION/VND.DOCKER.IMAGE.ROOTFS.FOREIGN.DIFF.TAR.GZIP", false],
];

Deno.test("isNonDistributable checks containerd's two prefixes", () => {
  for (const [mediaType, expected] of NONDISTRIBUTABLE_CASES) {
    assert.equal(isNonDistributable(mediaType), expected, JSON.stringify(mediaType));
  }
});
