/**
 * Micro-benchmarks of the digest stream (`deno bench bench/`): hashing alone, and a 64 MiB blob
 * exported through the whole stream (hash, tar framing) from memory, both ways the exporter reads
 * blobs: through the provider's stream (read ahead, copied out) and through its `read()` (straight
 * into the consumer's buffer), to show what the stream costs over the hash itself.
 */
import { Digester } from "../lib/oci/digest.ts";
import { exportArchive } from "../lib/export/exporter.ts";
import type { ContentProvider } from "../lib/stores/content.ts";
import type { Descriptor } from "../lib/oci/documents.ts";
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

/** The same blobs, also offering `read()`, as the filesystem store does. */
const direct: ContentProvider = {
  stat: memory.stat,
  async open(d) {
    const opened = await memory.open(d);
    const bytes = blobs.get(d.digest)!;
    let offset = 0;
    const read = (buffer: Uint8Array) => {
      const n = Math.min(buffer.length, bytes.length - offset);
      buffer.set(bytes.subarray(offset, offset + n));
      offset += n;
      return Promise.resolve(n === 0 ? null : n);
    };
    return { ...opened, read };
  },
};

async function drain(provider: ContentProvider, bufferSize: number): Promise<void> {
  const reader = exportArchive(provider, { manifests: [{ descriptor: manifest }] }).getReader({
    mode: "byob",
  });
  let buffer = new ArrayBuffer(bufferSize);
  while (true) {
    const { value, done } = await reader.read(new Uint8Array(buffer));
    if (done) break;
    buffer = value.buffer as ArrayBuffer;
  }
}

Deno.bench("sha256 of 64 MiB in 1 MiB updates", { group: "digest", baseline: true }, () => {
  const digester = new Digester("sha256");
  for (let o = 0; o < blob.length; o += MiB) digester.update(blob.subarray(o, o + MiB));
  digester.digest();
});

// deno bench awaits only async functions: a plain arrow returning a promise would start the next
// iteration at once, and thousands of exports would pile up.
Deno.bench(
  "export stream of a 64 MiB blob, provider stream (hash + copy + framing)",
  { group: "digest" },
  async () => await drain(memory, MiB),
);

Deno.bench(
  "export stream of a 64 MiB blob, provider read() (hash + framing)",
  { group: "digest" },
  async () => await drain(direct, 8 * MiB),
);
