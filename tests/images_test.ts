// Tests for lib/cli/images.ts: resolving what a user typed to an export request, and the image
// listing, on testdata/store (read-only) or a scratch copy of it where a test damages content.
import assert from "node:assert/strict";
import type { Descriptor } from "../lib/oci/documents.ts";
import { DigestMismatchError, InvalidArgumentError, NotFoundError } from "../lib/oci/errors.ts";
import { type ImageSummary, listImageSummaries, resolveImage } from "../lib/cli/images.ts";
import { openLayout } from "../lib/stores/layout.ts";
import {
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER,
  OCI_MANIFEST,
} from "../lib/oci/media_types.ts";
import { hostPlatform, only, parsePlatform, type PlatformMatcher } from "../lib/oci/platforms.ts";
import { ScratchStore } from "./support/scratch_store.ts";

const STORE = new URL("../testdata/store/", import.meta.url).pathname;
const store = await openLayout(STORE);

const IMAGE_NAME = "io.containerd.image.name";
const REF_NAME = "org.opencontainers.image.ref.name";

/** Blobs of testdata/store, by what they are. */
const HELLO = "sha256:fa5e103a9036d0e4c6cfdc69b6c8a9c4412bea050dabb55f09c2262754d025d9";
const HELLO_CONFIG = "sha256:a73f7ca6683d84f1eab5c1137eb5dcbce711ff81058b8c88706b7ddd98385e3d";
const BASE_LAYER = "sha256:a1920b7a6790f4fa856824ff02128decd120eb77ec1188592117dfb05f4c0876";
const HELLO_DOCKER = "sha256:acba9b8c5ee4675d855d7c8a028990a3b1de14eb75b1bc6deca511a1a2867a37";
const MULTI = "sha256:aa679fcec32448a5f18ac9f0899d610ebed7deaebc1f71cab66c1310a70de310";
const MULTI_AMD64 = "sha256:ffb4d8bc721dde04f3719344f7b87e29c228703e4e9548e9b65c0c9f233f3840";
const MULTI_386 = "sha256:298a900710e515a003c40f2d4c5f75ddfa14c11ef6b3be545d7ac7523d5a866a";
const ATTESTATION = "sha256:f0023b7bf98018175648d75381df0725b86fe7d4e86c85509232a295dcb97006";
const LIST = "sha256:04e8784aeb4e1905f8b887d4ae60b6e80f16f41883c2ae3c7c3a559b885f37ef";
const LIST_386 = "sha256:eceb6f5518cc1455817870c685e01df021f2915c71944edad2353d719e16df50";
const IN_TOTO = "application/vnd.in-toto+json";
const MISSING = "sha256:" + "0".repeat(64);

/** hello's entry in the store's index.json, as the exact name resolves it. */
function helloTarget(name: string, ref: string): Descriptor {
  return {
    mediaType: OCI_MANIFEST,
    digest: HELLO,
    size: 695,
    annotations: { [IMAGE_NAME]: name, [REF_NAME]: ref },
  };
}

