/**
 * Image names: docker/distribution's reference grammar (`ParseNormalizedNamed`, `ParseDockerRef`,
 * `TagNameOnly`, `FamiliarString`) and containerd's `reference.Parse` split of a name into locator
 * and object, as the image exporter uses them for `org.opencontainers.image.ref.name` and for
 * manifest.json's `RepoTags`.
 *
 * @module
 */
import { encodedLength, isLowerHex } from "./digest.ts";
import { InvalidArgumentError } from "./errors.ts";

/** A parsed image name, split into its normalized parts. */
export interface Reference {
  /** The registry host, with its port if any (`docker.io`, `localhost:5000`); `""` when none. */
  domain: string;
  /** The repository path inside the registry (`library/alpine`). */
  path: string;
  /** The tag, when the name has one. */
  tag?: string;
  /** The digest (`algorithm:hex`), when the name has one. */
  digest?: string;
}

const DEFAULT_DOMAIN = "docker.io";
const LEGACY_DEFAULT_DOMAIN = "index.docker.io";
const OFFICIAL_REPO_PREFIX = "library/";
const DEFAULT_TAG = "latest";
const NAME_TOTAL_LENGTH_MAX = 255;

// The grammar of distribution/reference's regexp.go. JavaScript's backtracking picks the same
// submatches as Go's leftmost-first RE2 for these patterns.
const ALPHANUMERIC = "[a-z0-9]+";
const SEPARATOR = "(?:[._]|__|[-]+)";
const PATH_COMPONENT = `${ALPHANUMERIC}(?:${SEPARATOR}${ALPHANUMERIC})*`;
const REMOTE_NAME = `${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN_NAME = String.raw`${DOMAIN_COMPONENT}(?:\.${DOMAIN_COMPONENT})*`;
const IPV6_ADDRESS = String.raw`\[(?:[a-fA-F0-9:]+)\]`;
const DOMAIN_AND_PORT = `(?:${DOMAIN_NAME}|${IPV6_ADDRESS})(?::[0-9]+)?`;
const TAG = String.raw`[\w][\w.-]{0,127}`;
const DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}";

const REFERENCE_RE = new RegExp(
  `^((?:${DOMAIN_AND_PORT}/)?${REMOTE_NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`,
);
const ANCHORED_NAME_RE = new RegExp(`^(?:(${DOMAIN_AND_PORT})/)?(${REMOTE_NAME})$`);
const IDENTIFIER_RE = /^[a-f0-9]{64}$/;

// go-digest's looser digest grammar, which it uses to tell an unsupported algorithm from a
// malformed digest.
const GO_DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

function invalid(name: string, reason: string): InvalidArgumentError {
  return new InvalidArgumentError(`Invalid image name ${JSON.stringify(name)}: ${reason}`);
}

/** Why go-digest's `Digest.Validate` rejects a digest that matched the reference grammar. */
function digestProblem(digest: string): string | undefined {
  const colon = digest.indexOf(":");
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  const length = encodedLength(algorithm);
  if (length === undefined) {
    return GO_DIGEST_RE.test(digest) ? "unsupported digest algorithm" : "invalid digest format";
  }
  if (hex.length !== length) return "invalid digest length";
  if (!isLowerHex(hex)) return "invalid digest format";
  return undefined;
}

/** distribution's `Parse`: the parts of a name, or why it does not parse. */
function parseParts(name: string): Reference | string {
  const match = REFERENCE_RE.exec(name);
  if (match === null) {
    if (name === "") return "repository name must have at least one component";
    // Go lower-cases U+0130 to a plain "i"; JavaScript adds a combining dot.
    if (REFERENCE_RE.test(name.replaceAll("\u0130", "i").toLowerCase())) {
      return "repository name must be lowercase";
    }
    return "invalid reference format";
  }
  const [, fullName, tag, digest] = match;
  const split = ANCHORED_NAME_RE.exec(fullName);
  const ref: Reference = { domain: split?.[1] ?? "", path: split?.[2] ?? fullName };
  if (ref.path.length > NAME_TOTAL_LENGTH_MAX) {
    return `repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`;
  }
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) {
    const problem = digestProblem(digest);
    if (problem !== undefined) return problem;
    ref.digest = digest;
  }
  return ref;
}

/**
 * Parses a name exactly as written, without adding a default domain, path prefix or tag:
 * distribution/reference's `Parse`. The domain is `""` when the name has none.
 *
 * @throws {InvalidArgumentError} when the name is empty, has upper-case letters in its path, does
 * not match the reference grammar, has a path over 255 characters or an invalid digest.
 */
export function parseReference(name: string): Reference {
  const ref = parseParts(name);
  if (typeof ref === "string") throw invalid(name, ref);
  return ref;
}

/** Splits a name into domain and remainder the way distribution's `splitDockerDomain` does. */
function splitDockerDomain(name: string): [domain: string, remainder: string] {
  const slash = name.indexOf("/");
  if (slash < 0) return [DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + name];
  const first = name.slice(0, slash);
  let domain = DEFAULT_DOMAIN;
  let remainder = name;
  if (first === LEGACY_DEFAULT_DOMAIN) {
    remainder = name.slice(slash + 1);
  } else if (first === "localhost" || /[.:]/.test(first) || first.toLowerCase() !== first) {
    domain = first;
    remainder = name.slice(slash + 1);
  }
  if (domain === DEFAULT_DOMAIN && !remainder.includes("/")) {
    remainder = OFFICIAL_REPO_PREFIX + remainder;
  }
  return [domain, remainder];
}

/**
 * Parses a familiar or full image name into its normalized form: distribution's
 * `ParseNormalizedNamed`. A name without a domain gets `docker.io`, and a single-component Docker
 * Hub path gets `library/` (`alpine` -> `docker.io/library/alpine`); `index.docker.io` becomes
 * `docker.io`. No default tag is added (see {@linkcode tagNameOnly}).
 *
 * @throws {InvalidArgumentError} when the name is a bare 64-digit hex identifier, has upper-case
 * letters in its repository path, or does not parse.
 */
export function parseNormalizedNamed(name: string): Reference {
  if (IDENTIFIER_RE.test(name)) {
    throw invalid(name, "a 64-digit hexadecimal identifier cannot be a repository name");
  }
  const [domain, remainder] = splitDockerDomain(name);
  const colon = remainder.indexOf(":");
  const remote = colon < 0 ? remainder : remainder.slice(0, colon);
  if (remote.toLowerCase() !== remote) throw invalid(name, "repository name must be lowercase");
  const ref = parseParts(`${domain}/${remainder}`);
  if (typeof ref === "string") throw invalid(name, ref);
  return ref;
}

/**
 * Parses a name that must already be in its full, canonical form (`docker.io/library/a`, not
 * `a`): distribution's `ParseNamed`.
 *
 * @throws {InvalidArgumentError} when the name does not parse or is not canonical.
 */
export function parseNamed(name: string): Reference {
  const ref = parseNormalizedNamed(name);
  if (formatReference(ref) !== name) throw invalid(name, "repository name must be canonical");
  return ref;
}

/**
 * Parses and normalizes a name following Docker's convention: distribution's `ParseDockerRef`.
 * The result is tagged or digested, never both: `latest` is added when there is neither, and the
 * tag is dropped when there is a digest.
 *
 * @throws {InvalidArgumentError} when the name does not parse.
 */
export function parseDockerRef(name: string): Reference {
  const ref = parseNormalizedNamed(name);
  if (ref.tag !== undefined && ref.digest !== undefined) {
    return { domain: ref.domain, path: ref.path, digest: ref.digest };
  }
  return tagNameOnly(ref);
}

/** Returns the reference with the tag `latest` added when it has neither tag nor digest. */
export function tagNameOnly(ref: Reference): Reference {
  if (ref.tag !== undefined || ref.digest !== undefined) return ref;
  return { ...ref, tag: DEFAULT_TAG };
}

/** The full string form of a reference: `domain/path[:tag][@digest]`. */
export function formatReference(ref: Reference): string {
  let text = ref.domain === "" ? ref.path : `${ref.domain}/${ref.path}`;
  if (ref.tag !== undefined) text += `:${ref.tag}`;
  if (ref.digest !== undefined) text += `@${ref.digest}`;
  return text;
}

/** The repository name in the short form Docker shows: `docker.io/library/a` -> `a`. */
export function familiarName(ref: Reference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return formatReference({ domain: ref.domain, path: ref.path });
  const rest = ref.path.startsWith(OFFICIAL_REPO_PREFIX)
    ? ref.path.slice(OFFICIAL_REPO_PREFIX.length)
    : undefined;
  return rest !== undefined && !rest.includes("/") ? rest : ref.path;
}

/**
 * The reference in the short form Docker shows, with its tag and digest:
 * `docker.io/library/a:1.0` -> `a:1.0`, `docker.io/u/a:x` -> `u/a:x`; other domains are kept.
 */
export function familiarString(ref: Reference): string {
  return formatReference({ ...ref, domain: "", path: familiarName(ref) });
}

/**
 * The name as it goes into Docker's manifest.json `RepoTags`: normalized, tagged `latest` when it
 * has neither tag nor digest, then in familiar form (`example.com/a` -> `example.com/a:latest`).
 *
 * @throws {InvalidArgumentError} when the name does not parse.
 */
export function familiarizeReference(name: string): string {
  return familiarString(tagNameOnly(parseNormalizedNamed(name)));
}

/**
 * The full normalized string of a name, as {@linkcode parseDockerRef} gives it
 * (`alpine` -> `docker.io/library/alpine:latest`).
 *
 * @throws {InvalidArgumentError} when the name does not parse.
 */
export function normalizeReference(name: string): string {
  return formatReference(parseDockerRef(name));
}

/**
 * Whether the name parses ({@linkcode parseNormalizedNamed}) and has a digest but no tag
 * (`a@sha256:...`). A name that does not parse is not one.
 */
export function isDigestOnlyReference(name: string): boolean {
  try {
    const ref = parseNormalizedNamed(name);
    return ref.digest !== undefined && ref.tag === undefined;
  } catch {
    return false;
  }
}

/**
 * The value of `org.opencontainers.image.ref.name` for an image name: the object (tag, or
 * `tag@digest`) of the name as containerd's `reference.Parse` splits it (`docker.io/library/a:1.0`
 * -> `1.0`); the whole name when it does not parse that way, has no object, or its object is only a
 * digest (`a.io/b@sha256:...`). Never throws.
 */
export function ociReferenceName(name: string): string {
  const object = containerdObject(name);
  return object === undefined || object === "" || object.startsWith("@") ? name : object;
}

// containerd's reference.Parse is `url.Parse("dummy://" + name)` followed by a split of the URL
// path at its first ':' or '@'. What follows keeps the checks of Go's net/url that can fail on
// such a URL, and computes the path the object is cut from.

/** ASCII bytes Go's net/url accepts unescaped in a host (`shouldEscape(c, encodeHost)` false). */
const HOST_CHAR = /^[A-Za-z0-9\-_.~!$&'()*+,;=:[\]<>"]$/;
/** Characters Go's net/url accepts in userinfo. */
const USERINFO_RE = /^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/;

/** Whether every `%` in `s` starts a two-digit hex escape. */
function validEscapes(s: string): boolean {
  return !/%(?![0-9A-Fa-f]{2})/.test(s);
}

/** Go's `unescape(s, encodeHost)` (or `encodeZone`) succeeds on `s`. */
function validHostText(s: string, zone: boolean): boolean {
  if (!validEscapes(s)) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "%") {
      const escape = s.slice(i, i + 3);
      const byte = parseInt(escape.slice(1), 16);
      if (escape !== "%25") {
        // A host may %-escape only non-ASCII bytes; a zone only what a host allows bare, or space.
        if (!zone && byte < 0x80) return false;
        if (zone && byte !== 0x20 && !(byte < 0x80 && HOST_CHAR.test(String.fromCharCode(byte)))) {
          return false;
        }
      }
      i += 2;
    } else if (c.charCodeAt(0) < 0x80 && !HOST_CHAR.test(c)) {
      return false;
    }
  }
  return true;
}

/** `:` followed by digits, or nothing: Go's `validOptionalPort`. */
function validPort(port: string): boolean {
  return /^(?::[0-9]*)?$/.test(port);
}

const IPV4_RE =
  /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;

/** Whether Go's `netip.ParseAddr` takes `s` (no zone) as an IPv6 address (not IPv4). */
function isIPv6(s: string): boolean {
  const firstDelimiter = /[.:]/.exec(s);
  if (firstDelimiter === null || firstDelimiter[0] !== ":") return false;
  let rest = s;
  let fields = 0; // 16-bit fields read
  let ellipsis = false;
  if (rest.startsWith("::")) {
    ellipsis = true;
    rest = rest.slice(2);
    if (rest === "") return true;
  }
  while (fields < 8) {
    const hex = /^[0-9A-Fa-f]{1,4}/.exec(rest)?.[0];
    if (hex === undefined || /^[0-9A-Fa-f]/.test(rest.slice(hex.length))) return false;
    if (rest[hex.length] === ".") {
      // An embedded IPv4 address fills the last two fields.
      if ((!ellipsis && fields !== 6) || fields > 6 || !IPV4_RE.test(rest)) return false;
      rest = "";
      fields += 2;
      break;
    }
    fields++;
    rest = rest.slice(hex.length);
    if (rest === "") break;
    if (rest[0] !== ":" || rest.length === 1) return false;
    rest = rest.slice(1);
    if (rest[0] === ":") {
      if (ellipsis) return false;
      ellipsis = true;
      rest = rest.slice(1);
      if (rest === "") break;
    }
  }
  if (rest !== "") return false;
  return fields < 8 ? ellipsis : !ellipsis;
}

/** Go's `parseHost` succeeds (current Go: a bracketed host must be an IPv6 address). */
function validHost(host: string): boolean {
  const open = host.lastIndexOf("[");
  if (open > 0) return false;
  if (open === 0) {
    const close = host.lastIndexOf("]");
    if (close < 0 || !validPort(host.slice(close + 1))) return false;
    const literal = host.slice(1, close);
    const zoneAt = literal.indexOf("%25");
    if (zoneAt < 0) return isIPv6(literal);
    const zone = literal.slice(zoneAt + 3);
    return isIPv6(literal.slice(0, zoneAt)) && zone !== "" && validHostText(zone, true);
  }
  const colon = host.lastIndexOf(":");
  return (colon < 0 || validPort(host.slice(colon))) && validHostText(host, false);
}

/** Decodes the %-escapes of `s` (already validated) as Go's `unescape` does, bytewise. */
function unescape(s: string): string {
  if (!s.includes("%")) return s;
  const bytes = new TextEncoder().encode(s);
  const out = new Uint8Array(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x25) {
      out[n++] = parseInt(String.fromCharCode(bytes[i + 1], bytes[i + 2]), 16);
      i += 2;
    } else {
      out[n++] = bytes[i];
    }
  }
  return new TextDecoder().decode(out.subarray(0, n));
}

/** The `Object` of containerd's `reference.Parse(name)`, or `undefined` when it errors. */
function containerdObject(name: string): string | undefined {
  if (name.includes("://")) return undefined;
  const hash = name.indexOf("#");
  const beforeFragment = hash < 0 ? name : name.slice(0, hash);
  if (hash >= 0 && !validEscapes(name.slice(hash + 1))) return undefined;
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(beforeFragment)) return undefined;
  const query = beforeFragment.indexOf("?");
  const rest = query < 0 ? beforeFragment : beforeFragment.slice(0, query);
  const slash = rest.indexOf("/");
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? "" : rest.slice(slash);
  const at = authority.lastIndexOf("@");
  const host = authority.slice(at + 1);
  if (!validHost(host)) return undefined;
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    if (!USERINFO_RE.test(userinfo) || !validEscapes(userinfo)) return undefined;
  }
  if (host === "" || !validEscapes(path)) return undefined;
  const decoded = unescape(path);
  const split = decoded.search(/[:@]/);
  if (split < 0) return "";
  return decoded[split] === ":" ? decoded.slice(split + 1) : decoded.slice(split);
}
