/**
 * A content provider that counts, per digest, what the exporter asks of the provider it wraps.
 *
 * @module
 */
import type { BlobInfo, ContentProvider, OpenedBlob } from "../../lib/stores/content.ts";
import type { Descriptor } from "../../lib/oci/documents.ts";

/** Counts `stat()` and `open()` calls per digest, passing each to the inner provider. */
export class CountingProvider implements ContentProvider {
  readonly stats = new Map<string, number>();
  readonly opens = new Map<string, number>();
  constructor(readonly inner: ContentProvider) {}

  stat(descriptor: Descriptor): Promise<BlobInfo> {
    this.stats.set(descriptor.digest, (this.stats.get(descriptor.digest) ?? 0) + 1);
    return this.inner.stat(descriptor);
  }

  open(descriptor: Descriptor): Promise<OpenedBlob> {
    this.opens.set(descriptor.digest, (this.opens.get(descriptor.digest) ?? 0) + 1);
    return this.inner.open(descriptor);
  }
}
