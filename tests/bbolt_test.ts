/**
 * The bbolt reader (lib/stores/containerd/bbolt.ts) and containerd's schema over it: the
 * testdata containerd root's meta.db (written by containerd), hand-built files for what
 * containerd never writes (cycles, out-of-range pages, bad meta pages, overflow pages), a file
 * that changes while it is read, and seeded mutations of meta.db bytes, each of which must give an
 * InvalidDocumentError or a listing (the original one when no byte the reader reads was changed).
 */
import assert from "node:assert/strict";
import {
  type BoltBucket,
  type BoltSnapshot,
  type ByteSource,
  bytesSource,
  fnv1a64,
  openBoltBytes,
  readBolt,
} from "../lib/stores/containerd/bbolt.ts";
import { readNamespace, readNamespaces, readVarint } from "../lib/stores/containerd/metadata.ts";
import { InvalidDocumentError } from "../mod.ts";
import { BoltSnapshot as Snapshot } from "../lib/stores/containerd/bbolt.ts";
import { branchPage, bucketValue, buildBolt, leafPage, writeMeta } from "./support/bolt_builder.ts";
import { prng } from "./support/seeded.ts";

const META_DB = new URL(
  "../testdata/containerd/io.containerd.metadata.v1.bolt/meta.db",
  import.meta.url,
).pathname;
const fixture = await Deno.readFile(META_DB);
const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

/** Everything containerd's schema reader gets from a snapshot, as one comparable value. */
function listing(db: BoltSnapshot): unknown {
  const namespaces = readNamespaces(db);
  return namespaces.map((n) => {
    const metadata = readNamespace(db, n.name)!;
    return { ...n, images: metadata.images, blobs: [...metadata.blobs] };
  });
}

function keys(bucket: BoltBucket): string[] {
  return [...bucket.entries()].map((e) => text(e.key));
}

Deno.test("fnv1a64 is Go's hash/fnv New64a", () => {
  assert.equal(fnv1a64(new Uint8Array()), 0xcbf29ce484222325n);
  assert.equal(fnv1a64(new TextEncoder().encode("a")), 0xaf63dc4c8601ec8cn);
  assert.equal(fnv1a64(new TextEncoder().encode("foobar")), 0x85944171f73967e8n);
});

Deno.test("readVarint decodes Go's binary.PutVarint", () => {
  const cases: [number[], number | undefined][] = [
    [[0x00], 0],
    [[0x01], -1],
    [[0x02], 1],
    [[0xd8, 0x04], 300],
    [[0x80, 0x01], 64],
    [[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f], Number.MAX_SAFE_INTEGER],
    [[0x80], undefined], // ends inside a varint
    [[], undefined],
    [[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], undefined], // over 64 bits
    [[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], undefined], // not safe
  ];
  for (const [bytes, value] of cases) {
    assert.equal(readVarint(new Uint8Array(bytes)), value, JSON.stringify(bytes));
  }
});

Deno.test("a meta.db written by containerd: namespaces, images, targets, labels", () => {
  const db = openBoltBytes(fixture, META_DB);
  assert.equal(db.pageSize, 4096);
  assert.deepEqual(readNamespaces(db), [{ name: "default", images: 2 }, {
    name: "moby",
    images: 1,
  }]);
  const metadata = readNamespace(db, "default")!;
  assert.deepEqual(metadata.images.map((i) => i.name), [
    "docker.io/library/hello:docker",
    "docker.io/library/hello:oci",
  ]);
  const hello = metadata.images[1].target;
  assert.equal(hello.mediaType, "application/vnd.oci.image.manifest.v1+json");
  assert.equal(hello.size, 695);
  assert.equal(
    metadata.blobs.get(hello.digest)?.["containerd.io/distribution.source.registry.example"],
    "library/hello",
  );
  assert.equal(readNamespace(db, "nope"), undefined);
  assert.deepEqual(keys(db.root()), ["v1"]);
});

