/**
 * Builds tar archives for tests, including malformed ones: any typeflag, a USTAR prefix, GNU or
 * v7 magic, base-256 sizes, PAX and GNU long-name headers, a damaged checksum.
 */

const encoder = new TextEncoder();

/** One entry to write. */
export interface BuildEntry {
  name: string;
  /** Typeflag; default "0". */
  type?: string;
  body?: Uint8Array | string;
  /** Override the size field (default: the body's length). */
  size?: number;
  linkname?: string;
  prefix?: string;
  mode?: number;
  /** "ustar" (default), "gnu" or "v7". */
  magic?: "ustar" | "gnu" | "v7";
  /** Write the size in base-256. */
  base256?: boolean;
  /** Add this to the checksum (damages it when non-zero). */
  checksumDelta?: number;
}

function put(block: Uint8Array, offset: number, text: string): void {
  block.set(encoder.encode(text), offset);
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

/** One header block. */
export function header(entry: BuildEntry): Uint8Array {
  const block = new Uint8Array(512);
  const body = typeof entry.body === "string" ? encoder.encode(entry.body) : entry.body;
  const size = entry.size ?? body?.length ?? 0;
  put(block, 0, entry.name);
  put(block, 100, octal(entry.mode ?? 0o644, 8));
  put(block, 108, octal(0, 8));
  put(block, 116, octal(0, 8));
  if (entry.base256) {
    block[124] = 0x80;
    let v = size;
    for (let i = 135; i > 124; i--) {
      block[i] = v % 256;
      v = Math.floor(v / 256);
    }
  } else {
    put(block, 124, octal(size, 12));
  }
  put(block, 136, octal(0, 12));
  block[156] = (entry.type ?? "0").charCodeAt(0);
  if (entry.linkname) put(block, 157, entry.linkname);
  const magic = entry.magic ?? "ustar";
  if (magic === "ustar") put(block, 257, "ustar\x0000");
  if (magic === "gnu") put(block, 257, "ustar  \0");
  if (entry.prefix) put(block, 345, entry.prefix);
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  put(block, 148, sum.toString(8).padStart(6, "0") + "\0 ");
  if (entry.checksumDelta) {
    put(block, 148, (sum + entry.checksumDelta).toString(8).padStart(6, "0") + "\0 ");
  }
  return block;
}

function pad(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(bytes.length / 512) * 512);
  out.set(bytes);
  return out;
}

/** A PAX record set as an `x` entry's blocks. */
export function pax(records: Record<string, string>, name = "PaxHeader"): Uint8Array[] {
  let text = "";
  for (const [key, value] of Object.entries(records)) {
    const record = ` ${key}=${value}\n`;
    const bytes = encoder.encode(record).length;
    let length = bytes + 1;
    while (bytes + String(length).length !== length) length = bytes + String(length).length;
    text += `${length}${record}`;
  }
  const body = encoder.encode(text);
  return [header({ name, type: "x", body }), pad(body)];
}

/** A GNU long name (`L`) entry's blocks. */
export function gnuLongName(name: string, type = "L"): Uint8Array[] {
  const body = encoder.encode(name + "\0");
  return [header({ name: "././@LongLink", type, body, magic: "gnu" }), pad(body)];
}

/** The blocks of one entry with its body. */
export function entry(e: BuildEntry): Uint8Array[] {
  const body = typeof e.body === "string" ? encoder.encode(e.body) : e.body ?? new Uint8Array(0);
  return [header(e), pad(body)];
}

/** The end-of-archive marker. */
export function end(): Uint8Array {
  return new Uint8Array(1024);
}

/** Concatenates blocks. */
export function join(parts: (Uint8Array | Uint8Array[])[]): Uint8Array {
  const flat = parts.flat();
  const out = new Uint8Array(flat.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of flat) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A whole archive of plain files (name -> body) and the end marker. */
export function archive(files: Record<string, Uint8Array | string>): Uint8Array {
  return join([...Object.entries(files).map(([name, body]) => entry({ name, body })), end()]);
}
