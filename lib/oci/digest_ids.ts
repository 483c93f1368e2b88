/**
 * Digests numbered compactly: each digest seen gets an id, counting from 0, and is kept as the
 * bytes of its hash (32 for sha256, where the string `sha256:<hex>` takes about 90 bytes of heap
 * and an entry in a Map some 30 more). What grows with the number of digests lives in a few typed
 * arrays, which the garbage collector does not walk.
 *
 * @module
 */

/** The digest algorithms, in the order their names sort, with their hash's length in bytes. */
const ALGORITHMS = ["sha256", "sha384", "sha512"] as const;
const HASH_BYTES = [32, 48, 64];

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** A copy of a typed array with room for at least `needed` elements, or the array if it has. */
export function grow<T extends Uint8Array | Uint16Array | Uint32Array | Float64Array>(
  array: T,
  needed: number,
): T {
  if (needed <= array.length) return array;
  const next = new (array.constructor as new (length: number) => T)(
    Math.max(needed, array.length * 2),
  );
  next.set(array);
  return next;
}

/**
 * Ids for digests. Digests must be valid (`parseDigest`) before they are given to it: a sha256,
 * sha384 or sha512 name followed by lower-case hex of the right length.
 */
export class DigestIds {
  /** The digests' hash bytes, one after another. */
  #bytes = new Uint8Array(16 * 1024);
  #bytesUsed = 0;
  /** Per id: where its hash starts in #bytes, and its algorithm (an index into ALGORITHMS). */
  #offset = new Uint32Array(512);
  #algorithm = new Uint8Array(512);
  #count = 0;
  /** Open addressing, by a keyed hash of the digest: id + 1 per slot, 0 where empty. */
  #slots = new Uint32Array(1024);
  /** The hash's key, random per instance. */
  readonly #key = crypto.getRandomValues(new Uint32Array(2));

  /** How many digests have ids. */
  get size(): number {
    return this.#count;
  }

  /** The id of a digest, given one if it is new. */
  intern(digest: string): number {
    return this.#lookup(digest, true);
  }

  /** The id of a digest, or -1 if it has none. */
  find(digest: string): number {
    return this.#lookup(digest, false);
  }

  /** The digest of an id. */
  digest(id: number): string {
    return `${ALGORITHMS[this.#algorithm[id]]}:${this.#hex(id)}`;
  }

  /** The path of an id's blob below a store or archive: `blobs/<algorithm>/<hex>`. */
  path(id: number): string {
    return `blobs/${ALGORITHMS[this.#algorithm[id]]}/${this.#hex(id)}`;
  }

