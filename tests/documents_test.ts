// Tests for lib/oci/documents.ts. Expected outputs come from Go: a throw-away oracle program (not in
// the repository) with image-spec v1.1's Descriptor, Platform, Manifest and Index structs and
// containerd's unknownDocument/validateMediaType, reporting for each input whether json.Unmarshal
// accepts it and what json.Marshal writes back. Go 1.19 was the oracle; its \u0008 and \u000c were
// rewritten to \b and \f as Go >= 1.22 writes them. Random documents are regenerated from a fixed
// seed; the table holds the first 6 hex digits of the SHA-256 of Go's result for each.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  checkDescriptor,
  checkDocumentKind,
  decodeIndex,
  decodeManifest,
  type Descriptor,
  DocumentError,
  encodeArchiveIndex,
  encodeDescriptor,
  encodeDockerManifest,
  encodePlatform,
  OCI_LAYOUT,
} from "../lib/oci/documents.ts";
import { InvalidArgumentError } from "../lib/oci/errors.ts";
import {
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER_GZIP,
  OCI_MANIFEST,
} from "../lib/oci/media_types.ts";
import { hashes, prng } from "./support/seeded.ts";

const te = new TextEncoder();
const utf8 = (s: string) => te.encode(s);
const D1 = "sha256:" + "a".repeat(64);
const D2 = "sha512:" + "b".repeat(128);

// ---------------------------------------------------------------------------------------------
// What the oracle reports, computed the same way from our functions.

/** Our results for a document, in the oracle's terms. */
export interface DocResult {
  /** The re-encoded `manifests` of json.Unmarshal into an Index, or "error". */
  index: string[] | "error";
  /** The re-encoded config, then layers, of json.Unmarshal into a Manifest, or "error". */
  manifest: string[] | "error";
  /** Whether validateMediaType(doc, OCI manifest) accepts it. */
  asManifest: boolean;
  /** Whether validateMediaType(doc, OCI index) accepts it. */
  asIndex: boolean;
}

function attempt<T>(f: () => T): T | "error" {
  try {
    return f();
  } catch (error) {
    if (error instanceof DocumentError) return "error";
    throw error;
  }
}

export function docResult(bytes: Uint8Array): DocResult {
  return {
    index: attempt(() => decodeIndex(bytes).manifests.map(encodeDescriptor)),
    manifest: attempt(() => {
      const m = decodeManifest(bytes);
      return [encodeDescriptor(m.config), ...m.layers.map(encodeDescriptor)];
    }),
    asManifest: attempt(() => checkDocumentKind(bytes, OCI_MANIFEST)) !== "error",
    asIndex: attempt(() => checkDocumentKind(bytes, OCI_INDEX)) !== "error",
  };
}

export function shortHash(result: DocResult): string {
  return createHash("sha256").update(JSON.stringify(result)).digest("hex").slice(0, 6);
}

// ---------------------------------------------------------------------------------------------
// A seeded generator of documents (exported so the oracle driver makes exactly the same ones).

type Rand = () => number;

function pick<T>(next: Rand, list: readonly T[]): T {
  return list[Math.floor(next() * list.length)];
}

function randomCodePoint(next: Rand): number {
  const r = next();
  if (r < 0.5) return 0x20 + Math.floor(next() * 0x5f);
  if (r < 0.6) return pick(next, [0x22, 0x5c, 0x3c, 0x3e, 0x26, 0x7f, 0x2028, 0x2029, 0xfeff]);
  if (r < 0.68) return Math.floor(next() * 0x20);
  if (r < 0.8) return 0x80 + Math.floor(next() * 0x780);
  if (r < 0.9) {
    const c = 0x800 + Math.floor(next() * (0x10000 - 0x1000));
    return c >= 0xd800 ? c + 0x800 : c;
  }
  return 0x10000 + Math.floor(next() * 0x100000);
}

function randomString(next: Rand, max: number): string {
  const n = Math.floor(next() * (max + 1));
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCodePoint(randomCodePoint(next));
  return s;
}

const SHORT: Record<number, string> = {
  0x22: '\\"',
  0x5c: "\\\\",
  0x2f: "\\/",
  0x08: "\\b",
  0x0c: "\\f",
  0x0a: "\\n",
  0x0d: "\\r",
  0x09: "\\t",
};

function u4(next: Rand, unit: number): string {
  const h = unit.toString(16).padStart(4, "0");
  return "\\u" + (next() < 0.5 ? h : h.toUpperCase());
}

function str(next: Rand, s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c && next() < 0.85) out += ch;
    else if (SHORT[c] !== undefined && next() < 0.6) out += SHORT[c];
    else if (c > 0xffff) {
      out += u4(next, 0xd800 + ((c - 0x10000) >> 10)) + u4(next, 0xdc00 + (c & 0x3ff));
    } else out += u4(next, c);
  }
  return out + '"';
}

function ws(next: Rand): string {
  return next() < 0.75 ? "" : pick(next, [" ", "\n", "\t", "\r\n "]);
}

function object(next: Rand, members: [string, string][]): string {
  return "{" +
    members.map(([k, v]) => `${ws(next)}${str(next, k)}${ws(next)}:${ws(next)}${v}${ws(next)}`)
      .join(",") +
    "}";
}

function array(next: Rand, items: string[]): string {
  return "[" + items.map((v) => ws(next) + v + ws(next)).join(",") + "]";
}

/** A field name as the document spells it: usually exact, else in another case or with U+017F. */
function key(next: Rand, name: string): string {
  if (next() < 0.7) return name;
  let out = "";
  for (const ch of name) {
    const r = next();
    if (ch === "s" && r < 0.15) out += "\u017f";
    else if (/[a-zA-Z]/.test(ch) && r < 0.5) {
      out += ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase();
    } else out += ch;
  }
  return out;
}

const WRONG = ["1", "true", "false", "[]", "{}", '"x"', "1.5", "[1]", '{"a":1}'];

/** A value of the wrong type for a field of `kind` (never a string for a string field, etc). */
function wrong(next: Rand, kind: "string" | "int" | "array" | "object"): string {
  const bad = WRONG.filter((v) =>
    kind === "string"
      ? v[0] !== '"'
      : kind === "array"
      ? v[0] !== "["
      : kind === "object"
      ? v[0] !== "{"
      : true
  );
  return pick(next, bad);
}

const MEDIA_TYPES = [
  OCI_INDEX,
  OCI_MANIFEST,
  DOCKER_MANIFEST_LIST,
  DOCKER_MANIFEST,
  OCI_CONFIG,
  OCI_LAYER_GZIP,
  "application/vnd.oci.image.index.v1+JSON",
  "",
  "text/plain",
];

function stringValue(next: Rand, make: () => string): string {
  const r = next();
  if (r < 0.08) return "null";
  if (r < 0.12) return wrong(next, "string");
  return str(next, make());
}

function sizeValue(next: Rand): string {
  const r = next();
  if (r < 0.08) return "null";
  if (r < 0.16) return pick(next, ["1.0", "1e3", "1E0", '"12"', "true", "[]", "{}", "0.5", "-1.5"]);
  if (r < 0.3) return pick(next, ["0", "-0", "1", "9007199254740991", "4194304"]);
  return String(Math.floor(next() * 1e12));
}

function stringList(next: Rand, make: () => string): string {
  const r = next();
  if (r < 0.1) return "null";
  if (r < 0.15) return wrong(next, "array");
  const n = Math.floor(next() * 4);
  return array(next, Array.from({ length: n }, () => next() < 0.1 ? "null" : str(next, make())));
}

