/**
 * Copying an archive to a writer (stdout, a file) with two reused buffers, and the error that
 * says the writing failed. Files are opened by `destination.ts`.
 *
 * @module
 */

/** Something bytes can be written to, as `Deno.stdout` or a `Deno.FsFile`. */
export interface Writer {
  /** Writes some of `p`, resolving with how many bytes were written. */
  write(p: Uint8Array): Promise<number>;
}

/** Writing the archive failed (disk full, closed pipe...); `cause` is the writer's error. */
export class OutputError extends Error {
  /** Wraps the writer's error. */
  constructor(cause: unknown) {
    super(`cannot write the archive: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = "OutputError";
  }
}

/**
 * The size of each of the two buffers the copy loop reads into. Large, because the exporter fills
 * a buffer with reads that ramp up from small ones and each write to a pipe costs a round of
 * context switches: 8 MiB measured faster than 1, 2 or 4 MiB (bench/run.ts).
 */
const COPY_BUFFER = 8 * 1024 * 1024;

/**
 * The buffer size for archives of small blobs, 1 MiB: when the time goes per blob rather than
 * per byte, larger writes gain nothing, and the two 8 MiB buffers were 16 MiB of the peak RSS of
 * an export of 2,000 small images (bench: 131 -> 118 MiB, no slower).
 */
const SMALL_COPY_BUFFER = 1024 * 1024;

/**
 * The copy buffer size for an archive of `bytes` bytes holding `blobs` blobs: 8 MiB, or 1 MiB
 * when its blobs average less than 1 MiB.
 */
export function copyBufferSize(bytes: number, blobs: number): number {
  return blobs > 0 && bytes / blobs < SMALL_COPY_BUFFER ? SMALL_COPY_BUFFER : COPY_BUFFER;
}

/**
 * Copies a stream to a writer, keeping one write in flight while the next chunk is read, so the
 * producer's work (reading and hashing blobs) overlaps the write. A byte stream is read into two
 * buffers used in turn (no allocation per chunk); any other stream chunk by chunk. When `signal`
 * aborts, or a write fails, the stream is cancelled (closing whatever it had open) and the copy
 * rejects; a write failure rejects with an {@linkcode OutputError}. `bufferSize` is the size of
 * each buffer (see {@linkcode copyBufferSize}).
 */
export async function copyToWriter(
  stream: ReadableStream<Uint8Array>,
  writer: Writer,
  signal?: AbortSignal,
  bufferSize: number = COPY_BUFFER,
): Promise<void> {
  let byob: ReadableStreamBYOBReader | undefined;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  try {
    byob = stream.getReader({ mode: "byob" });
  } catch {
    reader = stream.getReader();
  }
  const source = (byob ?? reader)!;
  // A write may block for good (a FIFO or pipe whose reader stopped reading): an abort must not
  // wait for it, so every wait on a write is raced against this.
  let abortWait: (reason: unknown) => void = () => {};
  const aborted = new Promise<never>((_, reject) => abortWait = reject);
  aborted.catch(() => {});
  const onAbort = () => {
    abortWait(signal?.reason);
    source.cancel(signal?.reason).catch(() => {});
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  // The write in flight, and the buffer it holds (free again once it settles). Buffers are
  // for a byte stream only; a default reader hands over chunks of its own.
  let writing: Promise<void> | undefined;
  let held: ArrayBuffer | undefined;
  let spare: ArrayBuffer | undefined;
  try {
    signal?.throwIfAborted();
    while (true) {
      const { value, done } = byob !== undefined
        ? await byob.read(new Uint8Array(spare ?? new ArrayBuffer(bufferSize)))
        : await reader!.read();
      spare = undefined;
      signal?.throwIfAborted();
      if (writing !== undefined) {
        await Promise.race([writing, aborted]);
        spare = held;
      }
      if (done) break;
      held = byob !== undefined ? value.buffer as ArrayBuffer : undefined;
      writing = writeAll(writer, value);
      // Awaited on the next turn; until then a failure must not count as unhandled.
      writing.catch(() => {});
    }
  } catch (error) {
    if (!signal?.aborted) await writing?.catch(() => {});
    await source.cancel(error).catch(() => {});
    throw error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    source.releaseLock();
  }
}

/**
 * Writes all of `bytes`, however many calls the writer needs; a failure rejects with an
 * {@linkcode OutputError}.
 */
export async function writeAll(writer: Writer, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  try {
    while (offset < bytes.length) {
      const n = await writer.write(bytes.subarray(offset));
      if (n <= 0) throw new Error("the writer accepted no bytes");
      offset += n;
    }
  } catch (error) {
    throw new OutputError(error);
  }
}
