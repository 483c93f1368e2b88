/**
 * JSON read and written the way Go's `encoding/json` does it, for the few shapes an image export
 * touches. Reading is schema-driven and as strict as Go's `Unmarshal` into a struct: a value of
 * the wrong type is an error, `null` leaves the zero value, unknown keys are ignored, and object
 * keys match field names exactly or, failing that, case-insensitively. Writing follows Go's
 * `Marshal`: no spaces, struct fields in declaration order, map keys sorted by byte order, and
 * Go's string escaping.
 *
 * @module
 */

/** A decoding schema: the Go type a JSON value is unmarshalled into. */
export type Schema =
  | { kind: "string" }
  | { kind: "int" }
  | { kind: "int64" }
  | { kind: "bytes" }
  | { kind: "raw" }
  | { kind: "array"; of: Schema }
  | { kind: "map"; of: Schema }
  | { kind: "struct"; fields: Readonly<Record<string, Schema>>; nullable?: boolean };

/** A decoding failure; `path` locates the value (for example `manifests[2].size`). */
export class GoJsonError extends Error {
  /** Where in the document the problem is. */
  readonly path: string;
  /** Creates the error. */
  constructor(message: string, path: string) {
    super(path ? `${path}: ${message}` : message);
    this.name = "GoJsonError";
    this.path = path;
  }
}

/** A number as the document spells it, so integers can be told from `1.0` or `1e3`. */
class SourceNumber {
  constructor(readonly source: string) {}
}

/** Marks a key whose value is a raw, present JSON value (Go's `json.RawMessage`). */
export const PRESENT: unique symbol = Symbol("present");

const strictDecoder = new TextDecoder("utf-8", { ignoreBOM: true, fatal: true });

/**
 * Parses JSON bytes as Go's decoder would accept them (a byte-order mark is an error, as in Go) and
 * decodes the value with a schema. A top-level `null` gives the schema's zero value, as in Go.
 *
 * @throws {GoJsonError} when the bytes are not JSON or a value does not fit the schema.
 */
export function decodeJson(bytes: Uint8Array, schema: Schema): unknown {
  return decodeParsed(parseJson(bytes), schema);
}

/** Go's decoder refuses values nested deeper than this (`maxNestingDepth`). */
const MAX_DEPTH = 10000;

/**
 * One pass over JSON text, outside its strings: how deep arrays and objects nest, and whether a
 * number token has a fraction, an exponent or 16 digits or more (and so may not be a plain
 * integer that a double holds exactly). Invalid text is left for JSON.parse to refuse.
 */
function scanJson(text: string): { depth: number; inexact: boolean } {
  let depth = 0;
  let max = 0;
  let inexact = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) { // a string: skip to its closing quote
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) max = depth;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    } else if (!inexact && (c === 0x2d || (c >= 0x30 && c <= 0x39))) {
      let digits = 0;
      for (; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d >= 0x30 && d <= 0x39) digits++;
        else if (d === 0x2e || d === 0x65 || d === 0x45) inexact = true;
        else if (d !== 0x2d && d !== 0x2b) break;
      }
      if (digits > 15) inexact = true;
      i--;
    }
  }
  return { depth: max, inexact };
}

/** JSON text parsed as Go's decoder reads it, not yet decoded with a schema. */
export interface ParsedJson {
  /** The parsed value, numbers kept as their source text. */
  readonly value: unknown;
}

/**
 * The first half of {@linkcode decodeJson}: parses the bytes once, so that the value can be
 * decoded with several schemas ({@linkcode decodeParsed}).
 *
 * @throws {GoJsonError} when the bytes are not JSON.
 */
export function parseJson(bytes: Uint8Array): ParsedJson {
  try {
    const text = decodeUtf8(bytes);
    // A reviver that keeps each number's source makes parsing several times slower. It is needed
    // only where a number may not be a plain integer that a double holds exactly; where none is
    // (the common case), numbers stay numbers and are read as their source would be.
    const { depth, inexact } = scanJson(text);
    if (depth > MAX_DEPTH) throw new Error("exceeded max depth");
    return { value: inexact ? JSON.parse(text, keepNumberSource) : JSON.parse(text) };
  } catch (error) {
    throw new GoJsonError(`invalid JSON (${(error as Error).message})`, "");
  }
}

