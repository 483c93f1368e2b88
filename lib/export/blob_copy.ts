/**
 * Copying one blob into the archive, verified as it goes: the interface, and the choice between
 * reading straight into the consumer's buffer (`read()`) and reading the blob's stream ahead.
 *
 * @module
 */
import {
  type BlobOrigin,
  closeBlob,
  type ContentProvider,
  sizeMismatch,
  withOrigin,
} from "../stores/content.ts";
import type { Descriptor } from "../oci/documents.ts";
import { DirectBlobCopy } from "./direct_blob_copy.ts";
import { StreamBlobCopy } from "./stream_blob_copy.ts";
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

/** Opens a blob for copying: straight into the consumer's buffer if the provider can. */
export async function openBlobCopy(
  provider: ContentProvider,
  descriptor: Descriptor,
  origin: BlobOrigin,
): Promise<BlobCopy> {
  const opened = await withOrigin(provider.open(descriptor), descriptor, origin);
  if (opened.size !== descriptor.size) {
    await closeBlob(opened);
    throw sizeMismatch(descriptor, origin, opened.size);
  }
  return typeof opened.read === "function"
    ? new DirectBlobCopy(descriptor, origin, opened)
    : new StreamBlobCopy(descriptor, origin, opened.stream);
}
