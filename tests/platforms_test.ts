// Tests for lib/oci/platforms.ts. The tables are ported from github.com/containerd/platforms
// (platforms_test.go, compare_test.go, defaults_test.go, cpuinfo_linux_test.go,
// platform_windows_compat_test.go, platforms_windows_test.go); cases that depend on the host take
// their expectation from hostPlatform().
import assert from "node:assert/strict";
import { InvalidArgumentError } from "../lib/oci/errors.ts";
import {
  all,
  any,
  cpuVariantFromCpuinfo,
  defaultMatcher,
  defaultStrict,
  formatPlatform,
  formatPlatformAll,
  hostPlatform,
  newMatcher,
  normalizePlatform,
  only,
  onlyStrict,
  ordered,
  parsePlatform,
  type Platform,
  type PlatformMatcher,
} from "../lib/oci/platforms.ts";

/** A platform as this module returns them: empty optional fields left out. */
function plat(
  os: string,
  architecture: string,
  variant = "",
  osVersion = "",
  osFeatures: string[] = [],
): Platform {
  const p: Platform = { architecture, os };
  if (osVersion !== "") p["os.version"] = osVersion;
  if (osFeatures.length > 0) p["os.features"] = osFeatures;
  if (variant !== "") p.variant = variant;
  return p;
}

/** Sorts stably by a matcher's less, as Array.prototype.sort does. */
function sortByLess(list: readonly Platform[], m: PlatformMatcher): Platform[] {
  return [...list].sort((a, b) => m.less(a, b) ? -1 : m.less(b, a) ? 1 : 0);
}

/** Go's insertion sort (what sort.Slice and sort.SliceStable do for short lists). */
function goInsertionSort(list: readonly Platform[], m: PlatformMatcher): Platform[] {
  const out = [...list];
  for (let i = 1; i < out.length; i++) {
    for (let j = i; j > 0 && m.less(out[j], out[j - 1]); j--) {
      [out[j], out[j - 1]] = [out[j - 1], out[j]];
    }
  }
  return out;
}

/** Sorts the parsed specifiers by the matcher and formats them, checking both sorts agree. */
function sortedSpecifiers(specifiers: readonly string[], m: PlatformMatcher): string[] {
  const parsed = specifiers.map(parsePlatform);
  const sorted = sortByLess(parsed, m).map(formatPlatformAll);
  assert.deepEqual(goInsertionSort(parsed, m).map(formatPlatformAll), sorted);
  return sorted;
}

const host = hostPlatform();
const defaultOS = host.os;
const defaultArch = host.architecture;
const defaultVariant = defaultArch === "arm" && host.variant !== "v7" ? host.variant ?? "" : "";

function hostJoin(...parts: string[]): string {
  return parts.filter((p) => p !== "").join("/");
}

// ---------------------------------------------------------------------------------------------
// Normalize

Deno.test("normalizePlatform", async (t) => {
  const cases: [string, Platform, Platform][] = [
    ["i386", { os: "linux", architecture: "i386" }, plat("linux", "386")],
    [
      "i386 drops its variant",
      { os: "linux", architecture: "i386", variant: "v1" },
      plat(
        "linux",
        "386",
      ),
    ],
    ["x86_64", { os: "linux", architecture: "x86_64" }, plat("linux", "amd64")],
    ["x86_64/v1", { os: "linux", architecture: "x86_64", variant: "v1" }, plat("linux", "amd64")],
    ["x86-64/v1", { os: "linux", architecture: "x86-64", variant: "v1" }, plat("linux", "amd64")],
    ["x86-64", { os: "linux", architecture: "x86-64" }, plat("linux", "amd64")],
    ["amd64/v1", { os: "linux", architecture: "amd64", variant: "v1" }, plat("linux", "amd64")],
    [
      "amd64/v3",
      { os: "linux", architecture: "amd64", variant: "v3" },
      plat(
        "linux",
        "amd64",
        "v3",
      ),
    ],
    ["aarch64", { os: "linux", architecture: "aarch64" }, plat("linux", "arm64")],
    ["aarch64/8", { os: "linux", architecture: "aarch64", variant: "8" }, plat("linux", "arm64")],
    [
      "aarch64/v8",
      { os: "linux", architecture: "aarch64", variant: "v8" },
      plat(
        "linux",
        "arm64",
      ),
    ],
    ["arm64/v8", { os: "linux", architecture: "arm64", variant: "v8" }, plat("linux", "arm64")],
    [
      "arm64/v8.0",
      { os: "linux", architecture: "arm64", variant: "v8.0" },
      plat(
        "linux",
        "arm64",
      ),
    ],
    [
      "arm64/v8.2",
      { os: "linux", architecture: "arm64", variant: "v8.2" },
      plat(
        "linux",
        "arm64",
        "v8.2",
      ),
    ],
    [
      "arm64/9",
      { os: "linux", architecture: "arm64", variant: "9" },
      plat(
        "linux",
        "arm64",
        "v9",
      ),
    ],
    [
      "arm64/9.0",
      { os: "linux", architecture: "arm64", variant: "9.0" },
      plat(
        "linux",
        "arm64",
        "v9",
      ),
    ],
    [
      "arm64/v9.0",
      { os: "linux", architecture: "arm64", variant: "v9.0" },
      plat(
        "linux",
        "arm64",
        "v9",
      ),
    ],
    ["armhf", { os: "linux", architecture: "armhf" }, plat("linux", "arm", "v7")],
    [
      "armhf ignores its variant",
      { os: "linux", architecture: "armhf", variant: "v6" },
      plat(
        "linux",
        "arm",
        "v7",
      ),
    ],
    ["armel", { os: "linux", architecture: "armel" }, plat("linux", "arm", "v6")],
    ["arm", { os: "linux", architecture: "arm" }, plat("linux", "arm", "v7")],
    ["arm/7", { os: "linux", architecture: "arm", variant: "7" }, plat("linux", "arm", "v7")],
    ["arm/5", { os: "linux", architecture: "arm", variant: "5" }, plat("linux", "arm", "v5")],
    ["arm/6", { os: "linux", architecture: "arm", variant: "6" }, plat("linux", "arm", "v6")],
    ["arm/8", { os: "linux", architecture: "arm", variant: "8" }, plat("linux", "arm", "v8")],
    ["arm/v7", { os: "linux", architecture: "arm", variant: "v7" }, plat("linux", "arm", "v7")],
    [
      "arm/4 is kept",
      { os: "linux", architecture: "arm", variant: "4" },
      plat(
        "linux",
        "arm",
        "4",
      ),
    ],
    ["macos", { os: "macos", architecture: "arm64" }, plat("darwin", "arm64")],
    ["MacOS", { os: "MacOS", architecture: "amd64" }, plat("darwin", "amd64")],
    [
      "upper case",
      { os: "LINUX", architecture: "AMD64", variant: "V3" },
      plat(
        "linux",
        "amd64",
        "v3",
      ),
    ],
    [
      "upper case X86_64/V1",
      { os: "Linux", architecture: "X86_64", variant: "V1" },
      plat(
        "linux",
        "amd64",
      ),
    ],
    [
      "upper case AARCH64",
      { os: "linux", architecture: "AArch64", variant: "V8" },
      plat(
        "linux",
        "arm64",
      ),
    ],
    [
      "Go's simple lower-casing of U+0130",
      { os: "L\u0130NUX", architecture: "amd64" },
      plat(
        "linux",
        "amd64",
      ),
    ],
    ["empty os is the host's", { os: "", architecture: "amd64" }, plat(defaultOS, "amd64")],
    [
      "unknown values are only lower-cased",
      { os: "Plan10", architecture: "Z80", variant: "X" },
      plat(
        "plan10",
        "z80",
        "x",
      ),
    ],
    [
      "os.version is kept as it is",
      { os: "Windows", architecture: "amd64", "os.version": "10.0.17763.ABC" },
      plat("windows", "amd64", "", "10.0.17763.ABC"),
    ],
    [
      "os.features sorted and compacted",
      { os: "linux", architecture: "amd64", "os.features": ["b", "a", "b", "", "a"] },
      plat("linux", "amd64", "", "", ["", "a", "b"]),
    ],
    [
      "empty os.features left out",
      { os: "linux", architecture: "amd64", "os.features": [], variant: "" },
      plat("linux", "amd64"),
    ],
  ];
  for (const [name, input, expected] of cases) {
    await t.step(name, () => {
      const before = structuredClone(input);
      const got = normalizePlatform(input);
      assert.deepEqual(got, expected);
      assert.deepEqual(input, before, "the argument is not changed");
      assert.notEqual(got, input);
      assert.deepEqual(normalizePlatform(got), got, "normalizing is idempotent");
    });
  }

  await t.step("returns new os.features", () => {
    const input: Platform = { os: "linux", architecture: "amd64", "os.features": ["a"] };
    const got = normalizePlatform(input);
    assert.notEqual(got["os.features"], input["os.features"]);
  });

  await t.step("normalizing the host platform", () => {
    // As platforms_windows_test.go's TestNormalize; on arm64 the v8 variant is dropped.
    const expected = { ...host };
    if (expected.architecture === "arm64" && expected.variant === "v8") delete expected.variant;
    assert.deepEqual(normalizePlatform(host), expected);
  });
});

