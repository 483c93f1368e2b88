// Tests for lib/oci/digest.ts. The validation table's expectations are what go-digest v1.0.0's
// Digest.Validate (the version containerd 2.x uses, with crypto/sha256 and crypto/sha512 linked)
// returned for each input, from a throw-away oracle program not kept in the repository.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  blobPath,
  describe,
  DIGEST_ALGORITHMS,
  Digester,
  digestOf,
  isDigest,
  parseDigest,
} from "../lib/oci/digest.ts";
import { InvalidDigestError } from "../lib/oci/errors.ts";

const a = (n: number) => "a".repeat(n);

/** [input, what go-digest's Validate returned ("ok" or its error)]. */
const VALIDATE_CASES: [string, string][] = [
  ["", "invalid checksum digest format"],
  [":", "invalid checksum digest format"],
  ["sha256", "invalid checksum digest format"],
  ["sha256:", "invalid checksum digest format"],
  [":" + a(64), "invalid checksum digest format"],
  ["sha256:" + a(64), "ok"],
  ["sha256:" + a(63), "invalid checksum digest length"],
  ["sha256:" + a(65), "invalid checksum digest length"],
  ["sha256:" + "A".repeat(64), "invalid checksum digest format"],
  ["sha256:" + a(63) + "A", "invalid checksum digest format"],
  ["sha256:" + a(63) + "g", "invalid checksum digest format"],
  ["SHA256:" + a(64), "invalid checksum digest format"],
  ["sha384:" + a(96), "ok"],
  ["sha384:" + a(64), "invalid checksum digest length"],
  ["sha512:" + a(128), "ok"],
  ["sha512:" + a(64), "invalid checksum digest length"],
  ["md5:" + a(32), "unsupported digest algorithm"],
  ["sha1:" + a(40), "unsupported digest algorithm"],
  ["blake3:" + a(64), "unsupported digest algorithm"],
  ["sha256+b64:" + a(64), "unsupported digest algorithm"],
  ["sha256:" + a(63) + "\n", "invalid checksum digest format"],
  ["sha256:" + a(64) + "\n", "invalid checksum digest length"],
  [" sha256:" + a(64), "invalid checksum digest format"],
  ["sha256 :" + a(64), "invalid checksum digest format"],
  ["sha256:" + a(62) + ":a", "invalid checksum digest format"],
  ["sha256::" + a(63), "invalid checksum digest format"],
  ["foo:bar", "unsupported digest algorithm"],
  ["Foo:bar", "invalid checksum digest format"],
  ["foo_bar:baz", "unsupported digest algorithm"],
  ["foo.bar+baz-qux:zz", "unsupported digest algorithm"],
  ["foo:BAR=", "unsupported digest algorithm"],
  ["sha256:" + "0".repeat(64), "ok"],
  ["sha256:" + "0f".repeat(32), "ok"],
  ["sha256:" + "\u00e9".repeat(32), "invalid checksum digest format"], // 64 bytes, not hex
  ["sha512:" + a(127) + "-", "invalid checksum digest format"],
  ["a:b", "unsupported digest algorithm"],
  ["a-:b", "invalid checksum digest format"],
  ["-a:b", "invalid checksum digest format"],
  ["a..b:c", "invalid checksum digest format"],
  ["1:2", "unsupported digest algorithm"],
  ["a:", "invalid checksum digest format"],
  ["sha256:" + a(64) + ":", "invalid checksum digest length"],
  ["sha256:" + "\u0660".repeat(64), "invalid checksum digest length"], // Arabic-Indic zeros
  ["sha256:" + "F".repeat(64), "invalid checksum digest format"],
  ["sha256\u0000:" + a(64), "invalid checksum digest format"],
  ["sha256:../../../../etc/passwd", "invalid checksum digest length"],
  ["sha256:" + a(61) + "/..", "invalid checksum digest format"],
];

Deno.test("parseDigest accepts exactly what go-digest's Validate accepts", () => {
  for (const [input, go] of VALIDATE_CASES) {
    assert.equal(isDigest(input), go === "ok", JSON.stringify(input));
    if (go === "ok") {
      const colon = input.indexOf(":");
      assert.deepEqual(parseDigest(input), {
        algorithm: input.slice(0, colon),
        encoded: input.slice(colon + 1),
      });
    } else {
      assert.throws(() => parseDigest(input), InvalidDigestError, JSON.stringify(input));
    }
  }
});

Deno.test("parseDigest: mutations of valid digests", () => {
  // Every single-character change of a valid digest is invalid unless it stays lower-case hex.
  const valid = digestOf(new TextEncoder().encode("x"));
  for (let i = 0; i < valid.length; i++) {
    for (const c of ["A", "g", "0", ":", "", "00", " ", "\u00e0"]) {
      const mutated = valid.slice(0, i) + c + valid.slice(i + 1);
      const stillHex = i > 6 && /^[0-9a-f]$/.test(c);
      assert.equal(isDigest(mutated), stillHex || mutated === valid, JSON.stringify(mutated));
    }
  }
});

