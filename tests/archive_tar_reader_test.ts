import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  readTar,
  readTarFile,
  type TarReaderEntry,
  type TarReadOptions,
} from "../lib/stores/archive/tar_reader.ts";
import { InvalidArchiveError } from "../lib/oci/errors.ts";
import { archive, end, entry, gnuLongName, header, join, pax } from "./support/tar_builder.ts";
import { encodeHeader, endOfArchive } from "../lib/export/tar.ts";
import { gzipSync, zstdCompressSync } from "node:zlib";

function gzip(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(gzipSync(bytes));
}

interface Read {
  name: string;
  type: string;
  size: number;
  target: string;
  offset: number;
  body: string;
}

async function readAll(
  bytes: Uint8Array,
  options: TarReadOptions = {},
  chunk = 700,
): Promise<Read[]> {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += chunk) chunks.push(bytes.slice(i, i + chunk));
  const out: Read[] = [];
  for await (const e of readTar(ReadableStream.from(chunks), options)) out.push(await collect(e));
  return out;
}

async function collect(e: TarReaderEntry): Promise<Read> {
  const parts: Uint8Array[] = [];
  for await (const c of e.chunks()) parts.push(c);
  return {
    name: e.name,
    type: e.type,
    size: e.size,
    target: e.target,
    offset: e.offset,
    body: new TextDecoder().decode(join(parts)),
  };
}

