// Tests for lib/oci/go_json.ts. Expected outputs come from Go's encoding/json (json.Marshal and
// json.Unmarshal), run on the same inputs by a throw-away oracle program that is not part of the
// repository. Go 1.19 was the oracle; it writes \u0008 and \u000c where Go >= 1.22 (what
// containerd 2.x is built with) writes \b and \f, so the oracle's output was rewritten to the
// >= 1.22 form before being copied here. Random cases are regenerated from a fixed seed; for each
// one the table holds the first 6 hex digits of the SHA-256 of Go's output.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  compareCodePoints,
  decodeJson,
  encodeString,
  encodeStringList,
  encodeStringMap,
  GoJsonError,
  PRESENT,
  type Schema,
} from "../lib/oci/go_json.ts";
import { hashes, prng } from "./support/seeded.ts";

const te = new TextEncoder();
const utf8 = (s: string) => te.encode(s);

/** Short hash of an oracle output, as stored in the random-case tables. */
export function shortHash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 6);
}

// ---------------------------------------------------------------------------------------------
// Seeded generators (exported so the oracle driver generates exactly the same inputs).

function pick<T>(next: () => number, list: readonly T[]): T {
  return list[Math.floor(next() * list.length)];
}

const SPECIAL_POINTS = [
  0x22,
  0x5c,
  0x2f,
  0x3c,
  0x3e,
  0x26,
  0x27,
  0x7f,
  0x2028,
  0x2029,
  0x2027,
  0x202a,
  0xfeff,
  0xfffd,
  0xfffe,
  0xffff,
  0x85,
  0xa0,
  0x200b,
  0x17f,
  0x212a,
];

/** A random code point: ASCII, controls, HTML characters, line separators, BMP, astral. */
export function randomCodePoint(next: () => number): number {
  const r = next();
  if (r < 0.4) return 0x20 + Math.floor(next() * 0x5f);
  if (r < 0.5) return pick(next, SPECIAL_POINTS);
  if (r < 0.6) return Math.floor(next() * 0x20);
  if (r < 0.75) return 0x80 + Math.floor(next() * (0x800 - 0x80));
  if (r < 0.88) {
    const c = 0x800 + Math.floor(next() * (0x10000 - 0x800 - 0x800));
    return c >= 0xd800 ? c + 0x800 : c; // no surrogates
  }
  return 0x10000 + Math.floor(next() * 0x100000);
}

/** A random well-formed string of up to `max` code points. */
export function randomString(next: () => number, max = 20): string {
  const n = Math.floor(next() * (max + 1));
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCodePoint(randomCodePoint(next));
  return s;
}

const SHORT_ESCAPES: Record<number, string> = {
  0x22: '\\"',
  0x5c: "\\\\",
  0x2f: "\\/",
  0x08: "\\b",
  0x0c: "\\f",
  0x0a: "\\n",
  0x0d: "\\r",
  0x09: "\\t",
};

function hex4(next: () => number, unit: number): string {
  const h = unit.toString(16).padStart(4, "0");
  return "\\u" + (next() < 0.5 ? h : h.toUpperCase());
}

/** Writes a JSON string literal, escaping characters at random in the ways JSON allows. */
export function writeJsonString(next: () => number, s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    const must = c < 0x20 || c === 0x22 || c === 0x5c;
    if (!must && next() < 0.8) {
      out += ch;
    } else if (SHORT_ESCAPES[c] !== undefined && next() < 0.6) {
      out += SHORT_ESCAPES[c];
    } else if (c > 0xffff) {
      out += hex4(next, 0xd800 + ((c - 0x10000) >> 10)) + hex4(next, 0xdc00 + (c & 0x3ff));
    } else {
      out += hex4(next, c);
    }
  }
  return out + '"';
}

/** Random JSON whitespace (including none). */
export function ws(next: () => number): string {
  const r = next();
  return r < 0.7 ? "" : pick(next, [" ", "\n", "\t", "\r\n", "  \n\t"]);
}

/** A random JSON object meant for a `map[string]string`: duplicate keys, nulls, rare wrong types. */
export function randomMapJson(next: () => number): string {
  const n = Math.floor(next() * 7);
  const keys: string[] = []; // keys that may be repeated
  const poisoned = new Set<string>(); // keys that held a wrongly typed value
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    let key: string;
    const r = next();
    if (r < 0.15 && keys.length > 0) key = pick(next, keys); // duplicate: the later value wins
    else if (r < 0.25 && keys.length > 0) key = pick(next, keys).toUpperCase();
    else key = randomString(next, 6);
    while (poisoned.has(key)) key += "x";
    const v = next();
    // A wrongly typed value is an error in Go even when a later duplicate overwrites it, but
    // JSON.parse never shows it to the decoder: such keys are not repeated (see documents_test).
    const wrong = v >= 0.1 && v < 0.13 && !keys.includes(key);
    if (wrong) poisoned.add(key);
    else keys.push(key);
    const value = v < 0.1
      ? "null"
      : wrong
      ? pick(next, ["1", "true", "[]", "{}", "1.5"])
      : writeJsonString(next, randomString(next, 10));
    parts.push(
      ws(next) + writeJsonString(next, key) + ws(next) + ":" + ws(next) + value + ws(next),
    );
  }
  return ws(next) + "{" + parts.join(",") + "}" + ws(next);
}

