/**
 * Where an archive goes: a file, written through a temporary file beside it and renamed into place
 * only once complete, or any writer (such as stdout), copied with one reused buffer.
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
 * Copies a stream to a writer, keeping one write in flight while the next chunk is read, so the
 * producer's work (reading and hashing blobs) overlaps the write. A byte stream is read into two
 * buffers used in turn (no allocation per chunk); any other stream chunk by chunk. When `signal`
 * aborts, or a write fails, the stream is cancelled (closing whatever it had open) and the copy
 * rejects; a write failure rejects with an {@linkcode OutputError}.
 */
export async function copyToWriter(
  stream: ReadableStream<Uint8Array>,
  writer: Writer,
  signal?: AbortSignal,
): Promise<void> {
  let byob: ReadableStreamBYOBReader | undefined;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  try {
    byob = stream.getReader({ mode: "byob" });
  } catch {
    reader = stream.getReader();
  }
  const source = (byob ?? reader)!;
  const onAbort = () => source.cancel(signal?.reason).catch(() => {});
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
        ? await byob.read(new Uint8Array(spare ?? new ArrayBuffer(COPY_BUFFER)))
        : await reader!.read();
      spare = undefined;
      signal?.throwIfAborted();
      if (writing !== undefined) {
        await writing;
        spare = held;
      }
      if (done) break;
      held = byob !== undefined ? value.buffer as ArrayBuffer : undefined;
      writing = writeAll(writer, value);
      // Awaited on the next turn; until then a failure must not count as unhandled.
      writing.catch(() => {});
    }
  } catch (error) {
    await writing?.catch(() => {});
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

/**
 * Writes a stream to `path` atomically: into a new temporary file in the same directory, flushed
 * to disk, then renamed over `path`. On any failure or abort the temporary file is removed and an
 * existing file at `path` is left as it was.
 */
export async function writeFileAtomically(
  path: string,
  stream: ReadableStream<Uint8Array>,
  signal?: AbortSignal,
): Promise<void> {
  const slash = path.lastIndexOf("/");
  const dir = slash === -1 ? "." : path.slice(0, slash) || "/";
  const base = path.slice(slash + 1);
  if (base === "" || base === "." || base === "..") {
    await stream.cancel();
    throw new TypeError(`Output path ${JSON.stringify(path)} does not name a file`);
  }
  const temp = `${dir}/.${base}.${crypto.randomUUID().slice(0, 8)}.ocipack-partial`;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(temp, { write: true, createNew: true, mode: 0o644 });
  } catch (error) {
    await stream.cancel();
    throw error;
  }
  let closed = false;
  try {
    await copyToWriter(stream, file, signal);
    await file.syncData();
    file.close();
    closed = true;
    signal?.throwIfAborted();
    await Deno.rename(temp, path);
  } catch (error) {
    if (!closed) file.close();
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}
