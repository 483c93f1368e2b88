// Tests for lib/oci/digest_ids.ts and lib/export/blob_table.ts: the compact tables an export keeps
// its blobs in, checked against plain strings, Maps and sorts.
import assert from "node:assert/strict";
import { DigestIds } from "../lib/oci/digest_ids.ts";
import { BlobTable } from "../lib/export/blob_table.ts";
import type { Descriptor } from "../lib/oci/documents.ts";

const HEX_LENGTH = { sha256: 64, sha384: 96, sha512: 128 } as const;

function randomDigest(algorithm: keyof typeof HEX_LENGTH = "sha256"): string {
  const bytes = crypto.getRandomValues(new Uint8Array(HEX_LENGTH[algorithm] / 2));
  return `${algorithm}:${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

Deno.test("DigestIds gives each digest one id, and gives the digest back", () => {
  const ids = new DigestIds();
  const digests: string[] = [];
  for (let i = 0; i < 20_000; i++) {
    digests.push(randomDigest((["sha256", "sha384", "sha512"] as const)[i % 3]));
  }
  // Also digests that differ only in their last hex digit, and across algorithms with equal bytes.
  const near = "sha256:" + "ab".repeat(31) + "a";
  digests.push(near + "0", near + "1", "sha384:" + "0".repeat(96), "sha512:" + "0".repeat(128));
  const seen = new Map<string, number>();
  for (const digest of digests) {
    assert.equal(ids.find(digest), -1);
    const id = ids.intern(digest);
    assert.equal(id, seen.size);
    seen.set(digest, id);
  }
  assert.equal(ids.size, digests.length);
  for (const [digest, id] of seen) {
    assert.equal(ids.intern(digest), id);
    assert.equal(ids.find(digest), id);
    assert.equal(ids.digest(id), digest);
    assert.equal(ids.path(id), `blobs/${digest.replace(":", "/")}`);
  }
  assert.equal(ids.size, digests.length); // interning again added nothing
});

Deno.test("DigestIds sorts ids as their digests sort as strings", () => {
  const ids = new DigestIds();
  const digests = [
    ...Array.from({ length: 3000 }, () => randomDigest()),
    ...Array.from({ length: 100 }, () => randomDigest("sha512")),
    ...Array.from({ length: 100 }, () => randomDigest("sha384")),
    // Equal first bytes, so that the comparison goes past them.
    "sha256:00000000" + "f".repeat(56),
    "sha256:00000000" + "0".repeat(56),
    "sha256:0000000" + "1".repeat(57),
  ];
  const order = ids.sort(Uint32Array.from(digests, (d) => ids.intern(d)));
  assert.deepEqual(Array.from(order, (id) => ids.digest(id)), digests.toSorted());
});

Deno.test("BlobTable keeps the first descriptor and origin of each blob, and makes them again", () => {
  const table = new BlobTable();
  const plain: Descriptor = {
    mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
    digest: randomDigest(),
    size: 2 ** 40 + 3,
  };
  const foreign: Descriptor = {
    mediaType: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    digest: randomDigest("sha512"),
    size: 7,
    urls: ["https://example.com/layer"],
    annotations: { a: "b" },
  };
  const odd = { image: "example.com/a:1", role: "attestation" };
  const a = table.intern(plain.digest);
  table.add(a, plain, { image: "example.com/a:1", role: "layer" });
  table.add(a, { ...plain, size: 1 }, { image: "example.com/b:1", role: "config" }); // ignored
  const b = table.intern(foreign.digest);
  table.add(b, foreign, odd);
  const c = table.intern(randomDigest()); // seen, not archived
  assert.equal(table.archived, 2);
  assert.deepEqual(table.descriptor(a), plain);
  assert.deepEqual(table.origin(a), { image: "example.com/a:1", role: "layer" });
  assert.equal(table.descriptor(b), foreign); // kept whole
  assert.equal(table.origin(b), odd);
  assert(table.inArchive(a) && table.inArchive(b) && !table.inArchive(c));
  const d = table.intern(randomDigest());
  table.add(d, { mediaType: "x", digest: table.digest(d), size: 0 }, {});
  assert.deepEqual(table.origin(d), {});
  assert.deepEqual(
    Array.from(table.archiveOrder(), (id) => table.digest(id)),
    [a, b, d].map((id) => table.digest(id)).toSorted(),
  );
});
