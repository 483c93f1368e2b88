// Tables follow the upstream tests: distribution/reference's normalize_test.go and
// reference_test.go, and containerd's pkg/reference/reference_test.go, plus the names of SPEC.md
// section 2. Expected values were checked against the Go code.
import assert from "node:assert/strict";
import { InvalidArgumentError } from "../lib/oci/errors.ts";
import {
  familiarizeReference,
  familiarName,
  familiarString,
  formatReference,
  isDigestOnlyReference,
  normalizeReference,
  ociReferenceName,
  parseDockerRef,
  parseNamed,
  parseNormalizedNamed,
  parseReference,
  type Reference,
  tagNameOnly,
} from "../lib/oci/reference.ts";

const HEX = "e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582";
const DIGEST = `sha256:${HEX}`;
const FFFF = `sha256:${"f".repeat(64)}`;

const FORMAT = "invalid reference format";
const LOWERCASE = "repository name must be lowercase";
const TOO_LONG = "repository name must not be more than 255 characters";
const EMPTY = "repository name must have at least one component";
const IDENTIFIER = "a 64-digit hexadecimal identifier cannot be a repository name";
const NOT_CANONICAL = "repository name must be canonical";
const UNSUPPORTED = "unsupported digest algorithm";
const DIGEST_LENGTH = "invalid digest length";
const DIGEST_FORMAT = "invalid digest format";

/** Asserts that `fn(input)` throws an InvalidArgumentError naming the input and the reason. */
function assertInvalid(fn: (name: string) => unknown, input: string, reason: string): void {
  assert.throws(
    () => fn(input),
    (error: unknown) => {
      assert.ok(error instanceof InvalidArgumentError, `${JSON.stringify(input)}: ${error}`);
      assert.equal(error.message, `Invalid image name ${JSON.stringify(input)}: ${reason}`);
      return true;
    },
  );
}

Deno.test("familiarizeReference gives the RepoTags form", () => {
  const cases: [input: string, familiar: string][] = [
    ["docker.io/library/a:1.0", "a:1.0"],
    ["docker.io/u/a:x", "u/a:x"],
    ["example.com/a", "example.com/a:latest"],
    ["localhost:5000/a:v1", "localhost:5000/a:v1"],
    ["a", "a:latest"],
    ["a:1.0", "a:1.0"],
    ["library/a", "a:latest"],
    ["docker.io/a", "a:latest"],
    ["index.docker.io/a:2", "a:2"],
    ["index.docker.io/u/a", "u/a:latest"],
    ["docker.io/library/a/b", "library/a/b:latest"],
    ["localhost/a", "localhost/a:latest"],
    ["localhost", "localhost:latest"],
    ["LOCALDOMAIN/a", "LOCALDOMAIN/a:latest"],
    ["[::1]:5000/a", "[::1]:5000/a:latest"],
    ["[2001:db8::1]/a:t", "[2001:db8::1]/a:t"],
    ["127.0.0.1:5000/a", "127.0.0.1:5000/a:latest"],
    ["a_b/c__d/e-f/g.h:t", "a_b/c__d/e-f/g.h:t"],
    ["a---b:t", "a---b:t"],
    [`a@${DIGEST}`, `a@${DIGEST}`],
    [`a:t@${DIGEST}`, `a:t@${DIGEST}`],
    [`docker.io/library/busybox:latest@${DIGEST}`, `busybox:latest@${DIGEST}`],
    [`docker.io/${"a".repeat(63)}b`, `${"a".repeat(63)}b:latest`],
    [`docker.io/${HEX}`, `${HEX}:latest`],
  ];
  for (const [input, familiar] of cases) {
    assert.equal(familiarizeReference(input), familiar, input);
  }
});