Deno.test("a namespace name that is not UTF-8 is an error, not a name that cannot be opened", () => {
  // Found by the fuzz test (seed 111736 of a longer run): a listed namespace must open.
  const namespaces = bucketValue(0, [
    { key: "ok", value: bucketValue(0), bucket: true },
    { key: new Uint8Array([0x70, 0xff]), value: bucketValue(0), bucket: true },
  ]);
  const file = buildBolt(
    new Map([[3, leafPage(3, [{ key: "v1", value: namespaces, bucket: true }])]]),
    3,
  );
  assert.throws(() => readNamespaces(openBoltBytes(file, "ns")), /a namespace name is not UTF-8/);
});

Deno.test("the meta page with the higher valid txid wins; a bad checksum falls back", () => {
  const root = leafPage(3, [{
    key: "b",
    value: bucketValue(0, [{ key: "k", value: new Uint8Array([1]) }]),
    bucket: true,
  }]);
  const older = leafPage(4, [{ key: "a", value: bucketValue(0), bucket: true }]);
  const file = buildBolt(new Map([[3, root], [4, older]]), 3);
  writeMeta(file, 1, { pageSize: 4096, root: 4, highWater: 5, txid: 1 });
  assert.deepEqual(keys(openBoltBytes(file, "f").root()), ["b"]);
  assert.equal(openBoltBytes(file, "f").txid, 2n);
  // Meta page 0 (txid 2) damaged: page 1 (txid 1) is used.
  const damaged = file.slice();
  damaged[16 + 20] ^= 1;
  const db = openBoltBytes(damaged, "f");
  assert.equal(db.txid, 1n);
  assert.deepEqual(keys(db.root()), ["a"]);
  // Both damaged.
  damaged[4096 + 16 + 20] ^= 1;
  assert.throws(() => openBoltBytes(damaged, "f"), /no valid meta page/);
});

Deno.test("a page size found from the second meta page when the first is damaged", () => {
  const file = buildBolt(
    new Map([[3, leafPage(3, [{ key: "x", value: new Uint8Array([7]) }])]]),
    3,
    16384,
  );
  file[16] ^= 0xff; // meta 0's magic
  const db = openBoltBytes(file, "f");
  assert.equal(db.pageSize, 16384);
  assert.deepEqual(db.root().get("x"), new Uint8Array([7]));
});

Deno.test("bad files are InvalidDocumentErrors naming the file", () => {
  const good = buildBolt(new Map([[3, leafPage(3, [])]]), 3);
  const cases: [string, Uint8Array, RegExp][] = [
    ["empty", new Uint8Array(), /too short/],
    ["zeros", new Uint8Array(8192), /bad magic 0x0: not a bbolt file/],
    ["text", new TextEncoder().encode("x".repeat(9000)), /not a bbolt file/],
    ["truncated", good.subarray(0, 3 * 4096), /truncated/],
    ["one page", good.subarray(0, 4096), /truncated|invalid/],
  ];
  const bigEndian = good.slice();
  bigEndian.set([0xed, 0x0c, 0xda, 0xed], 16);
  bigEndian.set([0xed, 0x0c, 0xda, 0xed], 4096 + 16);
  cases.push(["big-endian", bigEndian, /big-endian/]);
  const version = good.slice();
  new DataView(version.buffer).setUint32(20, 3, true);
  new DataView(version.buffer).setUint32(4096 + 20, 3, true);
  cases.push(["version", version, /unsupported bbolt version 3/]);
  for (const [name, bytes, message] of cases) {
    assert.throws(
      () => listing(openBoltBytes(bytes, `/x/${name}.db`)),
      (error) =>
        error instanceof InvalidDocumentError && message.test(error.message) &&
        error.message.includes(`/x/${name}.db`),
      name,
    );
  }
});