/**
 * The second half of {@linkcode decodeJson}: decodes a parsed value with a schema.
 *
 * @throws {GoJsonError} when a value does not fit the schema.
 */
export function decodeParsed(parsed: ParsedJson, schema: Schema): unknown {
  try {
    return decodeElement(parsed.value, schema);
  } catch (error) {
    if (!(error instanceof Failure)) throw error;
    // The path is made only now: made for every value on the way, it was most of what decoding
    // a manifest allocated (about 10 KB of 23 per manifest).
    let path = "";
    for (let i = error.segments.length - 1; i >= 0; i--) {
      const segment = error.segments[i];
      path = typeof segment === "number" ? `${path}[${segment}]` : joinPath(path, segment);
    }
    throw new GoJsonError(error.message, path);
  }
}

/**
 * A decoding failure on its way up: the keys and indexes it passes through are added to it, last
 * first, and {@linkcode decodeParsed} turns it into a {@linkcode GoJsonError} with its path.
 */
class Failure {
  readonly segments: (string | number)[] = [];
  constructor(readonly message: string) {}
}

/** Adds the key or index of the value that failed to a failure passing through. */
function within(error: unknown, segment: string | number): unknown {
  if (error instanceof Failure) error.segments.push(segment);
  return error;
}

/**
 * UTF-8 to a string as Go reads it: each byte of an invalid sequence becomes one U+FFFD (where a
 * WHATWG decoder would replace a whole truncated sequence with one).
 */
function decodeUtf8(bytes: Uint8Array): string {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    // fall through: the slow path below handles invalid input
  }
  const out: number[] = [];
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    const [length, low, high] = b < 0x80
      ? [1, 0, 0]
      : b >= 0xc2 && b <= 0xdf
      ? [2, 0x80, 0xbf]
      : b === 0xe0
      ? [3, 0xa0, 0xbf]
      : b === 0xed
      ? [3, 0x80, 0x9f]
      : b >= 0xe1 && b <= 0xef
      ? [3, 0x80, 0xbf]
      : b === 0xf0
      ? [4, 0x90, 0xbf]
      : b === 0xf4
      ? [4, 0x80, 0x8f]
      : b >= 0xf1 && b <= 0xf3
      ? [4, 0x80, 0xbf]
      : [0, 0, 0];
    let valid = length > 0 && i + length <= bytes.length;
    for (let k = 1; valid && k < length; k++) {
      const c = bytes[i + k];
      valid = k === 1 ? c >= low && c <= high : c >= 0x80 && c <= 0xbf;
    }
    if (!valid) {
      out.push(0xfffd);
      i++;
      continue;
    }
    let code = length === 1 ? b : b & (0xff >> (length + 1));
    for (let k = 1; k < length; k++) code = (code << 6) | (bytes[i + k] & 0x3f);
    out.push(code);
    i += length;
  }
  let text = "";
  for (let k = 0; k < out.length; k += 8192) {
    text += String.fromCodePoint(...out.slice(k, k + 8192));
  }
  return text;
}

function keepNumberSource(
  this: unknown,
  _key: string,
  value: unknown,
  context?: { source?: string },
): unknown {
  if (typeof value === "number") return new SourceNumber(context?.source ?? String(value));
  return value;
}

