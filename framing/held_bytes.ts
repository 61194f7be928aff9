/**
 * The bytes of a frame that arrived in earlier chunks, for the delimiter decoder.
 *
 * @module
 */

const EMPTY = new Uint8Array(0);
/** A piece at least this long, filling at least half of its buffer, is kept as a view. */
const VIEW_MIN = 4096;
const BLOCK_MAX = 64 * 1024;

/**
 * Held bytes: large pieces are kept as views (no copy; a view keeps at most twice its bytes
 * alive), small ones are copied together into blocks, so a peer that trickles a frame one byte
 * per read costs about one byte per byte, not one kept chunk per byte.
 */
export class HeldBytes {
  #parts: Uint8Array[] = [];
  #tail: Uint8Array = EMPTY;
  #tailUsed = 0;
  /** How many bytes are held. */
  length = 0;

  /** Appends bytes (kept by reference when large). */
  append(bytes: Uint8Array): void {
    const n = bytes.length;
    if (n === 0) return;
    if (n >= VIEW_MIN && n * 2 >= bytes.buffer.byteLength) {
      this.#flushTail();
      this.#parts.push(bytes);
    } else {
      if (this.#tailUsed + n > this.#tail.length) {
        this.#flushTail();
        this.#tail = new Uint8Array(Math.max(n, Math.min(Math.max(256, this.length), BLOCK_MAX)));
      }
      const tail = this.#tail;
      const at = this.#tailUsed;
      if (n > 16) tail.set(bytes, at);
      else for (let i = 0; i < n; i++) tail[at + i] = bytes[i];
      this.#tailUsed += n;
    }
    this.length += n;
  }

  /** The `back`-th byte from the end (1 = the last), or −1. */
  byteBack(back: number): number {
    if (back <= this.#tailUsed) return this.#tail[this.#tailUsed - back];
    back -= this.#tailUsed;
    const parts = this.#parts;
    for (let k = parts.length - 1; k >= 0; k--) {
      const part = parts[k];
      if (back <= part.length) return part[part.length - back];
      back -= part.length;
    }
    return -1;
  }

  /**
   * The first `length` held bytes in one array (a view when they lie in one kept piece and
   * `copy` is false), and empties the holder.
   */
  take(length: number, copy: boolean): Uint8Array {
    this.#flushTail();
    const parts = this.#parts;
    let frame: Uint8Array;
    if (parts.length === 1 && !copy) frame = parts[0].subarray(0, length);
    else {
      frame = new Uint8Array(length);
      let at = 0;
      for (const part of parts) {
        if (at >= length) break;
        const take = Math.min(part.length, length - at);
        frame.set(take === part.length ? part : part.subarray(0, take), at);
        at += take;
      }
    }
    this.clear();
    return frame;
  }

  /** Keeps only the last `keep` bytes. */
  keepLast(keep: number): void {
    if (this.length <= keep) return;
    const last = new Uint8Array(keep);
    for (let k = 1; k <= keep; k++) last[keep - k] = this.byteBack(k);
    this.clear();
    this.append(last);
  }

  /** Drops everything. */
  clear(): void {
    this.#parts = [];
    this.#tail = EMPTY;
    this.#tailUsed = 0;
    this.length = 0;
  }

  #flushTail(): void {
    if (this.#tailUsed === 0) return;
    this.#parts.push(this.#tail.subarray(0, this.#tailUsed));
    this.#tail = this.#tail.subarray(this.#tailUsed);
    this.#tailUsed = 0;
  }
}