/** [typed, the request expected]. */
const RESOLVE_CASES: [string, Awaited<ReturnType<typeof resolveImage>>][] = [
  // An exact name.
  ["docker.io/library/hello:oci", {
    descriptor: helloTarget("docker.io/library/hello:oci", "oci"),
    names: ["docker.io/library/hello:oci"],
  }],
  ["localhost:5000/team/hello:v1", {
    descriptor: helloTarget("localhost:5000/team/hello:v1", "v1"),
    names: ["localhost:5000/team/hello:v1"],
  }],
  // Short names, exported under their normalized form.
  ["hello:oci", {
    descriptor: helloTarget("docker.io/library/hello:oci", "oci"),
    names: ["docker.io/library/hello:oci"],
  }],
  ["hello", {
    descriptor: helloTarget("docker.io/library/hello:latest", "latest"),
    names: ["docker.io/library/hello:latest"],
  }],
  ["library/hello:docker", {
    descriptor: {
      mediaType: DOCKER_MANIFEST,
      digest: HELLO_DOCKER,
      size: 727,
      annotations: { [IMAGE_NAME]: "docker.io/library/hello:docker" },
    },
    names: ["docker.io/library/hello:docker"],
  }],
  ["docker.io/multi:list", {
    descriptor: {
      mediaType: DOCKER_MANIFEST_LIST,
      digest: LIST,
      size: 1767,
      annotations: { [IMAGE_NAME]: "docker.io/library/multi:list" },
    },
    names: ["docker.io/library/multi:list"],
  }],
  // name@digest: the digest's descriptor (no annotations), under the name as typed.
  [`docker.io/library/hello:oci@${HELLO}`, {
    descriptor: { mediaType: OCI_MANIFEST, digest: HELLO, size: 695 },
    names: [`docker.io/library/hello:oci@${HELLO}`],
  }],
  [`hello@${HELLO}`, {
    descriptor: { mediaType: OCI_MANIFEST, digest: HELLO, size: 695 },
    names: [`hello@${HELLO}`],
  }],
  // The digest wins over the name: this is the multi index, whatever hello:oci points to.
  [`hello:oci@${MULTI}`, {
    descriptor: { mediaType: OCI_INDEX, digest: MULTI, size: 2201 },
    names: [`hello:oci@${MULTI}`],
  }],
  // A child manifest, not in index.json: its media type is read from the blob.
  [`example.com/multi@${MULTI_386}`, {
    descriptor: { mediaType: OCI_MANIFEST, digest: MULTI_386, size: 547 },
    names: [`example.com/multi@${MULTI_386}`],
  }],
  // A bare digest of a store entry: the store's media type and size, unnamed.
  [HELLO, { descriptor: { mediaType: OCI_MANIFEST, digest: HELLO, size: 695 } }],
  [HELLO_DOCKER, { descriptor: { mediaType: DOCKER_MANIFEST, digest: HELLO_DOCKER, size: 727 } }],
  [MULTI, { descriptor: { mediaType: OCI_INDEX, digest: MULTI, size: 2201 } }],
  [LIST, { descriptor: { mediaType: DOCKER_MANIFEST_LIST, digest: LIST, size: 1767 } }],
  // A bare digest of a blob index.json does not name: sniffed from the blob.
  [MULTI_386, { descriptor: { mediaType: OCI_MANIFEST, digest: MULTI_386, size: 547 } }],
  [ATTESTATION, { descriptor: { mediaType: OCI_MANIFEST, digest: ATTESTATION, size: 455 } }],
  [LIST_386, { descriptor: { mediaType: DOCKER_MANIFEST, digest: LIST_386, size: 727 } }],
];

Deno.test("resolveImage resolves names, short names, name@digest and bare digests", async () => {
  for (const [typed, expected] of RESOLVE_CASES) {
    assert.deepEqual(await resolveImage(store, typed), expected, typed);
  }
});

/** [typed, the error class expected, a pattern of its message]. */
const REJECT_CASES: [string, typeof NotFoundError | typeof InvalidArgumentError, RegExp][] = [
  // Nothing by that name.
  ["example.com/unknown:1", NotFoundError, /^Image example\.com\/unknown:1 not found/],
  ["example.com/multi", NotFoundError, /not found/], // :latest is not there
  ["docker.io/library/hello:missing", NotFoundError, /not found/],
  ["", NotFoundError, /not found/],
  // Names that are not valid references are not found either.
  ["Hello:oci", NotFoundError, /^Image Hello:oci not found/],
  ["hello::oci", NotFoundError, /not found/],
  ["sha256:abc", NotFoundError, /not found/],
  ["SHA256:" + HELLO.slice(7), NotFoundError, /not found/],
  [`@${HELLO}`, NotFoundError, /not found/],
  // name@digest with a name a user could not load.
  [`Hello@${HELLO}`, InvalidArgumentError, /repository name must be lowercase/],
  // A digest of nothing in the store.
  [MISSING, NotFoundError, /not found/],
  [`hello@${MISSING}`, NotFoundError, /not found/],
  // A digest of a blob that is not a manifest or index.
  [BASE_LAYER, InvalidArgumentError, /is not a manifest or index \(not JSON\)/],
  [`hello@${BASE_LAYER}`, InvalidArgumentError, /not a manifest or index/],
];

