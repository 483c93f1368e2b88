/**
 * Platforms: parsing specifiers such as `linux/arm64/v8`, normalizing, formatting and matching,
 * with the behaviour of containerd's `platforms` package (github.com/containerd/platforms, as
 * containerd 2.x vendors it).
 *
 * A {@linkcode Platform} has the field names of the OCI image spec's JSON (`os.version`,
 * `os.features`), so the `platform` object of a descriptor can be passed as it is. Empty optional
 * fields are left out of every platform this module returns, as Go's `omitempty` leaves them out
 * of JSON.
 *
 * @module
 */
import { describe } from "./digest.ts";
import { goPathJoin } from "./go_path.ts";
import { InvalidArgumentError } from "./errors.ts";

/**
 * A platform, with the field names of the OCI image spec's JSON.
 *
 * @example Describe a platform
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatPlatform, type Platform } from "@ocipack/ocipack";
 *
 * const raspberryPi: Platform = { os: "linux", architecture: "arm", variant: "v7" };
 * assert.equal(formatPlatform(raspberryPi), "linux/arm/v7");
 * ```
 */
export interface Platform {
  /** The CPU architecture, as Go's `GOARCH` spells it: `amd64`, `arm64`, `arm`, `386`... */
  architecture: string;
  /** The operating system, as Go's `GOOS` spells it: `linux`, `windows`, `darwin`... */
  os: string;
  /** The operating system's version, for example `10.0.17763` (used on Windows). */
  "os.version"?: string;
  /** Features the operating system must support, for example `win32k`. */
  "os.features"?: string[];
  /** The variant of the architecture, for example `v7` for `arm` or `v3` for `amd64`. */
  variant?: string;
}

/**
 * Matches platforms and orders them by preference, as Go's `platforms.MatchComparer` does.
 * `less(a, b)` is true when `a` is preferred to `b`; sorting stably by it puts the best match
 * first.
 *
 * @example Write a matcher of your own
 * ```ts
 * import assert from "node:assert/strict";
 * import { exportArchive, openLayout, type PlatformMatcher } from "@ocipack/ocipack";
 *
 * // Any 64-bit Linux platform, arm64 first.
 * const linux64: PlatformMatcher = {
 *   match: (p) => p.os === "linux" && (p.architecture === "amd64" || p.architecture === "arm64"),
 *   less: (a, b) => a.architecture === "arm64" && b.architecture !== "arm64",
 * };
 *
 * let blobs = 0;
 * const store = await openLayout("testdata/store");
 * await exportArchive(store, {
 *   images: ["example.com/multi:1.0"],
 *   platform: linux64,
 *   onProgress: (progress) => blobs = progress.blobs,
 * }).pipeTo(new WritableStream());
 * assert.equal(blobs, 8); // the index, and the amd64 and arm64 manifests with their blobs
 * ```
 */
export interface PlatformMatcher {
  /** Whether the platform is one this matcher accepts. */
  match(platform: Platform): boolean;
  /** Whether `a` is preferred to `b`. */
  less(a: Platform, b: Platform): boolean;
  /**
   * How messages name what the matcher asks for, such as `linux/arm64, linux/amd64`. The
   * matchers made here have one; a matcher of your own may leave it out.
   */
  readonly description?: string;
}

// ---------------------------------------------------------------------------------------------
// The internal shape: every field present, as Go's struct has it.

interface Spec {
  readonly os: string;
  readonly architecture: string;
  readonly variant: string;
  readonly osVersion: string;
  readonly osFeatures: readonly string[];
}

type SpecMatch = (platform: Spec) => boolean;

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function toSpec(p: Platform): Spec {
  const features = p["os.features"];
  return {
    os: str(p.os),
    architecture: str(p.architecture),
    variant: str(p.variant),
    osVersion: str(p["os.version"]),
    osFeatures: Array.isArray(features) ? features.map(str) : [],
  };
}

function fromSpec(s: Spec): Platform {
  const p: Platform = { architecture: s.architecture, os: s.os };
  if (s.osVersion !== "") p["os.version"] = s.osVersion;
  if (s.osFeatures.length > 0) p["os.features"] = [...s.osFeatures];
  if (s.variant !== "") p.variant = s.variant;
  return p;
}

function withoutFeatures(s: Spec): Spec {
  return { ...s, osFeatures: [] };
}

// ---------------------------------------------------------------------------------------------
// Go string helpers.

/** Go's `strings.ToLower`: simple (one code point to one) Unicode lower-casing. */
function goToLower(s: string): string {
  // deno-lint-ignore no-control-regex
  if (/^[\x00-\x7f]*$/.test(s)) return s.toLowerCase();
  let out = "";
  for (const ch of s) {
    // U+0130 is the only code point whose full lower-case mapping differs from the simple one.
    out += ch === "\u0130" ? "i" : ch.toLowerCase();
  }
  return out;
}

