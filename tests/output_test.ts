// Tests for lib/cli/output.ts: the copy loop (byte and plain streams, short writes, write failures,
// aborts) and the atomic file writer, in temporary directories that each test removes.
import assert from "node:assert/strict";
import { copyToWriter, OutputError, writeFileAtomically, type Writer } from "../lib/cli/output.ts";
import { concat } from "./support/bytes.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

/** Deterministic bytes whose pattern does not line up with any buffer size. */
function pattern(length: number, seed = 0): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + (i >> 9) + seed) & 0xff;
  return bytes;
}

type Kind = "bytes" | "default";

/** A source of the given chunks, either a byte stream or a plain one, that records a cancel. */
class Source {
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

/** Chunk sizes around the copy loop's 1 MiB buffer: smaller, larger, and odd. */
const CHUNK_SIZES = [1, 1.5 * MiB, 300 * KiB, 2 * MiB + 7, 4095, MiB, 17];

function chunksOf(sizes: readonly number[]): Uint8Array[] {
  return sizes.map((size, i) => pattern(size, i));
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
// writeFileAtomically

/** A temporary directory; `await using` removes it. */
async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "ocipack-output-test-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

const OLD = new TextEncoder().encode("the previous archive\n");

Deno.test("writeFileAtomically writes a new file", async () => {
  await using dir = await tempDir();
  const data = pattern(3 * MiB + 5);
  await writeFileAtomically(`${dir.path}/out.tar`, ReadableStream.from([data]));
  assert.deepEqual(await Deno.readFile(`${dir.path}/out.tar`), data);
  assert.deepEqual(await listDir(dir.path), ["out.tar"]);
});

Deno.test("writeFileAtomically replaces an existing file", async () => {
  await using dir = await tempDir();
  await Deno.writeFile(`${dir.path}/out.tar`, OLD);
  const chunks = chunksOf([10, MiB, 20]);
  await writeFileAtomically(`${dir.path}/out.tar`, new Source("bytes", chunks).stream);
  assert.deepEqual(await Deno.readFile(`${dir.path}/out.tar`), concat(chunks));
  assert.deepEqual(await listDir(dir.path), ["out.tar"]);
});

Deno.test("writeFileAtomically writes an empty stream as an empty file", async () => {
  await using dir = await tempDir();
  await writeFileAtomically(`${dir.path}/empty.tar`, ReadableStream.from([]));
  assert.equal((await Deno.stat(`${dir.path}/empty.tar`)).size, 0);
});

Deno.test("writeFileAtomically writes to a temporary file beside the destination", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(`${dir.path}/sub`);
  let during: string[] = [];
  async function* chunks() {
    yield pattern(100);
    during = await listDir(`${dir.path}/sub`);
    yield pattern(100, 1);
  }
  await writeFileAtomically(`${dir.path}/sub/out.tar`, ReadableStream.from(chunks()));
  assert.equal(during.length, 1, `while writing: ${during}`);
  assert.match(during[0], /^\.out\.tar\.[0-9a-f]{8}\.ocipack-partial$/);
  assert.deepEqual(await listDir(dir.path), ["sub"]);
  assert.deepEqual(await listDir(`${dir.path}/sub`), ["out.tar"]);
});

/** [label, make a failing stream and the signal, the error expected]. */
const FAILURES: [string, () => { stream: ReadableStream<Uint8Array>; signal?: AbortSignal }][] = [
  ["the stream errors midway", () => {
    const error = new Error("blob went missing");
    return { stream: new Source("bytes", chunksOf([MiB, MiB]), { failAfter: 1, error }).stream };
  }],
  ["the plain stream errors midway", () => {
    const error = new Error("blob went missing");
    return { stream: new Source("default", chunksOf([MiB, MiB]), { failAfter: 1, error }).stream };
  }],
  ["the signal aborts midway", () => {
    const controller = new AbortController();
    async function* chunks() {
      yield pattern(MiB);
      controller.abort(new Error("blob went missing"));
      yield pattern(MiB, 1);
    }
    return { stream: ReadableStream.from(chunks()), signal: controller.signal };
  }],
  ["the signal aborts while a read hangs", () => {
    const controller = new AbortController();
    const source = new Source("bytes", chunksOf([MiB, MiB]), { hangAfter: 1 });
    setTimeout(() => controller.abort(new Error("blob went missing")), 20);
    return { stream: source.stream, signal: controller.signal };
  }],
  ["the signal was aborted before the call", () => {
    const controller = new AbortController();
    controller.abort(new Error("blob went missing"));
    return { stream: ReadableStream.from([pattern(10)]), signal: controller.signal };
  }],
];

for (const [label, make] of FAILURES) {
  Deno.test(`writeFileAtomically keeps the destination and no temp file when ${label}`, async () => {
    await using dir = await tempDir();
    const path = `${dir.path}/out.tar`;
    await Deno.writeFile(path, OLD);
    const { stream, signal } = make();
    await assert.rejects(writeFileAtomically(path, stream, signal), /blob went missing/);
    assert.deepEqual(await Deno.readFile(path), OLD);
    assert.deepEqual(await listDir(dir.path), ["out.tar"]);
  });

  Deno.test(`writeFileAtomically creates no file when ${label}`, async () => {
    await using dir = await tempDir();
    const { stream, signal } = make();
    await assert.rejects(writeFileAtomically(`${dir.path}/out.tar`, stream, signal));
    assert.deepEqual(await listDir(dir.path), []);
  });
}

Deno.test("writeFileAtomically refuses a path that does not name a file", async () => {
  await using dir = await tempDir();
  for (const path of [".", "..", "", "/", `${dir.path}/`, `${dir.path}/.`, `${dir.path}/..`]) {
    const source = new Source("default", [pattern(10)]);
    await assert.rejects(
      writeFileAtomically(path, source.stream),
      (error: unknown) =>
        error instanceof TypeError &&
        error.message === `Output path ${JSON.stringify(path)} does not name a file`,
      JSON.stringify(path),
    );
    assert(source.cancelled, `the stream was cancelled for ${JSON.stringify(path)}`);
  }
  assert.deepEqual(await listDir(dir.path), []);
});

Deno.test("writeFileAtomically does not replace a directory", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(`${dir.path}/out.tar`);
  await Deno.writeFile(`${dir.path}/out.tar/inside`, OLD);
  await assert.rejects(
    writeFileAtomically(`${dir.path}/out.tar`, ReadableStream.from([pattern(10)])),
  );
  assert((await Deno.stat(`${dir.path}/out.tar`)).isDirectory);
  assert.deepEqual(await listDir(`${dir.path}/out.tar`), ["inside"]);
  assert.deepEqual(await listDir(dir.path), ["out.tar"]);
});

Deno.test("writeFileAtomically fails, cancelling the stream, when the directory is missing", async () => {
  await using dir = await tempDir();
  const source = new Source("default", [pattern(10)]);
  await assert.rejects(
    writeFileAtomically(`${dir.path}/missing/out.tar`, source.stream),
    Deno.errors.NotFound,
  );
  assert(source.cancelled);
  assert.deepEqual(await listDir(dir.path), []);
});