function mapValue(next: Rand): string {
  const r = next();
  if (r < 0.1) return "null";
  if (r < 0.14) return wrong(next, "object");
  const n = Math.floor(next() * 5);
  const keys: string[] = [];
  const poisoned = new Set<string>();
  const members: [string, string][] = [];
  for (let i = 0; i < n; i++) {
    let k = keys.length > 0 && next() < 0.2 ? pick(next, keys) : randomString(next, 8);
    while (poisoned.has(k)) k += "x";
    const v = next();
    // A wrongly typed value is never followed by the same key: Go reports the type error even
    // when a later duplicate overwrites it, but JSON.parse keeps only the last one (see below).
    const bad = v < 0.04 && !keys.includes(k);
    if (bad) poisoned.add(k);
    else keys.push(k);
    members.push([
      k,
      bad ? wrong(next, "string") : v < 0.12 ? "null" : str(next, randomString(next, 12)),
    ]);
  }
  return object(next, members);
}

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function dataValue(next: Rand): string {
  const r = next();
  if (r < 0.1) return "null";
  if (r < 0.15) return pick(next, ['"QQ"', '"-_8="', '"Q==="', '"QU I="', "1", "{}"]);
  const n = Math.floor(next() * 12);
  let b64 = btoa(String.fromCharCode(...Array.from({ length: n }, () => Math.floor(next() * 256))));
  if (b64.endsWith("=") && next() < 0.3) {
    // non-zero bits in the last character before the padding: Go ignores them
    const i = b64.indexOf("=") - 1;
    b64 = b64.slice(0, i) + BASE64[(BASE64.indexOf(b64[i]) | 1) % 64] + b64.slice(i + 1);
  }
  if (b64.length > 4 && next() < 0.2) {
    b64 = b64.slice(0, 4) + pick(next, ["\n", "\r\n"]) + b64.slice(4);
  }
  return str(next, b64);
}

function unknownValue(next: Rand, depth = 0): string {
  const r = next();
  if (depth > 2 || r < 0.5) {
    return pick(next, [
      "null",
      "1e999",
      "-1",
      "9007199254740993",
      "1.5",
      "true",
      '"x"',
      '"\\ud800"',
      "[]",
      "{}",
    ]);
  }
  if (r < 0.75) return array(next, [unknownValue(next, depth + 1), unknownValue(next, depth + 1)]);
  return object(next, [["k", unknownValue(next, depth + 1)], [
    "size",
    unknownValue(next, depth + 1),
  ]]);
}

const UNKNOWN_KEYS = [
  "x",
  "mediaTypes",
  "sizes",
  "Platforms",
  "os.version",
  "digest_",
  "urlz",
  "version",
];

function members(next: Rand, fields: [string, () => string][]): [string, string][] {
  const chosen = fields.filter(() => next() < 0.65);
  for (let i = chosen.length - 1; i > 0; i--) { // shuffle
    const j = Math.floor(next() * (i + 1));
    [chosen[i], chosen[j]] = [chosen[j], chosen[i]];
  }
  const out: [string, string][] = chosen.map(([name, value]) => [key(next, name), value()]);
  if (next() < 0.25) {
    out.splice(Math.floor(next() * (out.length + 1)), 0, [
      pick(next, UNKNOWN_KEYS),
      unknownValue(next),
    ]);
  }
  return out;
}

function platformValue(next: Rand): string {
  const r = next();
  if (r < 0.15) return "null";
  if (r < 0.2) return wrong(next, "object");
  const s = () =>
    stringValue(next, () => pick(next, ["linux", "amd64", "arm", "v7", "", randomString(next, 5)]));
  return object(
    next,
    members(next, [
      ["architecture", s],
      ["os", s],
      ["os.version", s],
      ["os.features", () => stringList(next, () => randomString(next, 5))],
      ["variant", s],
    ]),
  );
}

function descriptorValue(next: Rand): string {
  if (next() < 0.05) return "null";
  return object(
    next,
    members(next, [
      ["mediaType", () => stringValue(next, () => pick(next, MEDIA_TYPES))],
      [
        "digest",
        () => stringValue(next, () => pick(next, [D1, D2, "sha256:x", randomString(next, 6)])),
      ],
      ["size", () => sizeValue(next)],
      ["urls", () => stringList(next, () => "https://" + randomString(next, 6))],
      ["annotations", () => mapValue(next)],
      ["data", () => dataValue(next)],
      ["platform", () => platformValue(next)],
      ["artifactType", () => stringValue(next, () => pick(next, MEDIA_TYPES))],
    ]),
  );
}

function descriptorList(next: Rand): string {
  const r = next();
  if (r < 0.1) return "null";
  if (r < 0.14) return wrong(next, "array");
  return array(next, Array.from({ length: Math.floor(next() * 4) }, () => descriptorValue(next)));
}

/** A random document: parts of an index and of a manifest, sometimes broken. */
export function randomDocument(next: Rand): string {
  const descriptorOrWrong = () => next() < 0.1 ? wrong(next, "object") : descriptorValue(next);
  const doc = object(
    next,
    members(next, [
      ["schemaVersion", () => next() < 0.8 ? "2" : pick(next, ["null", '"2"', "2.0", "1"])],
      ["mediaType", () => stringValue(next, () => pick(next, MEDIA_TYPES))],
      ["artifactType", () => stringValue(next, () => pick(next, MEDIA_TYPES))],
      ["config", descriptorOrWrong],
      ["layers", () => descriptorList(next)],
      ["manifests", () => descriptorList(next)],
      ["subject", descriptorOrWrong],
      ["annotations", () => mapValue(next)],
      ...(next() < 0.05 ? [["fsLayers", () => unknownValue(next)] as [string, () => string]] : []),
    ]),
  );
  const r = next();
  if (r < 0.02) return "\ufeff" + doc;
  if (r < 0.04) return doc + pick(next, ["x", "{}", ",", "]"]);
  if (r < 0.06) return doc.slice(0, Math.floor(next() * doc.length));
  return ws(next) + doc + ws(next);
}

export const RANDOM_DOC_SEED = 0xd0c5eed;
export const RANDOM_DOC_COUNT = 400;

export function randomDocuments(): string[] {
  const next = prng(RANDOM_DOC_SEED);
  return Array.from({ length: RANDOM_DOC_COUNT }, () => randomDocument(next));
}

// ---------------------------------------------------------------------------------------------
// Decoding against Go

Deno.test("decodeIndex, decodeManifest, checkDocumentKind match Go on hand-picked documents", () => {
  for (const [doc, go] of HAND_DOCS) {
    assert.deepEqual(docResult(utf8(doc)), go, doc);
  }
});

Deno.test("decodeIndex, decodeManifest, checkDocumentKind match Go on random documents", () => {
  const expected = hashes(RANDOM_DOC_HASHES);
  const docs = randomDocuments();
  assert.equal(expected.length, docs.length);
  const wrongs: string[] = [];
  docs.forEach((doc, i) => {
    const ours = docResult(utf8(doc));
    if (shortHash(ours) !== expected[i]) {
      wrongs.push(`#${i} ${doc}\n  ours ${JSON.stringify(ours)}`);
    }
  });
  assert.deepEqual(wrongs, []);
});