Deno.test("resolveImage refuses what it cannot resolve", async () => {
  for (const [typed, errorClass, message] of REJECT_CASES) {
    const error = await resolveImage(store, typed).then(
      (request) => assert.fail(`${typed} resolved to ${JSON.stringify(request)}`),
      (error: unknown) => error,
    );
    assert(error instanceof errorClass, `${typed}: ${error}`);
    assert.match(error.message, message, typed);
  }
});

Deno.test("resolveImage takes a listed digest's media type from the store, not the blob", async () => {
  await using scratch = await ScratchStore.copy();
  // The store says the hello manifest is a Docker manifest; the blob says OCI.
  await scratch.setImages([
    { mediaType: DOCKER_MANIFEST, digest: HELLO, size: 695, annotations: { [IMAGE_NAME]: "x:1" } },
  ]);
  const request = await resolveImage(await openLayout(scratch.dir), HELLO);
  assert.deepEqual(request, {
    descriptor: { mediaType: DOCKER_MANIFEST, digest: HELLO, size: 695 },
  });
});

Deno.test("resolveImage sniffs documents without a mediaType field by their fields", async () => {
  await using scratch = await ScratchStore.copy();
  const manifest = await scratch.put(
    "",
    JSON.stringify({
      schemaVersion: 2,
      config: { mediaType: OCI_CONFIG, digest: HELLO_CONFIG, size: 379 },
      layers: [],
    }),
  );
  const index = await scratch.put("", JSON.stringify({ schemaVersion: 2, manifests: [] }));
  const statement = await scratch.put("", JSON.stringify({ _type: "statement" }));
  const layerType = await scratch.put("", JSON.stringify({ mediaType: OCI_LAYER }));
  const notObject = await scratch.put("", "[1, 2, 3]");
  const nullJson = await scratch.put("", "null");
  const layout = await openLayout(scratch.dir);
  for (const [blob, mediaType] of [[manifest, OCI_MANIFEST], [index, OCI_INDEX]] as const) {
    const { digest, size } = blob;
    assert.deepEqual(await resolveImage(layout, digest), {
      descriptor: { mediaType, digest, size },
    });
  }
  for (const [blob, shown] of [[statement, '""'], [layerType, `"${OCI_LAYER}"`]] as const) {
    await assert.rejects(
      resolveImage(layout, blob.digest),
      (error: unknown) =>
        error instanceof InvalidArgumentError &&
        error.message === `${blob.digest} is not a manifest or index (media type ${shown})`,
    );
  }
  for (const blob of [notObject, nullJson]) {
    await assert.rejects(resolveImage(layout, blob.digest), InvalidArgumentError);
  }
});

Deno.test("resolveImage refuses a digest too large to be a document, before reading it", async () => {
  await using scratch = await ScratchStore.copy();
  const big = await scratch.put(IN_TOTO, new Uint8Array(4 * 1024 * 1024 + 1));
  const layout = await openLayout(scratch.dir);
  await assert.rejects(
    resolveImage(layout, `example.com/big@${big.digest}`),
    (error: unknown) =>
      error instanceof InvalidArgumentError &&
      error.message ===
        `example.com/big@${big.digest} is 4194305 bytes: too large to be a manifest or index`,
  );
});

