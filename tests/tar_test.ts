import assert from "node:assert/strict";
import {
  BLOCK_SIZE,
  encodeHeader,
  encodeHeaderInto,
  endOfArchive,
  headerLength,
  paddingLength,
  type TarEntry,
} from "../lib/export/tar.ts";
import { concat } from "./support/bytes.ts";

/** One case of testdata/tar/golden.json, written by testdata/tar/gen_golden.go from Go itself. */
interface GoldenEntry {
  name: string;
  mode: number;
  size: number;
  typeflag: "0" | "5";
  /** Packed hex of what tar.Writer.WriteHeader wrote. */
  header?: string;
  /** Packed hex of the whole archive: header, body (byte i is i & 0xff), padding, Close. */
  archive?: string;
  /** The error WriteHeader returned, when Go refuses the header. */
  error?: string;
}

const golden: { go: string; entries: GoldenEntry[] } = JSON.parse(
  await Deno.readTextFile(new URL("../testdata/tar/golden.json", import.meta.url)),
);

/** Decodes gen_golden.go's packed hex: lowercase hex, with "(N)" for a run of N zero bytes. */
function unpack(packed: string): Uint8Array {
  const bytes: number[] = [];
  for (let i = 0; i < packed.length;) {
    if (packed[i] === "(") {
      const end = packed.indexOf(")", i);
      const n = Number(packed.slice(i + 1, end));
      for (let k = 0; k < n; k++) bytes.push(0);
      i = end + 1;
    } else {
      bytes.push(parseInt(packed.slice(i, i + 2), 16));
      i += 2;
    }
  }
  return new Uint8Array(bytes);
}

function body(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = i & 0xff;
  return out;
}

function label(e: GoldenEntry): string {
  const name = e.name.length > 40 ? `${e.name.slice(0, 20)}…(${e.name.length})` : e.name;
  return `${JSON.stringify(name)} mode=${e.mode.toString(8)} size=${e.size} type=${e.typeflag}`;
}

function entryOf(e: GoldenEntry): TarEntry {
  return { name: e.name, mode: e.mode, size: e.size, typeflag: e.typeflag };
}

Deno.test("golden data covers what the tests expect", () => {
  assert.ok(golden.entries.length >= 80, `only ${golden.entries.length} golden entries`);
  const sizes = new Set(golden.entries.map((e) => e.size));
  for (const s of [0, 1, 511, 512, 513, 2 ** 33 - 1, 2 ** 33, 2 ** 33 + 1, 2 ** 40]) {
    assert.ok(sizes.has(s), `no golden entry of size ${s}`);
  }
  assert.ok(sizes.has(Number.MAX_SAFE_INTEGER));
  assert.ok(golden.entries.some((e) => e.archive !== undefined));
  assert.ok(golden.entries.some((e) => e.error !== undefined));
});

for (const e of golden.entries) {
  Deno.test(`golden: ${label(e)}`, () => {
    const entry = entryOf(e);
    if (e.error !== undefined) {
      assert.throws(() => encodeHeader(entry), TypeError);
      assert.throws(() => headerLength(entry), TypeError);
      const buf = new Uint8Array(4096).fill(0xaa);
      assert.throws(() => encodeHeaderInto(entry, buf, 0), TypeError);
      assert.ok(buf.every((b) => b === 0xaa), "encodeHeaderInto wrote before throwing");
      return;
    }
    const want = unpack(e.header!);
    assert.equal(want.length % BLOCK_SIZE, 0);

    assert.deepEqual(encodeHeader(entry), want);
    assert.equal(headerLength(entry), want.length);

    // Into a dirty buffer, at an odd offset: every header byte is written, nothing around it.
    const offset = 7;
    const buf = new Uint8Array(offset + want.length + 9).fill(0xaa);
    assert.equal(encodeHeaderInto(entry, buf, offset), want.length);
    assert.deepEqual(buf.subarray(offset, offset + want.length), want);
    assert.ok(buf.subarray(0, offset).every((b) => b === 0xaa));
    assert.ok(buf.subarray(offset + want.length).every((b) => b === 0xaa));

    if (e.archive !== undefined) {
      // A directory is a header-only type: Go writes no body and no padding whatever its size.
      const bodySize = e.typeflag === "5" ? 0 : e.size;
      const archive = concat([
        encodeHeader(entry),
        body(bodySize),
        new Uint8Array(paddingLength(bodySize)),
        endOfArchive(),
      ]);
      assert.deepEqual(archive, unpack(e.archive));
    }
  });
}

