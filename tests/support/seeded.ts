/** Seeded randomness and oracle tables shared by the randomized tests. */

/** mulberry32: a small, fast, seeded PRNG returning floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Splits a table of 6-hex-digit hashes (whitespace ignored), as the oracle tables store them. */
export function hashes(table: string): string[] {
  const packed = table.replace(/\s+/g, "");
  const out: string[] = [];
  for (let i = 0; i < packed.length; i += 6) out.push(packed.slice(i, i + 6));
  return out;
}