Deno.test("cycles, out-of-range pages, wrong page types: errors, never a hang", () => {
  const page = 4096;
  const items = [{ key: "a", value: new Uint8Array([1]) }];
  const cases: [string, Map<number, Uint8Array>, number, RegExp][] = [
    [
      "branch to itself",
      new Map([[3, branchPage(3, [{ key: "a", page: 3 }], page)]]),
      3,
      /refers back/,
    ],
    [
      "two branches to each other",
      new Map([
        [3, branchPage(3, [{ key: "a", page: 4 }], page)],
        [4, branchPage(4, [{ key: "a", page: 3 }], page)],
      ]),
      3,
      /refers back/,
    ],
    [
      "child past the end",
      new Map([[3, branchPage(3, [{ key: "a", page: 999 }], page)]]),
      3,
      /out of range/,
    ],
    [
      "child is a meta page",
      new Map([[3, branchPage(3, [{ key: "a", page: 1 }], page)]]),
      3,
      /out of range/,
    ],
    ["root past the end", new Map([[3, leafPage(3, items)]]), 77, /out of range/],
    [
      "child is the freelist",
      new Map([[3, branchPage(3, [{ key: "a", page: 2 }], page)]]),
      3,
      /not a branch or leaf/,
    ],
    [
      "bucket whose root is its parent",
      new Map([[3, leafPage(3, [{ key: "b", value: bucketValue(3), bucket: true }])]]),
      3,
      /two parents/,
    ],
    [
      "wrong id in a page header",
      new Map([[3, branchPage(3, [{ key: "a", page: 4 }], page)], [4, leafPage(5, items)]]),
      3,
      /has the header of page 5/,
    ],
    [
      "empty branch",
      new Map([[3, branchPage(3, [], page)]]),
      3,
      /empty branch/,
    ],
  ];
  // Branch pages each pointing twice at the next: 2^30 leaf visits if pages could be shared.
  const dag = new Map<number, Uint8Array>();
  for (let id = 3; id < 33; id++) {
    dag.set(id, branchPage(id, [{ key: "a", page: id + 1 }, { key: "b", page: id + 1 }], page));
  }
  dag.set(33, leafPage(33, items));
  cases.push(["pages shared by two parents", dag, 3, /page 33 has two parents/]);
  cases.push([
    "two branches to one leaf",
    new Map([
      [3, branchPage(3, [{ key: "a", page: 4 }, { key: "b", page: 4 }], page)],
      [4, leafPage(4, items)],
    ]),
    3,
    /page 4 has two parents \(page 3 element 0 and page 3 element 1\)/,
  ]);
  const keyPastEnd = leafPage(3, items, page);
  new DataView(keyPastEnd.buffer).setUint32(16 + 8, 1 << 20, true); // key size
  cases.push(["key past the page", new Map([[3, keyPastEnd]]), 3, /past its end/]);
  const tooMany = leafPage(3, items, page);
  new DataView(tooMany.buffer).setUint16(10, 60000, true);
  cases.push(["more elements than fit", new Map([[3, tooMany]]), 3, /more elements than fit/]);
  const unsorted = leafPage(3, [{ key: "b", value: new Uint8Array() }, {
    key: "a",
    value: new Uint8Array(),
  }]);
  cases.push(["keys out of order", new Map([[3, unsorted]]), 3, /out of order/]);

  const walk = (bucket: BoltBucket): void => {
    for (const entry of bucket.entries()) if (entry.bucket) walk(entry.bucket);
  };
  for (const [name, pages, root, message] of cases) {
    const file = buildBolt(pages, root);
    assert.throws(
      () => walk(openBoltBytes(file, name).root()),
      (error) => error instanceof InvalidDocumentError && message.test(error.message),
      name,
    );
  }
  // The lookup path refuses a cycle too.
  const cycle = buildBolt(new Map([[3, branchPage(3, [{ key: "a", page: 3 }], page)]]), 3);
  assert.throws(() => openBoltBytes(cycle, "c").root().get("a"), /refers back/);
});

const big = new Uint8Array(10_000).map((_, i) => i % 251);

/**
 * A file with a branch page over three leaves, one of them 4 pages long (a 10 KB value), an
 * inline bucket and a bucket with a page of its own.
 */
