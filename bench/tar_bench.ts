/** Micro-benchmarks of the tar header encoder (`deno bench bench/`). */
import { encodeHeader, encodeHeaderInto, headerLength } from "../lib/export/tar.ts";

const sha256 = {
  name: `blobs/sha256/${"a".repeat(64)}`,
  mode: 0o444,
  size: 123456,
  typeflag: "0" as const,
};
const sha512 = {
  name: `blobs/sha512/${"b".repeat(128)}`,
  mode: 0o444,
  size: 123456,
  typeflag: "0" as const,
};
const huge = { ...sha256, size: 10 * 1024 ** 3 };
const target = new Uint8Array(4096);

Deno.bench("encodeHeader: USTAR (sha256 blob)", { group: "tar", baseline: true }, () => {
  encodeHeader(sha256);
});
Deno.bench("encodeHeaderInto: USTAR into a reused buffer", { group: "tar" }, () => {
  encodeHeaderInto(sha256, target, 0);
});
Deno.bench("encodeHeader: PAX path (sha512 blob)", { group: "tar" }, () => {
  encodeHeader(sha512);
});
Deno.bench("encodeHeader: PAX size (10 GiB blob)", { group: "tar" }, () => {
  encodeHeader(huge);
});
Deno.bench("headerLength", { group: "tar" }, () => {
  headerLength(sha512);
});