Deno.test("decodeIndex and decodeManifest return descriptors with Go's zero values", () => {
  const index = decodeIndex(utf8(
    `{"schemaVersion":2,"mediaType":"${OCI_INDEX}","manifests":[{"digest":"${D1}"},null,` +
      `{"mediaType":"m","size":3,"platform":{"os":"linux","variant":"v7","os.features":[]},` +
      `"urls":[],"annotations":{},"data":"","artifactType":""}]}`,
  ));
  assert.equal(index.mediaType, OCI_INDEX);
  assert.deepEqual(index.manifests[0], { mediaType: "", digest: D1, size: 0 });
  assert.deepEqual(index.manifests[1], { mediaType: "", digest: "", size: 0 });
  const third = index.manifests[2];
  assert.equal(third.mediaType, "m");
  assert.equal(third.size, 3);
  assert.deepEqual(third.platform, {
    architecture: "",
    os: "linux",
    variant: "v7",
    "os.features": [],
  });
  assert.deepEqual(third.urls, []);
  assert.deepEqual({ ...third.annotations }, {});
  assert.equal(third.data, "");
  assert.equal(third.artifactType, "");
  // All of those empty values are omitted when written, as Go's omitempty does.
  assert.equal(
    encodeDescriptor(third),
    '{"mediaType":"m","digest":"","size":3,"platform":{"architecture":"","os":"linux","variant":"v7"}}',
  );

  const manifest = decodeManifest(utf8('{"config":{"size":7},"layers":null}'));
  assert.equal(manifest.mediaType, undefined);
  assert.deepEqual(manifest.config, { mediaType: "", digest: "", size: 7 });
  assert.deepEqual(manifest.layers, []);
  assert.deepEqual(decodeManifest(utf8("{}")), {
    mediaType: undefined,
    config: { mediaType: "", digest: "", size: 0 },
    layers: [],
  });
  assert.deepEqual(decodeIndex(utf8("{}")), { mediaType: undefined, manifests: [] });
});

Deno.test("intentional: sizes must be non-negative safe integers (Go takes any int64)", () => {
  // Go accepts all of these into Descriptor.Size (an int64); the library refuses them, because a
  // negative size is meaningless and a size beyond 2^53 - 1 cannot be held exactly.
  for (
    const size of [
      "-1",
      "-9007199254740991",
      "9007199254740992",
      "9007199254740993",
      "9223372036854775807",
    ]
  ) {
    for (
      const doc of [
        `{"manifests":[{"size":${size}}]}`,
        `{"config":{"size":${size}}}`,
        `{"layers":[{},{"size":${size}}]}`,
      ]
    ) {
      const decode = doc.includes("manifests") ? decodeIndex : decodeManifest;
      assert.throws(() => decode(utf8(doc)), DocumentError, doc);
    }
  }
  assert.throws(() => decodeIndex(utf8('{"manifests":[{"size":-1}]}')), {
    name: "DocumentError",
    message: "manifests[0].size: -1 is negative",
  });
  assert.throws(() => decodeManifest(utf8('{"layers":[{},{"size":-1}]}')), {
    message: "layers[1].size: -1 is negative",
  });
  assert.throws(() => decodeManifest(utf8('{"config":{"size":9007199254740993}}')), {
    message: /^config\.size: number 9007199254740993 is out of range/,
  });
  // -0 is 0, in Go and here.
  assert.equal(
    encodeDescriptor(decodeIndex(utf8('{"manifests":[{"size":-0}]}')).manifests[0]),
    '{"mediaType":"","digest":"","size":0}',
  );
  // A descriptor that is not used for its size is checked all the same: the subject of an index.
  // Go accepts {"subject":{"size":-1}}; so does the library, as it does not keep the subject.
  assert.deepEqual(decodeIndex(utf8('{"subject":{"size":-1}}')).manifests, []);
});

Deno.test("schemaVersion takes any 64-bit integer, as Go's int does", () => {
  decodeIndex(utf8('{"schemaVersion":9007199254740993}'));
  decodeManifest(utf8('{"schemaVersion":-9223372036854775808}'));
  assert.throws(() => decodeIndex(utf8('{"schemaVersion":9223372036854775808}')), DocumentError);
  // Go refuses these as well.
  assert.throws(() => decodeIndex(utf8('{"schemaVersion":"2"}')), DocumentError);
  assert.throws(() => decodeIndex(utf8('{"schemaVersion":2.0}')), DocumentError);
});

Deno.test("duplicate keys: the last occurrence wins whole (the library's documented behaviour)", () => {
  // JSON.parse keeps only the last value of a repeated key, so nothing is merged and an earlier
  // value is never type-checked. Go decodes every occurrence in order into the same variable.
  // [document, library's manifests or config, Go's]
  const index = (doc: string) => decodeIndex(utf8(doc)).manifests.map(encodeDescriptor);
  const config = (doc: string) => encodeDescriptor(decodeManifest(utf8(doc)).config);
  // Same as Go: a later scalar replaces an earlier one.
  assert.deepEqual(index('{"manifests":[{"size":1,"size":2}]}'), [
    '{"mediaType":"","digest":"","size":2}',
  ]);
  assert.deepEqual(index('{"manifests":[{"mediatype":"a","mediaType":"b"}]}'), [
    '{"mediaType":"b","digest":"","size":0}',
  ]);
  assert.deepEqual(index('{"manifests":[{"platform":{"os":"x"},"platform":null}]}'), [
    '{"mediaType":"","digest":"","size":0}',
  ]);
  // Different from Go (Go's output in the comment).
  // Go: {"mediaType":"","digest":"","size":3} (null leaves a struct as it was)
  assert.equal(
    config('{"config":{"size":3},"config":null}'),
    '{"mediaType":"","digest":"","size":0}',
  );
  // Go: {"mediaType":"a","digest":"","size":1} (the second object is decoded into the first)
  assert.equal(
    config('{"config":{"mediaType":"a"},"config":{"size":1}}'),
    '{"mediaType":"","digest":"","size":1}',
  );
  // Go: annotations {"a":"1","b":"2"} (maps are merged)
  assert.deepEqual(index('{"manifests":[{"annotations":{"a":"1"},"annotations":{"b":"2"}}]}'), [
    '{"mediaType":"","digest":"","size":0,"annotations":{"b":"2"}}',
  ]);
  // Go: platform {"architecture":"amd64","os":"linux"} (the pointer is reused)
  assert.deepEqual(
    index('{"manifests":[{"platform":{"os":"linux"},"platform":{"architecture":"amd64"}}]}'),
    [
      '{"mediaType":"","digest":"","size":0,"platform":{"architecture":"amd64","os":""}}',
    ],
  );
  // Go: error (cannot unmarshal string into int64), although the later value is fine
  assert.deepEqual(index('{"manifests":[{"size":"x","size":1}]}'), [
    '{"mediaType":"","digest":"","size":1}',
  ]);
  // Go: "c" (keys are decoded in document order); JSON.parse orders keys by first appearance.
  assert.deepEqual(index('{"manifests":[{"MEDIATYPE":"b","mediaType":"a","MEDIATYPE":"c"}]}'), [
    '{"mediaType":"a","digest":"","size":0}',
  ]);
});

Deno.test("decoding errors are DocumentErrors with the path of the value", () => {
  const cases: [string, RegExp][] = [
    [
      '{"manifests":[{},{"size":"1"}]}',
      /^manifests\[1\]\.size: expected an integer, found a string$/,
    ],
    ['{"manifests":[{"platform":{"os":1}}]}', /^manifests\[0\]\.platform\.os: expected a string/],
    [
      '{"manifests":[{"annotations":{"a.b":1}}]}',
      /^manifests\[0\]\.annotations\.a\.b: expected a string/,
    ],
    ['{"manifests":[{"urls":[1]}]}', /^manifests\[0\]\.urls\[0\]: expected a string/],
    ['{"manifests":[{"data":"QQ"}]}', /^manifests\[0\]\.data: illegal base64 data/],
    ['{"manifests":{}}', /^manifests: expected an array, found an object$/],
    ["[]", /^expected an object, found an array$/],
    ["{", /^invalid JSON/],
  ];
  for (const [doc, message] of cases) {
    assert.throws(() => decodeIndex(utf8(doc)), (error: unknown) => {
      assert.ok(error instanceof DocumentError);
      assert.equal(error.name, "DocumentError");
      assert.match(error.message, message);
      return true;
    }, doc);
  }
});