// ---------------------------------------------------------------------------------------------
// Parse and format (TestParseSelector)

interface ParseCase {
  input: string;
  expected: Platform;
  matches?: Platform[];
  formatted: string;
  all?: boolean;
}

const parseCases: ParseCase[] = [
  {
    input: "linux/arm64",
    expected: plat("linux", "arm64"),
    matches: [
      plat("linux", "aarch64"),
      plat("linux", "aarch64", "v8"),
      plat("linux", "arm64", "v8"),
    ],
    formatted: "linux/arm64",
  },
  {
    input: "linux/arm64/v8",
    expected: plat("linux", "arm64", "v8"),
    matches: [plat("linux", "aarch64"), plat("linux", "aarch64", "v8"), plat("linux", "arm64")],
    formatted: "linux/arm64/v8",
  },
  {
    input: "linux/arm",
    expected: plat("linux", "arm"),
    matches: [plat("linux", "arm", "v7"), plat("linux", "armhf"), plat("linux", "arm", "7")],
    formatted: "linux/arm",
  },
  {
    input: "linux/arm/v6",
    expected: plat("linux", "arm", "v6"),
    matches: [plat("linux", "armel")],
    formatted: "linux/arm/v6",
  },
  {
    input: "linux/arm/v7",
    expected: plat("linux", "arm", "v7"),
    matches: [plat("linux", "arm"), plat("linux", "armhf")],
    formatted: "linux/arm/v7",
  },
  { input: "arm", expected: plat(defaultOS, "arm"), formatted: hostJoin(defaultOS, "arm") },
  {
    input: "armel",
    expected: plat(defaultOS, "arm", "v6"),
    formatted: hostJoin(defaultOS, "arm/v6"),
  },
  { input: "armhf", expected: plat(defaultOS, "arm"), formatted: hostJoin(defaultOS, "arm") },
  {
    input: "Aarch64",
    expected: plat(defaultOS, "arm64"),
    formatted: hostJoin(defaultOS, "arm64"),
  },
  {
    input: "x86_64",
    expected: plat(defaultOS, "amd64"),
    formatted: hostJoin(defaultOS, "amd64"),
  },
  { input: "Linux/x86_64", expected: plat("linux", "amd64"), formatted: "linux/amd64" },
  { input: "i386", expected: plat(defaultOS, "386"), formatted: hostJoin(defaultOS, "386") },
  {
    input: "linux",
    expected: plat("linux", defaultArch, defaultVariant),
    formatted: hostJoin("linux", defaultArch, defaultVariant),
  },
  {
    input: "s390x",
    expected: plat(defaultOS, "s390x"),
    formatted: hostJoin(defaultOS, "s390x"),
  },
  { input: "linux/s390x", expected: plat("linux", "s390x"), formatted: "linux/s390x" },
  {
    input: "macOS",
    expected: plat("darwin", defaultArch, defaultVariant),
    formatted: hostJoin("darwin", defaultArch, defaultVariant),
  },
  {
    input: "windows",
    expected: plat("windows", defaultArch, defaultVariant),
    formatted: hostJoin("windows", defaultArch, defaultVariant),
  },
  {
    input: "windows()",
    expected: plat("windows", defaultArch, defaultVariant),
    formatted: hostJoin("windows", defaultArch, defaultVariant),
    all: true,
  },
  {
    input: "windows(10.0.17763)",
    expected: plat("windows", defaultArch, defaultVariant, "10.0.17763"),
    formatted: hostJoin("windows(10.0.17763)", defaultArch, defaultVariant),
    all: true,
  },
  {
    input: "windows(10.0.17763+win32k)",
    expected: plat("windows", defaultArch, defaultVariant, "10.0.17763", ["win32k"]),
    formatted: hostJoin("windows(10.0.17763+win32k)", defaultArch, defaultVariant),
    all: true,
  },
  {
    input: "linux(+gpu)",
    expected: plat("linux", defaultArch, defaultVariant, "", ["gpu"]),
    formatted: hostJoin("linux(+gpu)", defaultArch, defaultVariant),
    all: true,
  },
  {
    input: "linux(+gpu+simd)",
    expected: plat("linux", defaultArch, defaultVariant, "", ["gpu", "simd"]),
    formatted: hostJoin("linux(+gpu+simd)", defaultArch, defaultVariant),
    all: true,
  },
  {
    input: "linux(+unsorted+erofs)",
    expected: plat("linux", defaultArch, defaultVariant, "", ["unsorted", "erofs"]),
    formatted: hostJoin("linux(+erofs+unsorted)", defaultArch, defaultVariant),
    all: true,
  },
  {
    input: "windows(10.0.17763%2Bbuild.42)",
    expected: plat("windows", defaultArch, defaultVariant, "10.0.17763+build.42"),
    formatted: hostJoin("windows(10.0.17763%2Bbuild.42)", defaultArch, defaultVariant),
    all: true,
  },
  {
    input: "windows(10.0.17763%2Bbuild.42+win32k)",
    expected: plat("windows", defaultArch, defaultVariant, "10.0.17763+build.42", ["win32k"]),
    formatted: hostJoin("windows(10.0.17763%2Bbuild.42+win32k)", defaultArch, defaultVariant),
    all: true,
  },
  {
    input: "windows(50%25done)",
    expected: plat("windows", defaultArch, defaultVariant, "50%done"),
    formatted: hostJoin("windows(50%25done)", defaultArch, defaultVariant),
    all: true,
  },
  // Beyond the upstream table.
  { input: "arm64", expected: plat(defaultOS, "arm64"), formatted: hostJoin(defaultOS, "arm64") },
  {
    input: "windows(10.0.17763)/amd64",
    expected: plat("windows", "amd64", "", "10.0.17763"),
    formatted: "windows(10.0.17763)/amd64",
    all: true,
  },
  {
    input: "windows(10.0.17763+win32k)/amd64",
    expected: plat("windows", "amd64", "", "10.0.17763", ["win32k"]),
    matches: [plat("windows", "amd64")],
    formatted: "windows(10.0.17763+win32k)/amd64",
    all: true,
  },
  {
    input: "linux/aarch64/8",
    expected: plat("linux", "arm64", "v8"),
    formatted: "linux/arm64/v8",
  },
  {
    input: "linux/arm64/v8.0",
    expected: plat("linux", "arm64", "v8"),
    formatted: "linux/arm64/v8",
  },
  { input: "linux/arm64/9", expected: plat("linux", "arm64", "v9"), formatted: "linux/arm64/v9" },
  {
    input: "linux/arm64/v8.2",
    expected: plat("linux", "arm64", "v8.2"),
    formatted: "linux/arm64/v8.2",
  },
  { input: "linux/arm/7", expected: plat("linux", "arm", "v7"), formatted: "linux/arm/v7" },
  { input: "linux/armhf/v6", expected: plat("linux", "arm", "v7"), formatted: "linux/arm/v7" },
  { input: "linux/armel", expected: plat("linux", "arm", "v6"), formatted: "linux/arm/v6" },
  { input: "linux/i386", expected: plat("linux", "386"), formatted: "linux/386" },
  {
    input: "LINUX/AMD64/V3",
    expected: plat("linux", "amd64", "v3"),
    formatted: "linux/amd64/v3",
  },
  {
    input: "linux/x86_64/v1",
    expected: plat("linux", "amd64"),
    matches: [plat("linux", "amd64", "v1")],
    formatted: "linux/amd64",
  },
  {
    input: "freebsd/riscv64",
    expected: plat("freebsd", "riscv64"),
    formatted: "freebsd/riscv64",
  },
  {
    input: "plan10/z80",
    expected: plat("plan10", "z80"),
    formatted: "plan10/z80",
  },
];

