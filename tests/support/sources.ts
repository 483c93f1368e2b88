/** Test support: deterministic bytes and streams of them that record how they were read. */

export const KiB = 1024;
export const MiB = 1024 * KiB;

/** Deterministic bytes whose pattern does not line up with any buffer size. */
export function pattern(length: number, seed = 0): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + (i >> 9) + seed) & 0xff;
  return bytes;
}

export type Kind = "bytes" | "default";

/** A source of the given chunks, either a byte stream or a plain one, that records a cancel. */
export class Source {
  readonly stream: ReadableStream<Uint8Array>;
  /** The reason the stream was cancelled with, once it is. */
  cancelReason?: unknown;
  cancelled = false;
  /** How many chunks were handed out. */
  pulled = 0;

  /**
   * `chunks` are handed out one per pull. With `hangAfter`, the pull after that many chunks never
   * settles (until the stream is cancelled); with `failAfter`, it errors the stream with `error`.
   */
  constructor(
    readonly kind: Kind,
    chunks: readonly Uint8Array[],
    options: { hangAfter?: number; failAfter?: number; error?: unknown } = {},
  ) {
    const cancel = (reason: unknown) => {
      this.cancelled = true;
      this.cancelReason = reason;
    };
    const next = (
      controller: ReadableStreamDefaultController<Uint8Array> | ReadableByteStreamController,
    ): Promise<void> | void => {
      if (this.pulled === options.failAfter) return controller.error(options.error);
      if (this.pulled === options.hangAfter) return new Promise(() => {});
      if (this.pulled === chunks.length) {
        controller.close();
        // A byte source must also answer a pending BYOB read, or that read never settles.
        if ("byobRequest" in controller) controller.byobRequest?.respond(0);
        return;
      }
      // A byte stream transfers what is enqueued: hand out a copy.
      controller.enqueue(chunks[this.pulled++].slice());
    };
    this.stream = kind === "bytes"
      ? new ReadableStream({ type: "bytes", pull: next, cancel })
      : new ReadableStream<Uint8Array>({ pull: next, cancel }, { highWaterMark: 0 });
  }
}

/** Chunk sizes around the copy loop's 1 MiB buffer: smaller, larger, and odd. */
export const CHUNK_SIZES = [1, 1.5 * MiB, 300 * KiB, 2 * MiB + 7, 4095, MiB, 17];

export function chunksOf(sizes: readonly number[]): Uint8Array[] {
  return sizes.map((size, i) => pattern(size, i));
}