Deno.test("resolveImage verifies a sniffed blob before parsing it", async () => {
  await using scratch = await ScratchStore.copy();
  // Same length, different bytes: the digest no longer matches.
  const bytes = await Deno.readFile(scratch.path(MULTI_386));
  bytes[bytes.indexOf("3".charCodeAt(0))] = "4".charCodeAt(0);
  await Deno.writeFile(scratch.path(MULTI_386), bytes);
  await assert.rejects(resolveImage(await openLayout(scratch.dir), MULTI_386), DigestMismatchError);
});

Deno.test({
  name: "resolveImage does not take an image config for a manifest",
  // Regression (found by a Go oracle or review; the code once did this): the sniffing in descriptorFor treats any JSON object with an object `config` field as an
  // OCI manifest, and an image config has one (the runtime config: Cmd, Env...), so the digest
  // of hello's config resolves to {mediaType: OCI_MANIFEST, digest: <config>, size: 379} instead
  // of failing with InvalidArgumentError. (`{"config": null}` passes too: typeof null is
  // "object".) Checking for a `layers` array, or for `config` being a descriptor, would fix it.
  async fn() {
    await assert.rejects(resolveImage(store, HELLO_CONFIG), InvalidArgumentError);
    await assert.rejects(resolveImage(store, `hello@${HELLO_CONFIG}`), InvalidArgumentError);
  },
});

// ---------------------------------------------------------------------------------------------
// listImageSummaries

const ALL_LINUX = ["linux/386", "linux/amd64", "linux/arm/v6", "linux/arm/v7", "linux/arm64/v8"];

/** The listing without sizes, which do not depend on the platform. */
const LISTING: Omit<ImageSummary, "size">[] = [
  {
    name: "docker.io/library/hello:oci",
    mediaType: OCI_MANIFEST,
    digest: HELLO,
    platforms: ["linux/amd64"],
  },
  {
    name: "docker.io/library/hello:latest",
    mediaType: OCI_MANIFEST,
    digest: HELLO,
    platforms: ["linux/amd64"],
  },
  {
    name: "localhost:5000/team/hello:v1",
    mediaType: OCI_MANIFEST,
    digest: HELLO,
    platforms: ["linux/amd64"],
  },
  {
    name: "docker.io/library/hello:docker",
    mediaType: DOCKER_MANIFEST,
    digest: HELLO_DOCKER,
    platforms: ["linux/amd64"],
  },
  // The attestation manifest's unknown/unknown is left out.
  { name: "example.com/multi:1.0", mediaType: OCI_INDEX, digest: MULTI, platforms: ALL_LINUX },
  {
    name: "docker.io/library/multi:list",
    mediaType: DOCKER_MANIFEST_LIST,
    digest: LIST,
    platforms: ["linux/386", "linux/amd64", "linux/arm/v7", "linux/arm64/v8", "windows/amd64"],
  },
  {
    name: "example.com/windows:ltsc2022",
    mediaType: DOCKER_MANIFEST,
    digest: "sha256:7d218d656c85c937b1659d69fc0e5271705b4d3a2e40a3f566f83d1c984a5521",
    platforms: ["windows/amd64"],
  },
  // The nested index (no platform) is walked into; the amd64 manifest beside it adds nothing.
  {
    name: "example.com/nested:1",
    mediaType: OCI_INDEX,
    digest: "sha256:bd0ad0f827b69e60f0c43843ca453687a7a634a7a7e319b28571a32c308d687f",
    platforms: ALL_LINUX,
  },
  {
    name: "example.com/restricted:1",
    mediaType: OCI_MANIFEST,
    digest: "sha256:43544fcabdbdf9b681be4282efe0fe9f7333db463903b3f0d2388075ca76f232",
    platforms: ["linux/amd64"],
  },
];

/**
 * Sizes, in listing order, for a platform: the target plus, for an index, the best matching
 * manifest (recursively), plus a manifest's config and layers, from their descriptors (so the
 * Windows image counts its foreign layer, which the store does not hold).
 */
