/**
 * Micro-benchmarks of the digest stream (`deno bench bench/`): hashing alone, and a 64 MiB blob
 * exported through the whole stream (read-ahead, hash, tar framing) from memory, to show what the
 * stream costs over the hash itself.
 */
import { Digester } from "../lib/digest.ts";
import { exportArchive } from "../lib/exporter.ts";
import type { ContentProvider } from "../lib/content.ts";
import type { Descriptor } from "../lib/documents.ts";
import { createHash } from "node:crypto";

const MiB = 1024 * 1024;
const blob = new Uint8Array(64 * MiB);
for (let o = 0; o < blob.length; o += 65536) crypto.getRandomValues(blob.subarray(o, o + 65536));

function descriptorOf(bytes: Uint8Array, mediaType: string): Descriptor {
  return {
    mediaType,
    digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}`,
    size: bytes.length,
  };
}
const encode = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const layer = descriptorOf(blob, "application/vnd.oci.image.layer.v1.tar");
const configBytes = encode({ architecture: "amd64", os: "linux" });
const config = descriptorOf(configBytes, "application/vnd.oci.image.config.v1+json");
const manifestBytes = encode({ schemaVersion: 2, config, layers: [layer] });
const manifest = descriptorOf(manifestBytes, "application/vnd.oci.image.manifest.v1+json");
const blobs = new Map([[layer.digest, blob], [config.digest, configBytes], [
  manifest.digest,
  manifestBytes,
]]);

/** An in-memory provider serving byte streams, as a filesystem one does. */
const memory: ContentProvider = {
  stat: (d) => Promise.resolve({ size: blobs.get(d.digest)!.length }),
  open(d) {
    const bytes = blobs.get(d.digest)!;
    let offset = 0;
    const stream = new ReadableStream({
      type: "bytes",
      autoAllocateChunkSize: 65536,
      pull(controller) {
        const view = controller.byobRequest!.view! as Uint8Array;
        const n = Math.min(view.length, bytes.length - offset);
        if (n === 0) {
          controller.close();
          controller.byobRequest!.respond(0);
          return;
        }
        view.set(bytes.subarray(offset, offset + n));
        offset += n;
        controller.byobRequest!.respond(n);
      },
    });
    return Promise.resolve({ size: bytes.length, stream });
  },
};

Deno.bench("sha256 of 64 MiB in 1 MiB updates", { group: "digest", baseline: true }, () => {
  const digester = new Digester("sha256");
  for (let o = 0; o < blob.length; o += MiB) digester.update(blob.subarray(o, o + MiB));
  digester.digest();
});

Deno.bench(
  "export stream of a 64 MiB blob (hash + copy + framing)",
  { group: "digest" },
  async () => {
    const reader = exportArchive(memory, { manifests: [{ descriptor: manifest }] }).getReader({
      mode: "byob",
    });
    let buffer = new ArrayBuffer(MiB);
    while (true) {
      const { value, done } = await reader.read(new Uint8Array(buffer));
      if (done) break;
      buffer = value.buffer as ArrayBuffer;
    }
  },
);