Deno.test("parsePlatform", async (t) => {
  for (const c of parseCases) {
    await t.step(c.input, () => {
      const p = parsePlatform(c.input);
      assert.deepEqual(p, c.expected);

      const m = newMatcher(p);
      assert.ok(m.match(c.expected), `${c.input} matches ${JSON.stringify(c.expected)}`);
      for (const other of c.matches ?? []) {
        assert.ok(m.match(other), `${c.input} matches ${JSON.stringify(other)}`);
      }

      const format = c.all ? formatPlatformAll : formatPlatform;
      const formatted = format(p);
      assert.equal(formatted, c.formatted);
      assert.equal(format(parsePlatform(formatted)), formatted, "stable across a round trip");
    });
  }
});

Deno.test("parsePlatform rejects invalid specifiers", async (t) => {
  const cases = [
    "", // empty
    "/linux/arm", // leading slash
    "linux/arm/", // trailing slash
    "linux /arm", // spaces
    "linux/&arm", // invalid character
    "linux/arm/foo/bar", // too many components
    "linux/arm/v7/x/y", // too many components
    "linux/arm64 ", // trailing space
    " linux", // leading space
    "linux//amd64", // empty component
    "*", // wildcards
    "linux/*",
    "*/arm64",
    "foo", // neither a known OS nor a known architecture
    "armv7", // not a known architecture spelling
    "amd64()", // a known architecture cannot take OS options
    "linux(10.0", // unbalanced
    "linux(10.0))/amd64",
    "linux(%zz)/amd64", // bad percent-encoding of the version
    "linux(1%2)/amd64",
    "linux(+%g1)/amd64", // bad percent-encoding of a feature
    "linux(a+)/amd64", // empty feature
    "linux(+a++b)/amd64",
    "linux(a b)/amd64",
    "linux(a/b)/amd64",
    "lin.ux/amd64", // '.' is not allowed in the OS
    "linux\n/amd64",
  ];
  for (const input of cases) {
    await t.step(JSON.stringify(input), () => {
      assert.throws(() => parsePlatform(input), (e: unknown) => {
        assert.ok(e instanceof InvalidArgumentError);
        assert.match(e.message, /^Invalid platform /);
        assert.ok(e.message.includes(JSON.stringify(input)), e.message);
        assert.ok(!e.message.includes("\n"), "one line");
        return true;
      });
    });
  }
});

Deno.test("formatPlatformAll encodes OS options (TestFormatAllEncoding)", async (t) => {
  const cases: [Platform, string][] = [
    [plat("windows", "amd64", "", "10.0.17763+build.42"), "windows(10.0.17763%2Bbuild.42)/amd64"],
    [
      plat("windows", "amd64", "", "10.0.17763+build.42", ["win32k"]),
      "windows(10.0.17763%2Bbuild.42+win32k)/amd64",
    ],
    [plat("windows", "amd64", "", "50%done"), "windows(50%25done)/amd64"],
    [plat("windows", "amd64", "", "1.0(beta)"), "windows(1.0%28beta%29)/amd64"],
    [plat("windows", "amd64", "", "a/b"), "windows(a%2Fb)/amd64"],
    [plat("windows", "amd64", "", "10.0.17763"), "windows(10.0.17763)/amd64"],
    [plat("linux", "amd64", "", "", ["feat+v2"]), "linux(+feat%2Bv2)/amd64"],
    [plat("linux", "amd64", "", "", ["100%gpu"]), "linux(+100%25gpu)/amd64"],
    [
      plat("windows", "amd64", "", "10.0+build", ["feat+1"]),
      "windows(10.0%2Bbuild+feat%2B1)/amd64",
    ],
  ];
  for (const [p, expected] of cases) {
    await t.step(expected, () => {
      assert.equal(formatPlatformAll(p), expected);
      const reparsed = parsePlatform(expected);
      assert.equal(reparsed["os.version"], p["os.version"]);
      assert.deepEqual(reparsed["os.features"], p["os.features"]);
    });
  }
});