async function refused(bytes: Uint8Array, entryName: string | undefined, pattern: RegExp) {
  await assert.rejects(readAll(bytes), (error: unknown) => {
    assert(error instanceof InvalidArchiveError, String(error));
    assert.equal(error.entry, entryName);
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("tar reader: reads what lib/export/tar.ts writes, with offsets", async () => {
  const long = "blobs/sha256/" + "a".repeat(64) + "/" + "b".repeat(60);
  const bytes = join([
    encodeHeader({ name: "blobs/", mode: 0o755, size: 0, typeflag: "5" }),
    encodeHeader({ name: long, mode: 0o444, size: 3, typeflag: "0" }),
    new Uint8Array([0x61, 0x62, 0x63, ...new Array(509).fill(0)]),
    encodeHeader({ name: "index.json", mode: 0o644, size: 2, typeflag: "0" }),
    new Uint8Array([0x7b, 0x7d, ...new Array(510).fill(0)]),
    endOfArchive(),
  ]);
  const read = await readAll(bytes);
  assert.deepEqual(read.map((r) => [r.name, r.type, r.size, r.offset, r.body]), [
    ["blobs", "directory", 0, 512, ""],
    [long, "file", 3, 1024, "abc"],
    ["index.json", "file", 2, 2048, "{}"],
  ]);
});

Deno.test("tar reader: GNU long names, PAX path and size, base-256 sizes, v7, ./ names", async () => {
  const longName = "dir/" + "n".repeat(200);
  const bytes = join([
    gnuLongName(longName),
    entry({ name: "truncated-name", body: "one", magic: "gnu" }),
    pax({ path: "pax/" + "p".repeat(150), size: "5" }),
    entry({ name: "ignored", body: "fives", size: 0 }),
    entry({ name: "b256", body: "base", base256: true }),
    entry({ name: "./v7", body: "seven", magic: "v7" }),
    entry({ name: "name", prefix: "some/prefix", body: "pre" }),
    entry({ name: "./", type: "5" }),
    end(),
  ]);
  const read = await readAll(bytes, {}, 97);
  assert.deepEqual(read.map((r) => [r.name, r.body]), [
    [longName, "one"],
    ["pax/" + "p".repeat(150), "fives"],
    ["b256", "base"],
    ["v7", "seven"],
    ["some/prefix/name", "pre"],
    [".", ""],
  ]);
});

Deno.test("tar reader: a Docker layer symlink is allowed and resolved", async () => {
  const bytes = join([
    entry({ name: "aaa/layer.tar", body: "layer" }),
    entry({ name: "bbb/layer.tar", type: "2", linkname: "../aaa/layer.tar" }),
    end(),
  ]);
  const read = await readAll(bytes);
  assert.deepEqual(read[1], {
    name: "bbb/layer.tar",
    type: "symlink",
    size: 0,
    target: "aaa/layer.tar",
    offset: 1536,
    body: "",
  });
});

Deno.test("tar reader: skips unread bodies and reads gzip and zstd", async () => {
  const plain = archive({ a: "x".repeat(3000), b: "yy", "c/d": "z" });
  const gz = gzip(plain);
  const zst = new Uint8Array(zstdCompressSync(Buffer.from(plain)));
  for (const bytes of [plain, gz, zst]) {
    let compression = "";
    const names: string[] = [];
    for await (
      const e of readTar(ReadableStream.from([bytes]), { onCompression: (c) => compression = c })
    ) {
      names.push(e.name);
      if (e.name === "b") assert.equal((await collect(e)).body, "yy");
    }
    assert.deepEqual(names, ["a", "b", "c/d"]);
    assert.equal(compression, bytes === plain ? "none" : bytes === gz ? "gzip" : "zstd");
  }
});

Deno.test("tar reader: a file is read with seeks and gives the same entries", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bytes = archive({ a: "x".repeat(3000), b: "yy" });
    await Deno.writeFile(`${dir}/a.tar`, bytes);
    using file = await Deno.open(`${dir}/a.tar`);
    const out: [string, number, string][] = [];
    for await (const e of readTarFile(file)) {
      out.push([e.name, e.offset, e.name === "b" ? (await collect(e)).body : ""]);
    }
    assert.deepEqual(out, [["a", 512, ""], ["b", 4096, "yy"]]);
    await Deno.writeFile(`${dir}/cut.tar`, bytes.subarray(0, 2000));
    using cut = await Deno.open(`${dir}/cut.tar`);
    await assert.rejects(async () => {
      for await (const _ of readTarFile(cut));
    }, /Entry "a" is truncated/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tar reader: a gzip bomb stops at the ratio bound", async () => {
  const zeros = new Uint8Array(100 * 1024 * 1024);
  const bytes = join([header({ name: "big", size: zeros.length }), zeros, end()]);
  const gz = gzip(bytes);
  await assert.rejects(
    async () => {
      for await (const e of readTar(ReadableStream.from([gz]))) for await (const _ of e.chunks());
    },
    (error: unknown) =>
      error instanceof InvalidArchiveError && /decompression bomb/.test(error.message),
  );
  await assert.rejects(
    async () => {
      for await (const _ of readTar(ReadableStream.from([gz]), { maxDecompressedSize: 1 << 20 }));
    },
    /expands past the 1048576-byte bound/,
  );
  const zst = new Uint8Array(zstdCompressSync(bytes));
  await assert.rejects(
    async () => {
      for await (const e of readTar(ReadableStream.from([zst]))) for await (const _ of e.chunks());
    },
    (error: unknown) =>
      error instanceof InvalidArchiveError &&
      /zstd archive expands more than 200 times/.test(error.message),
  );
});

Deno.test("tar reader: refuses hostile entries, naming them", async () => {
  const ok = entry({ name: "ok", body: "fine" });
  await refused(
    join([ok, entry({ name: "/etc/passwd", body: "x" }), end()]),
    "/etc/passwd",
    /absolute name/,
  );
  await refused(join([entry({ name: "a/../../x", body: "x" }), end()]), "a/../../x", /climbs out/);
  await refused(join([entry({ name: "h", type: "1", linkname: "ok" }), end()]), "h", /hard link/);
  await refused(
    join([pax({ path: "../../etc/x" }), entry({ name: "innocent", body: "x" }), end()]),
    "../../etc/x",
    /climbs out/,
  );
  await refused(
    join([gnuLongName("/abs/" + "x".repeat(120)), entry({ name: "y", body: "x" }), end()]),
    "/abs/" + "x".repeat(120),
    /absolute/,
  );
  await refused(
    join([pax({ size: "12x" }), entry({ name: "s", body: "x" }), end()]),
    "s",
    /invalid PAX size/,
  );
  await refused(join([entry({ name: "c", type: "3" }), end()]), "c", /character device/);
  await refused(join([entry({ name: "b", type: "4" }), end()]), "b", /block device/);
  await refused(join([entry({ name: "f", type: "6" }), end()]), "f", /FIFO/);
  await refused(join([entry({ name: "s", type: "S" }), end()]), "s", /sparse/);
  await refused(
    join([pax({ "GNU.sparse.major": "1" }), entry({ name: "ps", body: "x" }), end()]),
    "ps",
    /sparse/,
  );
  await refused(join([entry({ name: "v", type: "V" }), end()]), "v", /unsupported type "V"/);
  await refused(join([ok, ok, end()]), "ok", /appears twice/);
  await refused(join([ok, entry({ name: "./ok", body: "x" }), end()]), "./ok", /appears twice/);
  await refused(
    join([entry({ name: "index.json", type: "2", linkname: "ok" }), end()]),
    "index.json",
    /only a Docker layer/,
  );
  await refused(
    join([entry({ name: "blobs/sha256/aa", type: "2", linkname: "../../ok" }), end()]),
    "blobs/sha256/aa",
    /only a Docker layer/,
  );
  await refused(
    join([entry({ name: "x/layer.tar", type: "2", linkname: "../../etc/passwd" }), end()]),
    "x/layer.tar",
    /outside the archive/,
  );
  await refused(
    join([entry({ name: "x/layer.tar", type: "2", linkname: "/etc/passwd" }), end()]),
    "x/layer.tar",
    /absolute/,
  );
  await refused(
    join([entry({ name: "bad", body: "x", checksumDelta: 1 }), end()]),
    "bad",
    /checksum/,
  );
  await refused(join([ok]), "ok", /truncated/);
  await refused(join([ok]).subarray(0, 700), "ok", /truncated/);
  await refused(join([ok, new Uint8Array(512)]), "ok", /truncated/);
  const trailing = join([ok, end(), new Uint8Array(512)]);
  assert.equal((await readAll(trailing)).length, 1); // zero padding after the end is fine
  trailing[trailing.length - 3] = 1;
  await refused(trailing, undefined, /non-zero bytes after its end/);
  await refused(join([ok, new Uint8Array(512), ok, end()]), "ok", /lone zero block/);
  await refused(join([new Uint8Array([1, 2, 3, 4])]), undefined, /truncated/);
});

Deno.test("tar reader: a corrupt gzip stream is an InvalidArchiveError", async () => {
  const gz = gzip(archive({ a: "x".repeat(5000) }));
  gz[gz.length - 5] ^= 0xff; // the CRC/length trailer
  await assert.rejects(readAll(gz), InvalidArchiveError);
});
