/**
 * Randomized damage to archives: a seeded mutator flips, sets, inserts, deletes and copies bytes
 * of OCI and Docker-format archives, then imports each into a store that already holds an image.
 * Every import must either be accepted with the store exactly as after importing the undamaged
 * archive (or, when only a JSON document's body was touched, a store whose every blob hashes to
 * its name), or be refused with one of ocipack's documented errors and the store unchanged; verify
 * must refuse whatever import refuses.
 *
 * OCIPACK_MUTATION_SEED and OCIPACK_MUTATION_CASES override the seed (a fixed one by default, so
 * CI is repeatable; `random` for a new one, printed in the test name) and the number of cases (540).
 * The default seed once found a Docker config whose damaged `diff_ids` key hid a damaged layer.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { exportArchive, importArchive, OcipackError, openLayout, verifyArchive } from "../mod.ts";
import { prng } from "./support/seeded.ts";
import { readTar } from "./support/tar_reader.ts";
import { dockerArchive, sourceImage } from "./support/docker_archive.ts";
import { listing } from "./support/store_listing.ts";
import { TESTDATA } from "./support/differential.ts";

// A fixed seed by default, so that CI runs the same cases every time; OCIPACK_MUTATION_SEED=random
// (or a number) explores others.
const SEED_SETTING = Deno.env.get("OCIPACK_MUTATION_SEED") ?? "3782032752";
const SEED = SEED_SETTING === "random"
  ? crypto.getRandomValues(new Uint32Array(1))[0]
  : Number(SEED_SETTING);
const CASES = Number(Deno.env.get("OCIPACK_MUTATION_CASES") ?? 540);

interface Base {
  name: string;
  bytes: Uint8Array;
  /** Byte ranges of JSON document bodies whose change may give a different, valid import. */
  documents: [number, number][];
  /** Byte ranges no import reads: body padding. */
  padding: [number, number][];
}

function paddingRanges(bytes: Uint8Array): [number, number][] {
  const ranges: [number, number][] = [];
  let offset = 0;
  for (const r of readTar(bytes)) {
    offset += r.header.length + r.body.length;
    const end = offset + (512 - r.body.length % 512) % 512;
    if (end > offset) ranges.push([offset, end]);
    offset = end;
  }
  return ranges;
}

/** Joins ranges that touch or overlap, so a change may span a body and its padding. */
function merge(ranges: [number, number][]): [number, number][] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [from, to] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && from <= last[1]) last[1] = Math.max(last[1], to);
    else out.push([from, to]);
  }
  return out;
}

function documentRanges(
  bytes: Uint8Array,
  isDocument: (name: string) => boolean,
): [number, number][] {
  const ranges: [number, number][] = [];
  let offset = 0;
  for (const r of readTar(bytes)) {
    offset += r.header.length;
    if (isDocument(r.name)) ranges.push([offset, offset + r.body.length]);
    offset += Math.ceil(r.body.length / 512) * 512;
  }
  return ranges;
}

async function bases(): Promise<Base[]> {
  const layout = await openLayout(`${TESTDATA}store`);
  const hello = await new Response(
    exportArchive(layout, { images: ["docker.io/library/hello:oci"] }),
  ).bytes();
  const multi = await new Response(
    exportArchive(layout, {
      images: ["example.com/multi:1.0", "docker.io/library/hello:docker"],
      platform: "linux/amd64",
    }),
  ).bytes();
  const image = await sourceImage();
  const docker = dockerArchive([{ image, repoTags: ["hello:1", "hello:2"] }], "docker24");
  const oci = (name: string) => name === "index.json" || name === "manifest.json";
  return [
    {
      name: "hello (OCI)",
      bytes: hello,
      documents: documentRanges(hello, oci),
      padding: paddingRanges(hello),
    },
    {
      name: "multi + docker manifest (OCI)",
      bytes: multi,
      documents: documentRanges(multi, oci),
      padding: paddingRanges(multi),
    },
    {
      name: "docker 24 style",
      bytes: docker,
      documents: documentRanges(
        docker,
        (n) => n === "manifest.json" || /^[0-9a-f]{64}\.json$/.test(n),
      ),
      padding: [
        ...paddingRanges(docker),
        // Files no image uses.
        ...documentRanges(docker, (n) => /\/(json|VERSION)$/.test(n) || n === "repositories"),
      ],
    },
  ];
}

type Mutation = { what: string; from: number; to: number; apply: (b: Uint8Array) => Uint8Array };