Deno.test("parseDigest refuses values that are not strings", () => {
  for (
    const value of [undefined, null, 1, {}, [], ["sha256:" + a(64)], new String("sha256:" + a(64))]
  ) {
    assert.throws(() => parseDigest(value), InvalidDigestError);
    assert.equal(isDigest(value), false);
  }
});

Deno.test("parseDigest error messages say what is wrong", () => {
  const message = (value: unknown) => {
    try {
      parseDigest(value);
    } catch (error) {
      assert.ok(error instanceof InvalidDigestError);
      assert.equal(error.name, "InvalidDigestError");
      return error.message;
    }
    assert.fail("accepted");
  };
  assert.match(message(1), /^Invalid digest 1: not a string$/);
  assert.match(message(undefined), /^Invalid digest undefined: not a string$/);
  assert.match(message("sha256"), /not of the form algorithm:hex/);
  assert.match(message("md5:00"), /unsupported algorithm \(sha256, sha384, sha512\)/);
  assert.match(message("sha256:00"), /sha256 needs 64 hex digits/);
  assert.match(message("sha512:" + "A".repeat(128)), /not lower-case hex/);
  // Long values are cut short in the message.
  assert.ok(message("x".repeat(10_000)).length < 300);
});

Deno.test("DIGEST_ALGORITHMS lists go-digest's registered algorithms and is frozen", () => {
  assert.deepEqual([...DIGEST_ALGORITHMS], ["sha256", "sha384", "sha512"]);
  assert.ok(Object.isFrozen(DIGEST_ALGORITHMS));
});

Deno.test("blobPath is blobs/<algorithm>/<encoded> of a valid digest only", () => {
  assert.equal(blobPath("sha256:" + a(64)), "blobs/sha256/" + a(64));
  assert.equal(blobPath("sha512:" + a(128)), "blobs/sha512/" + a(128));
  for (
    const bad of [
      "sha256:../../etc/passwd",
      "../sha256:" + a(64),
      "sha256:" + a(63) + "/",
      "md5:" + a(32),
    ]
  ) {
    assert.throws(() => blobPath(bad), InvalidDigestError, bad);
  }
});

Deno.test("digestOf and Digester compute sha256, sha384 and sha512", () => {
  const abc = new TextEncoder().encode("abc");
  // FIPS 180-2 test vectors.
  assert.equal(
    digestOf(new Uint8Array()),
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  assert.equal(
    digestOf(abc),
    "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    digestOf(abc, "sha384"),
    "sha384:cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
  );
  assert.equal(
    digestOf(abc, "sha512"),
    "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
  );
  for (const algorithm of DIGEST_ALGORITHMS) {
    // Incremental hashing, in uneven chunks, equals hashing at once; the result validates.
    const bytes = new Uint8Array(100_003).map((_, i) => (i * 31 + 7) & 0xff);
    const digester = new Digester(algorithm);
    assert.equal(digester.algorithm, algorithm);
    for (let i = 0; i < bytes.length;) {
      const n = Math.min(bytes.length - i, 1 + (i % 9973));
      digester.update(bytes.subarray(i, i + n));
      i += n;
    }
    const digest = digester.digest();
    assert.equal(digest, digestOf(bytes, algorithm));
    assert.equal(digest, `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`);
    assert.ok(isDigest(digest));
  }
});

Deno.test("Digester refuses algorithms go-digest does not register", () => {
  for (
    const algorithm of [
      "md5",
      "sha1",
      "SHA256",
      "sha224",
      "sha512-256",
      "",
      "__proto__",
      "constructor",
      "sha256:" + a(64),
    ]
  ) {
    assert.throws(() => new Digester(algorithm), InvalidDigestError, algorithm);
    assert.throws(() => digestOf(new Uint8Array(), algorithm), InvalidDigestError);
  }
});

Deno.test("describe renders values briefly for messages", () => {
  assert.equal(describe("x"), '"x"');
  assert.equal(describe(undefined), "undefined");
  assert.equal(describe(null), "null");
  assert.equal(describe(12), "12");
  assert.equal(describe({ a: 1 }), '{"a":1}');
  assert.equal(describe("y".repeat(200)), JSON.stringify("y".repeat(150) + "..."));
  assert.equal(describe(["z".repeat(300)]).length, 153);
  assert.equal(describe(1n), "1");
  assert.equal(describe(Symbol("s")), "Symbol(s)");
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.equal(describe(cyclic), "[object Object]");
});