// Regression (found by a Go oracle or review; the code once did this): a document that is just `null` is accepted by Go's json.Unmarshal (a no-op: the zero
// Manifest or Index) and by containerd's validateMediaType, but decodeIndex, decodeManifest and
// checkDocumentKind crash with a TypeError ("Cannot read properties of undefined (reading
// 'mediaType')") because decodeJson returns undefined for a top-level null. Go: Index
// {"schemaVersion":0,"manifests":null}, Manifest config {"mediaType":"","digest":"","size":0} and
// no layers, validateMediaType ok for both kinds. An index.json of `null` also makes openLayout
// reject with that TypeError instead of an InvalidDocumentError (or an empty store).
Deno.test({
  name: "BUG a null document is Go's zero value, not a TypeError",
  fn() {
    assert.deepEqual(docResult(utf8("null")), {
      index: [],
      manifest: ['{"mediaType":"","digest":"","size":0}'],
      asManifest: true,
      asIndex: true,
    });
    assert.deepEqual(docResult(utf8(" null\n")), docResult(utf8("{}")));
  },
});

// Regression (found by a Go oracle or review; the code once did this): Go decodes the escape \ud800 (a lone surrogate) to U+FFFD and json.Marshal then writes
// that character raw (bytes ef bf bd); the library keeps the lone surrogate and encodeString
// writes the six characters \ufffd. Input {"manifests":[{"mediaType":"\ud800"}]}: Go
// {"mediaType":"<U+FFFD raw>","digest":"","size":0}; ours {"mediaType":"\\ufffd",...}. Map keys
// also sort differently: {"annotations":{"\ud800":"x","\ue000":"y"}} -> Go puts U+E000 first
// (ee 80 80 < ef bf bd), ours puts the surrogate first; and Go merges "\ud800" and "\udc00"
// into one key.
Deno.test({
  name: "BUG lone surrogate escapes are re-encoded as Go does (raw U+FFFD)",
  fn() {
    for (const [doc, go] of LONE_SURROGATE_DOCS) {
      assert.deepEqual(docResult(utf8(doc)).index, go, doc);
    }
  },
});

// Regression (found by a Go oracle or review; the code once did this): invalid UTF-8 inside strings: Go replaces each bad byte with U+FFFD, TextDecoder replaces a
// truncated sequence with a single U+FFFD. Bytes {"manifests":[{"mediaType":"<e2 82>"}]}: Go
// writes "mediaType":"<U+FFFD><U+FFFD>", ours one U+FFFD. With annotation keys <e2 82> and <e2>,
// Go has two keys, ours one.
Deno.test({
  name: "BUG invalid UTF-8 in a document is replaced byte by byte, as Go does",
  fn() {
    const doc = (...parts: (string | number[])[]) =>
      new Uint8Array(parts.flatMap((p) => typeof p === "string" ? [...utf8(p)] : p));
    assert.deepEqual(docResult(doc('{"manifests":[{"mediaType":"', [0xe2, 0x82], '"}]}')).index, [
      '{"mediaType":"\ufffd\ufffd","digest":"","size":0}',
    ]);
    assert.deepEqual(
      docResult(doc('{"manifests":[{"mediaType":"', [0xf0, 0x9f, 0x98], '"}]}')).index,
      [
        '{"mediaType":"\ufffd\ufffd\ufffd","digest":"","size":0}',
      ],
    );
    assert.deepEqual(
      docResult(
        doc('{"manifests":[{"annotations":{"', [0xe2, 0x82], '":"a","', [0xe2], '":"b"}}]}'),
      ).index,
      ['{"mediaType":"","digest":"","size":0,"annotations":{"\ufffd":"b","\ufffd\ufffd":"a"}}'],
    );
  },
});

// ---------------------------------------------------------------------------------------------
// checkDocumentKind

Deno.test("checkDocumentKind is containerd's validateMediaType", () => {
  const ok = (doc: string, mediaType: string) => checkDocumentKind(utf8(doc), mediaType);
  const bad = (doc: string, mediaType: string, message: RegExp) =>
    assert.throws(
      () => ok(doc, mediaType),
      (e: unknown) => e instanceof DocumentError && message.test(e.message),
      `${doc} as ${mediaType}`,
    );
  for (const mt of [OCI_MANIFEST, DOCKER_MANIFEST]) {
    ok(`{"config":{},"layers":[]}`, mt);
    ok(`{"mediaType":"${mt}"}`, mt);
    ok(`{"mediaType":"${OCI_INDEX.toUpperCase()}"}`, mt); // media types compare exactly
    ok(`{"manifests":[]}`.replace("manifests", "manifestz"), mt);
    bad(`{"manifests":[]}`, mt, /expected a manifest .* but found an index/);
    bad(`{"manifests":null}`, mt, /but found an index/); // json.RawMessage keeps "null"
    bad(`{"MANIFESTS":0}`, mt, /but found an index/);
    bad(`{"mediaType":"${OCI_INDEX}"}`, mt, /but found an index/);
    bad(`{"mediaType":"${DOCKER_MANIFEST_LIST}"}`, mt, /but found an index/);
  }
  for (const mt of [OCI_INDEX, DOCKER_MANIFEST_LIST]) {
    ok(`{"manifests":[]}`, mt);
    ok(`{"mediaType":"${mt}","manifests":null}`, mt);
    bad(`{"config":null}`, mt, /expected an index .* but found a manifest/);
    bad(`{"layers":null}`, mt, /but found a manifest/);
    bad(`{"Layers":"x"}`, mt, /but found a manifest/);
    bad(`{"mediaType":"${OCI_MANIFEST}"}`, mt, /but found a manifest/);
    bad(`{"mediaType":"${DOCKER_MANIFEST}"}`, mt, /but found a manifest/);
  }
  // Any other media type: only the JSON and schema 1 are checked.
  for (const mt of [OCI_CONFIG, "", "application/octet-stream"]) {
    ok(`{"config":{},"manifests":[],"mediaType":"${OCI_INDEX}"}`, mt);
    bad(`{"fsLayers":[]}`, mt, /schema 1/);
    bad(`{"mediaType":1}`, mt, /mediaType: expected a string/);
    bad(`{`, mt, /invalid JSON/);
  }
  // Schema 1 is refused whatever the descriptor says, and whatever fsLayers holds.
  for (const mt of [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST]) {
    bad(`{"fsLayers":null}`, mt, /schema 1/);
    bad(`{"FSLAYERS":{}}`, mt, /schema 1/);
  }
  // mediaType null is the empty string; a wrong type is an error even where it would not matter.
  ok(`{"mediaType":null,"config":{}}`, OCI_MANIFEST);
  bad(`{"mediaType":[],"config":{}}`, OCI_MANIFEST, /mediaType/);
});

// ---------------------------------------------------------------------------------------------
// checkDescriptor

Deno.test("checkDescriptor returns a clean copy of a valid descriptor", () => {
  const input = {
    mediaType: OCI_MANIFEST,
    digest: D1,
    size: 12,
    annotations: { a: "1" },
    platform: { os: "linux", architecture: "amd64" },
    urls: ["u"],
    data: "QR==",
    artifactType: "t",
    extra: "dropped",
  };
  const out = checkDescriptor(input);
  assert.notEqual(out, input);
  assert.notEqual(out.annotations, input.annotations);
  assert.equal(out.data, "QQ==", "base64 made canonical as Go re-encodes []byte");
  assert.equal(
    encodeDescriptor(out),
    `{"mediaType":"${OCI_MANIFEST}","digest":"${D1}","size":12,"urls":["u"],"annotations":{"a":"1"},` +
      `"data":"QQ==","platform":{"architecture":"amd64","os":"linux"},"artifactType":"t"}`,
  );
  assert.equal(Object.hasOwn(out, "extra"), false);
  input.annotations.a = "changed";
  assert.equal(out.annotations?.a, "1");
  // Optional fields stay absent.
  assert.deepEqual(checkDescriptor({ mediaType: "m", digest: D2, size: 0 }), {
    mediaType: "m",
    digest: D2,
    size: 0,
  });
  // Through the API, a media type is required (a JSON document would give the empty string).
  assert.throws(() => checkDescriptor({ digest: D1, size: 1 }), /mediaType must be a string/);
});