function decodeValue(value: unknown, schema: Schema): unknown {
  if (schema.kind === "raw") return PRESENT;
  // A number parsed without its source is a plain integer of at most 15 digits (parseJson):
  // exact, within both integer kinds' range.
  if (typeof value === "number") {
    if (schema.kind === "int" || schema.kind === "int64") return value === 0 ? 0 : value;
    value = new SourceNumber(String(value));
  }
  if (value === null) return undefined; // Go leaves the zero value
  switch (schema.kind) {
    case "string":
      if (typeof value !== "string") throw typeError("a string", value);
      return goString(value);
    case "int":
    case "int64": {
      if (!(value instanceof SourceNumber)) throw typeError("an integer", value);
      if (!/^-?(0|[1-9][0-9]*)$/.test(value.source)) {
        throw new Failure(`number ${value.source} is not an integer`);
      }
      const big = BigInt(value.source);
      if (big > 9223372036854775807n || big < -9223372036854775808n) {
        throw new Failure(`number ${value.source} overflows a 64-bit integer`);
      }
      const number = Number(value.source);
      // Sizes must be exact: beyond 2^53 a JavaScript number cannot hold them.
      if (schema.kind === "int" && !Number.isSafeInteger(number)) {
        throw new Failure(`number ${value.source} is out of range`);
      }
      return number;
    }
    case "bytes": {
      if (Array.isArray(value)) return base64OfArray(value);
      if (typeof value !== "string") throw typeError("a base64 string", value);
      const base64 = canonicalBase64OrUndefined(value);
      if (base64 === undefined) throw new Failure("illegal base64 data");
      return base64;
    }
    case "array": {
      if (!Array.isArray(value)) throw typeError("an array", value);
      const out = new Array(value.length);
      for (let i = 0; i < value.length; i++) {
        try {
          out[i] = decodeElement(value[i], schema.of);
        } catch (error) {
          throw within(error, i);
        }
      }
      return out;
    }
    case "map": {
      if (!isPlainObject(value)) throw typeError("an object", value);
      // Object.fromEntries makes own properties even of keys such as "__proto__".
      return Object.fromEntries(
        Object.entries(value).map(([key, item]) => {
          try {
            return [goString(key), decodeElement(item, schema.of)];
          } catch (error) {
            throw within(error, key);
          }
        }),
      );
    }
    case "struct": {
      if (!isPlainObject(value)) throw typeError("an object", value);
      const out: Record<string, unknown> = {};
      for (const key in value) {
        if (!Object.hasOwn(value, key)) continue;
        const field = matchField(schema.fields, goString(key));
        if (field === undefined) continue;
        let decoded;
        try {
          decoded = decodeValue(value[key], schema.fields[field]);
        } catch (error) {
          throw within(error, key);
        }
        if (decoded !== undefined) out[field] = decoded; // null leaves what was there
      }
      return out;
    }
  }
}

/** Go decodes a lone surrogate escape (`\ud800`) to U+FFFD. */
function goString(value: string): string {
  return value.isWellFormed() ? value : value.toWellFormed();
}

/** Go decodes a JSON array of numbers 0..255 into a []byte too. */
function base64OfArray(items: unknown[]): string {
  let binary = "";
  for (let [i, item] of items.entries()) {
    if (typeof item === "number") item = new SourceNumber(String(item));
    if (item === null) {
      binary += "\0";
      continue;
    }
    const n = item instanceof SourceNumber && /^(0|[1-9][0-9]*)$/.test(item.source)
      ? Number(item.source)
      : NaN;
    if (!(n <= 255)) throw within(typeError("a byte (0..255)", item), i);
    binary += String.fromCharCode(n);
  }
  return btoa(binary);
}

/** Array and map elements: Go stores the zero value for `null`, not "absent". */
function decodeElement(value: unknown, schema: Schema): unknown {
  const decoded = decodeValue(value, schema);
  if (decoded !== undefined) return decoded;
  switch (schema.kind) {
    case "string":
    case "bytes":
      return "";
    case "int":
    case "int64":
      return 0;
    case "struct":
      return schema.nullable ? null : {};
    default:
      return null;
  }
}

/** Go matches a key to a field exactly first, then case-insensitively (with Unicode folds). */
function matchField(fields: Readonly<Record<string, Schema>>, key: string): string | undefined {
  if (Object.hasOwn(fields, key)) return key;
  let folded = FOLDED_FIELDS.get(fields);
  if (folded === undefined) {
    // Go matches the first field in declaration order whose folded name is the key's.
    folded = new Map();
    for (const name of Object.keys(fields).reverse()) folded.set(foldKey(name), name);
    FOLDED_FIELDS.set(fields, folded);
  }
  return folded.get(foldKey(key));
}

/** Each struct schema's fields by folded name, made the first time a key does not match exactly. */
const FOLDED_FIELDS = new WeakMap<Readonly<Record<string, Schema>>, Map<string, string>>();