Deno.test("golden: the 141-byte sha512 name takes a PAX path record", () => {
  const name = `blobs/sha512/${"ab".repeat(64)}`;
  const bytes = encodeHeader({ name, mode: 0o444, size: 10, typeflag: "0" });
  assert.equal(bytes.length, 3 * BLOCK_SIZE);
  const text = new TextDecoder().decode(bytes);
  assert.equal(text[156], "x");
  assert.equal(text.slice(0, 100), `blobs/sha512/PaxHeaders.0/${"ab".repeat(37)}`);
  assert.equal(text.slice(512, 512 + 151), `151 path=${name}\n`);
  // The main header's name field holds the first 100 bytes of the name, with no NUL.
  assert.equal(text.slice(1024, 1124), name.slice(0, 100));
  assert.equal(text[1024 + 156], "0");
});

Deno.test("encodeHeaderInto agrees with encodeHeader and headerLength", () => {
  const names = [
    "a",
    "blobs/",
    "x".repeat(100),
    `${"p".repeat(150)}/${"n".repeat(50)}`,
    "é".repeat(30),
    `${"d".repeat(10)}/${"😀".repeat(40)}`,
    `./../a//b/./${"c".repeat(130)}`,
  ];
  const sizes = [0, 1, 2 ** 33 - 1, 2 ** 33, Number.MAX_SAFE_INTEGER];
  for (const name of names) {
    for (const size of sizes) {
      const typeflag = name.endsWith("/") ? "5" : "0";
      const entry: TarEntry = { name, mode: 0o644, size, typeflag };
      const bytes = encodeHeader(entry);
      assert.equal(bytes.length, headerLength(entry));
      assert.equal(bytes.length % BLOCK_SIZE, 0);
      const buf = new Uint8Array(bytes.length + 3).fill(0xff);
      assert.equal(encodeHeaderInto(entry, buf, 3), bytes.length);
      assert.deepEqual(buf.subarray(3), bytes);
    }
  }
});

Deno.test("paddingLength", () => {
  assert.equal(BLOCK_SIZE, 512);
  const cases: [number, number][] = [
    [0, 0],
    [1, 511],
    [511, 1],
    [512, 0],
    [513, 511],
    [1024, 0],
    [2 ** 33, 0],
    [2 ** 33 + 1, 511],
    [Number.MAX_SAFE_INTEGER, 1],
  ];
  for (const [size, pad] of cases) assert.equal(paddingLength(size), pad, `size ${size}`);
  for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 53, "1" as unknown as number]) {
    assert.throws(() => paddingLength(bad), RangeError);
  }
});

Deno.test("endOfArchive is two fresh zero blocks", () => {
  const a = endOfArchive();
  assert.equal(a.length, 1024);
  assert.ok(a.every((b) => b === 0));
  a[0] = 1;
  assert.equal(endOfArchive()[0], 0);
});

Deno.test("invalid entries are rejected", () => {
  const ok: TarEntry = { name: "a", mode: 0o644, size: 1, typeflag: "0" };
  const typeErrors: TarEntry[] = [
    { ...ok, name: "a\0b" },
    { ...ok, name: "\0" },
    { ...ok, name: "a/" },
    { ...ok, typeflag: "1" as "0" },
    { ...ok, name: 5 as unknown as string },
  ];
  const rangeErrors: TarEntry[] = [
    { ...ok, size: -1 },
    { ...ok, size: 1.5 },
    { ...ok, size: 2 ** 53 },
    { ...ok, size: NaN },
    { ...ok, size: Infinity },
    { ...ok, size: 1n as unknown as number },
    { ...ok, mode: -1 },
    { ...ok, mode: 0o10000000 },
    { ...ok, mode: 0.5 },
    // Go refuses PAX records over 1 MiB (ErrFieldTooLong).
    { ...ok, name: "n".repeat(1 << 20) },
  ];
  for (const [entries, kind] of [[typeErrors, TypeError], [rangeErrors, RangeError]] as const) {
    for (const entry of entries) {
      assert.throws(
        () => encodeHeader(entry),
        kind,
        `${String(entry.name).slice(0, 40)} ${entry.size}`,
      );
      assert.throws(() => headerLength(entry), kind);
      const buf = new Uint8Array(8192).fill(0xaa);
      assert.throws(() => encodeHeaderInto(entry, buf, 0), kind);
      assert.ok(buf.every((b) => b === 0xaa));
    }
  }
  for (const entry of typeErrors.slice(0, 2)) {
    assert.throws(() => encodeHeader(entry), /must not contain NUL/);
  }
  assert.throws(() => encodeHeader({ ...ok, size: -1 }), /^RangeError: Tar entry size must/);
  // Just under the limit is fine: the records are 1 MiB exactly.
  const longest = "n".repeat((1 << 20) - 14);
  assert.equal(headerLength({ ...ok, name: longest }), 2 * 512 + (1 << 20));
});