Deno.test("checkDescriptor refuses what is not a descriptor, with InvalidArgumentError", () => {
  const bad: [unknown, RegExp][] = [
    [null, /expected an object/],
    [undefined, /expected an object/],
    ["x", /expected an object/],
    [[], /expected an object/],
    [{ mediaType: "m", digest: D1 }, /size must be a non-negative safe integer, got undefined/],
    [{ mediaType: "m", digest: D1, size: -1 }, /size must be/],
    [{ mediaType: "m", digest: D1, size: 1.5 }, /size must be/],
    [{ mediaType: "m", digest: D1, size: "1" }, /size must be/],
    [{ mediaType: "m", digest: D1, size: NaN }, /size must be/],
    [{ mediaType: "m", digest: D1, size: 2 ** 53 }, /size must be/],
    [{ digest: D1, size: 1, mediaType: 1 }, /mediaType must be a string/],
    [
      { mediaType: "m", digest: D1, size: 1, annotations: { a: 1 } },
      /annotations must be an object of strings/,
    ],
    [{ mediaType: "m", digest: D1, size: 1, annotations: [] }, /annotations must be an object/],
    [
      { mediaType: "m", digest: D1, size: 1, platform: { os: 1 } },
      /platform needs os and architecture/,
    ],
    [{ mediaType: "m", digest: D1, size: 1, urls: "u" }, /urls must be a list of strings/],
    [{ mediaType: "m", digest: D1, size: 1, data: "Q" }, /data must be a base64 string/],
    [{ mediaType: "m", digest: "sha256:abc", size: 1 }, /Invalid descriptor: Invalid digest/],
    [{ mediaType: "m", digest: D1.toUpperCase(), size: 1 }, /Invalid digest/],
    [{ mediaType: "m", size: 1 }, /Invalid digest/],
    [{ mediaType: "m", digest: 1, size: 1 }, /Invalid digest 1: not a string/],
    [{ mediaType: "m", digest: D1, size: 1, annotations: { big: 1n } }, /Invalid descriptor/],
  ];
  for (const [value, message] of bad) {
    assert.throws(() => checkDescriptor(value), (e: unknown) => {
      assert.ok(e instanceof InvalidArgumentError, String(e));
      assert.match(e.message, message);
      return true;
    }, String(JSON.stringify(value, (_k, v) => typeof v === "bigint" ? `${v}n` : v)));
  }
  const cyclic: Record<string, unknown> = { mediaType: "m", digest: D1, size: 1 };
  cyclic.annotations = { self: cyclic };
  assert.throws(() => checkDescriptor(cyclic), InvalidArgumentError);
  assert.throws(
    () => checkDescriptor({ mediaType: "m", digest: D1, size: -1 }, "target of image x"),
    {
      message: /^Invalid target of image x: size/,
    },
  );
});

// Regression (found by a Go oracle or review; the code once did this): checkDescriptor builds its message with JSON.stringify(size), which throws for a bigint,
// so {digest, size: 1n} escapes as "TypeError: Do not know how to serialize a BigInt" instead of
// InvalidArgumentError (describe() from lib/oci/digest.ts would not throw).
Deno.test({
  name: "checkDescriptor refuses a bigint size with InvalidArgumentError",
  fn() {
    assert.throws(
      () => checkDescriptor({ mediaType: "m", digest: D1, size: 1n }),
      InvalidArgumentError,
    );
  },
});

// Regression (found by a Go oracle or review; the code once did this): checkDescriptor checks `size` on the JS object, then decodes JSON.stringify(value) with
// Go's case-insensitive key matching, so another spelling of a field overrides the checked one:
// {digest, size: 1, SIZE: 5} returns size 5; {digest, size: 1, SIZE: -5} escapes as a
// DocumentError ("descriptor.size: -5 is negative"), which is not an OcipackError, instead of
// InvalidArgumentError. ({Digest: ...} is accepted as the digest too.) JavaScript objects have
// exact keys; the fold is only right for JSON documents.
Deno.test({
  name: "checkDescriptor reads a JS object's own keys exactly",
  fn() {
    assert.equal(checkDescriptor({ mediaType: "m", digest: D1, size: 1, SIZE: 5 }).size, 1);
    assert.equal(checkDescriptor({ mediaType: "m", digest: D1, size: 1, SIZE: -5 }).size, 1);
    assert.throws(
      () => checkDescriptor({ mediaType: "m", Digest: D1, size: 1 }),
      InvalidArgumentError,
    );
  },
});

// ---------------------------------------------------------------------------------------------
// Encoding against Go

Deno.test("encodeDescriptor and encodePlatform match json.Marshal", () => {
  // [descriptor, json.Marshal of it as ocispec.Descriptor]
  for (const [d, go] of ENCODE_DESCRIPTOR_CASES) assert.equal(encodeDescriptor(d), go);
  assert.equal(
    encodePlatform({ architecture: "arm", os: "linux" }),
    '{"architecture":"arm","os":"linux"}',
  );
  assert.equal(
    encodePlatform({
      architecture: "a",
      os: "o",
      variant: "v",
      "os.version": "1",
      "os.features": ["f", "<"],
    }),
    '{"architecture":"a","os":"o","os.version":"1","os.features":["f","\\u003c"],"variant":"v"}',
  );
  assert.equal(
    encodePlatform({ architecture: "", os: "", variant: "", "os.version": "", "os.features": [] }),
    '{"architecture":"","os":""}',
  );
});

Deno.test("encodeArchiveIndex matches json.Marshal of containerd 2.x's index", () => {
  // [manifests, json.Marshal(ocispec.Index{SchemaVersion: 2, MediaType: OCI index, Manifests})]
  // An empty list is Go's nil slice, "null", as containerd >= 2.2 passes it (slices.Concat of
  // empty slices returns nil); containerd 2.0 and 2.1 passed make([]Descriptor, 0, n) and wrote [].
  for (const [list, go] of ARCHIVE_INDEX_CASES) assert.equal(encodeArchiveIndex(list), go);
});

Deno.test("encodeDockerManifest matches json.Marshal of containerd's manifest.json entries", () => {
  // [entries, json.Marshal([]struct{Config string; RepoTags []string; Layers []string})]
  for (const [entries, go] of DOCKER_MANIFEST_CASES) {
    assert.equal(encodeDockerManifest(entries), go);
  }
});

Deno.test('OCI_LAYOUT is json.Marshal(ocispec.ImageLayout{Version: "1.0.0"})', () => {
  assert.equal(OCI_LAYOUT, '{"imageLayoutVersion":"1.0.0"}');
});

Deno.test("decoding then encoding is stable", () => {
  for (const doc of randomDocuments()) {
    let manifests: Descriptor[];
    try {
      manifests = decodeIndex(utf8(doc)).manifests;
    } catch {
      continue;
    }
    const once = manifests.map(encodeDescriptor);
    const twice = decodeIndex(utf8(`{"manifests":[${once.join(",")}]}`)).manifests.map(
      encodeDescriptor,
    );
    assert.deepEqual(twice, once);
  }
});

// ---------------------------------------------------------------------------------------------
// Oracle tables.

