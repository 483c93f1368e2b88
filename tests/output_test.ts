// Tests for lib/cli/output.ts: the copy loop (byte and plain streams, short writes, write failures,
// aborts).
import assert from "node:assert/strict";
import { copyToWriter, OutputError, type Writer } from "../lib/cli/output.ts";
import { concat } from "./support/bytes.ts";
import { CHUNK_SIZES, chunksOf, MiB, pattern, Source } from "./support/sources.ts";

/**
 * A writer that takes at most `limits[i % limits.length]` bytes per call, and copies them only
 * after a macrotask, so that a buffer reused while its write is in flight would show up as
 * corrupted output.
 */
class ShortWriter implements Writer {
  readonly parts: Uint8Array[] = [];
  calls = 0;
  constructor(readonly limits: readonly number[]) {}

  async write(p: Uint8Array): Promise<number> {
    const n = Math.min(p.length, this.limits[this.calls++ % this.limits.length]);
    const view = p.subarray(0, n);
    await new Promise((resolve) => setTimeout(resolve, 0));
    this.parts.push(view.slice());
    return n;
  }

  get bytes(): Uint8Array {
    return concat(this.parts);
  }
}

for (const kind of ["bytes", "default"] as const) {
  Deno.test(`copyToWriter copies a ${kind} stream exactly through short writes`, async () => {
    const chunks = chunksOf(CHUNK_SIZES);
    const source = new Source(kind, chunks);
    const writer = new ShortWriter([MiB + 3, 1, 65_537, 4096, 3 * MiB]);
    await copyToWriter(source.stream, writer);
    assert.deepEqual(writer.bytes, concat(chunks));
    assert(writer.calls > chunks.length, "the writer was asked to write more than once per chunk");
    assert.equal(source.cancelled, false);
  });
}

Deno.test("copyToWriter copies an empty stream, and one of empty chunks, without writing", async () => {
  for (const chunks of [[], [new Uint8Array(0), new Uint8Array(0)]]) {
    const writer = new ShortWriter([MiB]);
    await copyToWriter(ReadableStream.from(chunks), writer);
    assert.equal(writer.calls, 0);
  }
  const writer = new ShortWriter([MiB]);
  await copyToWriter(new Source("bytes", []).stream, writer);
  assert.equal(writer.calls, 0);
});

Deno.test("copyToWriter releases its lock on the stream", async () => {
  const stream = ReadableStream.from([pattern(10)]);
  await copyToWriter(stream, new ShortWriter([MiB]));
  assert.equal(stream.locked, false);
});

/** [label, writer]: writers that fail on their second call. */
const FAILING_WRITERS: [string, (error: Error) => Writer][] = [
  ["throws", (error) => {
    let calls = 0;
    return {
      write(p) {
        if (++calls === 2) throw error;
        return Promise.resolve(p.length);
      },
    };
  }],
  ["rejects", (error) => {
    let calls = 0;
    return {
      async write(p) {
        await Promise.resolve();
        if (++calls === 2) throw error;
        return p.length;
      },
    };
  }],
  ["rejects after a short write", (error) => {
    let calls = 0;
    return {
      write(p) {
        return ++calls === 2 ? Promise.reject(error) : Promise.resolve(Math.min(p.length, 10));
      },
    };
  }],
];

for (const kind of ["bytes", "default"] as const) {
  for (const [label, make] of FAILING_WRITERS) {
    Deno.test(`copyToWriter on a ${kind} stream: a writer that ${label} gives an OutputError`, async () => {
      const cause = new Deno.errors.BrokenPipe("Broken pipe (os error 32)");
      const source = new Source(kind, chunksOf([100, 200, 300, 400, 500]));
      const error = await copyToWriter(source.stream, make(cause)).then(
        () => assert.fail("the copy succeeded"),
        (error: unknown) => error,
      );
      assert(error instanceof OutputError);
      assert.equal(error.name, "OutputError");
      assert.equal(error.cause, cause);
      assert.equal(error.message, "cannot write the archive: Broken pipe (os error 32)");
      assert(source.cancelled, "the source was cancelled");
      assert.equal(source.cancelReason, error);
      assert.equal(source.stream.locked, false);
    });
  }
}

Deno.test("OutputError describes a cause that is not an Error", () => {
  assert.equal(new OutputError("gone").message, "cannot write the archive: gone");
  assert.equal(new OutputError(undefined).message, "cannot write the archive: undefined");
  assert.equal(new OutputError(null).message, "cannot write the archive: null");
  assert.equal(new OutputError(42).cause, 42);
});

/** When, during the copy, the signal aborts. */
type AbortPoint = "before the copy" | "while a read is pending" | "while a write is pending";

for (const kind of ["bytes", "default"] as const) {
  for (
    const when of [
      "before the copy",
      "while a read is pending",
      "while a write is pending",
    ] as AbortPoint[]
  ) {
    Deno.test(`copyToWriter on a ${kind} stream: an abort ${when} cancels the source`, async () => {
      const chunks = chunksOf([1000, 2000, 3000]);
      // The source hangs after two chunks: only the abort can end the copy.
      const source = new Source(kind, chunks, { hangAfter: 2 });
      const controller = new AbortController();
      const reason = new Error("interrupted");
      const firstWrite = Promise.withResolvers<void>();
      const releaseWrite = Promise.withResolvers<void>();
      const written: Uint8Array[] = [];
      const writer: Writer = {
        async write(p) {
          written.push(p.slice());
          firstWrite.resolve();
          if (when === "while a write is pending") await releaseWrite.promise;
          return p.length;
        },
      };
      if (when === "before the copy") controller.abort(reason);
      const copy = copyToWriter(source.stream, writer, controller.signal);
      const outcome = copy.then(() => "resolved", (error: unknown) => error);
      if (when !== "before the copy") {
        await firstWrite.promise;
        // Let the loop reach the hanging third read (or wait on the write in flight).
        await new Promise((resolve) => setTimeout(resolve, 10));
        controller.abort(reason);
        releaseWrite.resolve();
      }
      assert.equal(await outcome, reason);
      assert(source.cancelled, "the source was cancelled");
      assert.equal(source.cancelReason, reason);
      assert.equal(source.stream.locked, false);
      if (when === "before the copy") assert.deepEqual(written, []);
      else assert.deepEqual(concat(written), concat(chunks.slice(0, written.length)));
    });
  }
}

// ---------------------------------------------------------------------------------------------