function builtTree(): Uint8Array {
  const leaves = new Map<number, Uint8Array>();
  // Leaves 4 (keys k000..k099, with an overflowing value: pages 4-7), 8 and 9; root branch 3.
  const leaf = (id: number, from: number, to: number, size: number) => {
    const items = [];
    for (let i = from; i < to; i++) {
      const key = `k${String(i).padStart(3, "0")}`;
      items.push(
        i === 50 ? { key, value: big } : i === 60
          ? {
            key,
            value: bucketValue(0, [{ key: "inner", value: new TextEncoder().encode("v") }]),
            bucket: true,
          }
          : i === 70
          ? { key, value: bucketValue(10), bucket: true }
          : { key, value: new TextEncoder().encode(`value ${i}`) },
      );
    }
    return leafPage(id, items, size);
  };
  leaves.set(4, leaf(4, 0, 100, 4 * 4096));
  leaves.set(8, leaf(8, 100, 150, 4096));
  leaves.set(9, leaf(9, 150, 200, 4096));
  leaves.set(10, leafPage(10, [{ key: "deep", value: new TextEncoder().encode("down") }]));
  leaves.set(
    3,
    branchPage(
      3,
      [{ key: "k000", page: 4 }, { key: "k100", page: 8 }, { key: "k150", page: 9 }],
      4096,
    ),
  );
  return buildBolt(leaves, 3);
}

Deno.test("overflow pages, branch pages, inline and nested buckets, lookups", () => {
  const db = openBoltBytes(builtTree(), "built");
  const root = db.root();
  assert.equal(root.count(), 200);
  assert.deepEqual(root.get("k050"), big);
  assert.equal(text(root.get("k199")), "value 199");
  assert.equal(text(root.get("k100")), "value 100");
  assert.equal(root.get("k0995"), undefined);
  assert.equal(root.get("a"), undefined);
  assert.equal(root.get("zzz"), undefined);
  assert.equal(text(root.bucket("k060")?.get("inner")), "v");
  assert.equal(text(root.bucket("k070")?.get("deep")), "down");
  assert.equal(root.bucket("k071"), undefined);
  assert.equal(root.get("k060"), undefined);
  assert.deepEqual(db.stats, { pages: 5, branchPages: 1, overflowPages: 3 });
});