const HAND_DOCS: [string, DocResult][] = [
  ["{}", {
    index: [],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: true,
    asIndex: true,
  }],
  [" {} ", {
    index: [],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: true,
    asIndex: true,
  }],
  ["[]", { index: "error", manifest: "error", asManifest: false, asIndex: false }],
  ['"x"', { index: "error", manifest: "error", asManifest: false, asIndex: false }],
  ["1", { index: "error", manifest: "error", asManifest: false, asIndex: false }],
  ["true", { index: "error", manifest: "error", asManifest: false, asIndex: false }],
  ['{"manifests":null}', {
    index: [],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[]}', {
    index: [],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[null]}', {
    index: ['{"mediaType":"","digest":"","size":0}'],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":{}}', {
    index: "error",
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":"x"}', {
    index: "error",
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  [
    '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":1234,"annotations":{"org.opencontainers.image.ref.name":"1.0","io.containerd.image.name":"docker.io/library/a:1.0"},"platform":{"architecture":"amd64","os":"linux"}}]}',
    {
      index: [
        '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":1234,"annotations":{"io.containerd.image.name":"docker.io/library/a:1.0","org.opencontainers.image.ref.name":"1.0"},"platform":{"architecture":"amd64","os":"linux"}}',
      ],
      manifest: ['{"mediaType":"","digest":"","size":0}'],
      asManifest: false,
      asIndex: true,
    },
  ],
  [
    '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":7},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":9,"urls":["https://x/y"]}]}',
    {
      index: [],
      manifest: [
        '{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":7}',
        '{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":9,"urls":["https://x/y"]}',
      ],
      asManifest: true,
      asIndex: false,
    },
  ],
  ['{"manifests":[{"size":1.0}]}', {
    index: "error",
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"size":1e3}]}', {
    index: "error",
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"size":-0}]}', {
    index: ['{"mediaType":"","digest":"","size":0}'],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"size":9007199254740991}]}', {
    index: ['{"mediaType":"","digest":"","size":9007199254740991}'],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"size":9223372036854775808}]}', {
    index: "error",
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"size":"1"}]}', {
    index: "error",
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"size":null}]}', {
    index: ['{"mediaType":"","digest":"","size":0}'],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"size":true}]}', {
    index: "error",
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"mediaType":1}]}', {
    index: "error",
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"mediaType":null}]}', {
    index: ['{"mediaType":"","digest":"","size":0}'],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"mediaType":[]}]}', {
    index: "error",
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"MEDIATYPE":"a","Digest":"b","SIZE":3}]}', {
    index: ['{"mediaType":"a","digest":"b","size":3}'],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"dige\u017ft":"x","\u017fize":2,"url\u017f":["u"]}]}', {
    index: ['{"mediaType":"","digest":"x","size":2,"urls":["u"]}'],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"mediaType\u017f":"x"}]}', {
    index: ['{"mediaType":"","digest":"","size":0}'],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  [
    '{"manifests":[{"platform":{"OS":"linux","ARCHITECTURE":"amd64","OS.VERSION":"1","os.feature\u017f":["f"],"VARIANT":"v"}}]}',
    {
      index: [
        '{"mediaType":"","digest":"","size":0,"platform":{"architecture":"amd64","os":"linux","os.version":"1","os.features":["f"],"variant":"v"}}',
      ],
      manifest: ['{"mediaType":"","digest":"","size":0}'],
      asManifest: false,
      asIndex: true,
    },
  ],
  ['{"manifests":[{"platform":{"architecture":"\u212aa"}}]}', {
    index: ['{"mediaType":"","digest":"","size":0,"platform":{"architecture":"\u212aa","os":""}}'],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"platform":{}}]}', {
    index: ['{"mediaType":"","digest":"","size":0,"platform":{"architecture":"","os":""}}'],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"platform":null}]}', {
    index: ['{"mediaType":"","digest":"","size":0}'],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"platform":[]}]}', {
    index: "error",
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"platform":{"os.features":[]}}]}', {
    index: ['{"mediaType":"","digest":"","size":0,"platform":{"architecture":"","os":""}}'],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"platform":{"os.features":[null,"a"]}}]}', {
    index: [
      '{"mediaType":"","digest":"","size":0,"platform":{"architecture":"","os":"","os.features":["","a"]}}',
    ],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"platform":{"os.version":"","variant":""}}]}', {
    index: ['{"mediaType":"","digest":"","size":0,"platform":{"architecture":"","os":""}}'],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"annotations":{}}]}', {
    index: ['{"mediaType":"","digest":"","size":0}'],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"annotations":null}]}', {
    index: ['{"mediaType":"","digest":"","size":0}'],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"annotations":{"a":null}}]}', {
    index: ['{"mediaType":"","digest":"","size":0,"annotations":{"a":""}}'],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"annotations":{"a":1}}]}', {
    index: "error",
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"annotations":{"b":"1","a":"2","é":"3","😀":"4","\uffff":"5","Z":"6"}}]}', {
    index: [
      '{"mediaType":"","digest":"","size":0,"annotations":{"Z":"6","a":"2","b":"1","é":"3","\uffff":"5","😀":"4"}}',
    ],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"annotations":{"A":"1","a":"2"}}]}', {
    index: ['{"mediaType":"","digest":"","size":0,"annotations":{"A":"1","a":"2"}}'],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"annotations":{"__proto__":"x","constructor":"y"}}]}', {
    index: [
      '{"mediaType":"","digest":"","size":0,"annotations":{"__proto__":"x","constructor":"y"}}',
    ],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"__proto__":{"size":1},"manifests":[{"__proto__":"x"}]}', {
    index: ['{"mediaType":"","digest":"","size":0}'],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"urls":[]}]}', {
    index: ['{"mediaType":"","digest":"","size":0}'],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"urls":null}]}', {
    index: ['{"mediaType":"","digest":"","size":0}'],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"urls":[null,"x"]}]}', {
    index: ['{"mediaType":"","digest":"","size":0,"urls":["","x"]}'],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"urls":"x"}]}', {
    index: "error",
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"data":""}]}', {
    index: ['{"mediaType":"","digest":"","size":0}'],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"data":null}]}', {
    index: ['{"mediaType":"","digest":"","size":0}'],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"data":"QR=="}]}', {
    index: ['{"mediaType":"","digest":"","size":0,"data":"QQ=="}'],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"data":"QQ"}]}', {
    index: "error",
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"data":"QU\\nI="}]}', {
    index: ['{"mediaType":"","digest":"","size":0,"data":"QUI="}'],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"artifactType":""}]}', {
    index: ['{"mediaType":"","digest":"","size":0}'],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"artifactType":"a/b"}]}', {
    index: ['{"mediaType":"","digest":"","size":0,"artifactType":"a/b"}'],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  [
    '{"manifests":[{"mediaType":"<>&\\u2028\\u2029\\b\\f\\n\\r\\t\\u0000\\u001f\\u007f\\"\\\\/"}]}',
    {
      index: [
        '{"mediaType":"\\u003c\\u003e\\u0026\\u2028\\u2029\\b\\f\\n\\r\\t\\u0000\\u001f\u007f\\"\\\\/","digest":"","size":0}',
      ],
      manifest: ['{"mediaType":"","digest":"","size":0}'],
      asManifest: false,
      asIndex: true,
    },
  ],
  ['{"manifests":[{"mediaType":"\\ud83d\\ude00"}]}', {
    index: ['{"mediaType":"😀","digest":"","size":0}'],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"mediaType":"a\u2028b"}]}', {
    index: ['{"mediaType":"a\\u2028b","digest":"","size":0}'],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"manifests":[{"unknown":{"deep":[1,2,{"x":1e999}]},"size":5}]}', {
    index: ['{"mediaType":"","digest":"","size":5}'],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"schemaVersion":2,"manifests":[]}', {
    index: [],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"schemaVersion":"2"}', { index: "error", manifest: "error", asManifest: true, asIndex: true }],
  ['{"schemaVersion":2.0}', { index: "error", manifest: "error", asManifest: true, asIndex: true }],
  ['{"schemaVersion":-5}', {
    index: [],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: true,
    asIndex: true,
  }],
  ['{"schemaVersion":null}', {
    index: [],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: true,
    asIndex: true,
  }],
  ['{"mediaType":"application/vnd.oci.image.index.v1+json"}', {
    index: [],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"mediaType":"application/vnd.oci.image.manifest.v1+json"}', {
    index: [],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: true,
    asIndex: false,
  }],
  ['{"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json"}', {
    index: [],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"mediaType":"application/vnd.docker.distribution.manifest.v2+json"}', {
    index: [],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: true,
    asIndex: false,
  }],
  ['{"MediaType":"application/vnd.oci.image.index.v1+json"}', {
    index: [],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"mediaType":"APPLICATION/VND.OCI.IMAGE.INDEX.V1+JSON"}', {
    index: [],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: true,
    asIndex: true,
  }],
  ['{"mediaType":1}', { index: "error", manifest: "error", asManifest: false, asIndex: false }],
  ['{"mediaType":null}', {
    index: [],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: true,
    asIndex: true,
  }],
  ['{"config":null}', {
    index: [],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: true,
    asIndex: false,
  }],
  ['{"layers":null}', {
    index: [],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: true,
    asIndex: false,
  }],
  ['{"fsLayers":null}', {
    index: [],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: false,
  }],
  ['{"FSLAYERS":[]}', {
    index: [],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: false,
  }],
  ['{"fsLayers":[],"schemaVersion":1}', {
    index: [],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: false,
  }],
  ['{"config":{}}', {
    index: [],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: true,
    asIndex: false,
  }],
  ['{"layers":[]}', {
    index: [],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: true,
    asIndex: false,
  }],
  ['{"config":1}', { index: [], manifest: "error", asManifest: true, asIndex: false }],
  ['{"layers":1}', { index: [], manifest: "error", asManifest: true, asIndex: false }],
  ['{"manifests":1}', {
    index: "error",
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: true,
  }],
  ['{"Config":{"size":3}}', {
    index: [],
    manifest: ['{"mediaType":"","digest":"","size":3}'],
    asManifest: true,
    asIndex: false,
  }],
  ['{"config":{"size":3},"layers":[{"size":4},null]}', {
    index: [],
    manifest: [
      '{"mediaType":"","digest":"","size":3}',
      '{"mediaType":"","digest":"","size":4}',
      '{"mediaType":"","digest":"","size":0}',
    ],
    asManifest: true,
    asIndex: false,
  }],
  ['{"config":{"size":3},"manifests":[{"size":4}]}', {
    index: ['{"mediaType":"","digest":"","size":4}'],
    manifest: ['{"mediaType":"","digest":"","size":3}'],
    asManifest: false,
    asIndex: false,
  }],
  ['{"mediaType":"application/vnd.oci.image.manifest.v1+json","manifests":[]}', {
    index: [],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: false,
  }],
  ['{"mediaType":"application/vnd.oci.image.index.v1+json","config":{}}', {
    index: [],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: false,
    asIndex: false,
  }],
  ['{"subject":{"size":"x"}}', {
    index: "error",
    manifest: "error",
    asManifest: true,
    asIndex: true,
  }],
  ['{"subject":null}', {
    index: [],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: true,
    asIndex: true,
  }],
  ['{"subject":{"size":-1}}', {
    index: [],
    manifest: ['{"mediaType":"","digest":"","size":0}'],
    asManifest: true,
    asIndex: true,
  }],
  ['{"annotations":{"a":1}}', {
    index: "error",
    manifest: "error",
    asManifest: true,
    asIndex: true,
  }],
  ['{"artifactType":1}', { index: "error", manifest: "error", asManifest: true, asIndex: true }],
  ["\ufeff{}", { index: "error", manifest: "error", asManifest: false, asIndex: false }],
  ["{} x", { index: "error", manifest: "error", asManifest: false, asIndex: false }],
  ["{}{}", { index: "error", manifest: "error", asManifest: false, asIndex: false }],
  ["", { index: "error", manifest: "error", asManifest: false, asIndex: false }],
  ['{"a":1,}', { index: "error", manifest: "error", asManifest: false, asIndex: false }],
  ['{"manifests":[{"size":01}]}', {
    index: "error",
    manifest: "error",
    asManifest: false,
    asIndex: false,
  }],
  ['{"manifests":[{"size":+1}]}', {
    index: "error",
    manifest: "error",
    asManifest: false,
    asIndex: false,
  }],
  ['{"manifests":[{"mediaType":"a\tb"}]}', {
    index: "error",
    manifest: "error",
    asManifest: false,
    asIndex: false,
  }],
];

