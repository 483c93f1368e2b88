/**
 * Reading a small registry answer (a manifest, a token, an error) whole, with a cap: the one loop
 * the registry source's readers share.
 *
 * @module
 */

/** What {@linkcode readAtMost} read. */
export interface CappedBody {
  /** The bytes read: all of the body, or a little more than `limit` when it was longer. */
  bytes: Uint8Array;
  /** The body was longer than `limit`; the rest was not read. */
  over: boolean;
}

/** Reads a body until its end or until more than `limit` bytes came, then cancels the rest. */
export async function readAtMost(
  body: ReadableStream<Uint8Array>,
  limit: number,
): Promise<CappedBody> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (total <= limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      total += value.length;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return { bytes, over: total > limit };
}