Deno.test("familiarizeReference rejects names that do not parse", () => {
  const cases: [input: string, reason: string][] = [
    ["Foo", LOWERCASE],
    ["docker/Docker", LOWERCASE],
    ["a/B:t", LOWERCASE],
    ["", FORMAT],
    ["://", FORMAT],
    ["a b", FORMAT],
    [" a", FORMAT],
    ["a:", FORMAT],
    [":t", FORMAT],
    [`@${DIGEST}`, FORMAT],
    ["a/", FORMAT],
    ["https://github.com/docker/docker", FORMAT],
    [HEX, IDENTIFIER],
    ["a".repeat(256), TOO_LONG],
    [`example.com/${"a".repeat(256)}:t`, TOO_LONG],
    [`a:${"t".repeat(129)}`, FORMAT],
    ["a@sha256:abc", FORMAT],
    [`a@md5:${"f".repeat(32)}`, UNSUPPORTED],
    [`a@sha256:${"f".repeat(63)}`, DIGEST_LENGTH],
    [`a@sha256:${"F".repeat(64)}`, DIGEST_FORMAT],
    [`a@SHA256:${"f".repeat(64)}`, LOWERCASE], // "library/a@SHA256" is taken for the path
  ];
  for (const [input, reason] of cases) assertInvalid(familiarizeReference, input, reason);
});

Deno.test("parseNormalizedNamed accepts and rejects repository names as distribution does", () => {
  const valid = [
    "docker/docker",
    "library/debian",
    "debian",
    "localhost/library/debian",
    "localhost/debian",
    "LOCALDOMAIN/library/debian",
    "LOCALDOMAIN/debian",
    "docker.io/docker/docker",
    "docker.io/library/debian",
    "docker.io/debian",
    "index.docker.io/docker/docker",
    "index.docker.io/library/debian",
    "index.docker.io/debian",
    "127.0.0.1:5000/docker/docker",
    "127.0.0.1:5000/library/debian",
    "127.0.0.1:5000/debian",
    "192.168.0.1",
    "192.168.0.1:80",
    "192.168.0.1:8/debian",
    "192.168.0.2:25000/debian",
    "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
    "[fc00::1]:5000/docker",
    "[fc00::1]:5000/docker/docker",
    "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
    "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
    "Docker/docker",
    "DOCKER/docker",
    "docker-rules/docker",
    "docker---rules/docker",
    "doc/docker",
    "d/docker",
    "jess/t",
    "dock__er/docker",
    "a_b",
    "a.b",
  ];
  for (const name of valid) assert.doesNotThrow(() => parseNormalizedNamed(name), name);

  const invalid = [
    "https://github.com/docker/docker",
    "docker/Docker",
    "-docker",
    "-docker/docker",
    "-docker.io/docker/docker",
    "docker///docker",
    "docker.io/docker/Docker",
    "docker.io/docker///docker",
    "[fc00::1]",
    "[fc00::1]:5000",
    "fc00::1:5000/debian",
    "[fe80::1%eth0]:5000/debian",
    "[2001:db8:3:4::192.0.2.33]:5000/debian",
    "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
    "docker-/docker",
    "-docker-/docker",
    "____/____",
    "_docker/_docker",
    "dock..er/docker",
    "dock_.er/docker",
    "dock-.er/docker",
    "a___b",
    "docker/",
    `${"this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_".repeat(4)}/docker`,
  ];
  for (const name of invalid) {
    assert.throws(() => parseNormalizedNamed(name), InvalidArgumentError, name);
  }
});