function foldKey(key: string): string {
  // Go's foldName: ASCII case folding plus the two non-ASCII runes that fold to ASCII letters.
  return key.replace(
    /[A-Z\u017f\u212a]/g,
    (c) => c === "\u017f" ? "s" : c === "\u212a" ? "k" : c.toLowerCase(),
  );
}

/** Go's reading of a base64 `[]byte`: padded standard alphabet, newlines ignored, re-encoded. */
export function canonicalBase64(value: string, path = ""): string {
  const base64 = canonicalBase64OrUndefined(value);
  if (base64 === undefined) throw new GoJsonError("illegal base64 data", path);
  return base64;
}

function canonicalBase64OrUndefined(value: string): string | undefined {
  const compact = value.replace(/[\r\n]/g, "");
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(compact)) {
    return undefined;
  }
  // Go decodes leniently (ignoring stray low bits) and re-encodes canonically.
  return btoa(atob(compact));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof SourceNumber);
}

function typeError(expected: string, value: unknown): Failure {
  return new Failure(`expected ${expected}, found ${jsonKind(value)}`);
}

function jsonKind(value: unknown): string {
  if (value instanceof SourceNumber) return `number ${value.source}`;
  if (typeof value === "number") return `number ${value}`;
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return "a string";
  return typeof value;
}

function joinPath(path: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_.]*$/.test(key)
    ? (path ? `${path}.${key}` : key)
    : `${path}[${JSON.stringify(key)}]`;
}

// ---------------------------------------------------------------------------------------------
// Encoding

const HEX = "0123456789abcdef";

/** Printable ASCII but `"`, `\\`, `<`, `>` and `&`: what Go writes as it is. */
const PLAIN_ASCII = /^[\x20\x21\x23-\x25\x27-\x3b\x3d\x3f-\x5b\x5d-\x7e]*$/;

/**
 * Encodes a string as Go's `json.Marshal` does: `<`, `>` and `&` as `\u003c` `\u003e` `\u0026`,
 * U+2028 and U+2029 escaped, `\b \f \n \r \t` short forms, other control characters as `\u00XX`,
 * a lone surrogate as `\ufffd`, everything else raw.
 */
export function encodeString(value: string): string {
  // Most strings (digests, media types, names, paths) are ASCII that needs no escape.
  if (PLAIN_ASCII.test(value)) return '"' + value + '"';
  let out = '"';
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    let escape: string | undefined;
    if (c < 0x20 || c === 0x22 || c === 0x5c || c === 0x3c || c === 0x3e || c === 0x26) {
      switch (c) {
        case 0x22:
          escape = '\\"';
          break;
        case 0x5c:
          escape = "\\\\";
          break;
        case 0x08:
          escape = "\\b";
          break;
        case 0x0c:
          escape = "\\f";
          break;
        case 0x0a:
          escape = "\\n";
          break;
        case 0x0d:
          escape = "\\r";
          break;
        case 0x09:
          escape = "\\t";
          break;
        default:
          escape = "\\u00" + HEX[c >> 4] + HEX[c & 0xf];
      }
    } else if (c === 0x2028 || c === 0x2029) {
      escape = c === 0x2028 ? "\\u2028" : "\\u2029";
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = value.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++; // a valid pair is written raw
        continue;
      }
      escape = "\\ufffd";
    }
    if (escape !== undefined) {
      out += value.slice(start, i) + escape;
      start = i + 1;
    }
  }
  return out + value.slice(start) + '"';
}

/** Compares strings by Unicode code point, which is the byte order of their UTF-8 forms. */
export function compareCodePoints(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    i += x > 0xffff ? 2 : 1;
  }
  return (i < a.length ? 1 : 0) - (i < b.length ? 1 : 0);
}

/** Encodes a `map[string]string` as Go does: keys sorted by byte order. */
export function encodeStringMap(map: Readonly<Record<string, string>>): string {
  const keys = Object.keys(map).sort(compareCodePoints);
  return "{" + keys.map((k) => encodeString(k) + ":" + encodeString(map[k])).join(",") + "}";
}

/** Encodes a `[]string`; `undefined` is Go's nil slice, written `null`. */
export function encodeStringList(list: readonly string[] | undefined): string {
  return list === undefined ? "null" : "[" + list.map(encodeString).join(",") + "]";
}