const LONE_SURROGATE_DOCS: [string, string[]][] = [
  ['{"manifests":[{"mediaType":"\\ud800"}]}', ['{"mediaType":"\ufffd","digest":"","size":0}']],
  ['{"manifests":[{"mediaType":"\\udc00x"}]}', ['{"mediaType":"\ufffdx","digest":"","size":0}']],
  ['{"manifests":[{"mediaType":"\\ud83dA"}]}', ['{"mediaType":"\ufffdA","digest":"","size":0}']],
  ['{"manifests":[{"mediaType":"\\ude00\\ud83d"}]}', [
    '{"mediaType":"\ufffd\ufffd","digest":"","size":0}',
  ]],
  ['{"manifests":[{"annotations":{"\\ud800":"x","\\ue000":"y"}}]}', [
    '{"mediaType":"","digest":"","size":0,"annotations":{"\ue000":"y","\ufffd":"x"}}',
  ]],
  ['{"manifests":[{"annotations":{"\\ud800":"x","\\udc00":"y"}}]}', [
    '{"mediaType":"","digest":"","size":0,"annotations":{"\ufffd":"y"}}',
  ]],
];

const ENCODE_DESCRIPTOR_CASES: [Descriptor, string][] = [
  [
    {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      size: 0,
    },
    '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":0}',
  ],
  [{ mediaType: "", digest: "", size: 0 }, '{"mediaType":"","digest":"","size":0}'],
  [
    {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      size: 9007199254740991,
    },
    '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":9007199254740991}',
  ],
  [
    {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      size: 1,
      urls: [],
      annotations: {},
      data: "",
      artifactType: "",
    },
    '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":1}',
  ],
  [
    {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      size: 1,
      urls: ["a", "<b>"],
      annotations: { z: "1", a: "2", "é": "&", "𐀀": "x", "\uffff": "y" },
      data: "AAEC",
      platform: {
        architecture: "amd64",
        os: "windows",
        "os.version": "10.0.17763.1",
        "os.features": ["win32k"],
        variant: "v3",
      },
      artifactType: "application/x",
    },
    '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":1,"urls":["a","\\u003cb\\u003e"],"annotations":{"a":"2","z":"1","é":"\\u0026","\uffff":"y","𐀀":"x"},"data":"AAEC","platform":{"architecture":"amd64","os":"windows","os.version":"10.0.17763.1","os.features":["win32k"],"variant":"v3"},"artifactType":"application/x"}',
  ],
  [
    {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      size: 1,
      platform: { architecture: "", os: "" },
    },
    '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":1,"platform":{"architecture":"","os":""}}',
  ],
  [
    {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      size: 1,
      platform: { architecture: "arm64", os: "linux", variant: "v8" },
      annotations: {
        "io.containerd.image.name": "docker.io/library/a:1.0",
        "org.opencontainers.image.ref.name": "1.0",
      },
    },
    '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":1,"annotations":{"io.containerd.image.name":"docker.io/library/a:1.0","org.opencontainers.image.ref.name":"1.0"},"platform":{"architecture":"arm64","os":"linux","variant":"v8"}}',
  ],
  [
    { mediaType: 'a\u2028\u2029\u0008\u000c\u0000\u001f\u007f"\\/', digest: "<>&", size: 2 },
    '{"mediaType":"a\\u2028\\u2029\\b\\f\\u0000\\u001f\u007f\\"\\\\/","digest":"\\u003c\\u003e\\u0026","size":2}',
  ],
];

