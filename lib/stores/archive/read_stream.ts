/**
 * A `ReadableStream` over a `read(buffer)` function, as `Deno.FsFile` offers: each pull reads into
 * a new buffer, and the source is closed once, at its end, on an error or on cancel.
 *
 * @module
 */

/** Where the bytes come from. */
export interface ReadSource {
  /** Reads into `buffer`, as `Deno.FsFile.read`: how many bytes, or null at the end. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Releases the source; called once. */
  close(): void;
}

/**
 * Streams `source` in reads of `chunkSize()` bytes (asked before each read). `highWaterMark` 0
 * reads only when the consumer asks (for a source whose position others share).
 */
export function readStream(
  source: ReadSource,
  chunkSize: () => number,
  highWaterMark: number,
): ReadableStream<Uint8Array> {
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    source.close();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const buffer = new Uint8Array(chunkSize());
        const n = await source.read(buffer);
        if (n === null) {
          close();
          controller.close();
        } else {
          controller.enqueue(buffer.subarray(0, n));
        }
      } catch (error) {
        close();
        controller.error(error);
      }
    },
    cancel: close,
  }, { highWaterMark });
}
