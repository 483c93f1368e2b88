/**
 * What the CLI adds to a library error or result so that a user knows what to do next: hints
 * naming the flag that helps, and the warning for an image left out of manifest.json.
 *
 * @module
 */
import type { IncompleteImage } from "../export/walk.ts";
import { NotFoundError } from "../oci/errors.ts";
import { isNonDistributable } from "../oci/media_types.ts";
import { formatPlatform } from "../oci/platforms.ts";

/**
 * A hint to append to an error's one line (starting with `; `), or `""` when there is none:
 * a missing foreign layer points to `--skip-non-distributable`, other missing content of an image
 * (a store that holds only some platforms) to `--platform` and `--skip-missing`.
 */
export function hintFor(error: unknown): string {
  if (!(error instanceof NotFoundError)) return "";
  if (error.mediaType !== undefined && isNonDistributable(error.mediaType)) {
    return "; it is a non-distributable (foreign) layer, which stores and registries often " +
      "leave out: add --skip-non-distributable to leave such layers out of the archive";
  }
  if (/^(Manifest|Config|Layer|Blob) \S+ of image /.test(error.message)) {
    return "; the store may hold only some platforms' content: choose one it has with " +
      "--platform, or add --skip-missing to export what is there";
  }
  return "";
}

/** The one-line warning for an image left out of manifest.json because of missing content. */
export function incompleteWarning(image: IncompleteImage): string {
  const name = image.names.length > 0 ? image.names.join(", ") : image.manifest.digest;
  const platform = image.manifest.platform ? ` (${formatPlatform(image.manifest.platform)})` : "";
  const what = image.missing.role === "manifest"
    ? `its manifest ${image.missing.digest} is`
    : `its ${image.missing.role} ${image.missing.digest} is`;
  return `warning: ${name}${platform} left out of manifest.json: ${what} not in the store`;
}
