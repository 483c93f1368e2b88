/**
 * A one-line progress display for a terminal: bytes done of total, rate, time left and the blob
 * being copied, redrawn at most ten times a second, then a summary line.
 *
 * @module
 */
import type { ExportProgress } from "../export/options.ts";

/** Formats a byte count with binary units, as `12.3 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes;
  let unit = 0;
  // Pick the unit by the rounded value, so 1048575 bytes reads 1.00 MiB, not 1024.0 KiB.
  const rounded = (v: number) => Number(v.toFixed(v < 10 ? 2 : 1));
  while (unit < units.length - 1 && rounded(value) >= 1024) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(rounded(value) < 10 ? 2 : 1)} ${units[unit]}`;
}

/** Formats a duration in seconds, as `31ms`, `4.2s`, `42s` or `3m05s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--";
  if (Math.round(seconds * 1000) < 1000) return `${Math.round(seconds * 1000)}ms`;
  if (Number(seconds.toFixed(1)) < 10) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}

/** Draws export progress on one terminal line. */
export class ProgressLine {
  readonly #write: (text: string) => void;
  readonly #now: () => number;
  readonly #columns: () => number;
  readonly #start: number;
  #last = -Infinity;
  #latest?: ExportProgress;

  /**
   * `write` receives the text to print (with `\r` and erase codes); `now` is in milliseconds;
   * `columns` is the terminal's width, asked at each redraw, so the line never wraps (a wrapped
   * line would leave stale lines behind, since `\r` goes back to the start of the last one only).
   */
  constructor(
    write: (text: string) => void,
    options: { now?: () => number; columns?: () => number } = {},
  ) {
    const now = options.now ?? (() => performance.now());
    this.#write = write;
    this.#now = now;
    this.#columns = options.columns ?? (() => 80);
    this.#start = now();
  }

  /** Records progress, redrawing when 100 ms have passed since the last redraw. */
  update(progress: ExportProgress): void {
    this.#latest = progress;
    const now = this.#now();
    if (now - this.#last < 100) return;
    this.#last = now;
    const seconds = (now - this.#start) / 1000;
    const rate = seconds > 0 ? progress.bytes / seconds : 0;
    const left = rate > 0 ? (progress.totalBytes - progress.bytes) / rate : Infinity;
    const percent = progress.totalBytes > 0
      ? Math.floor((100 * progress.bytes) / progress.totalBytes)
      : 0;
    const blob = progress.blob ? `  ${progress.blob.slice(0, 19)}` : "";
    // Parts in order of importance: what does not fit is left out whole, never cut.
    const parts = [
      `${formatBytes(progress.bytes)} / ${formatBytes(progress.totalBytes)} ${percent}%`,
      `  ${formatBytes(rate)}/s`,
      `  ETA ${formatDuration(left)}`,
      blob,
    ];
    this.#write(`\r\x1b[K${this.#fit(parts)}`);
  }

  /**
   * The parts that fit in one terminal row less a column, in order, each whole; the first is cut
   * only when even it alone does not fit.
   */
  #fit(parts: readonly string[]): string {
    const width = Math.max(1, this.#columns() - 1);
    let line = "";
    for (const part of parts) {
      if (line.length + part.length > width) break;
      line += part;
    }
    return line === "" ? parts[0].slice(0, width) : line;
  }

  /** Replaces the line with a summary: images, blobs, bytes and time. */
  finish(): void {
    const p = this.#latest;
    if (p === undefined) return;
    const seconds = (this.#now() - this.#start) / 1000;
    const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
    this.#write(
      `\r\x1b[KExported ${plural(p.images, "image")}, ${plural(p.blobs, "blob")}, ` +
        `${formatBytes(p.bytes)} in ${formatDuration(seconds)}\n`,
    );
  }

  /** Erases the line (before an error message). */
  clear(): void {
    if (this.#latest !== undefined) this.#write("\r\x1b[K");
  }
}