Deno.test("encodeHeaderInto checks the room it has", () => {
  const entry: TarEntry = { name: "a", mode: 0o644, size: 1, typeflag: "0" };
  const buf = new Uint8Array(1000).fill(0xaa);
  assert.throws(() => encodeHeaderInto(entry, buf, 489), RangeError);
  assert.throws(() => encodeHeaderInto(entry, buf, -1), RangeError);
  assert.throws(() => encodeHeaderInto(entry, buf, 0.5), RangeError);
  assert.ok(buf.every((b) => b === 0xaa));
  assert.equal(encodeHeaderInto(entry, buf, 488), 512);
  const pax: TarEntry = { ...entry, size: 2 ** 33 };
  assert.throws(() => encodeHeaderInto(pax, new Uint8Array(1535), 0), RangeError);
  assert.equal(encodeHeaderInto(pax, new Uint8Array(1536), 0), 1536);
});

function hasTar(): boolean {
  try {
    return new Deno.Command("tar", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "GNU tar lists an archive built from the encoder",
  ignore: !hasTar(),
  fn: async () => {
    const hex64 = "0123456789abcdef".repeat(4);
    const files: [TarEntry, Uint8Array][] = [];
    const add = (name: string, mode: number, data: Uint8Array | null): void => {
      const typeflag = data === null ? "5" : "0";
      files.push([{ name, mode, size: data?.length ?? 0, typeflag }, data ?? new Uint8Array()]);
    };
    const enc = new TextEncoder();
    add("blobs/", 0o755, null);
    add("blobs/sha256/", 0o755, null);
    add(`blobs/sha256/${hex64}`, 0o444, body(1000));
    add("blobs/sha512/", 0o755, null);
    add(`blobs/sha512/${hex64}${hex64}`, 0o444, body(512));
    add(`${"p".repeat(120)}/${"n".repeat(90)}`, 0o644, body(3));
    add("dïr/", 0o755, null);
    add("dïr/é.txt", 0o644, enc.encode("héllo\n"));
    add("index.json", 0o644, enc.encode("{}"));
    add("oci-layout", 0o444, enc.encode('{"imageLayoutVersion":"1.0.0"}'));
    const parts: Uint8Array[] = [];
    for (const [entry, data] of files) {
      parts.push(encodeHeader(entry), data, new Uint8Array(paddingLength(data.length)));
    }
    parts.push(endOfArchive());
    const dir = await Deno.makeTempDir();
    try {
      const path = `${dir}/test.tar`;
      await Deno.writeFile(path, concat(parts));
      const run = async (...args: string[]): Promise<Uint8Array> => {
        const out = await new Deno.Command("tar", {
          args,
          env: { LC_ALL: "C.UTF-8", TZ: "UTC" },
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.ok(out.success, new TextDecoder().decode(out.stderr));
        assert.equal(new TextDecoder().decode(out.stderr), "");
        return out.stdout;
      };
      const listing = new TextDecoder().decode(
        await run("--quoting-style=literal", "-tvf", path),
      ).trimEnd().split("\n");
      assert.equal(listing.length, files.length);
      listing.forEach((line, i) => {
        const [perms, owner, size, date, time, ...rest] = line.split(/ +/);
        const [entry] = files[i];
        const want = entry.typeflag === "5"
          ? (entry.mode === 0o755 ? "drwxr-xr-x" : "?")
          : (entry.mode === 0o444 ? "-r--r--r--" : "-rw-r--r--");
        assert.equal(perms, want, line);
        assert.equal(owner, "0/0", line);
        assert.equal(Number(size), entry.size, line);
        assert.equal(`${date} ${time}`, "1970-01-01 00:00", line);
        assert.equal(rest.join(" "), entry.name, line);
      });
      for (const [entry, data] of files) {
        if (entry.typeflag === "0") {
          assert.deepEqual(await run("-xOf", path, entry.name), data, entry.name);
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