Deno.test("readBolt reads again when a transaction is committed meanwhile", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/meta.db`;
    await Deno.writeFile(path, fixture);
    const original = listing(openBoltBytes(fixture, path));
    // A "commit" of the next transaction: the older meta page rewritten with the next txid.
    const commit = (txid: bigint) => {
      const file = Deno.readFileSync(path);
      const view = new DataView(file.buffer);
      const to = Number(txid % 2n) * 4096 + 16;
      const from = Number((txid - 1n) % 2n) * 4096 + 16;
      file.copyWithin(to, from, from + 64);
      view.setBigUint64(to + 48, txid, true);
      view.setBigUint64(to + 56, fnv1a64(file.subarray(to, to + 56)), true);
      Deno.writeFileSync(path, file);
    };
    const first = openBoltBytes(fixture, path).txid;
    // Read page by page while parsing: the commit spoils the first read.
    let calls = 0;
    const result = await readBolt(path, (snapshot) => {
      if (++calls === 1) commit(snapshot.txid + 1n);
      return { value: listing(snapshot), txid: snapshot.txid };
    }, { inMemoryLimit: 0 });
    assert.equal(calls, 2);
    assert.equal(result.txid, first + 1n);
    assert.deepEqual(result.value, original);
    // Copied into memory first (the default for a file this size): a commit while the copy is
    // parsed does not matter.
    calls = 0;
    const copied = await readBolt(path, (snapshot) => {
      if (++calls === 1) commit(snapshot.txid + 1n);
      return { value: listing(snapshot), txid: snapshot.txid };
    });
    assert.equal(calls, 1);
    assert.equal(copied.txid, first + 1n);
    assert.deepEqual(copied.value, original);

    // A file that changes during every read gives up, with an error.
    let n = 0;
    await assert.rejects(
      readBolt(path, (snapshot) => {
        n++;
        commit(snapshot.txid + 1n);
        return listing(snapshot);
      }, { inMemoryLimit: 0 }),
      (error) =>
        error instanceof InvalidDocumentError &&
        /changed during each of 8 reads/.test(error.message),
    );
    assert.equal(n, 8);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A source that records which byte ranges were read. */
function recording(bytes: Uint8Array, touched: Uint8Array): ByteSource {
  const inner = bytesSource(bytes);
  return {
    size: inner.size,
    read(offset, length) {
      touched.fill(1, offset, Math.min(offset + length, touched.length));
      return inner.read(offset, length);
    },
  };
}

/** Every key and value of a bucket and the buckets in it, as text. */
function dumpAll(bucket: BoltBucket): unknown[] {
  return [...bucket.entries()].map((e) => [
    [...e.key].join(","),
    e.bucket ? dumpAll(e.bucket) : [...e.value!].join(","),
  ]);
}

/**
 * Mutates `base` `cases` times (seeds `seed`, `seed + 1`...): truncations, flipped bits, random
 * bytes and runs of them, bytes set to 0 or 0xff, mostly in bytes the reader reads. Each must give
 * an InvalidDocumentError naming the file, or a listing: the original one when only bytes the
 * reader does not read changed. Returns how many cases gave errors and unchanged listings.
 */
function fuzz(
  base: Uint8Array,
  list: (db: BoltSnapshot) => unknown,
  seed: number,
  cases: number,
): { errors: number; unchanged: number } {
  const touched = new Uint8Array(base.length);
  const original = JSON.stringify(list(new Snapshot(recording(base, touched), "fuzz")));
  const used: number[] = [];
  touched.forEach((t, i) => t && used.push(i));
  let errors = 0;
  let unchanged = 0;
  for (let n = 0; n < cases; n++) {
    const caseSeed = seed + n;
    const random = prng(caseSeed);
    const pick = (limit: number) => Math.floor(random() * limit);
    let bytes = base.slice();
    const kind = pick(5);
    const positions: number[] = [];
    if (kind === 0) {
      bytes = bytes.subarray(0, pick(bytes.length)); // truncated
    } else {
      const count = 1 + pick(kind === 3 ? 16 : 4);
      const start = random() < 0.7 ? used[pick(used.length)] : pick(bytes.length);
      for (let i = 0; i < count; i++) {
        const at = kind === 3
          ? start + i
          : random() < 0.7
          ? used[pick(used.length)]
          : pick(bytes.length);
        if (at >= bytes.length) continue;
        positions.push(at);
        bytes[at] = kind === 4
          ? (random() < 0.5 ? 0xff : 0)
          : kind === 2
          ? bytes[at] ^ (1 << pick(8))
          : pick(256);
      }
    }
    let result: string;
    try {
      result = JSON.stringify(list(openBoltBytes(bytes, `fuzz-${caseSeed}`)));
    } catch (error) {
      assert.ok(
        error instanceof InvalidDocumentError,
        `seed ${caseSeed}: ${(error as Error)?.stack ?? error}`,
      );
      assert.match(error.message, new RegExp(`fuzz-${caseSeed}`), `seed ${caseSeed}`);
      errors++;
      continue;
    }
    if (kind !== 0 && positions.every((at) => !touched[at] || bytes[at] === base[at])) {
      assert.equal(
        result,
        original,
        `seed ${caseSeed}: bytes the reader does not read changed the listing`,
      );
      unchanged++;
    }
  }
  return { errors, unchanged };
}

Deno.test("fuzzed meta.db bytes: an InvalidDocumentError or a listing, never anything else", () => {
  const CASES = 2000;
  const { errors, unchanged } = fuzz(fixture, listing, 15_000, CASES);
  // The cases must exercise both outcomes.
  assert.ok(errors > CASES / 10, `${errors} errors`);
  assert.ok(unchanged > 10, `${unchanged} unchanged`);
});

Deno.test("fuzzed branch, overflow and nested pages: an InvalidDocumentError or a listing", () => {
  const CASES = 1000;
  const { errors, unchanged } = fuzz(builtTree(), (db) => dumpAll(db.root()), 25_000, CASES);
  assert.ok(errors > CASES / 10, `${errors} errors`);
  assert.ok(unchanged > 10, `${unchanged} unchanged`);
});
