/**
 * What the CLI adds to a library error or result so that a user knows what to do next: hints
 * naming the flag that helps, the warning for an image left out of the archive's manifest.json,
 * and when an export would hold nothing that could be loaded.
 *
 * @module
 */
import type { ManifestRequest } from "../export/options.ts";
import type { IncompleteImage } from "../export/walk.ts";
import { NotFoundError } from "../oci/errors.ts";
import { isIndexType, isNonDistributable } from "../oci/media_types.ts";
import { formatPlatform } from "../oci/platforms.ts";

/**
 * Appends to a missing-content error's one line the flag that helps: a missing foreign layer
 * points to `--skip-non-distributable`; other missing content of a multi-platform image (a store
 * that holds only some platforms) to `--platform` and `--skip-missing`. Returns the error.
 */
export function withHint(error: unknown, requests: readonly ManifestRequest[]): unknown {
  if (!(error instanceof NotFoundError)) return error;
  const hint = hintFor(error, requests);
  if (hint !== "") error.message += hint;
  return error;
}

function hintFor(error: NotFoundError, requests: readonly ManifestRequest[]): string {
  if (error.mediaType !== undefined && isNonDistributable(error.mediaType)) {
    return "; it is a non-distributable (foreign) layer, which stores and registries often " +
      "leave out: add --skip-non-distributable to leave such layers out of the archive";
  }
  if (!/^(Manifest|Config|Layer|Blob) \S+ of image /.test(error.message)) return "";
  // Only an index has platforms to choose from.
  const fromIndex = requests.some((r) =>
    isIndexType(r.descriptor.mediaType) &&
    (r.names ?? [r.descriptor.digest]).includes(error.image ?? "")
  );
  return fromIndex
    ? "; the store may hold only some platforms' content: choose one it has with --platform, " +
      "or add --skip-missing to export what is there"
    : "";
}

/** The one-line warning for an image left out because some of its content is missing. */
export function incompleteWarning(image: IncompleteImage): string {
  const name = image.names.length > 0 ? image.names.join(", ") : image.manifest.digest;
  const platform = image.manifest.platform ? ` (${formatPlatform(image.manifest.platform)})` : "";
  const { role, digest } = image.missing;
  if (digest === image.manifest.digest) {
    return `warning: ${name} left out of the archive: its ${role} ${digest} is not in the store`;
  }
  return `warning: ${name}${platform} left out of manifest.json: its ${role} ${digest} is not ` +
    "in the store";
}

/**
 * Whether every image asked for was left out (under `--skip-missing`): such an archive is one
 * nothing can load, so the CLI fails instead of writing it.
 */
export function nothingLoadable(
  requests: readonly ManifestRequest[],
  incomplete: readonly IncompleteImage[],
): boolean {
  if (incomplete.length === 0) return false;
  const leftOut = new Set(incomplete.flatMap((i) => i.names.length > 0 ? i.names : []));
  const leftOutDigests = new Set(incomplete.map((i) => i.manifest.digest));
  return requests.every((r) =>
    r.names !== undefined && r.names.length > 0
      ? r.names.every((name) => leftOut.has(name))
      : leftOutDigests.has(r.descriptor.digest)
  );
}