Deno.test("formatPlatform and formatPlatformAll", async (t) => {
  const cases: [string, Platform, string, string][] = [
    [
      "skips empty os.features",
      {
        os: "linux",
        architecture: "amd64",
        "os.features": ["", "gpu", "", "simd"],
      },
      "linux/amd64",
      "linux(+gpu+simd)/amd64",
    ],
    [
      "sorts and dedups os.features",
      {
        os: "linux",
        architecture: "amd64",
        "os.features": ["simd", "gpu", "simd"],
      },
      "linux/amd64",
      "linux(+gpu+simd)/amd64",
    ],
    [
      "only empty os.features",
      {
        os: "linux",
        architecture: "amd64",
        "os.features": [""],
      },
      "linux/amd64",
      "linux/amd64",
    ],
    ["empty os", { os: "", architecture: "amd64" }, "unknown", "unknown"],
    [
      "empty os with a version",
      {
        os: "",
        architecture: "amd64",
        "os.version": "1",
      },
      "unknown",
      "unknown",
    ],
    ["variant", plat("linux", "arm", "v7"), "linux/arm/v7", "linux/arm/v7"],
    [
      "empty architecture",
      { os: "linux", architecture: "", variant: "v7" },
      "linux/v7",
      "linux/v7",
    ],
    ["no normalization", plat("Linux", "x86_64", "V1"), "Linux/x86_64/V1", "Linux/x86_64/V1"],
    ["path.Join cleans", plat("linux", "../x"), "x", "x"],
    [
      "windows version and variant",
      plat("windows", "arm64", "v8", "10.0.26100"),
      "windows/arm64/v8",
      "windows(10.0.26100)/arm64/v8",
    ],
  ];
  for (const [name, p, expected, expectedAll] of cases) {
    await t.step(name, () => {
      assert.equal(formatPlatform(p), expected);
      assert.equal(formatPlatformAll(p), expectedAll);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Only / OnlyStrict (TestOnly, TestOnlyStrict)

interface MatchCase {
  platform: string;
  yes: string[];
  no: string[];
}

const onlyCases: MatchCase[] = [
  {
    platform: "linux/amd64",
    yes: ["linux/amd64", "linux/386"],
    no: ["linux/amd64/v2", "linux/arm/v7", "linux/arm64", "windows/amd64", "windows/arm"],
  },
  {
    platform: "linux/amd64/v2",
    yes: ["linux/amd64", "linux/amd64/v1", "linux/amd64/v2", "linux/386"],
    no: [
      "linux/amd64/v3",
      "linux/amd64/v4",
      "linux/arm/v7",
      "linux/arm64",
      "windows/amd64",
      "windows/arm",
    ],
  },
  {
    platform: "linux/amd64/v3",
    yes: ["linux/amd64/v3", "linux/amd64/v2", "linux/amd64/v1", "linux/amd64", "linux/386"],
    no: ["linux/amd64/v4", "linux/arm64", "windows/amd64", "windows/386"],
  },
  {
    platform: "linux/386",
    yes: ["linux/386"],
    no: ["linux/amd64", "linux/arm/v7", "linux/arm64", "windows/amd64", "windows/arm"],
  },
  {
    platform: "windows/amd64",
    yes: ["windows/amd64", "windows(10.0.17763)/amd64"],
    no: ["linux/amd64", "linux/arm/v7", "linux/arm64", "windows/arm"],
  },
  {
    platform: "linux/arm/v8",
    yes: ["linux/arm", "linux/arm/v5", "linux/arm/v6", "linux/arm/v7", "linux/arm/v8"],
    no: ["linux/amd64", "linux/arm/v4", "linux/arm64", "windows/amd64", "windows/arm"],
  },
  {
    platform: "linux/arm/v7",
    yes: ["linux/arm", "linux/arm/v5", "linux/arm/v6", "linux/arm/v7"],
    no: [
      "linux/amd64",
      "linux/arm/v4",
      "linux/arm/v8",
      "linux/arm64",
      "windows/amd64",
      "windows/arm",
    ],
  },
  {
    platform: "linux/arm/v6",
    yes: ["linux/arm/v5", "linux/arm/v6"],
    no: [
      "linux/amd64",
      "linux/arm",
      "linux/arm/v4",
      "linux/arm/v7",
      "linux/arm/v8",
      "linux/arm64",
      "windows/amd64",
      "windows/arm",
    ],
  },
  {
    platform: "linux/arm/v5",
    yes: ["linux/arm/v5"],
    no: [
      "linux/amd64",
      "linux/arm",
      "linux/arm/v4",
      "linux/arm/v6",
      "linux/arm/v7",
      "linux/arm/v8",
      "linux/arm64",
      "windows/amd64",
      "windows/arm",
    ],
  },
  {
    platform: "linux/arm/v4",
    yes: ["linux/arm/v4"],
    no: [
      "linux/amd64",
      "linux/arm",
      "linux/arm/v5",
      "linux/arm/v6",
      "linux/arm/v7",
      "linux/arm/v8",
      "linux/arm64",
      "windows/amd64",
      "windows/arm",
    ],
  },
  {
    platform: "linux/arm64/v9.6",
    yes: [
      "linux/arm",
      "linux/arm/v5",
      "linux/arm/v6",
      "linux/arm/v7",
      "linux/arm/v8",
      "linux/arm64",
      "linux/arm64/v8",
      "linux/arm64/v8.1",
      "linux/arm64/v8.2",
      "linux/arm64/v8.3",
      "linux/arm64/v8.4",
      "linux/arm64/v8.5",
      "linux/arm64/v8.6",
      "linux/arm64/v8.7",
      "linux/arm64/v8.8",
      "linux/arm64/v8.9",
      "linux/arm64/v9",
      "linux/arm64/v9.0",
      "linux/arm64/v9.1",
      "linux/arm64/v9.2",
      "linux/arm64/v9.3",
      "linux/arm64/v9.4",
      "linux/arm64/v9.5",
      "linux/arm64/v9.6",
    ],
    no: ["linux/amd64", "linux/arm/v4", "windows/amd64", "windows/arm", "linux/arm64/v8.10"],
  },
  {
    platform: "linux/arm64/v9",
    yes: [
      "linux/arm",
      "linux/arm/v5",
      "linux/arm/v6",
      "linux/arm/v7",
      "linux/arm/v8",
      "linux/arm64",
      "linux/arm64/v8",
      "linux/arm64/v8.1",
      "linux/arm64/v8.2",
      "linux/arm64/v8.3",
      "linux/arm64/v8.4",
      "linux/arm64/v8.5",
      "linux/arm64/v9",
      "linux/arm64/v9.0",
    ],
    no: ["linux/amd64", "linux/arm/v4", "windows/amd64", "windows/arm", "linux/arm64/v8.6"],
  },
  {
    platform: "linux/arm64/v8.1",
    yes: [
      "linux/arm",
      "linux/arm/v5",
      "linux/arm/v6",
      "linux/arm/v7",
      "linux/arm/v8",
      "linux/arm64",
      "linux/arm64/v8",
      "linux/arm64/v8.1",
    ],
    no: [
      "linux/amd64",
      "linux/arm/v4",
      "linux/arm/v9",
      "linux/arm64/v9",
      "windows/amd64",
      "windows/arm",
    ],
  },
  {
    platform: "linux/arm64",
    yes: [
      "linux/arm",
      "linux/arm/v5",
      "linux/arm/v6",
      "linux/arm/v7",
      "linux/arm/v8",
      "linux/arm64",
      "linux/arm64/v8",
    ],
    no: [
      "linux/amd64",
      "linux/arm/v4",
      "linux/arm/v9",
      "linux/arm64/v9",
      "windows/amd64",
      "windows/arm",
    ],
  },
  {
    // An arm64 variant the package does not know matches nothing, not even itself.
    platform: "linux/arm64/v8.10",
    yes: [],
    no: ["linux/arm64/v8.10", "linux/arm64", "linux/arm/v7"],
  },
];

const onlyStrictCases: MatchCase[] = [
  {
    platform: "linux/amd64",
    yes: ["linux/amd64"],
    no: ["linux/386", "linux/arm/v7", "linux/arm64", "windows/amd64", "windows/arm"],
  },
  {
    platform: "linux/386",
    yes: ["linux/386"],
    no: ["linux/amd64", "linux/arm/v7", "linux/arm64", "windows/amd64", "windows/arm"],
  },
  {
    platform: "windows/amd64",
    yes: ["windows/amd64", "windows(10.0.17763)/amd64"],
    no: ["linux/amd64", "linux/arm/v7", "linux/arm64", "windows/arm"],
  },
  {
    platform: "windows(10.0.17763)/amd64",
    yes: ["windows/amd64", "windows(10.0.17763)/amd64"],
    no: ["linux/amd64", "linux/arm/v7", "linux/arm64", "windows/arm"],
  },
  {
    platform: "linux/arm/v8",
    yes: ["linux/arm/v8"],
    no: [
      "linux/arm",
      "linux/arm/v5",
      "linux/arm/v6",
      "linux/arm/v7",
      "linux/amd64",
      "linux/arm/v4",
      "linux/arm64",
      "windows/amd64",
      "windows/arm",
    ],
  },
  {
    platform: "linux/arm/v7",
    yes: ["linux/arm", "linux/arm/v7"],
    no: [
      "linux/arm/v5",
      "linux/arm/v6",
      "linux/amd64",
      "linux/arm/v4",
      "linux/arm/v8",
      "linux/arm64",
      "windows/amd64",
      "windows/arm",
    ],
  },
  {
    platform: "linux/arm/v6",
    yes: ["linux/arm/v6"],
    no: [
      "linux/arm/v5",
      "linux/amd64",
      "linux/arm",
      "linux/arm/v4",
      "linux/arm/v7",
      "linux/arm/v8",
      "linux/arm64",
      "windows/amd64",
      "windows/arm",
    ],
  },
  {
    platform: "linux/arm/v5",
    yes: ["linux/arm/v5"],
    no: [
      "linux/amd64",
      "linux/arm",
      "linux/arm/v4",
      "linux/arm/v6",
      "linux/arm/v7",
      "linux/arm/v8",
      "linux/arm64",
      "windows/amd64",
      "windows/arm",
    ],
  },
  {
    platform: "linux/arm/v4",
    yes: ["linux/arm/v4"],
    no: [
      "linux/amd64",
      "linux/arm",
      "linux/arm/v5",
      "linux/arm/v6",
      "linux/arm/v7",
      "linux/arm/v8",
      "linux/arm64",
      "windows/amd64",
      "windows/arm",
    ],
  },
  {
    platform: "linux/arm64/v9.5",
    yes: ["linux/arm64/v9.5"],
    no: [
      "linux/arm",
      "linux/arm/v5",
      "linux/arm/v6",
      "linux/arm/v7",
      "linux/arm/v8",
      "linux/amd64",
      "linux/arm/v4",
      "linux/arm64/v8",
      "linux/arm64/v8.1",
      "linux/arm64/v9",
      "linux/arm64/v9.1",
      "linux/arm64/v9.4",
      "windows/amd64",
      "windows/arm",
    ],
  },
  {
    platform: "linux/arm64/v9",
    yes: ["linux/arm64/v9", "linux/arm64/v9.0"],
    no: [
      "linux/arm",
      "linux/arm/v5",
      "linux/arm/v6",
      "linux/arm/v7",
      "linux/arm/v8",
      "linux/amd64",
      "linux/arm/v4",
      "linux/arm/v9",
      "linux/arm64/v8",
      "linux/arm64/v8.1",
      "windows/amd64",
      "windows/arm",
    ],
  },
  {
    platform: "linux/arm64/v8.1",
    yes: ["linux/arm64/v8.1"],
    no: [
      "linux/arm",
      "linux/arm/v5",
      "linux/arm/v6",
      "linux/arm/v7",
      "linux/arm/v8",
      "linux/amd64",
      "linux/arm/v4",
      "linux/arm/v9",
      "linux/arm64/v8",
      "linux/arm64/v9",
      "windows/amd64",
      "windows/arm",
    ],
  },
  {
    platform: "linux/arm64",
    yes: ["linux/arm64", "linux/arm64/v8"],
    no: [
      "linux/arm",
      "linux/arm/v5",
      "linux/arm/v6",
      "linux/arm/v7",
      "linux/arm/v8",
      "linux/amd64",
      "linux/arm/v4",
      "linux/arm/v9",
      "linux/arm64/v9",
      "windows/amd64",
      "windows/arm",
    ],
  },
];

function matchTable(
  name: string,
  make: (p: Platform) => PlatformMatcher,
  cases: MatchCase[],
): void {
  Deno.test(name, async (t) => {
    for (const c of cases) {
      await t.step(c.platform, () => {
        const m = make(parsePlatform(c.platform));
        for (const s of c.yes) assert.ok(m.match(parsePlatform(s)), `${c.platform} matches ${s}`);
        for (const s of c.no) {
          assert.ok(!m.match(parsePlatform(s)), `${c.platform} does not match ${s}`);
        }
      });
    }
  });
}

matchTable("only (TestOnly)", only, onlyCases);
matchTable("onlyStrict (TestOnlyStrict)", onlyStrict, onlyStrictCases);

Deno.test("only matches unnormalized spellings", () => {
  const m = only(parsePlatform("linux/amd64/v3"));
  assert.ok(m.match({ os: "Linux", architecture: "x86_64", variant: "V2" }));
  assert.ok(m.match({ os: "linux", architecture: "x86-64", variant: "v1" }));
  assert.ok(m.match({ os: "linux", architecture: "i386" }));
  assert.ok(!m.match({ os: "linux", architecture: "x86_64", variant: "v4" }));
  const arm = only({ os: "linux", architecture: "aarch64" });
  assert.ok(arm.match({ os: "linux", architecture: "armhf" }));
  assert.ok(arm.match({ os: "linux", architecture: "armel" }));
  assert.ok(
    !onlyStrict({ os: "linux", architecture: "aarch64" }).match(plat("linux", "arm", "v8")),
  );
  assert.ok(
    onlyStrict({ os: "linux", architecture: "aarch64" }).match(plat("linux", "arm64", "v8")),
  );
});

// ---------------------------------------------------------------------------------------------
// Ordering (TestCompareOSFeatures and more)

Deno.test("less orders by OS features (TestCompareOSFeatures)", async (t) => {
  const cases: [string, string[], string[]][] = [
    [
      "linux/amd64",
      ["windows/amd64", "linux/amd64", "linux(+other)/amd64", "linux/arm64"],
      ["linux/amd64", "linux(+other)/amd64", "windows/amd64", "linux/arm64"],
    ],
    [
      "linux(+none)/amd64",
      ["windows/amd64", "linux/amd64", "linux/arm64", "linux(+other)/amd64"],
      ["linux/amd64", "linux(+other)/amd64", "windows/amd64", "linux/arm64"],
    ],
    [
      "linux(+other)/amd64",
      ["windows/amd64", "linux/amd64", "linux/arm64", "linux(+other)/amd64"],
      ["linux(+other)/amd64", "linux/amd64", "windows/amd64", "linux/arm64"],
    ],
    [
      "linux(+af+other+zf)/amd64",
      ["windows/amd64", "linux/amd64", "linux/arm64", "linux(+other)/amd64"],
      ["linux(+other)/amd64", "linux/amd64", "windows/amd64", "linux/arm64"],
    ],
    [
      "linux(+f1+f2)/amd64",
      ["linux/amd64", "linux(+f2)/amd64", "linux(+f1)/amd64", "linux(+f1+f2)/amd64"],
      ["linux(+f1+f2)/amd64", "linux(+f2)/amd64", "linux(+f1)/amd64", "linux/amd64"],
    ],
    [
      "linux(7.2+other)/amd64",
      ["linux/amd64", "linux(+other)/amd64", "linux(7.1)/amd64", "linux(7.2+other)/amd64"],
      ["linux(+other)/amd64", "linux(7.2+other)/amd64", "linux/amd64", "linux(7.1)/amd64"],
    ],
  ];
  const makers: [string, (p: Platform) => PlatformMatcher][] = [
    ["only", only],
    ["only strict", onlyStrict],
    ["ordered", (p) => ordered(p)],
    ["any", (p) => any(p)],
  ];
  for (const [platform, input, expected] of cases) {
    for (const [name, make] of makers) {
      await t.step(`${platform} ${name}`, () => {
        assert.deepEqual(sortedSpecifiers(input, make(parsePlatform(platform))), expected);
      });
    }
  }
});

const sortInput = [
  "linux/386",
  "linux/amd64",
  "linux/amd64/v4",
  "linux/amd64/v2",
  "linux/amd64/v3",
  "linux/arm64",
  "linux/arm/v5",
  "linux/arm/v7",
  "windows/amd64",
  "linux/arm/v8",
  "linux/arm/v6",
  "linux/arm64/v8.1",
];

Deno.test("sorting by each matcher's less", async (t) => {
  const p = parsePlatform;
  const cases: [string, PlatformMatcher, string[]][] = [
    ["only(linux/amd64/v3)", only(p("linux/amd64/v3")), [
      "linux/amd64/v3",
      "linux/amd64/v2",
      "linux/amd64",
      "linux/386",
      "linux/amd64/v4",
      "linux/arm64",
      "linux/arm/v5",
      "linux/arm/v7",
      "windows/amd64",
      "linux/arm/v8",
      "linux/arm/v6",
      "linux/arm64/v8.1",
    ]],
    ["only(linux/arm64)", only(p("linux/arm64")), [
      "linux/arm64",
      "linux/arm/v8",
      "linux/arm/v7",
      "linux/arm/v6",
      "linux/arm/v5",
      "linux/386",
      "linux/amd64",
      "linux/amd64/v4",
      "linux/amd64/v2",
      "linux/amd64/v3",
      "windows/amd64",
      "linux/arm64/v8.1",
    ]],
    ["only(linux/arm64/v8.1)", only(p("linux/arm64/v8.1")), [
      "linux/arm64/v8.1",
      "linux/arm64",
      "linux/arm/v8",
      "linux/arm/v7",
      "linux/arm/v6",
      "linux/arm/v5",
      "linux/386",
      "linux/amd64",
      "linux/amd64/v4",
      "linux/amd64/v2",
      "linux/amd64/v3",
      "windows/amd64",
    ]],
    ["only(linux/arm/v7)", only(p("linux/arm/v7")), [
      "linux/arm/v7",
      "linux/arm/v6",
      "linux/arm/v5",
      "linux/386",
      "linux/amd64",
      "linux/amd64/v4",
      "linux/amd64/v2",
      "linux/amd64/v3",
      "linux/arm64",
      "windows/amd64",
      "linux/arm/v8",
      "linux/arm64/v8.1",
    ]],
    ["onlyStrict(linux/amd64)", onlyStrict(p("linux/amd64")), [
      "linux/amd64",
      "linux/386",
      "linux/amd64/v4",
      "linux/amd64/v2",
      "linux/amd64/v3",
      "linux/arm64",
      "linux/arm/v5",
      "linux/arm/v7",
      "windows/amd64",
      "linux/arm/v8",
      "linux/arm/v6",
      "linux/arm64/v8.1",
    ]],
    ["ordered(linux/arm64, linux/amd64)", ordered(p("linux/arm64"), p("linux/amd64")), [
      "linux/arm64",
      "linux/amd64",
      "linux/386",
      "linux/amd64/v4",
      "linux/amd64/v2",
      "linux/amd64/v3",
      "linux/arm/v5",
      "linux/arm/v7",
      "windows/amd64",
      "linux/arm/v8",
      "linux/arm/v6",
      "linux/arm64/v8.1",
    ]],
    [
      "ordered(windows/amd64, linux/arm/v6, linux/amd64/v2)",
      ordered(p("windows/amd64"), p("linux/arm/v6"), p("linux/amd64/v2")),
      [
        "windows/amd64",
        "linux/arm/v6",
        "linux/amd64/v2",
        "linux/386",
        "linux/amd64",
        "linux/amd64/v4",
        "linux/amd64/v3",
        "linux/arm64",
        "linux/arm/v5",
        "linux/arm/v7",
        "linux/arm/v8",
        "linux/arm64/v8.1",
      ],
    ],
    ["any(linux/arm64, linux/amd64)", any(p("linux/arm64"), p("linux/amd64")), [
      "linux/amd64",
      "linux/arm64",
      "linux/386",
      "linux/amd64/v4",
      "linux/amd64/v2",
      "linux/amd64/v3",
      "linux/arm/v5",
      "linux/arm/v7",
      "windows/amd64",
      "linux/arm/v8",
      "linux/arm/v6",
      "linux/arm64/v8.1",
    ]],
    ["all", all, sortInput],
    ["newMatcher(linux/amd64)", newMatcher(p("linux/amd64")), sortInput],
  ];
  for (const [name, m, expected] of cases) {
    await t.step(name, () => {
      assert.deepEqual(sortedSpecifiers(sortInput, m), expected);
    });
  }
});

Deno.test("less, case by case", async (t) => {
  const p = parsePlatform;
  const o = ordered(p("linux/arm64"), p("linux/amd64"));
  const v3 = only(p("linux/amd64/v3"));
  const features = ordered(p("linux(+a+b)/amd64"));
  const anyLinux = any(p("linux/amd64"));
  const cases: [string, PlatformMatcher, Platform, Platform, boolean][] = [
    ["ordered: earlier first", o, p("linux/arm64"), p("linux/amd64"), true],
    ["ordered: later not first", o, p("linux/amd64"), p("linux/arm64"), false],
    ["ordered: matched before unmatched", o, p("linux/amd64"), p("linux/386"), true],
    ["ordered: unmatched after matched", o, p("linux/386"), p("linux/amd64"), false],
    ["ordered: two unmatched", o, p("linux/386"), p("windows/amd64"), false],
    ["ordered: equal", o, p("linux/arm64"), p("linux/arm64"), false],
    ["ordered: unnormalized", o, { os: "linux", architecture: "aarch64" }, p("linux/amd64"), true],
    ["ordered: same matcher", o, { os: "linux", architecture: "aarch64" }, p("linux/arm64"), false],
    ["only: v2 before v1", v3, p("linux/amd64/v2"), p("linux/amd64"), true],
    ["only: v1 before 386", v3, p("linux/amd64"), p("linux/386"), true],
    ["only: 386 after v1", v3, p("linux/386"), p("linux/amd64"), false],
    ["only: v4 unmatched", v3, p("linux/amd64/v4"), p("linux/386"), false],
    ["ordered: more features first", features, p("linux(+a)/amd64"), p("linux/amd64"), true],
    ["ordered: fewer features later", features, p("linux/amd64"), p("linux(+a)/amd64"), false],
    ["ordered: stripped features", features, p("linux(+c)/amd64"), p("windows/amd64"), true],
    [
      "ordered: stripped features, reversed",
      features,
      p("windows/amd64"),
      p("linux(+c)/amd64"),
      false,
    ],
    ["any: matched first", anyLinux, p("linux/amd64"), p("linux(+a)/amd64"), true],
    ["any: unmatched later", anyLinux, p("linux(+a)/amd64"), p("linux/amd64"), false],
    [
      "any: both matched",
      any(p("linux/amd64"), p("linux/arm64")),
      p("linux/arm64"),
      p("linux/amd64"),
      false,
    ],
    ["all: never", all, p("linux/amd64"), p("linux/arm64"), false],
    ["newMatcher: never", newMatcher(p("linux/amd64")), p("linux/amd64"), p("linux/arm64"), false],
  ];
  for (const [name, m, a, b, expected] of cases) {
    await t.step(name, () => assert.equal(m.less(a, b), expected));
  }
});

Deno.test("matchers of no platforms", () => {
  assert.ok(!ordered().match(plat("linux", "amd64")));
  assert.ok(!any().match(plat("linux", "amd64")));
  assert.ok(all.match(plat("anything", "at-all")));
});

// ---------------------------------------------------------------------------------------------
// Windows OS versions (TestMatchComparerMatch_ABICheckWCOW, Test_PlatformCompat,
// TestFallbackOnOSVersion)

Deno.test("newMatcher on windows checks the OS version", async (t) => {
  const noVersion = plat("windows", "amd64");
  const ws2019 = plat("windows", "amd64", "", "10.0.17763");
  const ws2022 = plat("windows", "amd64", "", "10.0.20348");
  const win11 = plat("windows", "amd64", "", "10.0.22621");
  const cases: [Platform, Platform, boolean][] = [
    [ws2019, ws2019, true],
    [ws2019, ws2022, false],
    [ws2022, ws2019, false],
    [ws2022, ws2022, true],
    [win11, ws2019, false],
    [win11, ws2022, true],
    [noVersion, ws2019, true],
    [noVersion, noVersion, true],
    [noVersion, win11, true],
    // TestFallbackOnOSVersion
    [plat("windows", "amd64", "", "99.99.99.99"), noVersion, true],
    // An unparsable host version matches any.
    [plat("windows", "amd64", "", "10.0"), ws2022, true],
    [plat("windows", "amd64", "", "10.0.99999"), ws2022, true],
  ];
  for (const [hostPlat, test, expected] of cases) {
    const name = `${formatPlatformAll(hostPlat)} runs ${formatPlatformAll(test)}: ${expected}`;
    await t.step(name, () => assert.equal(newMatcher(hostPlat).match(test), expected));
  }

  const builds: [number, number, boolean][] = [
    [17763, 17763, true],
    [17763, 20348, false],
    [20348, 17763, false],
    [20348, 20348, true],
    [22621, 17763, false],
    [22621, 20348, true],
    [25398, 17763, false],
    [25398, 20348, true],
    [26100, 20348, true],
    [20348, 26100, false],
    [20348, 22621, false],
    [26100, 22621, true],
    [26200, 20348, true],
    [26200, 26200, true],
    [26100, 26200, false],
  ];
  for (const [hostBuild, ctrBuild, expected] of builds) {
    await t.step(`host ${hostBuild} runs ${ctrBuild}: ${expected}`, () => {
      const m = newMatcher(plat("windows", "amd64", "", `10.0.${hostBuild}`));
      assert.equal(m.match(plat("windows", "amd64", "", `10.0.${ctrBuild}.1`)), expected);
      assert.ok(!m.match(plat("windows", "amd64", "", `10.1.${ctrBuild}`)), "minor differs");
    });
  }

  await t.step("only the os 'windows' as given checks versions", () => {
    assert.ok(newMatcher(plat("Windows", "amd64", "", "10.0.17763")).match(ws2022));
  });
  await t.step("win32k is ignored on windows", () => {
    const w = plat("windows", "amd64", "", "", ["win32k"]);
    assert.ok(newMatcher(noVersion).match(w));
    assert.ok(
      !newMatcher(plat("windows", "amd64", "", "", ["x"])).match(
        plat("windows", "amd64", "", "", ["win32k", "y"]),
      ),
    );
    assert.ok(
      !newMatcher(plat("linux", "amd64")).match(plat("linux", "amd64", "", "", ["win32k"])),
    );
  });
  await t.step("OS features must be a subset", () => {
    const m = newMatcher(plat("linux", "amd64", "", "", ["c", "a", "b"]));
    assert.ok(m.match(plat("linux", "amd64", "", "", ["b", "a"])));
    assert.ok(m.match(plat("linux", "amd64", "", "", ["a", "a", "c"])));
    assert.ok(!m.match(plat("linux", "amd64", "", "", ["a", "d"])));
    assert.ok(!m.match(plat("linux", "amd64", "", "", ["0"])));
    assert.ok(!newMatcher(plat("linux", "amd64")).match(plat("linux", "amd64", "", "", ["a"])));
  });
});

// ---------------------------------------------------------------------------------------------
// The host (TestDefault, TestCPUVariant, TestGetCPUVariantFromArch)

Deno.test("hostPlatform", async (t) => {
  await t.step("os and architecture in Go's names", () => {
    assert.equal(host.os, Deno.build.os);
    const arch = ({ x86_64: "amd64", aarch64: "arm64" } as Record<string, string>)[
      Deno.build.arch
    ];
    assert.equal(host.architecture, arch ?? Deno.build.arch);
  });
  await t.step("variant only on ARM", () => {
    if (host.architecture === "arm64" || host.architecture === "arm") {
      assert.ok(["v8", "v7", "v6", "v5", "v4", "v3", "unknown", undefined].includes(host.variant));
    } else {
      assert.equal(host.variant, undefined);
    }
    if (host.os !== "windows") assert.equal(host["os.version"], undefined);
    assert.equal(host["os.features"], undefined);
  });
  await t.step("a new object each time", () => {
    const a = hostPlatform();
    a.os = "changed";
    assert.deepEqual(hostPlatform(), host);
  });
  await t.step("formats and parses back", () => {
    assert.deepEqual(parsePlatform(formatPlatformAll(host)), host);
  });
  await t.step("defaultStrict matches the host only", () => {
    const m = defaultStrict();
    assert.ok(m.match(host));
    if (host.architecture === "amd64") {
      assert.ok(!m.match({ ...host, architecture: "386" }));
      assert.ok(m.match({ ...host, architecture: "x86_64" }));
    }
    assert.ok(!m.match({ ...host, os: host.os === "linux" ? "windows" : "linux" }));
  });
  await t.step("defaultMatcher is Only(host) on linux", () => {
    const m = defaultMatcher();
    assert.ok(m.match(host));
    if (host.os !== "linux") return;
    assert.deepEqual(
      sortedSpecifiers(sortInput, m),
      sortedSpecifiers(sortInput, only(host)),
    );
    if (host.architecture === "amd64") {
      assert.deepEqual(sortedSpecifiers(sortInput, m).slice(0, 2), ["linux/amd64", "linux/386"]);
      assert.deepEqual(
        sortedSpecifiers(sortInput, defaultStrict()),
        ["linux/amd64", ...sortInput.filter((s) => s !== "linux/amd64")],
      );
    }
  });
});

Deno.test("cpuVariantFromCpuinfo", async (t) => {
  // TestGetCPUVariantFromArch: no "CPU architecture" line, so the machine name decides.
  const fromArch: [string, string][] = [
    ["aarch64", "v8"],
    ["Armv8", "v8"],
    ["armv7", "v7"],
    ["armv7l", "v7"],
    ["armv6", "v6"],
    ["armv5", "v5"],
    ["armv4", "v4"],
    ["armv3", "v3"],
    ["armv9", "unknown"],
    ["armxxxx", ""],
    ["armv", ""],
    ["x86_64", ""],
  ];
  for (const [machine, expected] of fromArch) {
    await t.step(`machine ${machine}`, () => {
      assert.equal(cpuVariantFromCpuinfo("processor\t: 0\n", machine, "arm64"), expected);
    });
  }
  const piModel = "model name\t: ARMv6-compatible processor rev 7 (v6l)\n";
  const fromCpuinfo: [string, string, string, string][] = [
    ["arm64", "processor\t: 0\nCPU architecture: 8\n", "armv7l", "v8"],
    ["arm64", "CPU architecture: AArch64\n", "aarch64", "v8"],
    ["arm", "CPU architecture: 7\n", "aarch64", "v7"],
    ["arm", "cpu ARCHITECTURE  :  7M\r\n", "aarch64", "v7"],
    ["arm", "CPU architecture: ?(12)\n", "aarch64", "v7"],
    ["arm", "CPU architecture: 6TEJ\n", "aarch64", "v6"],
    ["arm", "CPU architecture: 5TEJ\n", "aarch64", "v5"],
    ["arm", "CPU architecture: 4T\n", "aarch64", "v4"],
    ["arm", "CPU architecture: 3\n", "aarch64", "v3"],
    ["arm", "CPU architecture: 9\n", "aarch64", "unknown"],
    ["arm", piModel + "CPU architecture: 7\n", "armv7l", "v6"],
    ["arm64", piModel + "CPU architecture: 7\n", "armv7l", "v7"],
    ["arm", piModel + "CPU architecture: 8\n", "armv7l", "v8"],
    ["arm", "CPU architecture: 8\nCPU architecture: 7\n", "armv7l", "v8"],
  ];
  for (const [goarch, cpuinfo, machine, expected] of fromCpuinfo) {
    await t.step(`${goarch} ${JSON.stringify(cpuinfo)}`, () => {
      assert.equal(cpuVariantFromCpuinfo(cpuinfo, machine, goarch), expected);
    });
  }
});