Deno.test("parseNormalizedNamed splits domain and path", () => {
  // [familiar name, full name, ambiguous name or "", domain, path]
  const cases: [string, string, string, string, string][] = [
    ["localhost/fooo", "localhost/fooo", "", "localhost", "fooo"],
    ["localhost/fooo/bar", "localhost/fooo/bar", "", "localhost", "fooo/bar"],
    ["LOCALDOMAIN/fooo", "LOCALDOMAIN/fooo", "", "LOCALDOMAIN", "fooo"],
    ["LOCALDOMAIN/fooo/bar", "LOCALDOMAIN/fooo/bar", "", "LOCALDOMAIN", "fooo/bar"],
    ["fooo/bar", "docker.io/fooo/bar", "index.docker.io/fooo/bar", "docker.io", "fooo/bar"],
    ["ubuntu", "docker.io/library/ubuntu", "library/ubuntu", "docker.io", "library/ubuntu"],
    ["nonlibrary/ubuntu", "docker.io/nonlibrary/ubuntu", "", "docker.io", "nonlibrary/ubuntu"],
    ["other/library", "docker.io/other/library", "", "docker.io", "other/library"],
    [
      "127.0.0.1:8000/private/moonbase",
      "127.0.0.1:8000/private/moonbase",
      "",
      "127.0.0.1:8000",
      "private/moonbase",
    ],
    [
      "127.0.0.1:8000/privatebase",
      "127.0.0.1:8000/privatebase",
      "",
      "127.0.0.1:8000",
      "privatebase",
    ],
    [
      "example.com/private/moonbase",
      "example.com/private/moonbase",
      "",
      "example.com",
      "private/moonbase",
    ],
    ["example.com/privatebase", "example.com/privatebase", "", "example.com", "privatebase"],
    [
      "example.com:8000/private/moonbase",
      "example.com:8000/private/moonbase",
      "",
      "example.com:8000",
      "private/moonbase",
    ],
    [
      "example.com:8000/privatebasee",
      "example.com:8000/privatebasee",
      "",
      "example.com:8000",
      "privatebasee",
    ],
    [
      "ubuntu-12.04-base",
      "docker.io/library/ubuntu-12.04-base",
      "index.docker.io/library/ubuntu-12.04-base",
      "docker.io",
      "library/ubuntu-12.04-base",
    ],
    ["foo", "docker.io/library/foo", "docker.io/foo", "docker.io", "library/foo"],
    ["library/foo/bar", "docker.io/library/foo/bar", "", "docker.io", "library/foo/bar"],
    ["store/foo/bar", "docker.io/store/foo/bar", "", "docker.io", "store/foo/bar"],
    ["Foo/bar", "Foo/bar", "", "Foo", "bar"],
    ["FOO/bar", "FOO/bar", "", "FOO", "bar"],
    ["test_com/foo", "docker.io/test_com/foo", "", "docker.io", "test_com/foo"],
    ["test-com:8080/foo", "test-com:8080/foo", "", "test-com:8080", "foo"],
    ["xn--n3h.com:18080/foo", "xn--n3h.com:18080/foo", "", "xn--n3h.com:18080", "foo"],
    ["[::1]:5000/a", "[::1]:5000/a", "", "[::1]:5000", "a"],
  ];
  for (const [familiar, full, ambiguous, domain, path] of cases) {
    for (const input of [familiar, full, ambiguous].filter((name) => name !== "")) {
      const ref = parseNormalizedNamed(input);
      assert.deepEqual(ref, { domain, path }, input);
      assert.equal(formatReference(ref), full, input);
      assert.equal(familiarName(ref), familiar, input);
      assert.equal(familiarString(ref), familiar, input);
    }
  }
});

Deno.test("parseNormalizedNamed keeps tag and digest", () => {
  const short = `busybox:latest@${DIGEST}`;
  const ref = parseNormalizedNamed(short);
  assert.deepEqual(ref, {
    domain: "docker.io",
    path: "library/busybox",
    tag: "latest",
    digest: DIGEST,
  });
  assert.equal(formatReference(ref), `docker.io/library/${short}`);
  assert.equal(familiarString(ref), short);
  assert.deepEqual(parseNormalizedNamed("a.io/b:c"), { domain: "a.io", path: "b", tag: "c" });
});

Deno.test("parseNormalizedNamed error messages", () => {
  assertInvalid(parseNormalizedNamed, "Foo", LOWERCASE);
  assertInvalid(parseNormalizedNamed, "docker.io/Foo:tag", LOWERCASE);
  assertInvalid(parseNormalizedNamed, HEX, IDENTIFIER);
  assertInvalid(parseNormalizedNamed, "a b", FORMAT);
  assertInvalid(parseNormalizedNamed, "a: b", FORMAT);
  assertInvalid(parseNormalizedNamed, "", FORMAT);
  assertInvalid(parseNormalizedNamed, `a/${"b".repeat(254)}`, TOO_LONG);
  assert.doesNotThrow(() => parseNormalizedNamed(`a/${"b".repeat(253)}`));
});