const ARCHIVE_INDEX_CASES: [Descriptor[], string][] = [
  [
    // Every request dropped (skip-missing): 2.x's list comes from make([]Descriptor, 0, n), not
    // nil, so json.Marshal writes [] (a nil list, null, is not a valid OCI index).
    [],
    '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}',
  ],
  [
    [{
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      size: 0,
    }],
    '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":0}]}',
  ],
  [
    [{
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      size: 1,
      platform: { architecture: "arm64", os: "linux", variant: "v8" },
      annotations: {
        "io.containerd.image.name": "docker.io/library/a:1.0",
        "org.opencontainers.image.ref.name": "1.0",
      },
    }, {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      size: 1,
      urls: ["a", "<b>"],
      annotations: { z: "1", a: "2", "é": "&", "𐀀": "x", "\uffff": "y" },
      data: "AAEC",
      platform: {
        architecture: "amd64",
        os: "windows",
        "os.version": "10.0.17763.1",
        "os.features": ["win32k"],
        variant: "v3",
      },
      artifactType: "application/x",
    }],
    '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":1,"annotations":{"io.containerd.image.name":"docker.io/library/a:1.0","org.opencontainers.image.ref.name":"1.0"},"platform":{"architecture":"arm64","os":"linux","variant":"v8"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":1,"urls":["a","\\u003cb\\u003e"],"annotations":{"a":"2","z":"1","é":"\\u0026","\uffff":"y","𐀀":"x"},"data":"AAEC","platform":{"architecture":"amd64","os":"windows","os.version":"10.0.17763.1","os.features":["win32k"],"variant":"v3"},"artifactType":"application/x"}]}',
  ],
  [
    [{ mediaType: 'a\u2028\u2029\u0008\u000c\u0000\u001f\u007f"\\/', digest: "<>&", size: 2 }],
    '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"a\\u2028\\u2029\\b\\f\\u0000\\u001f\u007f\\"\\\\/","digest":"\\u003c\\u003e\\u0026","size":2}]}',
  ],
];

const DOCKER_MANIFEST_CASES: [
  { config: string; repoTags?: string[]; layers?: string[] }[],
  string,
][] = [
  [[], "[]"],
  [
    [{ config: "blobs/sha256/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" }],
    '[{"Config":"blobs/sha256/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","RepoTags":null,"Layers":null}]',
  ],
  [
    [{
      config: "blobs/sha256/c",
      repoTags: ["a:1.0", "b/c:<x>"],
      layers: ["blobs/sha256/l1", "blobs/sha512/l2"],
    }],
    '[{"Config":"blobs/sha256/c","RepoTags":["a:1.0","b/c:\\u003cx\\u003e"],"Layers":["blobs/sha256/l1","blobs/sha512/l2"]}]',
  ],
  [
    [{ config: "c", repoTags: [], layers: [] }, { config: "d", layers: ["l"] }],
    '[{"Config":"c","RepoTags":[],"Layers":[]},{"Config":"d","RepoTags":null,"Layers":["l"]}]',
  ],
];

const RANDOM_DOC_HASHES = `
75db408e15492d6d542936d7e93739bdfec5bdfec52d6d543e7edc2d6d54bdfec5e9373985b2485f327c36ca7dd9c517
57c6812e74745f327ce937392d6d54bdfec53e7edc681ecc2d6d542d6d5475db40689594e937392d6d54e937392d6d54
c3594967d1092d6d54e937392d6d54d6914e5f327c2d6d543e7edc75db407bea9f2d6d549b1b66bdfec575db40e61c3e
2d6d54bdfec53e7edc3aea712d6d542d6d543741722d6d545f327c1498db75db40e9373957c68175cef7df9b6b2d6d54
2d6d54bdfec5fae462e93739fed409d919b0445a7ce93739980ef52d6d54d890442d6d5424491c55a767e937392d6d54
e9373975db40d9c517e84e80bdfec5df9b6be93739bdfec575db4075db40c7dbfbbdfec5bdfec52d6d54fc42e32d6d54
2d6d542d6d542eb26f7bea9f2d6d548995795f327cbdfec52d6d54df61562d6d54872ae42d6d54e937392d6d54686e35
bdfec52d6d54fd6028bdfec5e937392d6d545f327c36ca7d4272314c97832d6d54bdfec5c078b72d6d54890671e93739
b66d992d6d542d6d5475db407bea9f2d6d54f63ad72d6d54d9c5175f46da2d6d54e9373992434cbdfec575db40fed409
2d6d542d6d545f327c57023abf88637bea9f75db40084fb8bdfec51adb1e8b359ad9c5179a6073d9c517df9b6be93739
f1632b36ca7df28dff466c192d6d542d6d549a7562fed40955f3600ad066024b0775db40df9b6b2d6d54b631938837ac
e937395f327c4d63cae93739eb7f8b75db40bf717ce937392a0f0cd9c5178cc302e937394cff29d9c517e93739abe07d
5f327c2d6d542d6d54393c422d6d541702bce93739b2b36f2d4ddb2d6d542d6d54df9b6b2d6d542d6d54b113372b1171
2d6d54f7e1da457af190f6892d6d542d6d54d9c5172d6d54150a5c2d6d5475db40d9c5172d6d5436ca7d2d6d5475db40
e937392d6d54df9b6bd9c5172d6d542d6d5475db402d6d54e93739d3ebee0f3354a0e49e2d6d542d6d54d4bcdc5f327c
7bea9f3d4687714e05d892a82d6d542d6d5400b4fff36b2c8003cc7f790a55c3672d6d5455e1eebdfec51d3815cca777
36ca7d2d6d542d6d542d6d5475db4016810d2d6d549034be2d6d54e937392d6d542d6d54e93739bdfec5fed4095f327c
2d6d54e9373975db402d6d542d6d54d9c51736ca7de93739b2b0e53b1e8475db40fed4097bea9f2d6d542d6d543c0bd0
3e7edc2d6d542d6d54e9373975db40e93739bdfec52d6d542d6d54e9373955c7dbcd669ef86674cc88592d6d542d6d54
2d6d542d6d54bdfec52d6d542d6d54b4f6562d6d54bdfec5bdfec52d6d542d6d542d6d5475db4075db40bdfec52d6d54
bdfec52d6d542d6d5424d28e5c406ae93739e937392d6d542d6d54680db9d11a5ce93739d893d4eba8662d6d546dce4d
75db402d6d54e93739df9b6b5f04a7fed409ab2462e93739e937392d6d54d59d48c64aebd876b2e9842f80be6575882c
e937392d6d542d6d542d6d542d6d54e937392d6d54bdfec52d6d54fed4092d6d547bea9f2be65fe937392d6d542d6d54
e937392d6d5475db40df9b6bf7bd322d6d5475db402d6d54e4c2e12d6d54650b19fed409d9c5172d6d54df9b6bbdfec5
ab15d5987e25ed67862d6d542d6d542d6d545f327c46879d2d6d541c190d2d6d5480e5992d6d547274582d6d542d6d54
`;