  /** Sorts ids as their digests sort (as strings, or as paths: the same order). */
  sort(ids: Uint32Array): Uint32Array {
    // The first four bytes of each hash, big-endian, settle nearly every comparison.
    const lead = new Uint32Array(this.#count);
    const bytes = this.#bytes;
    for (const id of ids) {
      const at = this.#offset[id];
      lead[id] =
        ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>>
        0;
    }
    const algorithm = this.#algorithm;
    return ids.sort((a, b) => {
      const x = algorithm[a] - algorithm[b];
      if (x !== 0) return x;
      if (lead[a] !== lead[b]) return lead[a] < lead[b] ? -1 : 1;
      return this.#compare(a, b);
    });
  }

  #lookup(digest: string, add: boolean): number {
    // "sha256:", "sha384:" or "sha512:": the fourth character tells them apart.
    const algorithm = ALGORITHM_BY_CODE[digest.charCodeAt(3)];
    const length = HASH_BYTES[algorithm];
    // The hash is written where a new digest's would go, and kept there only if it is new.
    const at = this.#bytesUsed;
    if (at + length > this.#bytes.length) this.#bytes = grow(this.#bytes, at + length);
    const bytes = this.#bytes;
    for (let i = 0, j = 7; i < length; i++, j += 2) {
      bytes[at + i] = (NIBBLE[digest.charCodeAt(j)] << 4) | NIBBLE[digest.charCodeAt(j + 1)];
    }
    const h = this.#hash(at, length, algorithm);
    const slots = this.#slots;
    const mask = slots.length - 1;
    let slot = h & mask;
    for (let id = slots[slot] - 1; id >= 0; id = slots[slot] - 1) {
      if (this.#equals(id, at, length, algorithm)) return id;
      slot = (slot + 1) & mask;
    }
    if (!add) return -1;
    const id = this.#count++;
    this.#bytesUsed += length;
    if (this.#count > this.#offset.length) {
      this.#offset = grow(this.#offset, this.#count);
      this.#algorithm = grow(this.#algorithm, this.#count);
    }
    this.#offset[id] = at;
    this.#algorithm[id] = algorithm;
    slots[slot] = id + 1;
    if (2 * this.#count > slots.length) this.#rehash();
    return id;
  }

  #hex(id: number): string {
    const bytes = this.#bytes;
    const at = this.#offset[id];
    const end = at + HASH_BYTES[this.#algorithm[id]];
    let hex = "";
    for (let i = at; i < end; i++) hex += HEX[bytes[i]];
    return hex;
  }

  #compare(a: number, b: number): number {
    const bytes = this.#bytes;
    const length = HASH_BYTES[this.#algorithm[a]];
    const x = this.#offset[a];
    const y = this.#offset[b];
    for (let i = 0; i < length; i++) {
      if (bytes[x + i] !== bytes[y + i]) return bytes[x + i] - bytes[y + i];
    }
    return 0;
  }

  /** Whether the id's digest is the hash of `length` bytes at `at`, of the algorithm. */
  #equals(id: number, at: number, length: number, algorithm: number): boolean {
    if (this.#algorithm[id] !== algorithm) return false;
    const bytes = this.#bytes;
    const start = this.#offset[id];
    for (let i = 0; i < length; i++) if (bytes[start + i] !== bytes[at + i]) return false;
    return true;
  }

  /**
   * HalfSipHash-2-4 of the hash bytes at `at`, keyed per instance: digests come from documents,
   * and a store could name many that collide under any hash whose key it can know or work around
   * (a multiply-and-shift mix, tried first, had differences that cancel for every seed: 2^15
   * sha512 digests in one slot took 6 s to intern instead of 0.08).
   */
  #hash(at: number, length: number, algorithm: number): number {
    const b = this.#bytes;
    const k0 = this.#key[0];
    const k1 = this.#key[1];
    let v0 = k0 | 0;
    let v1 = k1 | 0;
    let v2 = (0x6c796765 ^ k0) | 0;
    let v3 = (0x74656462 ^ k1) | 0;
    // The message: the hash bytes as little-endian words, then a block of length and algorithm,
    // two rounds each; then four to finish.
    const end = at + length;
    for (let i = at; i <= end + 4; i += 4) {
      const finishing = i > end;
      const m = i < end
        ? (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24))
        : ((length << 24) | algorithm);
      if (finishing) v2 ^= 0xff;
      else v3 ^= m;
      for (let round = finishing ? 4 : 2; round > 0; round--) {
        v0 = (v0 + v1) | 0;
        v1 = (v1 << 5) | (v1 >>> 27);
        v1 ^= v0;
        v0 = (v0 << 16) | (v0 >>> 16);
        v2 = (v2 + v3) | 0;
        v3 = (v3 << 8) | (v3 >>> 24);
        v3 ^= v2;
        v0 = (v0 + v3) | 0;
        v3 = (v3 << 7) | (v3 >>> 25);
        v3 ^= v0;
        v2 = (v2 + v1) | 0;
        v1 = (v1 << 13) | (v1 >>> 19);
        v1 ^= v2;
        v2 = (v2 << 16) | (v2 >>> 16);
      }
      if (!finishing) v0 ^= m;
    }
    return (v1 ^ v3) >>> 0;
  }

  #rehash(): void {
    const slots = new Uint32Array(this.#slots.length * 2);
    const mask = slots.length - 1;
    for (let id = 0; id < this.#count; id++) {
      const algorithm = this.#algorithm[id];
      let slot = this.#hash(this.#offset[id], HASH_BYTES[algorithm], algorithm) & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = id + 1;
    }
    this.#slots = slots;
  }
}

/** Each algorithm's index, by the character code of the fourth character of its name. */
const ALGORITHM_BY_CODE: Record<number, number> = { 0x32: 0, 0x33: 1, 0x35: 2 };

/** The value of each lower-case hex digit, by character code. */
const NIBBLE = new Uint8Array(128);
for (let i = 0; i < 16; i++) NIBBLE["0123456789abcdef".charCodeAt(i)] = i;