Deno.test("parseDockerRef and normalizeReference", () => {
  const cases: [input: string, normalized: string][] = [
    ["busybox", "docker.io/library/busybox:latest"],
    ["busybox:latest", "docker.io/library/busybox:latest"],
    [`busybox@${DIGEST}`, `docker.io/library/busybox@${DIGEST}`],
    ["library/busybox", "docker.io/library/busybox:latest"],
    ["docker.io/busybox", "docker.io/library/busybox:latest"],
    ["docker.io/library/busybox", "docker.io/library/busybox:latest"],
    ["docker.io/busybox:latest", "docker.io/library/busybox:latest"],
    ["library/busybox:latest", "docker.io/library/busybox:latest"],
    ["docker.io/library/busybox:latest", "docker.io/library/busybox:latest"],
    ["gcr.io/library/busybox", "gcr.io/library/busybox:latest"],
    [`gcr.io/library/busybox:latest@${DIGEST}`, `gcr.io/library/busybox@${DIGEST}`],
    ["localhost:5000/a:v1", "localhost:5000/a:v1"],
    ["index.docker.io/a", "docker.io/library/a:latest"],
  ];
  for (const [input, normalized] of cases) {
    assert.equal(normalizeReference(input), normalized, input);
    assert.equal(formatReference(parseDockerRef(input)), normalized, input);
    // The normalized form parses as it is.
    assert.equal(formatReference(parseReference(normalized)), normalized, input);
  }
  assert.deepEqual(parseDockerRef(`a:t@${DIGEST}`), {
    domain: "docker.io",
    path: "library/a",
    digest: DIGEST,
  });
  assertInvalid(normalizeReference, "A", LOWERCASE);
  assertInvalid(parseDockerRef, "a:", FORMAT);
});