function mutation(random: () => number, bytes: Uint8Array): Mutation {
  const at = Math.floor(random() * bytes.length);
  const kind = Math.floor(random() * 6);
  const int = (n: number) => Math.floor(random() * n);
  switch (kind) {
    case 0: {
      const bit = 1 << int(8);
      return {
        what: `flip bit ${bit} at ${at}`,
        from: at,
        to: at + 1,
        apply: (b) => {
          const out = b.slice();
          out[at] ^= bit;
          return out;
        },
      };
    }
    case 1: {
      const value = int(256);
      return {
        what: `set ${at} to ${value}`,
        from: at,
        to: at + 1,
        apply: (b) => {
          const out = b.slice();
          out[at] = value;
          return out;
        },
      };
    }
    case 2:
      return { what: `truncate at ${at}`, from: at, to: Infinity, apply: (b) => b.slice(0, at) };
    case 3: {
      const length = 1 + int(700);
      const insert = new Uint8Array(length).map(() => random() < 0.5 ? 0 : int(256));
      return {
        what: `insert ${length} bytes at ${at}`,
        from: at,
        to: Infinity,
        apply: (b) => {
          const out = new Uint8Array(b.length + length);
          out.set(b.subarray(0, at));
          out.set(insert, at);
          out.set(b.subarray(at), at + length);
          return out;
        },
      };
    }
    case 4: {
      const length = 1 + int(700);
      return {
        what: `delete ${length} bytes at ${at}`,
        from: at,
        to: Infinity,
        apply: (b) => {
          const head = b.subarray(0, at);
          const tail = b.subarray(Math.min(b.length, at + length));
          const out = new Uint8Array(head.length + tail.length);
          out.set(head);
          out.set(tail, head.length);
          return out;
        },
      };
    }
    default: {
      const blocks = Math.floor(bytes.length / 512);
      const source = int(blocks) * 512;
      const target = int(blocks) * 512;
      return {
        what: `copy block ${source} over ${target}`,
        from: target,
        to: target + 512,
        apply: (b) => {
          const out = b.slice();
          out.set(b.slice(source, source + 512), target);
          return out;
        },
      };
    }
  }
}

async function copyDir(from: string, to: string): Promise<void> {
  const cp = await new Deno.Command("cp", { args: ["-a", from, to] }).output();
  assert.equal(cp.code, 0);
}

async function blobsHashToNames(store: string): Promise<void> {
  for await (const e of Deno.readDir(`${store}/blobs/sha256`)) {
    const bytes = await Deno.readFile(`${store}/blobs/sha256/${e.name}`);
    assert.equal(createHash("sha256").update(bytes).digest("hex"), e.name);
  }
  await openLayout(store);
}

Deno.test(`import mutation: accepted and identical, or refused with the store unchanged (seed ${SEED})`, async () => {
  const random = prng(SEED);
  const dir = await Deno.makeTempDir({ prefix: "ocipack-import-mutation-" });
  try {
    const all = await bases();
    const layout = await openLayout(`${TESTDATA}store`);
    const seedArchive = await new Response(
      exportArchive(layout, { images: ["example.com/restricted:1"] }),
    ).bytes();
    const template = `${dir}/template`;
    await importArchive(ReadableStream.from([seedArchive]), template);
    const templateListing = await listing(template);
    const expected: string[][] = [];
    for (const [i, base] of all.entries()) {
      await copyDir(template, `${dir}/expected-${i}`);
      await importArchive(ReadableStream.from([base.bytes]), `${dir}/expected-${i}`);
      expected.push(await listing(`${dir}/expected-${i}`));
    }
    const tally = { identical: 0, different: 0, refused: 0 };
    for (let n = 0; n < CASES; n++) {
      const baseIndex = n % all.length;
      const base = all[baseIndex];
      const count = 1 + Math.floor(random() * 2);
      let bytes = base.bytes;
      const applied: Mutation[] = [];
      for (let k = 0; k < count; k++) {
        const m = mutation(random, bytes);
        bytes = m.apply(bytes);
        applied.push(m);
      }
      const label = `case ${n} (seed ${SEED}) on ${base.name}: ${
        applied.map((m) => m.what).join(", ")
      }`;
      const store = `${dir}/case`;
      await copyDir(template, store);
      let refused: unknown;
      try {
        await importArchive(ReadableStream.from([bytes]), store);
      } catch (error) {
        refused = error;
      }
      if (refused !== undefined) {
        assert(refused instanceof OcipackError, `${label}: undocumented error ${refused}`);
        assert.deepEqual(await listing(store), templateListing, `${label}: store changed`);
        await assert.rejects(verifyArchive(ReadableStream.from([bytes])), OcipackError, label);
        tally.refused++;
      } else if (JSON.stringify(await listing(store)) === JSON.stringify(expected[baseIndex])) {
        tally.identical++;
      } else {
        // Only a change inside a JSON document may import as something else, and then consistently.
        const within = (ranges: [number, number][], m: Mutation) =>
          ranges.some(([from, to]) => m.from >= from && m.to <= to);
        const tolerated = merge([...base.documents, ...base.padding]);
        const inDocument = applied.some((m) => within(base.documents, m)) &&
          applied.every((m) => within(tolerated, m));
        assert(inDocument, `${label}: accepted, but the store differs`);
        await blobsHashToNames(store);
        tally.different++;
      }
      await Deno.remove(store, { recursive: true });
    }
    console.log(`seed ${SEED}: ${CASES} cases`, tally);
    assert(tally.refused > 0 && tally.identical > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
