/**
 * Copying one blob into the archive, verified as it goes: the interface, and the choice between
 * a blob the provider read whole, reading straight into the consumer's buffer (`read()`), and
 * reading the blob's stream ahead.
 *
 * @module
 */
import {
  type BlobOrigin,
  type ContentProvider,
  sizeMismatch,
  withOrigin,
} from "../stores/content.ts";
import type { Descriptor } from "../oci/documents.ts";
import { DirectBlobCopy } from "./direct_blob_copy.ts";
import { StreamBlobCopy } from "./stream_blob_copy.ts";
import { WholeBlobCopy } from "./whole_blob_copy.ts";
/** The result of one read of a blob into a chunk. */
export interface BlobRead {
  /** Bytes placed at the start of the target. */
  bytes: number;
  /** The blob is complete and verified. */
  done: boolean;
}

/** One blob being copied into the archive, verified as it goes. */
export interface BlobCopy {
  readonly digest: string;
  readonly size: number;
  /**
   * Places the blob's next bytes at the start of `target`. The blob's last bytes are placed
   * only once its end has been reached and its size and digest checked.
   */
  read(target: Uint8Array): Promise<BlobRead>;
  /** Stops reading and closes the blob. */
  cancel(): Promise<void>;
}

/**
 * Opens a blob for copying: from memory when the provider read it whole, else straight into the
 * consumer's buffer if the provider can, else from its stream.
 */
export async function openBlobCopy(
  provider: ContentProvider,
  descriptor: Descriptor,
  origin: BlobOrigin,
): Promise<BlobCopy> {
  const opened = await withOrigin(provider.open(descriptor), descriptor, origin);
  if (opened.bytes !== undefined) {
    if (opened.size !== descriptor.size) throw sizeMismatch(descriptor, origin, opened.size);
    return new WholeBlobCopy(descriptor, origin, opened.bytes);
  }
  if (opened.size !== descriptor.size) {
    await opened.stream.cancel().catch(() => {});
    throw sizeMismatch(descriptor, origin, opened.size);
  }
  return typeof opened.read === "function"
    ? new DirectBlobCopy(descriptor, origin, opened.stream, opened.read.bind(opened))
    : new StreamBlobCopy(descriptor, origin, opened.stream);
}