Deno.test("parseReference parses a name as written", () => {
  // [input, domain, path, tag, digest] for names that parse; the string form is the input.
  const valid: [string, string, string, string?, string?][] = [
    ["test_com", "", "test_com"],
    ["test.com:tag", "", "test.com", "tag"],
    ["test.com:5000", "", "test.com", "5000"],
    ["test.com/repo:tag", "test.com", "repo", "tag"],
    ["test:5000/repo", "test:5000", "repo"],
    ["test:5000/repo:tag", "test:5000", "repo", "tag"],
    [`test:5000/repo@${FFFF}`, "test:5000", "repo", undefined, FFFF],
    [`test:5000/repo:tag@${FFFF}`, "test:5000", "repo", "tag", FFFF],
    ["lowercase:Uppercase", "", "lowercase", "Uppercase"],
    [
      `${"a/".repeat(127)}a:tag-puts-this-over-max`,
      "a",
      `${"a/".repeat(126)}a`,
      "tag-puts-this-over-max",
    ],
    ["sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com", "bar/baz/quux"],
    [
      "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
      "sub-dom1.foo.com",
      "bar/baz/quux",
      "some-long-tag",
    ],
    [
      "b.gcr.io/test.example.com/my-app:test.example.com",
      "b.gcr.io",
      "test.example.com/my-app",
      "test.example.com",
    ],
    ["xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com", "myimage", "xn--n3h.com"],
    [`xn--7o8h.com/myimage:xn--7o8h.com@${FFFF}`, "xn--7o8h.com", "myimage", "xn--7o8h.com", FFFF],
    ["foo_bar.com:8080", "", "foo_bar.com", "8080"],
    ["foo/foo_bar.com:8080", "foo", "foo_bar.com", "8080"],
    ["192.168.1.1", "", "192.168.1.1"],
    ["192.168.1.1:tag", "", "192.168.1.1", "tag"],
    ["192.168.1.1:5000", "", "192.168.1.1", "5000"],
    ["192.168.1.1/repo", "192.168.1.1", "repo"],
    ["192.168.1.1:5000/repo", "192.168.1.1:5000", "repo"],
    ["192.168.1.1:5000/repo:5050", "192.168.1.1:5000", "repo", "5050"],
    ["[2001:db8::1]/repo", "[2001:db8::1]", "repo"],
    ["[2001:db8:1:2:3:4:5:6]/repo:tag", "[2001:db8:1:2:3:4:5:6]", "repo", "tag"],
    ["[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "repo"],
    ["[2001:db8::1]:5000/repo:tag", "[2001:db8::1]:5000", "repo", "tag"],
    [`[2001:db8::1]:5000/repo@${FFFF}`, "[2001:db8::1]:5000", "repo", undefined, FFFF],
    [`[2001:db8::1]:5000/repo:tag@${FFFF}`, "[2001:db8::1]:5000", "repo", "tag", FFFF],
    ["[2001:db8::]:5000/repo", "[2001:db8::]:5000", "repo"],
    ["[::1]:5000/repo", "[::1]:5000", "repo"],
    [`example.com/${"a".repeat(255)}:tag`, "example.com", "a".repeat(255), "tag"],
    ["Uppercase/lowercase:tag", "Uppercase", "lowercase", "tag"],
    [`a@sha512:${"f".repeat(128)}`, "", "a", undefined, `sha512:${"f".repeat(128)}`],
    [`a@sha384:${"f".repeat(96)}`, "", "a", undefined, `sha384:${"f".repeat(96)}`],
  ];
  for (const [input, domain, path, tag, digest] of valid) {
    const expected: Reference = { domain, path };
    if (tag !== undefined) expected.tag = tag;
    if (digest !== undefined) expected.digest = digest;
    const ref = parseReference(input);
    assert.deepEqual(ref, expected, input);
    assert.equal(formatReference(ref), input, input);
  }

  const invalid: [input: string, reason: string][] = [
    ["", EMPTY],
    [":justtag", FORMAT],
    [`@${FFFF}`, FORMAT],
    [`repo@sha256:${"f".repeat(34)}`, DIGEST_LENGTH],
    [`validname@invaliddigest:${"f".repeat(64)}`, UNSUPPORTED],
    [`validname@sha256+b64:${"f".repeat(64)}`, UNSUPPORTED],
    [`validname@Sha256:${"f".repeat(64)}`, DIGEST_FORMAT],
    ["Uppercase:tag", LOWERCASE],
    ["test:5000/Uppercase/lowercase:tag", LOWERCASE],
    [`domain/${"a".repeat(256)}:tag`, TOO_LONG],
    ["aa/asdf$$^/aa", FORMAT],
    ["[2001:db8::1]", FORMAT],
    ["[2001:db8::1]:5000", FORMAT],
    ["[2001:db8::1]:tag", FORMAT],
    ["[fe80::1%eth0]:5000/repo", FORMAT],
    ["[fe80::1%@invalidzone]:5000/repo", FORMAT],
    ["a:b:c", FORMAT],
    ["a__", FORMAT],
    ["a/-b", FORMAT],
  ];
  for (const [input, reason] of invalid) assertInvalid(parseReference, input, reason);
});

Deno.test("parseNamed requires the canonical form", () => {
  const valid: [input: string, domain: string, path: string][] = [
    ["test.com/foo", "test.com", "foo"],
    ["test:8080/foo", "test:8080", "foo"],
    ["docker.io/library/foo", "docker.io", "library/foo"],
    ["docker.io/library/foo:1", "docker.io", "library/foo"],
  ];
  for (const [input, domain, path] of valid) {
    const ref = parseNamed(input);
    assert.equal(ref.domain, domain, input);
    assert.equal(ref.path, path, input);
  }
  for (const input of ["test_com/foo", "test.com", "foo", "library/foo", "docker.io/foo"]) {
    assertInvalid(parseNamed, input, NOT_CANONICAL);
  }
  assertInvalid(parseNamed, "Foo", LOWERCASE);
});

Deno.test("tagNameOnly, formatReference and familiarString", () => {
  const named: Reference = { domain: "docker.io", path: "library/a" };
  assert.deepEqual(tagNameOnly(named), { domain: "docker.io", path: "library/a", tag: "latest" });
  assert.deepEqual(named, { domain: "docker.io", path: "library/a" }, "not changed in place");
  const tagged: Reference = { domain: "docker.io", path: "u/a", tag: "x" };
  assert.equal(tagNameOnly(tagged), tagged);
  const digested: Reference = { domain: "a.io", path: "b", digest: DIGEST };
  assert.equal(tagNameOnly(digested), digested);
  assert.equal(formatReference(digested), `a.io/b@${DIGEST}`);
  assert.equal(formatReference({ domain: "", path: "a", tag: "t" }), "a:t");
  assert.equal(familiarString(tagged), "u/a:x");
  assert.equal(familiarString({ ...named, tag: "1", digest: DIGEST }), `a:1@${DIGEST}`);
  assert.equal(familiarString({ domain: "docker.io", path: "library/a/b" }), "library/a/b");
  assert.equal(familiarString({ domain: "docker.io", path: "libraryx" }), "libraryx");
  assert.equal(
    familiarString({ domain: "example.com", path: "library/a" }),
    "example.com/library/a",
  );
});

Deno.test("ociReferenceName takes the object of containerd's reference.Parse", () => {
  const cases: [input: string, refName: string][] = [
    ["docker.io/library/a:1.0", "1.0"],
    [`a.io/b:t@${DIGEST}`, `t@${DIGEST}`],
    ["localhost:5000/a:v1", "v1"],
    ["[::1]:5000/a:t", "t"],
    ["[fe80::1%25eth0]:5000/a:t", "t"],
    ["[fe80::1%25%41]:5000/a:t", "t"],
    ["[::ffff:1.2.3.4]/a:t", "t"],
    ["a_b.io/c__d/e-f:g.h", "g.h"],
    // containerd's own cases
    ["docker.io/library/redis:foo?fooo=asdf", "foo"],
    ["docker.io/library/redis:foo@sha256:abcdef?fooo=asdf", "foo@sha256:abcdef"],
    ["docker.io/library/redis:obj@abcdef?fooo=asdf", "obj@abcdef"],
    ["localhost:5000/library/redis:obj@abcdef?fooo=asdf", "obj@abcdef"],
    ["sub-dom1.foo.com/bar/baz/quux:latest", "latest"],
    ["sub-dom1.foo.com/bar/baz/quux:some-long-tag", "some-long-tag"],
    ["b.gcr.io/test.example.com/my-app:test.example.com", "test.example.com"],
    ["xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com"],
    ["xn--7o8h.com/myimage:xn--7o8h.com@sha512:fffffff", "xn--7o8h.com@sha512:fffffff"],
    // the URL's path is what is split: anything goes there, %-escapes are decoded
    ["a.io/b:t#fragment", "t"],
    ["a.io/b:t%20x", "t x"],
    ["a.io/B:T", "T"],
    ["a.io/b c:t", "t"],
    ["a.io/b:c/d", "c/d"],
    ["a.io/b::t", ":t"],
    ["u:p@a.io/b:t", "t"],
    ["a.io:/b:t", "t"],
    ["a:1:2/b:t", "t"],
    ["a]/b:t", "t"],
  ];
  for (const [input, refName] of cases) assert.equal(ociReferenceName(input), refName, input);

  // The whole name: digest-only, no object, or not parsed by containerd.
  const whole = [
    `docker.io/library/a@${DIGEST}`,
    `a.io/b@${DIGEST}`,
    `a@${DIGEST}`, // "a@sha256" is userinfo and host, and the port is not a number
    "docker.io/library/redis?fooo=asdf",
    "a.io/b",
    "a.io/b:",
    "a.io/b@x:y",
    "ubuntu",
    "ubuntu:latest",
    "a.io:x/b:t",
    "",
    "://",
    "http://xn--7o8h.com/myimage:xn--7o8h.com@sha512:fffffff",
    "/docker.io/library/redis:obj@abcdef?fooo=asdf",
    "a b/c:t",
    "a{b}/c:t",
    "a%41/b:t",
    "a.io/b:%zz",
    "a.io/b:t#%zz",
    "a.io/b:t\x01",
    "ü@a.io/b:t",
    "%zz@a.io/b:t",
    "@/b:t",
    "a[b]/c:t",
    "[1.2.3.4]/a:t",
    "[::1%25]/a:t",
    "[::1%25%0a]/a:t",
    "[::1/a:t",
    "[::1]x/a:t",
    "[::12345]/a:t",
    "[1::2::3]/a:t",
    "[1:2:3:4:5:6:7:8:9]/a:t",
  ];
  for (const input of whole) assert.equal(ociReferenceName(input), input, JSON.stringify(input));
});

Deno.test("isDigestOnlyReference", () => {
  const cases: [input: string, digestOnly: boolean][] = [
    [`a@${DIGEST}`, true],
    [`docker.io/library/a@${DIGEST}`, true],
    [`localhost:5000/a@${DIGEST}`, true],
    [`a:t@${DIGEST}`, false],
    ["a", false],
    ["a:t", false],
    [`A@${DIGEST}`, false],
    ["a@sha256:abc", false],
    [`a@sha256:${"f".repeat(63)}`, false],
    ["", false],
    [HEX, false],
  ];
  for (const [input, digestOnly] of cases) {
    assert.equal(isDigestOnlyReference(input), digestOnly, input);
  }
});