/** Go's `a < b` on strings: byte order of UTF-8, which is code point order. */
function goLess(a: string, b: string): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    // A surrogate starts a code point above U+FFFF, which sorts after every BMP code point.
    if (xs !== ys) return ys;
    return x < y;
  }
  return a.length < b.length;
}

function goCompare(a: string, b: string): number {
  return goLess(a, b) ? -1 : goLess(b, a) ? 1 : 0;
}

/** Go's `strconv.Atoi`: an optional sign and decimal digits that fit an int64. */
function goAtoi(s: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const value = BigInt(s);
  if (value > 9223372036854775807n || value < -9223372036854775808n) return undefined;
  return Number(value);
}

/** Go's `strconv.ParseUint(s, 10, bits)`. */
function goParseUint(s: string, bits: number): number | undefined {
  if (!/^[0-9]+$/.test(s)) return undefined;
  const value = BigInt(s);
  return value < 1n << BigInt(bits) ? Number(value) : undefined;
}

/** Go's `strings.Cut`. */
function cut(s: string, sep: string): [string, string] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, ""] : [s.slice(0, i), s.slice(i + sep.length)];
}

/** Go's `strings.SplitN`, for n > 0. */
function splitN(s: string, sep: string, n: number): string[] {
  const out: string[] = [];
  let rest = s;
  while (out.length < n - 1) {
    const i = rest.indexOf(sep);
    if (i < 0) break;
    out.push(rest.slice(0, i));
    rest = rest.slice(i + sep.length);
  }
  out.push(rest);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The known operating systems and architectures (from Go's syslist.go, as the package has them).

const KNOWN_OS: ReadonlySet<string> = new Set([
  "aix",
  "android",
  "darwin",
  "dragonfly",
  "freebsd",
  "hurd",
  "illumos",
  "ios",
  "js",
  "linux",
  "nacl",
  "netbsd",
  "openbsd",
  "plan9",
  "solaris",
  "windows",
  "zos",
]);

const KNOWN_ARCH: ReadonlySet<string> = new Set([
  "386",
  "amd64",
  "amd64p32",
  "arm",
  "armbe",
  "arm64",
  "arm64be",
  "ppc64",
  "ppc64le",
  "loong64",
  "mips",
  "mipsle",
  "mips64",
  "mips64le",
  "mips64p32",
  "mips64p32le",
  "ppc",
  "riscv",
  "riscv64",
  "s390",
  "s390x",
  "sparc",
  "sparc64",
  "wasm",
]);

function normalizeOS(os: string): string {
  if (os === "") return host().os;
  const lower = goToLower(os);
  return lower === "macos" ? "darwin" : lower;
}

function normalizeArch(architecture: string, variant: string): [string, string] {
  let arch = goToLower(architecture);
  let v = goToLower(variant);
  switch (arch) {
    case "i386":
      arch = "386";
      v = "";
      break;
    case "x86_64":
    case "x86-64":
    case "amd64":
      arch = "amd64";
      if (v === "v1") v = "";
      break;
    case "aarch64":
    case "arm64":
      arch = "arm64";
      if (v === "8" || v === "v8" || v === "v8.0") v = "";
      else if (v === "9" || v === "9.0" || v === "v9.0") v = "v9";
      break;
    case "armhf":
      arch = "arm";
      v = "v7";
      break;
    case "armel":
      arch = "arm";
      v = "v6";
      break;
    case "arm":
      if (v === "" || v === "7") v = "v7";
      else if (v === "5" || v === "6" || v === "8") v = "v" + v;
      break;
  }
  return [arch, v];
}

function normalizeSpec(p: Spec): Spec {
  const [architecture, variant] = normalizeArch(p.architecture, p.variant);
  let osFeatures = p.osFeatures;
  if (osFeatures.length > 0) {
    const sorted = [...osFeatures].sort(goCompare);
    osFeatures = sorted.filter((f, i) => i === 0 || f !== sorted[i - 1]);
  }
  return { os: normalizeOS(p.os), architecture, variant, osVersion: p.osVersion, osFeatures };
}

// ---------------------------------------------------------------------------------------------
// Parsing and formatting.

const SPECIFIER_COMPONENT = /^[A-Za-z0-9_.-]+$/;
const OS_COMPONENT = /^([A-Za-z0-9_-]+)(?:\(([A-Za-z0-9_.%-]*)((?:\+[A-Za-z0-9_.%-]+)*)\))?$/;

/** Encodes the characters of an OS version or feature that the specifier syntax uses. */
function encodeOSOption(value: string): string {
  return value.replace(/[%+()/]/g, (ch) => "%" + ch.charCodeAt(0).toString(16).toUpperCase());
}

/** Go's `url.PathUnescape`, applied only when the value holds a `%`; undefined when invalid. */
function decodeOSOption(value: string): string | undefined {
  if (!value.includes("%")) return value;
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === "%") {
      const hex = value.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...encoder.encode(ch));
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

function invalid(specifier: string, reason: string): InvalidArgumentError {
  return new InvalidArgumentError(`Invalid platform ${describe(specifier)}: ${reason}`);
}

/**
 * Parses a platform specifier, as containerd's `platforms.Parse` does.
 *
 * The syntax is `os[(version[+feature]...)][/arch[/variant]]` or a lone architecture. A lone
 * known OS takes the host's architecture; a lone known architecture takes the host's OS. The OS
 * and the architecture are normalized (`macos` -> `darwin`, `x86_64` -> `amd64`, `aarch64` ->
 * `arm64`, `armhf` -> `arm`...); with two components, `arm/v7` loses its variant; with three,
 * `arm64` without a variant gets `v8`. OS versions and features may percent-encode `%+()/`.
 *
 * @throws {InvalidArgumentError} when the specifier is empty, has a wildcard, a component with a
 * character outside `[A-Za-z0-9_.-]`, more than three components, a bad percent-encoding, or is
 * a lone word that is neither a known OS nor a known architecture.
 *
 * @example Parse a platform specifier
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePlatform } from "@ocipack/ocipack";
 *
 * assert.deepEqual(parsePlatform("linux/arm/v7"), {
 *   os: "linux",
 *   architecture: "arm",
 *   variant: "v7",
 * });
 * ```
 *
 * @example Normalize other spellings
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePlatform } from "@ocipack/ocipack";
 *
 * assert.deepEqual(parsePlatform("macOS/x86_64"), { os: "darwin", architecture: "amd64" });
 * assert.deepEqual(parsePlatform("linux/aarch64"), { os: "linux", architecture: "arm64" });
 * assert.deepEqual(parsePlatform("linux/arm64/v8"), {
 *   os: "linux",
 *   architecture: "arm64",
 *   variant: "v8",
 * });
 * ```
 *
 * @example Reject a specifier that does not parse
 * ```ts
 * import assert from "node:assert/strict";
 * import { InvalidArgumentError, parsePlatform } from "@ocipack/ocipack";
 *
 * assert.throws(() => parsePlatform("linux/*"), InvalidArgumentError);
 * assert.throws(() => parsePlatform("linux/arm/v7/extra"), InvalidArgumentError);
 * ```
 */
export function parsePlatform(specifier: string): Platform {
  if (typeof specifier !== "string") {
    throw new InvalidArgumentError(`Invalid platform ${describe(specifier)}: not a string`);
  }
  if (specifier.includes("*")) throw invalid(specifier, "wildcards are not supported");

  const parts = splitN(specifier, "/", 4);
  let os = "";
  let osVersion = "";
  let osFeatures: string[] = [];
  for (const [i, part] of parts.entries()) {
    if (i === 0) {
      const m = OS_COMPONENT.exec(part);
      if (m === null) {
        throw invalid(
          specifier,
          `OS component ${describe(part)} is not of the form os[(version[+feature]...)]`,
        );
      }
      os = normalizeOS(m[1]);
      const version = decodeOSOption(m[2] ?? "");
      if (version === undefined) {
        throw invalid(specifier, `OS version ${describe(m[2])} is not validly percent-encoded`);
      }
      osVersion = version;
      const features = m[3] ?? "";
      if (features !== "") {
        for (const raw of features.slice(1).split("+")) {
          if (raw.trim() === "") throw invalid(specifier, "empty OS feature");
          const feature = decodeOSOption(raw.trim());
          if (feature === undefined) {
            throw invalid(specifier, `OS feature ${describe(raw)} is not validly percent-encoded`);
          }
          if (feature !== "") osFeatures.push(feature);
        }
      }
    } else if (!SPECIFIER_COMPONENT.test(part)) {
      throw invalid(
        specifier,
        `component ${describe(part)} is empty or has a character other than A-Z a-z 0-9 _ . -`,
      );
    }
  }

  let architecture: string;
  let variant: string;
  switch (parts.length) {
    case 1: {
      if (KNOWN_OS.has(os)) {
        const h = host();
        architecture = h.architecture;
        variant = h.architecture === "arm" && h.cpuVariant !== "v7" ? h.cpuVariant : "";
        break;
      }
      [architecture, variant] = normalizeArch(parts[0], "");
      if (architecture === "arm" && variant === "v7") variant = "";
      if (!KNOWN_ARCH.has(architecture)) {
        throw invalid(specifier, "unknown operating system or architecture");
      }
      os = host().os;
      // A known architecture cannot carry "(...)", so there is no OS version or feature here.
      osVersion = "";
      osFeatures = [];
      break;
    }
    case 2:
      [architecture, variant] = normalizeArch(parts[1], "");
      if (architecture === "arm" && variant === "v7") variant = "";
      break;
    case 3:
      [architecture, variant] = normalizeArch(parts[1], parts[2]);
      if (architecture === "arm64" && variant === "") variant = "v8";
      break;
    default:
      throw invalid(specifier, "too many components");
  }
  return fromSpec({ os, architecture, variant, osVersion, osFeatures });
}

/**
 * Formats a platform as `os/arch[/variant]`, as containerd's `platforms.Format` does (the parts
 * joined and cleaned as Go's `path.Join` does); `unknown` when the OS is empty. The OS version
 * and features are left out, and the platform is not normalized first.
 *
 * @example Format a platform
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatPlatform } from "@ocipack/ocipack";
 *
 * const platform = { os: "linux", architecture: "arm", variant: "v7" };
 * assert.equal(formatPlatform(platform), "linux/arm/v7");
 * assert.equal(formatPlatform({ os: "linux", architecture: "amd64" }), "linux/amd64");
 * ```
 *
 * @example Format a specifier in its canonical form
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatPlatform, parsePlatform } from "@ocipack/ocipack";
 *
 * assert.equal(formatPlatform(parsePlatform("Linux/x86_64")), "linux/amd64");
 * ```
 */
export function formatPlatform(p: Platform): string {
  const s = toSpec(p);
  if (s.os === "") return "unknown";
  return goPathJoin(s.os, s.architecture, s.variant);
}

/**
 * Formats a platform with its OS version and features, as containerd's `platforms.FormatAll`
 * does: `os(version+feature+...)/arch[/variant]`, the features sorted with empty and repeated
 * ones left out, and `%+()/` percent-encoded; `unknown` when the OS is empty.
 */
export function formatPlatformAll(p: Platform): string {
  const s = toSpec(p);
  if (s.os === "") return "unknown";
  if (s.osVersion === "" && s.osFeatures.length === 0) {
    return goPathJoin(s.os, s.architecture, s.variant);
  }
  let head = s.os;
  const version = encodeOSOption(s.osVersion);
  const sorted = [...s.osFeatures].sort(goCompare);
  const features = sorted.filter((f, i) => f !== "" && (i === 0 || f !== sorted[i - 1]))
    .map(encodeOSOption).join("+");
  if (version !== "" || features !== "") {
    head += "(" + version + (features !== "" ? "+" + features : "") + ")";
  }
  return goPathJoin(head, s.architecture, s.variant);
}

/**
 * Returns the canonical form of a platform, as containerd's `platforms.Normalize` does: the OS
 * lower-cased (empty -> the host's, `macos` -> `darwin`); the architecture and variant
 * lower-cased and mapped (`i386` -> `386`; `x86_64`, `x86-64` -> `amd64`, `v1` -> no variant;
 * `aarch64` -> `arm64`, `8`, `v8`, `v8.0` -> no variant, `9`, `9.0`, `v9.0` -> `v9`; `armhf` ->
 * `arm/v7`; `armel` -> `arm/v6`; `arm` with no variant or `7` -> `v7`, `5`, `6`, `8` -> `v5`,
 * `v6`, `v8`); the OS features sorted without repeats. The OS version is kept as it is. The
 * argument is not changed.
 */
export function normalizePlatform(p: Platform): Platform {
  return fromSpec(normalizeSpec(toSpec(p)));
}

// ---------------------------------------------------------------------------------------------
// The host.

interface Host {
  readonly os: string;
  readonly architecture: string;
  readonly osVersion: string;
  /** What containerd's `cpuVariant()` gives: the ARM variant, empty for other architectures. */
  readonly cpuVariant: string;
}

const GOARCH: Readonly<Record<string, string>> = {
  x86_64: "amd64",
  aarch64: "arm64",
  i386: "386",
  i686: "386",
  arm: "arm",
  riscv64: "riscv64",
  powerpc64: "ppc64",
  powerpc64le: "ppc64le",
  s390x: "s390x",
  loongarch64: "loong64",
};

function permitted(descriptor: Deno.PermissionDescriptor): boolean {
  try {
    return Deno.permissions.querySync(descriptor).state === "granted";
  } catch {
    return false;
  }
}

/** What `/proc/cpuinfo` says for a field (the first line whose key matches, any case). */
function cpuinfoField(cpuinfo: string, pattern: string): string | undefined {
  const wanted = pattern.toLowerCase();
  for (let line of cpuinfo.split("\n")) {
    if (line.endsWith("\r")) line = line.slice(0, -1);
    const list = line.split(":");
    if (list.length > 1 && list[0].trim().toLowerCase() === wanted) return list[1].trim();
  }
  return undefined;
}

/** The variant number a machine name (`uname -m`) implies; undefined when it implies none. */
function variantFromMachine(machine: string): string | undefined {
  const arch = machine.toLowerCase();
  if (arch === "aarch64") return "8";
  if (arch.length >= 5 && arch.startsWith("armv")) {
    const v = arch.slice(3, 5);
    return ["v8", "v7", "v6", "v5", "v4", "v3"].includes(v) ? v.slice(1) : "unknown";
  }
  return undefined;
}

/**
 * The ARM variant of a Linux host, as containerd's `getCPUVariant` works it out: the
 * `CPU architecture` field of `/proc/cpuinfo` (given here as text), else the variant the machine
 * name (`uname -m`, such as `armv7l` or `aarch64`) implies, with the Raspberry Pi quirk (an
 * `ARMv6-compatible` model that says 7 is `v6` when `goarch` is `arm`). Gives `v8`, `v7`...
 * `v3`, `unknown`, or an empty string when neither source says anything. Exposed for testing;
 * {@linkcode hostPlatform} is what most callers want.
 */
export function cpuVariantFromCpuinfo(cpuinfo: string, machine: string, goarch: string): string {
  let variant = cpuinfoField(cpuinfo, "Cpu architecture") ?? variantFromMachine(machine);
  if (variant === undefined) return "";
  if (goarch === "arm" && variant === "7") {
    const model = cpuinfoField(cpuinfo, "model name");
    if (model !== undefined && model.toLowerCase().startsWith("armv6-compatible")) variant = "6";
  }
  switch (variant.toLowerCase()) {
    case "8":
    case "aarch64":
      return "v8";
    case "7":
    case "7m":
    case "?(12)":
    case "?(13)":
    case "?(14)":
    case "?(15)":
    case "?(16)":
    case "?(17)":
      return "v7";
    case "6":
    case "6tej":
      return "v6";
    case "5":
    case "5t":
    case "5te":
    case "5tej":
      return "v5";
    case "4":
    case "4t":
      return "v4";
    case "3":
      return "v3";
    default:
      return "unknown";
  }
}

function detectCpuVariant(goos: string, goarch: string): string {
  if (goarch !== "arm" && goarch !== "arm64") return "";
  switch (goos) {
    case "linux":
    case "android": {
      let cpuinfo = "";
      if (permitted({ name: "read", path: "/proc/cpuinfo" })) {
        try {
          cpuinfo = Deno.readTextFileSync("/proc/cpuinfo");
        } catch {
          // Unreadable: fall back on the machine name, as containerd does when the field is absent.
        }
      }
      return cpuVariantFromCpuinfo(cpuinfo, Deno.build.arch, goarch);
    }
    case "windows":
    case "darwin":
      return goarch === "arm64" ? "v8" : "v7";
    case "freebsd":
      return goarch === "arm64" ? "v8" : "unknown";
    default:
      return "";
  }
}

function detectWindowsVersion(): string {
  if (!permitted({ name: "sys", kind: "osRelease" })) return "";
  try {
    const m = /^(\d+)\.(\d+)\.(\d+)/.exec(Deno.osRelease());
    return m === null ? "" : `${Number(m[1])}.${Number(m[2])}.${Number(m[3])}`;
  } catch {
    return "";
  }
}

let cachedHost: Host | undefined;

function host(): Host {
  if (cachedHost === undefined) {
    const os: string = Deno.build.os;
    const architecture = GOARCH[Deno.build.arch] ?? Deno.build.arch;
    cachedHost = {
      os,
      architecture,
      osVersion: os === "windows" ? detectWindowsVersion() : "",
      cpuVariant: detectCpuVariant(os, architecture),
    };
  }
  return cachedHost;
}

function hostSpec(): Spec {
  const h = host();
  return {
    os: h.os,
    architecture: h.architecture,
    variant: h.cpuVariant,
    osVersion: h.osVersion,
    osFeatures: [],
  };
}

/**
 * The platform this process runs on, as containerd's `platforms.DefaultSpec()` gives it: Go's
 * names for the OS and architecture (`x86_64` -> `amd64`, `aarch64` -> `arm64`), the CPU variant
 * on ARM (from `/proc/cpuinfo` on Linux, when it is readable; `v8` on 64-bit ARM otherwise) and,
 * on Windows, the OS version `major.minor.build` (when `--allow-sys=osRelease` is granted).
 *
 * @example Name the host's platform
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatPlatform, hostPlatform } from "@ocipack/ocipack";
 *
 * const host = hostPlatform();
 * assert.equal(host.os, Deno.build.os);
 * const name = formatPlatform(host); // "linux/amd64" on x86-64 Linux, "darwin/arm64/v8" on a Mac
 * assert(name.startsWith(`${Deno.build.os}/`));
 * ```
 */
export function hostPlatform(): Platform {
  return fromSpec(hostSpec());
}

// ---------------------------------------------------------------------------------------------
// Windows OS versions.

interface WindowsVersion {
  readonly major: number;
  readonly minor: number;
  readonly build: number;
}

const EMPTY_WINDOWS_VERSION: WindowsVersion = { major: 0, minor: 0, build: 0 };
const LTSC2022 = 20348;
const LTSC2025 = 26100;
/** The stable-ABI LTSC releases, ascending. */
const COMPAT_LTSC_RELEASES: readonly number[] = [LTSC2022, LTSC2025];

function windowsVersionOf(osVersion: string): WindowsVersion {
  if (osVersion.split(".").length - 1 < 2) return EMPTY_WINDOWS_VERSION;
  const [majorText, rest] = cut(osVersion, ".");
  const [minorText, rest2] = cut(rest, ".");
  const [buildText] = cut(rest2, ".");
  const major = goParseUint(majorText, 8);
  const minor = goParseUint(minorText, 8);
  const build = goParseUint(buildText, 16);
  if (major === undefined || minor === undefined || build === undefined) {
    return EMPTY_WINDOWS_VERSION;
  }
  return { major, minor, build };
}

function windowsCompatible(hostVersion: WindowsVersion, ctr: WindowsVersion): boolean {
  if (hostVersion.major !== ctr.major || hostVersion.minor !== ctr.minor) return false;
  if (hostVersion.build < LTSC2022) return hostVersion.build === ctr.build;
  let floor = LTSC2022;
  for (let i = COMPAT_LTSC_RELEASES.length - 1; i >= 0; i--) {
    if (hostVersion.build >= COMPAT_LTSC_RELEASES[i]) {
      floor = COMPAT_LTSC_RELEASES[i === 0 ? 0 : i - 1];
      break;
    }
  }
  return floor <= ctr.build && ctr.build <= hostVersion.build;
}

function windowsVersionMatches(hostVersion: WindowsVersion, osVersion: string): boolean {
  const empty = hostVersion.major === 0 && hostVersion.minor === 0 && hostVersion.build === 0;
  if (empty || osVersion === "") return true;
  return windowsCompatible(hostVersion, windowsVersionOf(osVersion));
}

// ---------------------------------------------------------------------------------------------
// Matchers.

/** Whether every feature of `sub` is in `sup`, both sorted without repeats. */
function featuresSubset(sub: readonly string[], sup: readonly string[]): boolean {
  if (sub.length === 0) return true;
  if (sup.length < sub.length) return false;
  let j = 0;
  for (const feature of sub) {
    let found = false;
    for (; j < sup.length; j++) {
      if (feature === sup[j]) {
        found = true;
        j++;
        break;
      }
      if (goLess(feature, sup[j])) return false;
    }
    if (!found) return false;
  }
  return true;
}

/** containerd's `NewMatcher`, as a function over the internal shape. */
function specMatcher(platform: Spec): SpecMatch {
  const want = normalizeSpec(platform);
  const windows = platform.os === "windows";
  const version = windows ? windowsVersionOf(platform.osVersion) : undefined;
  const base: SpecMatch = (p) => {
    const got = normalizeSpec(p);
    return want.os === got.os && want.architecture === got.architecture &&
      want.variant === got.variant &&
      (version === undefined || windowsVersionMatches(version, p.osVersion)) &&
      featuresSubset(got.osFeatures, want.osFeatures);
  };
  if (!windows) return base;
  // On Windows the win32k feature was once ignored by matching; it still is.
  return (p) => {
    const i = p.osFeatures.indexOf("win32k");
    return base(i < 0 ? p : { ...p, osFeatures: p.osFeatures.toSpliced(i, 1) });
  };
}

function anyMatches(matchers: readonly SpecMatch[], p: Spec): boolean {
  return matchers.some((m) => m(p));
}

function orderedLess(matchers: readonly SpecMatch[], a: Spec, b: Spec): boolean {
  for (const m of matchers) {
    const am = m(a);
    const bm = m(b);
    if (am && !bm) return true;
    if (am || bm) {
      if (am && bm && a.osFeatures.length !== b.osFeatures.length) {
        return a.osFeatures.length > b.osFeatures.length;
      }
      return false;
    }
  }
  if (a.osFeatures.length > 0 || b.osFeatures.length > 0) {
    return orderedLess(matchers, withoutFeatures(a), withoutFeatures(b));
  }
  return false;
}

function anyLess(matchers: readonly SpecMatch[], a: Spec, b: Spec): boolean {
  let am = false;
  let bm = false;
  for (const m of matchers) {
    if (!am && m(a)) am = true;
    if (!bm && m(b)) bm = true;
    if (am && bm) {
      if (a.osFeatures.length !== b.osFeatures.length) {
        return a.osFeatures.length > b.osFeatures.length;
      }
      break;
    }
  }
  if (!am && !bm && (a.osFeatures.length > 0 || b.osFeatures.length > 0)) {
    return anyLess(matchers, withoutFeatures(a), withoutFeatures(b));
  }
  return am && !bm;
}

function orderedSpecs(
  platforms: readonly Spec[],
  asked: readonly Spec[] = platforms,
): PlatformMatcher {
  const matchers = platforms.map(specMatcher);
  return Object.freeze({
    match: (p: Platform) => anyMatches(matchers, toSpec(p)),
    less: (a: Platform, b: Platform) => orderedLess(matchers, toSpec(a), toSpec(b)),
    description: asked.map((spec) => formatPlatform(fromSpec(spec))).join(", "),
  });
}

/**
 * A matcher for one platform, as containerd's `NewMatcher`: it matches a platform whose OS,
 * architecture and variant equal the given one's once both are normalized, whose OS features are
 * a subset of the given one's and, when the given OS is `windows`, whose OS version a host of the
 * given version can run (any version when either is empty; `win32k` is then ignored among the
 * features). Its `less` never prefers one platform to another.
 */
export function newMatcher(platform: Platform): PlatformMatcher {
  const m = specMatcher(toSpec(platform));
  return Object.freeze({
    match: (p: Platform) => m(toSpec(p)),
    less: (_a: Platform, _b: Platform) => false,
  });
}

/**
 * containerd's `platforms.Ordered`: matches any of the platforms and prefers a platform matched
 * by an earlier one in the list; among platforms matched first by the same one, it prefers the
 * one with more OS features. Platforms that none matches come last, ordered as they would be
 * without their OS features.
 *
 * Each platform matches as containerd's `NewMatcher` does: a platform whose OS, architecture and
 * variant equal its own once both are normalized, whose OS features are a subset of its own and,
 * when its OS is `windows`, whose OS version a host of its version can run. There are no
 * fallbacks, unlike {@linkcode only}.
 *
 * @example Prefer arm64, then amd64
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatPlatform, ordered, parsePlatform, type Platform } from "@ocipack/ocipack";
 *
 * const matcher = ordered(parsePlatform("linux/arm64"), parsePlatform("linux/amd64"));
 * const available: Platform[] = [
 *   { os: "linux", architecture: "amd64" },
 *   { os: "linux", architecture: "386" },
 *   { os: "linux", architecture: "arm64", variant: "v8" },
 * ];
 * const best = available
 *   .filter((p) => matcher.match(p))
 *   .sort((a, b) => matcher.less(a, b) ? -1 : matcher.less(b, a) ? 1 : 0);
 * assert.deepEqual(best.map(formatPlatform), ["linux/arm64/v8", "linux/amd64"]);
 * ```
 */
export function ordered(...platforms: Platform[]): PlatformMatcher {
  return orderedSpecs(platforms.map(toSpec));
}

/**
 * containerd's `platforms.Any`: matches any of the platforms, preferring a matched platform to
 * an unmatched one and, between two matched, the one with more OS features; otherwise no
 * preference.
 */
export function any(...platforms: Platform[]): PlatformMatcher {
  const matchers = platforms.map((p) => specMatcher(toSpec(p)));
  return Object.freeze({
    match: (p: Platform) => anyMatches(matchers, toSpec(p)),
    less: (a: Platform, b: Platform) => anyLess(matchers, toSpec(a), toSpec(b)),
  });
}

/** containerd's `platforms.All`: matches every platform and prefers none. */
export const all: PlatformMatcher = Object.freeze({
  match: (_p: Platform) => true,
  less: (_a: Platform, _b: Platform) => false,
});

const ARM64_VERSIONS: Readonly<Record<string, readonly (readonly [number, number])[]>> = {
  "v8": [[8, 0]],
  "v8.0": [[8, 0]],
  "v8.1": [[8, 1]],
  "v8.2": [[8, 2]],
  "v8.3": [[8, 3]],
  "v8.4": [[8, 4]],
  "v8.5": [[8, 5]],
  "v8.6": [[8, 6]],
  "v8.7": [[8, 7]],
  "v8.8": [[8, 8]],
  "v8.9": [[8, 9]],
  "v9": [[9, 0], [8, 5]],
  "v9.0": [[9, 0], [8, 5]],
  "v9.1": [[9, 1], [8, 6]],
  "v9.2": [[9, 2], [8, 7]],
  "v9.3": [[9, 3], [8, 8]],
  "v9.4": [[9, 4], [8, 9]],
  "v9.5": [[9, 5], [8, 9]],
  "v9.6": [[9, 6], [8, 9]],
  "v9.7": [[9, 7], [8, 9]],
};

/** The platforms `Only` accepts for a normalized platform, best first. */
function platformVector(p: Spec): Spec[] {
  const like = (architecture: string, variant: string): Spec => ({ ...p, architecture, variant });
  switch (p.architecture) {
    case "amd64": {
      const vector = [p];
      const version = goAtoi(p.variant.startsWith("v") ? p.variant.slice(1) : p.variant);
      if (version !== undefined && version > 1) {
        for (let v = version - 1; v >= 1; v--) vector.push(like("amd64", `v${v}`));
      }
      vector.push(like("386", ""));
      return vector;
    }
    case "arm": {
      const vector = [p];
      const version = goAtoi(p.variant.startsWith("v") ? p.variant.slice(1) : p.variant);
      if (version !== undefined && version > 5) {
        for (let v = version - 1; v >= 5; v--) vector.push(like("arm", `v${v}`));
      }
      return vector;
    }
    case "arm64": {
      let variant = p.variant === "" ? "v8" : p.variant;
      const versions = Object.hasOwn(ARM64_VERSIONS, variant) ? ARM64_VERSIONS[variant] : undefined;
      if (versions === undefined) return [];
      const vector: Spec[] = [];
      for (const [major, top] of versions) {
        for (let minor = top; minor >= 0; minor--) {
          vector.push(like("arm64", minor === 0 ? `v${major}` : `v${major}.${minor}`));
        }
      }
      if (variant.startsWith("v8") || variant.startsWith("v9")) variant = "v8";
      vector.push(...platformVector(like("arm", variant)));
      return vector;
    }
    default:
      return [p];
  }
}

/**
 * containerd's `platforms.Only`: matches the platform and those it can run, best first:
 * `amd64/vN` also matches `amd64/v(N-1)` down to `v1`, then `386`; `arm/vN` also matches
 * `arm/v(N-1)` down to `v5`; `arm64/v8.x` also matches `arm64/v8.(x-1)` down to `v8`, and
 * `arm64/v9.x` `arm64/v9.(x-1)` down to `v9` then `arm64/v8.(x+5)` (at most v8.9) down to `v8`;
 * any `arm64` then matches `arm/v8` down to `arm/v5`. Its `less` prefers them in that order, as
 * {@linkcode ordered} does.
 *
 * @example Match what an arm64 host can run
 * ```ts
 * import assert from "node:assert/strict";
 * import { only, parsePlatform } from "@ocipack/ocipack";
 *
 * const arm64 = only(parsePlatform("linux/arm64"));
 * assert(arm64.match({ os: "linux", architecture: "arm64", variant: "v8" }));
 * assert(arm64.match({ os: "linux", architecture: "arm", variant: "v7" }));
 * assert(!arm64.match({ os: "linux", architecture: "amd64" }));
 * ```
 *
 * @example Export every platform an arm64 host can run
 * ```ts
 * import assert from "node:assert/strict";
 * import { exportArchive, only, openLayout, parsePlatform } from "@ocipack/ocipack";
 *
 * let blobs = 0;
 * const store = await openLayout("testdata/store");
 * await exportArchive(store, {
 *   images: ["example.com/multi:1.0"],
 *   platform: only(parsePlatform("linux/arm64")), // arm64/v8, arm/v7 and arm/v6
 *   onProgress: (progress) => blobs = progress.blobs,
 * }).pipeTo(new WritableStream());
 * assert.equal(blobs, 11);
 * ```
 */
export function only(platform: Platform): PlatformMatcher {
  const spec = normalizeSpec(toSpec(platform));
  return orderedSpecs(platformVector(spec), [spec]);
}

/**
 * containerd's `platforms.OnlyStrict`: matches the platform alone (in any spelling that
 * normalizes to it), without the fallbacks of {@linkcode only}.
 */
export function onlyStrict(platform: Platform): PlatformMatcher {
  return orderedSpecs([normalizeSpec(toSpec(platform))]);
}

/**
 * containerd's `platforms.Default()` for the host: {@linkcode only}`(hostPlatform())` on Linux
 * and most systems; on macOS the host then `linux` on the host's architecture, on FreeBSD the host
 * then `linux` with the host's architecture and variant (both as {@linkcode ordered}); on Windows
 * the host's matcher, preferring the higher OS version among matches.
 */
export function defaultMatcher(): PlatformMatcher {
  const h = hostSpec();
  switch (h.os) {
    case "darwin":
      return orderedSpecs([h, { ...h, os: "linux", variant: "", osVersion: "", osFeatures: [] }]);
    case "freebsd":
      return orderedSpecs([h, { ...h, os: "linux", osVersion: "", osFeatures: [] }]);
    case "windows": {
      const m = specMatcher(h);
      return Object.freeze({
        match: (p: Platform) => m(toSpec(p)),
        less: (a: Platform, b: Platform) => {
          const as = toSpec(a);
          const bs = toSpec(b);
          const am = m(as);
          const bm = m(bs);
          if (am && bm) return goLess(bs.osVersion, as.osVersion);
          return am && !bm;
        },
      });
    }
    default:
      return only(fromSpec(h));
  }
}

/**
 * containerd's `platforms.DefaultStrict()`: matches the host's platform
 * ({@linkcode hostPlatform}) alone, in any spelling that normalizes to it, without the fallbacks
 * of {@linkcode only}. It is the matcher `ctr images export` uses when no platform is given.
 *
 * @example Export for the host, as ctr does by default
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultStrict, exportArchive, hostPlatform, openLayout } from "@ocipack/ocipack";
 *
 * const matcher = defaultStrict();
 * assert(matcher.match(hostPlatform()));
 * assert(!matcher.match({ os: "plan9", architecture: "mips" }));
 *
 * const store = await openLayout("testdata/store");
 * await exportArchive(store, { images: ["docker.io/library/hello:oci"], platform: matcher })
 *   .pipeTo(new WritableStream());
 * ```
 */
export function defaultStrict(): PlatformMatcher {
  return onlyStrict(hostPlatform());
}

/**
 * A sort comparator putting what has a platform in the matcher's order of preference (by
 * `less`), and what has none after it; a stable sort keeps ties in their order.
 */
export function byPreference(
  matcher: PlatformMatcher,
): (a: { platform?: Platform }, b: { platform?: Platform }) => number {
  const less = (x: { platform?: Platform }, y: { platform?: Platform }) =>
    x.platform !== undefined && (y.platform === undefined || matcher.less(x.platform, y.platform));
  return (a, b) => less(a, b) ? -1 : less(b, a) ? 1 : 0;
}
