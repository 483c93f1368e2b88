// Tests for lib/cli/progress.ts: byte and duration formatting, and the progress line driven by an
// injected clock with its output captured.
import assert from "node:assert/strict";
import type { ExportProgress } from "../lib/export/options.ts";
import { formatBytes, formatDuration, ProgressLine } from "../lib/cli/progress.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;

/** The escape sequence that returns to the start of the line and erases it. */
const ERASE = "\r\x1b[K";

/** [bytes, formatted]. */
const BYTES_CASES: [number, string][] = [
  [0, "0 B"],
  [1, "1 B"],
  [1023, "1023 B"],
  [KiB, "1.00 KiB"],
  [KiB + 1, "1.00 KiB"],
  [1536, "1.50 KiB"],
  [9.95 * KiB, "9.95 KiB"],
  [10 * KiB, "10.0 KiB"], // two decimals below 10, one from 10 on
  [12.34 * KiB, "12.3 KiB"],
  [1023 * KiB, "1023.0 KiB"],
  [MiB, "1.00 MiB"],
  [12.3 * MiB, "12.3 MiB"],
  [GiB, "1.00 GiB"],
  [512 * GiB, "512.0 GiB"],
  [TiB, "1.00 TiB"],
  [1024 * TiB, "1024.0 TiB"], // TiB is the largest unit
  [4096 * TiB, "4096.0 TiB"],
];

Deno.test("formatBytes uses binary units, with two decimals below 10 and one above", () => {
  for (const [bytes, expected] of BYTES_CASES) {
    assert.equal(formatBytes(bytes), expected, `formatBytes(${bytes})`);
  }
});

Deno.test({
  name: "formatBytes does not round up to 1024 of a unit or to 10.00",
  // Regression (found by a Go oracle or review; the code once did this): the unit is chosen before rounding, so a value just under a boundary rounds up past it:
  // 1048575 bytes prints "1024.0 KiB" (not "1.00 MiB") and 10239 prints "10.00 KiB" (two
  // decimals, where 10 and over get one).
  fn() {
    assert.equal(formatBytes(MiB - 1), "1.00 MiB");
    assert.equal(formatBytes(GiB - 1), "1.00 GiB");
    assert.equal(formatBytes(10 * KiB - 1), "10.0 KiB");
    assert.equal(formatBytes(10 * MiB - 1), "10.0 MiB");
  },
});

/** [seconds, formatted]. */
const DURATION_CASES: [number, string][] = [
  [0, "0ms"],
  [0.0004, "0ms"],
  [0.0005, "1ms"],
  [0.031, "31ms"],
  [0.999, "999ms"],
  [1, "1.0s"],
  [4.2, "4.2s"],
  [9.94, "9.9s"],
  [10, "10s"],
  [42, "42s"],
  [42.4, "42s"],
  [59.4, "59s"],
  [59.5, "1m00s"], // rounded to whole seconds before splitting into minutes
  [60, "1m00s"],
  [185, "3m05s"],
  [599, "9m59s"],
  [3600, "60m00s"], // no hours
  [Infinity, "--"],
  [-Infinity, "--"],
  [NaN, "--"],
];

Deno.test("formatDuration: milliseconds, tenths below 10 s, seconds, minutes, -- if unknown", () => {
  for (const [seconds, expected] of DURATION_CASES) {
    assert.equal(formatDuration(seconds), expected, `formatDuration(${seconds})`);
  }
});

Deno.test({
  name: "formatDuration does not round up to 1000ms or 10.0s",
  // Regression (found by a Go oracle or review; the code once did this): like formatBytes, the form is chosen before rounding: 0.9996 s prints "1000ms" (not
  // "1.0s") and 9.96 s prints "10.0s" (not "10s").
  fn() {
    assert.equal(formatDuration(0.9996), "1.0s");
    assert.equal(formatDuration(9.96), "10s");
  },
});

/** A progress line on a fake clock, with everything it writes captured. */
function harness(start = 1000) {
  const clock = { now: start };
  const output: string[] = [];
  const line = new ProgressLine((text) => output.push(text), { now: () => clock.now });
  return { clock, output, line };
}

function progress(fields: Partial<ExportProgress> = {}): ExportProgress {
  return { bytes: 0, totalBytes: MiB, images: 1, blobs: 4, ...fields };
}

const DIGEST = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

Deno.test("ProgressLine redraws at most every 100 ms, always on the first update", () => {
  const { clock, output, line } = harness();
  /** [milliseconds after the start, whether this update redraws]. */
  const steps: [number, boolean][] = [
    [0, true],
    [1, false],
    [99, false],
    [100, true],
    [150, false],
    [199, false],
    [200, true],
    [1000, true],
    [1099.9, false],
    [1100, true],
  ];
  for (const [i, [at, redraws]] of steps.entries()) {
    clock.now = 1000 + at;
    const before = output.length;
    line.update(progress({ bytes: i }));
    assert.equal(output.length - before, redraws ? 1 : 0, `update at +${at} ms`);
  }
  for (const text of output) assert(text.startsWith(ERASE), JSON.stringify(text));
});

Deno.test("ProgressLine shows bytes of total, percent, rate, time left and the blob", () => {
  const { clock, output, line } = harness();
  clock.now = 3000; // 2 s in
  line.update(progress({ bytes: 512 * KiB, totalBytes: MiB, blob: DIGEST }));
  assert.deepEqual(output, [
    `${ERASE}512.0 KiB / 1.00 MiB 50%  256.0 KiB/s  ETA 2.0s  sha256:0123456789ab`,
  ]);
});