const SIZES: Record<string, number[]> = {
  // hello: 695 + 379 + 4096 + 2560; multi: 2201 + the amd64 manifest (547 + 379 + 4096 + 2560);
  // nested: 440 + that same amd64 manifest, listed beside the nested index and preferred to it.
  "linux/amd64": [7730, 7730, 7730, 4043, 9783, 5810, 1052244, 8022, 7598],
  // No amd64 manifest: nested goes through its index (440 + 2201 + the arm64/v8 manifest).
  "linux/arm64": [7730, 7730, 7730, 4043, 9801, 5833, 1052244, 10241, 7598],
};

function withSizes(sizes: readonly (number | undefined)[]): ImageSummary[] {
  return LISTING.map((summary, i) => ({ ...summary, size: sizes[i] }));
}

for (const [platform, sizes] of Object.entries(SIZES)) {
  Deno.test(`listImageSummaries lists testdata/store for ${platform}`, async () => {
    assert.deepEqual(
      await listImageSummaries(store, only(parsePlatform(platform))),
      withSizes(sizes),
    );
  });
}

const host = hostPlatform();
const hostKey = `${host.os}/${host.architecture}`;

Deno.test({
  name: `listImageSummaries with only(hostPlatform()) (${hostKey})`,
  ignore: !(hostKey in SIZES),
  async fn() {
    assert.deepEqual(await listImageSummaries(store, only(host)), withSizes(SIZES[hostKey]));
  },
});

Deno.test("listImageSummaries leaves out the size when content is missing", async () => {
  await using scratch = await ScratchStore.copy();
  // The amd64 manifest of the multi index, also listed in the nested index.
  await Deno.remove(scratch.path(MULTI_AMD64));
  const layout = await openLayout(scratch.dir);
  const amd64 = only(parsePlatform("linux/amd64"));
  const sizes = [...SIZES["linux/amd64"]] as (number | undefined)[];
  sizes[4] = undefined; // example.com/multi:1.0
  sizes[7] = undefined; // example.com/nested:1
  assert.deepEqual(await listImageSummaries(layout, amd64), withSizes(sizes));
  // Other platforms do not need that manifest.
  const arm64 = only(parsePlatform("linux/arm64"));
  assert.deepEqual(await listImageSummaries(layout, arm64), withSizes(SIZES["linux/arm64"]));
});

Deno.test("listImageSummaries leaves out what damaged content hides", async () => {
  await using scratch = await ScratchStore.copy();
  // Without hello's manifest there is neither a size nor a platform for its three names.
  await Deno.remove(scratch.path(HELLO));
  // A corrupted (same-size) index is as good as missing.
  const bytes = await Deno.readFile(scratch.path(LIST));
  bytes[bytes.length - 2] ^= 0x20;
  await Deno.writeFile(scratch.path(LIST), bytes);
  const matcher: PlatformMatcher = only(parsePlatform("linux/amd64"));
  const summaries = await listImageSummaries(await openLayout(scratch.dir), matcher);
  const expected = withSizes(SIZES["linux/amd64"]);
  for (const i of [0, 1, 2]) expected[i] = { ...expected[i], size: undefined, platforms: [] };
  expected[5] = { ...expected[5], size: undefined, platforms: [] };
  assert.deepEqual(summaries, expected);
});

Deno.test("listImageSummaries counts a missing config but cannot name its platform", async () => {
  await using scratch = await ScratchStore.copy();
  await Deno.remove(scratch.path(HELLO_CONFIG));
  const summaries = await listImageSummaries(
    await openLayout(scratch.dir),
    only(parsePlatform("linux/amd64")),
  );
  // containerd's Image.Size adds up descriptors: only documents it must read can be missing.
  assert.deepEqual(summaries.slice(0, 3).map((s) => [s.size, s.platforms]), [
    [7730, []],
    [7730, []],
    [7730, []],
  ]);
});

Deno.test("listImageSummaries lists an empty store as nothing", async () => {
  await using scratch = await ScratchStore.copy();
  await scratch.setImages([]);
  assert.deepEqual(await listImageSummaries(await openLayout(scratch.dir), only(host)), []);
});
