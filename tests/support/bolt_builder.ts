/**
 * Test support: hand-built bbolt files, page by page, for the cases a real containerd never
 * writes (cycles, out-of-range ids, bad meta pages). Little-endian, as bbolt on x86 and arm.
 */
import { BOLT_MAGIC, BOLT_VERSION, fnv1a64 } from "../../lib/stores/containerd/bbolt.ts";

/** One leaf element: a value, or (with `bucket`) a bucket header (+ inline page) as value. */
export interface LeafItem {
  key: string | Uint8Array;
  value: Uint8Array;
  bucket?: boolean;
}

const encoder = new TextEncoder();
const bytesOf = (k: string | Uint8Array) => typeof k === "string" ? encoder.encode(k) : k;

/** A leaf page's bytes (header + elements + data), `size` bytes long (0: as long as needed). */
export function leafPage(id: number, items: LeafItem[], size = 0): Uint8Array {
  const data = items.reduce((n, i) => n + bytesOf(i.key).length + i.value.length, 0);
  const length = Math.max(size, 16 + items.length * 16 + data);
  const page = new Uint8Array(length);
  const view = new DataView(page.buffer);
  view.setBigUint64(0, BigInt(id), true);
  view.setUint16(8, 0x02, true);
  view.setUint16(10, items.length, true);
  let at = 16 + items.length * 16;
  items.forEach((item, i) => {
    const element = 16 + i * 16;
    const key = bytesOf(item.key);
    view.setUint32(element, item.bucket ? 1 : 0, true);
    view.setUint32(element + 4, at - element, true);
    view.setUint32(element + 8, key.length, true);
    view.setUint32(element + 12, item.value.length, true);
    page.set(key, at);
    page.set(item.value, at + key.length);
    at += key.length + item.value.length;
  });
  return page;
}

/** A branch page's bytes. */
export function branchPage(
  id: number,
  children: { key: string | Uint8Array; page: number }[],
  size: number,
): Uint8Array {
  const page = new Uint8Array(size);
  const view = new DataView(page.buffer);
  view.setBigUint64(0, BigInt(id), true);
  view.setUint16(8, 0x01, true);
  view.setUint16(10, children.length, true);
  let at = 16 + children.length * 16;
  children.forEach((child, i) => {
    const element = 16 + i * 16;
    const key = bytesOf(child.key);
    view.setUint32(element, at - element, true);
    view.setUint32(element + 4, key.length, true);
    view.setBigUint64(element + 8, BigInt(child.page), true);
    page.set(key, at);
    at += key.length;
  });
  return page;
}

/** A bucket value: header with `root`, then (for root 0) the inline leaf page. */
export function bucketValue(root: number, inline?: LeafItem[]): Uint8Array {
  const page = root === 0 ? leafPage(0, inline ?? []) : new Uint8Array();
  const value = new Uint8Array(16 + page.length);
  new DataView(value.buffer).setBigUint64(0, BigInt(root), true);
  value.set(page, 16);
  return value;
}

/** Writes the meta fields (with a valid checksum) into page `id` (0 or 1) of `file`. */
export function writeMeta(
  file: Uint8Array,
  id: number,
  fields: { pageSize: number; root: number; highWater: number; txid: number },
): void {
  const at = id * fields.pageSize;
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  view.setBigUint64(at, BigInt(id), true);
  view.setUint16(at + 8, 0x04, true);
  const m = at + 16;
  view.setUint32(m, BOLT_MAGIC, true);
  view.setUint32(m + 4, BOLT_VERSION, true);
  view.setUint32(m + 8, fields.pageSize, true);
  view.setUint32(m + 12, 0, true);
  view.setBigUint64(m + 16, BigInt(fields.root), true);
  view.setBigUint64(m + 24, 0n, true);
  view.setBigUint64(m + 32, 2n, true); // freelist page
  view.setBigUint64(m + 40, BigInt(fields.highWater), true);
  view.setBigUint64(m + 48, BigInt(fields.txid), true);
  view.setBigUint64(m + 56, fnv1a64(file.subarray(m, m + 56)), true);
}

/**
 * A whole file: two meta pages (txids 1 and 2, both valid, root `root`), an empty freelist page
 * 2, and `pages` (id -> bytes, each placed at id * pageSize, its overflow count set from its
 * length).
 */
export function buildBolt(
  pages: Map<number, Uint8Array>,
  root: number,
  pageSize = 4096,
): Uint8Array {
  let highWater = 3;
  for (const [id, bytes] of pages) {
    highWater = Math.max(highWater, id + Math.ceil(bytes.length / pageSize));
  }
  const file = new Uint8Array(highWater * pageSize);
  new DataView(file.buffer).setUint16(2 * pageSize + 8, 0x10, true);
  new DataView(file.buffer).setBigUint64(2 * pageSize, 2n, true);
  for (const [id, bytes] of pages) {
    file.set(bytes, id * pageSize);
    const overflow = Math.ceil(bytes.length / pageSize) - 1;
    new DataView(file.buffer).setUint32(id * pageSize + 12, overflow, true);
  }
  writeMeta(file, 0, { pageSize, root, highWater, txid: 2 });
  writeMeta(file, 1, { pageSize, root, highWater, txid: 1 });
  return file;
}
