// Tests for lib/cli/destination.ts: what `-o` does with each kind of path (new, regular file,
// symbolic link, device, FIFO, directory, missing or non-directory parent), atomic replacement,
// permission bits, and cleanup on failure, in temporary directories that each test removes.
// Cases that need another user (a file or directory the caller may not write) are in cli_test.ts.
import assert from "node:assert/strict";
import { Destination, DestinationError } from "../lib/cli/destination.ts";
import { concat } from "./support/bytes.ts";
import { chunksOf, MiB, pattern, Source } from "./support/sources.ts";
import { requireTools } from "./support/containerd.ts";

/** A temporary directory; `await using` removes it. */
async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "ocipack-destination-test-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

/** Opens `path` as a destination and writes `stream` to it, as the CLI does. */
async function writeTo(
  path: string,
  stream: ReadableStream<Uint8Array>,
  signal?: AbortSignal,
): Promise<void> {
  const destination = await Destination.open(path);
  await destination.write(stream, signal);
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

const OLD = new TextEncoder().encode("the previous archive\n");

Deno.test("a new file is written whole", async () => {
  await using dir = await tempDir();
  const data = pattern(3 * MiB + 5);
  await writeTo(`${dir.path}/out.tar`, ReadableStream.from([data]));
  assert.deepEqual(await Deno.readFile(`${dir.path}/out.tar`), data);
  assert.deepEqual(await listDir(dir.path), ["out.tar"]);
});

Deno.test("an existing file is replaced, keeping its permission bits", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/out.tar`;
  await Deno.writeFile(path, OLD, { mode: 0o600 });
  await Deno.chmod(path, 0o640);
  const before = await Deno.stat(path);
  const chunks = chunksOf([10, MiB, 20]);
  await writeTo(path, new Source("bytes", chunks).stream);
  assert.deepEqual(await Deno.readFile(path), concat(chunks));
  const after = await Deno.stat(path);
  assert.equal(after.mode! & 0o7777, 0o640);
  assert.notEqual(after.ino, before.ino, "replaced by rename, not rewritten in place");
  assert.deepEqual(await listDir(dir.path), ["out.tar"]);
});

Deno.test("an empty stream makes an empty file", async () => {
  await using dir = await tempDir();
  await writeTo(`${dir.path}/empty.tar`, ReadableStream.from([]));
  assert.equal((await Deno.stat(`${dir.path}/empty.tar`)).size, 0);
});

Deno.test("the temporary file is created beside the destination when it is opened", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(`${dir.path}/sub`);
  const destination = await Destination.open(`${dir.path}/sub/out.tar`);
  // Opened before any byte of the archive exists: a bad destination fails before the export.
  const during = await listDir(`${dir.path}/sub`);
  assert.equal(during.length, 1, `after open: ${during}`);
  assert.match(during[0], /^\.out\.tar\.[0-9a-f]{8}\.ocipack-partial$/);
  await destination.write(ReadableStream.from([pattern(100)]));
  assert.deepEqual(await listDir(`${dir.path}/sub`), ["out.tar"]);
});

Deno.test("discard removes the temporary file and leaves the old file", async () => {
  await using dir = await tempDir();
  await Deno.writeFile(`${dir.path}/out.tar`, OLD);
  const destination = await Destination.open(`${dir.path}/out.tar`);
  await destination.discard();
  assert.deepEqual(await listDir(dir.path), ["out.tar"]);
  assert.deepEqual(await Deno.readFile(`${dir.path}/out.tar`), OLD);
});

Deno.test("a symbolic link stays a link; its final target is replaced", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(`${dir.path}/real`);
  await Deno.writeFile(`${dir.path}/real/archive.tar`, OLD, { mode: 0o600 });
  await Deno.symlink("real/archive.tar", `${dir.path}/middle`);
  await Deno.symlink(`${dir.path}/middle`, `${dir.path}/out.tar`);
  const data = pattern(1000);
  await writeTo(`${dir.path}/out.tar`, ReadableStream.from([data]));
  assert.equal(await Deno.readLink(`${dir.path}/out.tar`), `${dir.path}/middle`);
  assert.equal(await Deno.readLink(`${dir.path}/middle`), "real/archive.tar");
  assert.deepEqual(await Deno.readFile(`${dir.path}/real/archive.tar`), data);
  assert.equal((await Deno.stat(`${dir.path}/real/archive.tar`)).mode! & 0o777, 0o600);
  assert.deepEqual(await listDir(`${dir.path}/real`), ["archive.tar"]);
  // A dangling link is followed too: the file is created where it points.
  await Deno.symlink("real/new.tar", `${dir.path}/dangling`);
  await writeTo(`${dir.path}/dangling`, ReadableStream.from([data]));
  assert.deepEqual(await Deno.readFile(`${dir.path}/real/new.tar`), data);
  assert.equal(await Deno.readLink(`${dir.path}/dangling`), "real/new.tar");
});

Deno.test("a loop of symbolic links is refused, naming the path", async () => {
  await using dir = await tempDir();
  await Deno.symlink("b", `${dir.path}/a`);
  await Deno.symlink("a", `${dir.path}/b`);
  const error = await rejection(Destination.open(`${dir.path}/a`));
  assert.ok(error instanceof DestinationError);
  assert.equal(error.message, `Cannot write ${dir.path}/a: too many levels of symbolic links`);
});

Deno.test({
  name: "a character device is written in place, never replaced",
  ignore: requireTools("mknod").ignore,
  async fn() {
    await using dir = await tempDir();
    const path = `${dir.path}/null`;
    // A copy of /dev/null made for the test (major 1, minor 3); the real one is never touched.
    const made = await new Deno.Command("mknod", { args: [path, "c", "1", "3"] }).output();
    assert.equal(made.code, 0);
    await Deno.chmod(path, 0o666);
    await writeTo(path, ReadableStream.from([pattern(15 * 1024)]));
    const info = await Deno.lstat(path);
    assert.ok(info.isCharDevice, "still a character device");
    assert.equal(info.rdev, (await Deno.stat("/dev/null")).rdev);
    assert.deepEqual(await listDir(dir.path), ["null"]);
  },
});

Deno.test("a FIFO is written in place, to whoever reads it", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pipe`;
  const made = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.equal(made.code, 0);
  const data = pattern(2 * MiB + 3);
  const reader = new Deno.Command("cat", { args: [path], stdout: "piped" }).output();
  await writeTo(path, ReadableStream.from([data]));
  const { stdout } = await reader;
  assert.deepEqual(stdout, data);
  assert.ok((await Deno.lstat(path)).isFifo, "still a FIFO");
  assert.deepEqual(await listDir(dir.path), ["pipe"]);
});