/** [ms since start, progress, the line drawn (after the erase code)]. */
const LINE_CASES: [number, Partial<ExportProgress>, string][] = [
  // No time has passed: no rate, so no estimate.
  [0, { bytes: 0 }, "0 B / 1.00 MiB 0%  0 B/s  ETA --"],
  [0, { bytes: 100 }, "100 B / 1.00 MiB 0%  0 B/s  ETA --"],
  // Time has passed but nothing was written: no estimate either.
  [5000, { bytes: 0 }, "0 B / 1.00 MiB 0%  0 B/s  ETA --"],
  // The percentage is rounded down: 99.9% is 99%.
  [1000, { bytes: 999, totalBytes: 1000 }, "999 B / 1000 B 99%  999 B/s  ETA 1ms"],
  [500, { bytes: 1000, totalBytes: 1000 }, "1000 B / 1000 B 100%  1.95 KiB/s  ETA 0ms"],
  // An empty archive is 0%, not NaN%.
  [1000, { bytes: 0, totalBytes: 0 }, "0 B / 0 B 0%  0 B/s  ETA --"],
  // Minutes left.
  [
    10_000,
    { bytes: 10 * MiB, totalBytes: 200 * MiB },
    "10.0 MiB / 200.0 MiB 5%  1.00 MiB/s  ETA 3m10s",
  ],
  // The digest is cut to its first 12 hex digits; no blob, no trailing field.
  [
    2000,
    { bytes: 2 * KiB, blob: DIGEST },
    "2.00 KiB / 1.00 MiB 0%  1.00 KiB/s  ETA 17m02s  sha256:0123456789ab",
  ],
  [2000, { bytes: 2 * KiB, blob: "" }, "2.00 KiB / 1.00 MiB 0%  1.00 KiB/s  ETA 17m02s"],
  [
    2000,
    { bytes: 2 * KiB, blob: "sha256:abc" },
    "2.00 KiB / 1.00 MiB 0%  1.00 KiB/s  ETA 17m02s  sha256:abc",
  ],
];

Deno.test("ProgressLine formats each field of the line", () => {
  for (const [elapsed, fields, expected] of LINE_CASES) {
    const { clock, output, line } = harness();
    clock.now += elapsed;
    line.update(progress(fields));
    assert.deepEqual(output, [ERASE + expected], JSON.stringify({ elapsed, fields }));
  }
});

Deno.test("ProgressLine measures the rate from its creation, not from the last redraw", () => {
  const { clock, output, line } = harness(0);
  clock.now = 1000;
  line.update(progress({ bytes: 100 * KiB }));
  clock.now = 4000;
  line.update(progress({ bytes: 400 * KiB }));
  assert.equal(output.length, 2);
  assert.equal(output[1], `${ERASE}400.0 KiB / 1.00 MiB 39%  100.0 KiB/s  ETA 6.2s`);
});

/** [progress, elapsed ms, summary line (after the erase code, before the newline)]. */
const SUMMARY_CASES: [Partial<ExportProgress>, number, string][] = [
  [{ images: 1, blobs: 1, bytes: 512 }, 31, "Exported 1 image, 1 blob, 512 B in 31ms"],
  [{ images: 0, blobs: 0, bytes: 1024 }, 2500, "Exported 0 images, 0 blobs, 1.00 KiB in 2.5s"],
  [
    { images: 2, blobs: 11, bytes: 3 * MiB },
    185_000,
    "Exported 2 images, 11 blobs, 3.00 MiB in 3m05s",
  ],
  [{ images: 1, blobs: 2, bytes: 0 }, 0, "Exported 1 image, 2 blobs, 0 B in 0ms"],
];

Deno.test("ProgressLine.finish prints a summary with plurals and a newline", () => {
  for (const [fields, elapsed, expected] of SUMMARY_CASES) {
    const { clock, output, line } = harness();
    line.update(progress(fields));
    clock.now += elapsed;
    line.finish();
    assert.equal(output.length, 2);
    assert.equal(output[1], `${ERASE}${expected}\n`, JSON.stringify(fields));
  }
});

Deno.test("ProgressLine.finish reports the latest progress, even one not yet drawn", () => {
  const { clock, output, line } = harness();
  line.update(progress({ bytes: 1, images: 1, blobs: 1 }));
  clock.now += 50;
  line.update(progress({ bytes: 2 * KiB, images: 3, blobs: 7 })); // within 100 ms: not drawn
  assert.equal(output.length, 1);
  clock.now += 950;
  line.finish();
  assert.deepEqual(output.slice(1), [`${ERASE}Exported 3 images, 7 blobs, 2.00 KiB in 1.0s\n`]);
});

Deno.test("ProgressLine.finish and clear write nothing before any update", () => {
  const { output, line } = harness();
  line.finish();
  line.clear();
  assert.deepEqual(output, []);
});

Deno.test("ProgressLine.clear erases the line once something was drawn", () => {
  const { output, line } = harness();
  line.update(progress());
  line.clear();
  assert.equal(output.length, 2);
  assert.equal(output[1], ERASE);
});

Deno.test("ProgressLine uses performance.now() when no clock is given", () => {
  const output: string[] = [];
  const line = new ProgressLine((text) => output.push(text));
  line.update(progress({ bytes: 0 }));
  line.finish();
  assert.equal(output.length, 2);
  assert(output[1].startsWith(ERASE));
  assert.match(output[1].slice(ERASE.length), /^Exported 1 image, 4 blobs, 0 B in \S+\n$/);
});