export const RANDOM_STRING_SEED = 0x5eed0001;
export const RANDOM_STRING_COUNT = 300;
export const RANDOM_MAP_SEED = 0x5eed0002;
export const RANDOM_MAP_COUNT = 150;

/** The random strings of the encodeString table. */
export function randomStrings(): string[] {
  const next = prng(RANDOM_STRING_SEED);
  return Array.from({ length: RANDOM_STRING_COUNT }, () => randomString(next, 24));
}

/** The random JSON objects of the map table. */
export function randomMaps(): string[] {
  const next = prng(RANDOM_MAP_SEED);
  return Array.from({ length: RANDOM_MAP_COUNT }, () => randomMapJson(next));
}

const STRING_MAP: Schema = { kind: "map", of: { kind: "string" } };

/** What our code makes of a map case, in the oracle's terms: the re-encoding or "error". */
export function encodeMapCase(json: string): string {
  try {
    return encodeStringMap(decodeJson(utf8(json), STRING_MAP) as Record<string, string>);
  } catch (error) {
    if (error instanceof GoJsonError) return "error";
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// encodeString

Deno.test("encodeString matches json.Marshal (Go >= 1.22) on hand-picked strings", () => {
  // [input, what json.Marshal(string) writes]
  const cases: [string, string][] = [
    ["", '""'],
    ["plain ascii 123", '"plain ascii 123"'],
    ["<a href='x'>&amp;</a>", "\"\\u003ca href='x'\\u003e\\u0026amp;\\u003c/a\\u003e\""],
    ["\u2028\u2029\u2027\u202a", '"\\u2028\\u2029\u2027\u202a"'],
    ["\b\f\n\r\t", '"\\b\\f\\n\\r\\t"'],
    ["\x00\x01\x07\x0b\x0e\x1b\x1f", '"\\u0000\\u0001\\u0007\\u000b\\u000e\\u001b\\u001f"'],
    ["\x7f\x80\x85\xa0", '"\x7f\x80\x85\xa0"'],
    ['"\\/', '"\\"\\\\/"'],
    ["é😀\ufeff\ufffd\uffff\ufffe", '"é😀\ufeff\ufffd\uffff\ufffe"'],
    ["\u{10ffff}\u{10000}", '"\u{10ffff}\u{10000}"'],
    ["a\u2028b<c", '"a\\u2028b\\u003cc"'],
  ];
  for (const [input, go] of cases) assert.equal(encodeString(input), go, JSON.stringify(input));
});

Deno.test("encodeString writes a lone surrogate as \\ufffd, as Go writes invalid UTF-8", () => {
  // A JS string with a lone surrogate has no UTF-8 form; Go writes each byte of invalid UTF-8
  // in a string as the six characters \ufffd, which is what the library documents here.
  assert.equal(encodeString("\ud800"), '"\\ufffd"');
  assert.equal(encodeString("\udc00"), '"\\ufffd"');
  assert.equal(encodeString("a\ud83db"), '"a\\ufffdb"');
  assert.equal(encodeString("\ude00\ud83d"), '"\\ufffd\\ufffd"');
  assert.equal(encodeString("\ud83d\ude00"), '"\ud83d\ude00"'); // a pair is a character
  assert.equal(encodeString("x\ud83d"), '"x\\ufffd"'); // high surrogate at the end
});

Deno.test("encodeString output parses back to the input (well-formed strings)", () => {
  for (const s of randomStrings()) assert.equal(JSON.parse(encodeString(s)), s);
});

Deno.test("encodeString matches json.Marshal on random strings", () => {
  const expected = hashes(RANDOM_STRING_HASHES);
  const inputs = randomStrings();
  assert.equal(expected.length, inputs.length);
  const wrong: string[] = [];
  inputs.forEach((s, i) => {
    const ours = encodeString(s);
    if (shortHash(ours) !== expected[i]) wrong.push(`#${i} ${JSON.stringify(s)} -> ${ours}`);
  });
  assert.deepEqual(wrong, []);
});

// ---------------------------------------------------------------------------------------------
// compareCodePoints, encodeStringMap, encodeStringList

function byteOrder(a: string, b: string): number {
  const x = utf8(a);
  const y = utf8(b);
  for (let i = 0; i < x.length && i < y.length; i++) {
    if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return Math.sign(x.length - y.length);
}

Deno.test("compareCodePoints is the byte order of UTF-8", () => {
  const fixed: [string, string, number][] = [
    ["", "", 0],
    ["", "a", -1],
    ["a", "", 1],
    ["a", "b", -1],
    ["B", "a", -1],
    ["ab", "a", 1],
    ["\uffff", "\u{10000}", -1], // UTF-16 order would say the opposite
    ["\uff61", "\ud83d\ude00", -1],
    ["\ue000", "\u{1f600}", -1],
    ["\u{1f600}", "\u{1f600}", 0],
    ["\u{1f600}a", "\u{1f600}b", -1],
    ["z", "\u0080", -1],
  ];
  for (const [a, b, want] of fixed) {
    assert.equal(compareCodePoints(a, b), want, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  }
  const next = prng(7);
  for (let i = 0; i < 3000; i++) {
    const a = randomString(next, 4);
    const b = next() < 0.3 ? a + randomString(next, 2) : randomString(next, 4);
    assert.equal(
      compareCodePoints(a, b),
      byteOrder(a, b),
      `${JSON.stringify(a)} ${JSON.stringify(b)}`,
    );
    assert.equal(compareCodePoints(b, a), byteOrder(b, a));
  }
});

Deno.test("encodeStringMap sorts keys by byte order and escapes keys and values", () => {
  assert.equal(encodeStringMap({}), "{}");
  assert.equal(
    encodeStringMap({ b: "2", a: "1", "\u{10000}": "astral", "\uffff": "bmp", A: "<" }),
    '{"A":"\\u003c","a":"1","b":"2","\uffff":"bmp","\u{10000}":"astral"}',
  );
  // Keys that are special to JavaScript objects are ordinary keys.
  const map = Object.create(null);
  map["__proto__"] = "p";
  map["constructor"] = "c";
  assert.equal(encodeStringMap(map), '{"__proto__":"p","constructor":"c"}');
  // A key Go's decoder would leave as U+FFFD-free text is written escaped like any string.
  assert.equal(encodeStringMap({ "a&b": "\n" }), '{"a\\u0026b":"\\n"}');
});

Deno.test("encodeStringList: undefined is Go's nil slice", () => {
  assert.equal(encodeStringList(undefined), "null");
  assert.equal(encodeStringList([]), "[]");
  assert.equal(encodeStringList(["a", "<", "\t"]), '["a","\\u003c","\\t"]');
});

Deno.test("map[string]string round trip matches Go on hand-picked objects", () => {
  // [JSON input, what json.Marshal writes after json.Unmarshal into map[string]string, or "error"]
  const cases: [string, string][] = MAP_CASES;
  for (const [input, go] of cases) assert.equal(encodeMapCase(input), go, input);
});

Deno.test("map[string]string round trip matches Go on random objects", () => {
  const expected = hashes(RANDOM_MAP_HASHES);
  const inputs = randomMaps();
  assert.equal(expected.length, inputs.length);
  const wrong: string[] = [];
  inputs.forEach((json, i) => {
    const ours = encodeMapCase(json);
    if (shortHash(ours) !== expected[i]) wrong.push(`#${i} ${json} -> ${ours}`);
  });
  assert.deepEqual(wrong, []);
});

// ---------------------------------------------------------------------------------------------
// decodeJson

const STRING: Schema = { kind: "string" };
const INT: Schema = { kind: "int" };

function decode(json: string | Uint8Array, schema: Schema): unknown {
  return decodeJson(typeof json === "string" ? utf8(json) : json, schema);
}

function decodeError(json: string | Uint8Array, schema: Schema): GoJsonError {
  try {
    decode(json, schema);
  } catch (error) {
    assert.ok(error instanceof GoJsonError, `not a GoJsonError: ${error}`);
    return error;
  }
  assert.fail(`accepted ${typeof json === "string" ? json : "bytes"}`);
}

Deno.test("decodeJson: syntax that Go's decoder refuses", () => {
  const bad: (string | Uint8Array)[] = [
    "",
    " ",
    "{",
    "{} x",
    "{}{}",
    "{'a':1}",
    '{"a":1,}',
    "[1,]",
    "{\f}",
    "{\u00a0}",
    '{"a":01}',
    '{"a":+1}',
    '{"a":1.}',
    '{"a":.5}',
    '{"a":0x10}',
    '{"a":NaN}',
    '{"a":Infinity}',
    '{"a":"\t"}', // a raw control character inside a string
    '{"a":"\\x41"}',
    '{"a":"\\u12"}',
    "\ufeff{}", // a byte-order mark, as text
    new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), // and as bytes
    '{"x":' + "[".repeat(10001) + "]".repeat(10001) + "}", // Go: "exceeded max depth"
  ];
  const schema: Schema = { kind: "struct", fields: { a: STRING } };
  for (const json of bad) {
    const error = decodeError(json, schema);
    assert.equal(error.path, "");
    assert.match(error.message, /^invalid JSON/);
  }
  // Whitespace Go allows: space, tab, LF, CR, around any token.
  assert.deepEqual(decode(' \t\r\n{ "a" \n:\r "x" \t} \n', schema), { a: "x" });
});

Deno.test("decodeJson: strings and type errors, as Unmarshal into a string field", () => {
  const schema: Schema = { kind: "struct", fields: { s: STRING } };
  assert.deepEqual(decode('{"s":"x"}', schema), { s: "x" });
  assert.deepEqual(decode('{"s":null}', schema), {}); // null leaves the zero value
  assert.deepEqual(decode('{"s":"\\u00e9\\ud83d\\ude00\\/"}', schema), { s: "é😀/" });
  for (const v of ["1", "true", "false", "[]", "{}", '["x"]', "1.5"]) {
    const error = decodeError(`{"s":${v}}`, schema);
    assert.equal(error.path, "s");
    assert.match(error.message, /^s: expected a string/);
  }
});

Deno.test("decodeJson: integers are exact, as Unmarshal into int64", () => {
  const schema: Schema = { kind: "struct", fields: { n: INT } };
  const ok: [string, number][] = [
    ["0", 0],
    ["-0", 0],
    ["1", 1],
    ["-1", -1],
    ["123456789", 123456789],
    ["9007199254740991", 9007199254740991],
    ["-9007199254740991", -9007199254740991],
  ];
  for (const [json, want] of ok) {
    const got = (decode(`{"n":${json}}`, schema) as { n: number }).n;
    assert.ok(Object.is(got, want) || (want === 0 && got === 0), `${json} -> ${got}`);
  }
  // Go: "cannot unmarshal number 1.0 into Go struct field .n of type int64", and so on.
  for (const json of ["1.0", "1e3", "1E0", "-1.5", "0.0", "1e-0", '"1"', "true", "[]", "{}"]) {
    assert.equal(decodeError(`{"n":${json}}`, schema).path, "n", json);
  }
  // Go accepts these into an int64; the library refuses integers beyond 2^53 - 1 (documented).
  for (
    const json of [
      "9007199254740992",
      "9007199254740993",
      "9223372036854775807",
      "-9007199254740993",
    ]
  ) {
    assert.match(decodeError(`{"n":${json}}`, schema).message, /out of range/, json);
  }
  // Go refuses these too (overflow, not an integer).
  for (const json of ["9223372036854775808", "1e400", "-1e400"]) {
    decodeError(`{"n":${json}}`, schema);
  }
  assert.deepEqual(decode('{"n":null}', schema), {});
});

Deno.test("decodeJson: keys match exactly, else case-insensitively with Go's folds", () => {
  const schema: Schema = {
    kind: "struct",
    fields: { mediaType: STRING, size: INT, kind: STRING, "os.version": STRING },
  };
  assert.deepEqual(decode('{"MEDIATYPE":"a","SiZe":1,"KIND":"k","OS.VERSION":"v"}', schema), {
    mediaType: "a",
    size: 1,
    kind: "k",
    "os.version": "v",
  });
  // U+017F (long s) folds to s and U+212A (Kelvin sign) to k, in Go 1.19 and in current Go alike.
  assert.deepEqual(decode('{"ſize":2,"\u212aind":"kelvin"}', schema), { size: 2, kind: "kelvin" });
  assert.deepEqual(decode('{"\\u017fize":3}', schema), { size: 3 });
  // Other look-alikes do not fold: dotless i, Turkish dotted I, fullwidth letters, ligatures.
  assert.deepEqual(
    decode('{"k\u0131nd":"a","K\u0130ND":"b","\uff4bind":"c","\ufb06ize":4}', schema),
    {},
  );
  // Keys that are only close are unknown, and ignored.
  assert.deepEqual(
    decode('{"media_type":"a","mediaTypes":"b","os_version":"c","sizE ":1}', schema),
    {},
  );
  // The case-insensitive matches are processed in document order: the last one wins.
  assert.deepEqual(decode('{"mediatype":"a","mediaType":"b"}', schema), { mediaType: "b" });
  assert.deepEqual(decode('{"mediaType":"b","mediatype":"a"}', schema), { mediaType: "a" });
  // Inherited property names of JS objects are not fields.
  assert.deepEqual(decode('{"constructor":"x","__proto__":"y","toString":"z"}', schema), {});
});

Deno.test("decodeJson: key folding matches Go on a struct with s and k fields", () => {
  // [input, json.Marshal of struct{Kind string `json:"kind"`; Sk string `json:"sk,omitempty"`}]
  const schema: Schema = { kind: "struct", fields: { kind: STRING, sk: STRING } };
  for (const [input, go] of KSTRUCT_CASES) {
    let ours: string;
    try {
      const v = decode(input, schema) as { kind?: string; sk?: string };
      ours = `{"kind":${encodeString(v.kind ?? "")}${v.sk ? `,"sk":${encodeString(v.sk)}` : ""}}`;
    } catch (error) {
      if (!(error instanceof GoJsonError)) throw error;
      ours = "error";
    }
    assert.equal(ours, go, input);
  }
});

Deno.test("decodeJson: null leaves zero values; elements of arrays and maps get the zero value", () => {
  const schema: Schema = {
    kind: "struct",
    fields: {
      list: { kind: "array", of: STRING },
      ints: { kind: "array", of: INT },
      map: { kind: "map", of: STRING },
      structs: { kind: "array", of: { kind: "struct", fields: { a: STRING } } },
      pointers: { kind: "array", of: { kind: "struct", nullable: true, fields: { a: STRING } } },
      bytes: { kind: "array", of: { kind: "bytes" } },
      nested: { kind: "array", of: { kind: "array", of: STRING } },
    },
  };
  assert.deepEqual(
    decode(
      '{"list":[null,"x"],"ints":[null,2],"map":{"k":null},"structs":[null,{"a":"b"}],' +
        '"pointers":[null,{}],"bytes":[null],"nested":[null,[]]}',
      schema,
    ),
    {
      list: ["", "x"],
      ints: [0, 2],
      map: { k: "" },
      structs: [{}, { a: "b" }],
      pointers: [null, {}],
      bytes: [""],
      nested: [null, []],
    },
  );
  const nulls = '{"list":null,"ints":null,"map":null,"structs":null,"pointers":null,"bytes":null}';
  assert.deepEqual(decode(nulls, schema), {});
  // A whole document of null is Go's no-op: the zero value.
  assert.deepEqual(decode("null", schema), {});
  assert.equal(decode(" null ", STRING), "");
});

Deno.test("decodeJson: type errors name the path of the value", () => {
  const schema: Schema = {
    kind: "struct",
    fields: {
      manifests: {
        kind: "array",
        of: {
          kind: "struct",
          fields: { size: INT, annotations: { kind: "map", of: STRING } },
        },
      },
    },
  };
  assert.equal(decodeError('{"manifests":[{},{},{"size":"1"}]}', schema).path, "manifests[2].size");
  assert.equal(
    decodeError('{"manifests":[{"annotations":{"a b":1}}]}', schema).path,
    'manifests[0].annotations["a b"]',
  );
  assert.equal(decodeError('{"manifests":{}}', schema).path, "manifests");
  assert.equal(decodeError('{"manifests":[[]]}', schema).path, "manifests[0]");
  assert.equal(decodeError("[]", schema).path, "");
  assert.equal(decodeError('"x"', schema).path, "");
  const error = decodeError('{"manifests":[{"SIZE":1.5}]}', schema);
  assert.equal(error.path, "manifests[0].SIZE"); // the key as the document spells it
  assert.match(error.message, /1\.5 is not an integer/);
});

Deno.test("decodeJson: raw values are present whatever they hold, null included", () => {
  // Go's json.RawMessage keeps the literal "null" (length 4) rather than leaving it empty.
  const schema: Schema = { kind: "struct", fields: { raw: { kind: "raw" }, s: STRING } };
  for (const v of ["null", "1", '"x"', "[]", "{}", "false", '{"deep":[1e999]}']) {
    assert.deepEqual(decode(`{"raw":${v}}`, schema), { raw: PRESENT }, v);
  }
  assert.deepEqual(decode('{"RAW":0}', schema), { raw: PRESENT });
  assert.deepEqual(decode("{}", schema), {});
});

Deno.test("decodeJson: []byte fields are base64 (StdEncoding, padded, CR/LF ignored)", () => {
  const schema: Schema = { kind: "struct", fields: { data: { kind: "bytes" } } };
  // [JSON string, what json.Marshal writes back for the []byte, or "error"]: from Go.
  const cases: [string, string][] = [
    ['""', ""],
    ['"QQ=="', "QQ=="],
    ['"QR=="', "QQ=="], // non-zero padding bits are ignored, then re-encoded canonically
    ['"QUI="', "QUI="],
    ['"QUJ="', "QUI="],
    ['"QUJD"', "QUJD"],
    ['"QUJ\\u0044"', "QUJD"],
    ['"QU\\nI="', "QUI="],
    ['"QU\\r\\nI="', "QUI="],
    ['"\\nQUI=\\n"', "QUI="],
    ['"\\r\\r\\n\\n"', ""],
    ['"+/+/"', "+/+/"],
    ['"QQ"', "error"],
    ['"QUI"', "error"],
    ['"Q==="', "error"],
    ['"Q"', "error"],
    ['"QUI=QUI="', "error"],
    ['"QU I="', "error"],
    ['"QU\\tI="', "error"],
    ['"QUI=\\f"', "error"],
    ['"-_8="', "error"], // URL alphabet
    ['"QQ==\\u0000"', "error"],
    ["1", "error"],
    ["{}", "error"],
    ["true", "error"],
  ];
  for (const [json, go] of cases) {
    let ours: string;
    try {
      ours = (decode(`{"data":${json}}`, schema) as { data: string }).data;
    } catch (error) {
      if (!(error instanceof GoJsonError)) throw error;
      ours = "error";
    }
    assert.equal(ours, go, json);
  }
  assert.deepEqual(decode('{"data":null}', schema), {});
});

Deno.test("decodeJson: a top-level value of the wrong kind is a type error", () => {
  assert.equal(decode('"x"', STRING), "x");
  assert.equal(decode("42", INT), 42);
  assert.deepEqual(decode("[1,2]", { kind: "array", of: INT }), [1, 2]);
  decodeError("{}", { kind: "array", of: INT });
  decodeError("[]", { kind: "map", of: INT });
  decodeError("[]", { kind: "struct", fields: {} });
  decodeError("1", { kind: "struct", fields: {} });
  decodeError('"1"', INT);
});

Deno.test("decodeJson: GoJsonError carries its path in the message", () => {
  const error = new GoJsonError("bad", "a.b");
  assert.equal(error.message, "a.b: bad");
  assert.equal(error.name, "GoJsonError");
  assert.equal(new GoJsonError("bad", "").message, "bad");
});

// Regression (found by a Go oracle or review; the code once did this): a []byte field also takes a JSON array of numbers 0..255 in Go (encoding/json decodes it
// as a slice of uint8; null elements are 0). decodeJson only takes a base64 string, so a
// descriptor with "data":[65,66] is refused here while Go accepts it and re-encodes "QUI=".
// Go: {"data":[]} -> "data" omitted (empty); {"data":[65,66]} -> "QUI="; {"data":[null,1]} ->
// "AAE="; {"data":[256]}, {"data":[1.5]}, {"data":[-1]}, {"data":["A"]} -> error.
Deno.test({
  name: "decodeJson: []byte takes a JSON array of bytes, as in Go",
  fn() {
    const schema: Schema = { kind: "struct", fields: { data: { kind: "bytes" } } };
    assert.deepEqual(decode('{"data":[65,66]}', schema), { data: "QUI=" });
    assert.deepEqual(decode('{"data":[null,1]}', schema), { data: "AAE=" });
    assert.deepEqual(decode('{"data":[]}', schema), { data: "" });
    for (const bad of ["[256]", "[1.5]", "[-1]", '["A"]']) decodeError(`{"data":${bad}}`, schema);
  },
});

// Regression (found by a Go oracle or review; the code once did this): Go's decoder replaces a lone surrogate escape (\ud800, or \ud83d not followed by a low
// surrogate escape) with U+FFFD, a valid character that json.Marshal then writes raw (bytes
// ef bf bd). decodeJson keeps the lone surrogate in the JS string, so encodeString later writes
// the six characters \ufffd instead, and map keys sort by the surrogate rather than by U+FFFD.
// Input {"a":"\ud800"}: Go writes {"a":"\ufffd"} with U+FFFD raw (7 bytes "a":"...", the char
// as 3 bytes); ours writes {"a":"\\ufffd"}.
Deno.test({
  name: "decodeJson: lone surrogate escapes decode to U+FFFD, as in Go",
  fn() {
    assert.equal(encodeMapCase('{"a":"\\ud800"}'), '{"a":"\ufffd"}');
    assert.equal(encodeMapCase('{"a":"\\ud83dA\\ude00"}'), '{"a":"\ufffdA\ufffd"}');
    // Go: both keys become U+FFFD and collide (the later value wins); U+E000 sorts first.
    assert.equal(encodeMapCase('{"\\ud800":"x","\\ue000":"y"}'), '{"\ue000":"y","\ufffd":"x"}');
    assert.equal(encodeMapCase('{"\\ud800":"x","\\udc00":"y"}'), '{"\ufffd":"y"}');
  },
});

// Regression (found by a Go oracle or review; the code once did this): Go replaces each byte of invalid UTF-8 inside a JSON string with its own U+FFFD
// (utf8.DecodeRune returns width 1); decodeJson decodes with TextDecoder, which replaces a
// truncated multi-byte sequence ("maximal subpart") with a single U+FFFD. Input bytes
// {"a":"<e2 82>"}: Go re-encodes {"a":"\ufffd\ufffd"} (two raw U+FFFD), ours {"a":"\ufffd"}.
// Input {"a":"<f0 9f 98>"}: Go three U+FFFD, ours one.
Deno.test({
  name: "decodeJson: invalid UTF-8 becomes one U+FFFD per byte, as in Go",
  fn() {
    const bytes = (...parts: (string | number[])[]) =>
      new Uint8Array(parts.flatMap((p) => typeof p === "string" ? [...utf8(p)] : p));
    const reencode = (b: Uint8Array) =>
      encodeStringMap(decodeJson(b, STRING_MAP) as Record<string, string>);
    assert.equal(reencode(bytes('{"a":"', [0xe2, 0x82], '"}')), '{"a":"\ufffd\ufffd"}');
    assert.equal(reencode(bytes('{"a":"', [0xf0, 0x9f, 0x98], '"}')), '{"a":"\ufffd\ufffd\ufffd"}');
  },
});

Deno.test("decodeJson: invalid UTF-8 that both decoders replace alike", () => {
  const bytes = (...parts: (string | number[])[]) =>
    new Uint8Array(parts.flatMap((p) => typeof p === "string" ? [...utf8(p)] : p));
  const reencode = (b: Uint8Array) =>
    encodeStringMap(decodeJson(b, STRING_MAP) as Record<string, string>);
  // Outputs from Go: one U+FFFD per invalid byte here, as TextDecoder also gives.
  assert.equal(reencode(bytes('{"a":"', [0xff], '"}')), '{"a":"\ufffd"}');
  assert.equal(reencode(bytes('{"a":"', [0xff, 0xfe], '"}')), '{"a":"\ufffd\ufffd"}');
  assert.equal(reencode(bytes('{"a":"', [0xc0, 0xaf], '"}')), '{"a":"\ufffd\ufffd"}');
  assert.equal(reencode(bytes('{"a":"', [0xed, 0xa0, 0x80], '"}')), '{"a":"\ufffd\ufffd\ufffd"}');
  assert.equal(
    reencode(bytes('{"a":"', [0xf4, 0x90, 0x80, 0x80], '"}')),
    '{"a":"\ufffd\ufffd\ufffd\ufffd"}',
  );
});

// Divergence (minor, documented): Go accepts nesting up to 10000 levels, as decodeJson does, except
// in a document with a number that is not a plain integer: there the JSON.parse reviver that keeps
// numbers' source recurses and runs out of stack somewhere past ~3000 levels, so a deeply nested
// value (even one Go would skip) makes the document invalid. What matters is that it fails as a
// GoJsonError (an InvalidDocumentError to callers), never as a crash; and that ordinary depths work.
Deno.test("decodeJson: very deep nesting fails as invalid JSON, not as a crash", () => {
  const schema: Schema = { kind: "struct", fields: { a: STRING } };
  assert.deepEqual(decode('{"x":' + "[".repeat(1000) + "]".repeat(1000) + "}", schema), {});
  const deep = '{"x":' + "[".repeat(100000) + "]".repeat(100000) + "}";
  assert.throws(() => decode(deep, schema), GoJsonError);
});

// ---------------------------------------------------------------------------------------------
// Oracle tables.

const MAP_CASES: [string, string][] = [
  ["{}", "{}"],
  [" { } ", "{}"],
  ['{"b":"1","a":"2"}', '{"a":"2","b":"1"}'],
  ['{"a":null}', '{"a":""}'],
  ['{"a":1}', "error"],
  ['{"a":true}', "error"],
  ['{"a":"1","a":"2"}', '{"a":"2"}'],
  ['{"a":"1","a":null}', '{"a":""}'],
  ['{"A":"1","a":"2"}', '{"A":"1","a":"2"}'],
  [
    '{"é":"1","😀":"2","\uffff":"3","z":"4","Z":"5","":"6"}',
    '{"":"6","Z":"5","z":"4","é":"1","\uffff":"3","😀":"2"}',
  ],
  ['{"\\u00e9":"\\ud83d\\ude00"}', '{"é":"😀"}'],
  ['{"<":">&"}', '{"\\u003c":"\\u003e\\u0026"}'],
  ['{"__proto__":"x","constructor":"y"}', '{"__proto__":"x","constructor":"y"}'],
  ['{"":""}', '{"":""}'],
  ["[]", "error"],
  ['"x"', "error"],
  ["1", "error"],
  ['{"a":{"b":"c"}}', "error"],
  ['{"a":["b"]}', "error"],
  ['{"a":"\\u2028\\u2029"}', '{"a":"\\u2028\\u2029"}'],
  ['{"a":"\\b\\f\\u0008\\u000C"}', '{"a":"\\b\\f\\b\\f"}'],
  ['{"a":"\\u0000\\u007f\\u0080"}', '{"a":"\\u0000\u007f\u0080"}'],
  ['{"\\ufffd":"x","\\ue000":"y"}', '{"\ue000":"y","\ufffd":"x"}'],
  ['{"a":"1"}x', "error"],
  ['{"a":"1",}', "error"],
];

const KSTRUCT_CASES: [string, string][] = [
  ['{"kind":"a"}', '{"kind":"a"}'],
  ['{"KIND":"a"}', '{"kind":"a"}'],
  ['{"\u212aind":"a"}', '{"kind":"a"}'],
  ['{"\\u212aind":"a"}', '{"kind":"a"}'],
  ['{"\u212aIND":"a"}', '{"kind":"a"}'],
  ['{"\u017fk":"x"}', '{"kind":"","sk":"x"}'],
  ['{"SK":"x"}', '{"kind":"","sk":"x"}'],
  ['{"\u017f\u212a":"x"}', '{"kind":"","sk":"x"}'],
  ['{"sK":"x"}', '{"kind":"","sk":"x"}'],
  ['{"k\u0131nd":"a"}', '{"kind":""}'],
  ['{"K\u0130ND":"a"}', '{"kind":""}'],
  ['{"k":"a"}', '{"kind":""}'],
  ['{"kind":"a","KIND":"b"}', '{"kind":"b"}'],
  ['{"KIND":"b","kind":"a"}', '{"kind":"a"}'],
  ['{"\uff4bind":"a"}', '{"kind":""}'],
  ['{"kind":1}', "error"],
  ['{"kind":null}', '{"kind":""}'],
  ['{"Kind":"a","sk":"b","SK":"c"}', '{"kind":"a","sk":"c"}'],
];

const RANDOM_STRING_HASHES = `
ed539d5cab96afe19cac073a2fe09112ae32f2e53e8bd6cc01c3bb71b7ad8cb380f42291f7dbd31302719b01f7e54c1e
0d5463e6041312ae329ef018184c6433843a1a756f85e85ec5ca00bf79b012ae32efd542a6c922907735cc8ecd02eae3
e03a93c974db42af641680c68219e3c07a090646ac18e141e21089d3a5187b43b57364ef594a8b1d1f63a23b8ba20dac
4e6cd5077b80ae846a90277e21c08063120b1e54dd12ae32c07575c5a16bcfed4eb77295cb7065d2eb8f483804804322
c62fa784ee4c0f37ed494870929d62291602bf8fc4f745fa1014fe7d32e0253c3f08e0b0774270e20a3663943921404a
ba818c00026912ae32c921ad2227441c85771ddad3f01f3e6386b0aea853669aa9f3c67593e7f9084001c100f9849c91
294a9cf3afaf7bb2676759565d8a2a2b972f4b29a8bda354bdd106a7f1caa5511345503e085f92f27e1be51a30a188c0
de72e5d5ff753dfdbc9999b539b7c34884bba7ceb2e2e90af90e74171a9b43491aeec74fde3cf2633e57eaa6767f1831
2e2017ee081d9aa987395a5412ae32f034eeb0a16212ae3293949dd68a0da55331139bdaf0c7162c604653bdfc47ead8
26965ede00a63ac7fb40049876ad7fbf225f2a304939e9e4dc5556262d0425b9696f87ce8546b6ed6b84f6da050b0b25
e3d8b702ce588114a226323e9ab80b0808c012ae324a065cf9a8a2b4370f12ae325d9e55c397e1e389a66acfe4a84f84
f2b8f81117bc7492f58eb85226db3e277a42a4bb60629df97f06559b575e02e35e76ca1520084e7727cfe101b75c9664
6f031f18ae902c8b6d8211708a72a667215ee403c92b720212ae32dd3a8f5ddf17cba68b12ae3246a3ae907749fcb749
4b9bab1fa26134ce047ef9b8938dcf5fae66eed9aaa4ed32f20b5fa65c443a0d53c0c825252e17858c15a80421bef425
b998366e053fddbad512ae32b44eb97c05af8c86569b2cbff056ba34d63009a3b4debabdbf84ed1bf766c82a07e48f26
0dea2c735b151854d2b7f8da12ae32c0a7a66a63655d623e6424b890dafcf5a6104e03c549413bf83655c8da957c846d
67c0e0de2fd40c09fcba8b8fb3b5b972acab56d94c78a76a4ae4e322d9c23579db2b35db02ae827702c4bd2665b25bec
7070294f128ba519afc3568e12ae323e885dd3ae21c3d6779f33b90c88fe89960052be24ae9fe7af78e351b9150240e7
0dab67b87cffd2515fd5c71bd60a92cd5793f3a8f4bd454b4fc4bb38c783f115a844b0f7
`;

const RANDOM_MAP_HASHES = `
71a103059be5b552deca00fca3e050c4af7986cfeed5896c44136f44136fca5be944136febf21ddf8dea44136fdf44b0
edb7acca00fcd55ba20f434844136f2ca364bc3a5d44136fe501a7eb9544ca00fc4e6676ca00fc683b68e078854a21ca
2f3b00d6835aea753711e78c9b8783071e9f44136f44136ff5cc5644136f9b7756df8de4d8a50b95c13744136f44136f
66a244712c4e141a0b8ccb62d541f4402513227526fa6ea8915a7ea8ccf2ca00fcdefc1944136f44136f7bc6003c078e
c8ecb8fcfeb9ef57624f2c2e309d0c3f5066f754315c4845631da54d5638f747a944136f878c4444136f756b5237a091
d2129e7e59561bfa7544136fd6b7faca00fcca21a7382060bfab3f42b9735d6a3e44136fca00fc77555444136fcb0cba
fecfc246e9dbca00fca63d33d5549e32eef8129d173ae87444136fb9b367ded0279f416cc406a63373bd44136fda1f99
44136f37851544136f40e0d644136f9379d1c790dbb663a744136f44136f8a75a20d42c92d57db40c927424a8e77ed87
6fa45a85b570ca00fc06608c4c0a9dcfbb4b66ee0c44136f03d74ef1b6ca8c85fa8bc1d6286359fad4f48944bccbe1b9
684d7044136fcd457b30f38a6ced75ca00fc
`;