Deno.test("a directory, a missing parent and a file as parent are refused at open", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(`${dir.path}/out.tar`);
  await Deno.writeFile(`${dir.path}/out.tar/inside`, OLD);
  await Deno.writeFile(`${dir.path}/file`, OLD);
  const cases: [string, string][] = [
    [`${dir.path}/out.tar`, `Cannot write ${dir.path}/out.tar: it is a directory`],
    [
      `${dir.path}/missing/out.tar`,
      `Cannot write ${dir.path}/missing/out.tar: directory ${dir.path}/missing does not exist`,
    ],
    [
      `${dir.path}/file/out.tar`,
      `Cannot write ${dir.path}/file/out.tar: a parent is not a directory`,
    ],
  ];
  for (const [path, message] of cases) {
    const error = await rejection(Destination.open(path));
    assert.ok(error instanceof DestinationError, path);
    assert.equal(error.message, message);
    assert.equal(error.path, path);
  }
  assert.deepEqual(await listDir(dir.path), ["file", "out.tar"]);
  assert.deepEqual(await listDir(`${dir.path}/out.tar`), ["inside"]);
});

Deno.test("a path that does not name a file is refused", async () => {
  await using dir = await tempDir();
  for (const path of [".", "..", "", `${dir.path}/`, `${dir.path}/.`, `${dir.path}/..`]) {
    const error = await rejection(Destination.open(path));
    assert.ok(error instanceof DestinationError, JSON.stringify(path));
    assert.equal(error.message, `Output ${JSON.stringify(path)} does not name a file`);
  }
  assert.deepEqual(await listDir(dir.path), []);
});

/** [label, make a failing stream and the signal]. */
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
  Deno.test(`the old file stays and no temporary file is left when ${label}`, async () => {
    await using dir = await tempDir();
    const path = `${dir.path}/out.tar`;
    await Deno.writeFile(path, OLD);
    const { stream, signal } = make();
    await assert.rejects(writeTo(path, stream, signal), /blob went missing/);
    assert.deepEqual(await Deno.readFile(path), OLD);
    assert.deepEqual(await listDir(dir.path), ["out.tar"]);
  });

  Deno.test(`no file is created when ${label}`, async () => {
    await using dir = await tempDir();
    const { stream, signal } = make();
    await assert.rejects(writeTo(`${dir.path}/out.tar`, stream, signal));
    assert.deepEqual(await listDir(dir.path), []);
  });
}
