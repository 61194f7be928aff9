// Copyright 2025 the sockkit authors. MIT license.
/**
 * Sent versus received message boundaries, counted and drawn in the terminal.
 *
 * {@linkcode analyzeReads} tells, for messages written back to back on a byte stream and the
 * sizes of the reads that came out, how many reads merged messages and how many messages were
 * split. {@linkcode drawBoundaryPicture} draws the messages as `|m0|m1|m2|…` above what the
 * receiver got, `[r1      ][r2 …]` for stream reads or `[0][1][2]` for whole messages, so the
 * sticky-packet problem (黏包) can be seen. Pure functions: no I/O.
 *
 * @module
 */

/** What {@linkcode analyzeReads} found. Messages of 0 bytes are not counted in `merged`/`split`. */
export interface ReadAnalysis {
  /** Number of reads. */
  reads: number;
  /** Reads that held bytes of two or more messages. */
  merged: number;
  /** Non-empty messages whose bytes came in two or more reads. */
  split: number;
  /** Non-empty messages that came in exactly one read holding nothing else. */
  whole: number;
  /** Empty messages: a stream carries no trace of them. */
  invisible: number;
  /** For each message, how many reads held some of its bytes (0 for an empty message). */
  readsPerMessage: number[];
  /** The largest read in bytes. */
  largestRead: number;
  /** Bytes sent (the sum of the message sizes). */
  bytesSent: number;
  /** Bytes read (the sum of the read sizes). */
  bytesRead: number;
  /**
   * Whether the reader could have seen the messages as sent: one read per message, each read
   * exactly one message, nothing missing.
   */
  boundariesKept: boolean;
}

function checkSizes(name: string, sizes: readonly number[]): void {
  if (!Array.isArray(sizes)) throw new TypeError(`${name} must be an array of sizes`);
  for (const size of sizes) {
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
      throw new RangeError(`${name} must hold integers ≥ 0, got ${String(size)}`);
    }
  }
}

/**
 * Compares the sizes of messages written one after another on a byte stream with the sizes of
 * the reads the receiver got, and counts merged reads and split messages.
 *
 * @example Three messages, two reads
 * ```ts
 * import { analyzeReads } from "./boundary_picture.ts";
 * import assert from "node:assert/strict";
 *
 * // "ls", "pwd", "whoami" written back to back; the receiver's recv(1024) got 5 then 6 bytes
 * const result = analyzeReads([2, 3, 6], [5, 6]);
 * assert.equal(result.merged, 1); // read 1 held "ls" and "pwd"
 * assert.equal(result.split, 0);
 * assert.equal(result.whole, 1); // "whoami" alone in read 2
 * assert.equal(result.boundariesKept, false);
 * ```
 *
 * @param messageSizes The sizes of the messages in the order they were written.
 * @param readSizes The sizes of the reads in the order they returned.
 * @returns The counts.
 * @throws {RangeError} When a size is not an integer ≥ 0.
 */
export function analyzeReads(
  messageSizes: readonly number[],
  readSizes: readonly number[],
): ReadAnalysis {
  checkSizes("messageSizes", messageSizes);
  checkSizes("readSizes", readSizes);
  const readsPerMessage = new Array<number>(messageSizes.length).fill(0);
  let merged = 0, whole = 0, largestRead = 0, bytesSent = 0, bytesRead = 0;
  for (const size of messageSizes) bytesSent += size;
  for (const size of readSizes) {
    bytesRead += size;
    largestRead = Math.max(largestRead, size);
  }
  // Walk both interval lists: message i is [msgStart, msgStart + size), read j likewise.
  let i = 0, msgStart = 0;
  let readStart = 0;
  for (const readSize of readSizes) {
    if (readSize === 0) continue;
    const readEnd = readStart + readSize;
    while (i < messageSizes.length && msgStart + messageSizes[i] <= readStart) {
      msgStart += messageSizes[i];
      i++;
    }
    let touched = 0, k = i, kStart = msgStart;
    while (k < messageSizes.length && kStart < readEnd) {
      const size = messageSizes[k];
      if (size > 0) {
        touched++;
        readsPerMessage[k]++;
        if (kStart === readStart && kStart + size === readEnd) whole++;
      }
      kStart += size;
      k++;
    }
    if (touched > 1) merged++;
    readStart = readEnd;
  }
  const nonEmpty = messageSizes.filter((size) => size > 0).length;
  const split = readsPerMessage.filter((n) => n > 1).length;
  const invisible = messageSizes.length - nonEmpty;
  return {
    reads: readSizes.length,
    merged,
    split,
    whole,
    invisible,
    readsPerMessage,
    largestRead,
    bytesSent,
    bytesRead,
    boundariesKept: invisible === 0 && whole === messageSizes.length &&
      readSizes.length === messageSizes.length && bytesRead === bytesSent,
  };
}

/**
 * Turns the sizes of socket reads of a length-prefixed stream into the sizes they cover of the
 * payloads alone, so they can be drawn against the messages: a read boundary inside a header
 * moves to the start of that message's payload, and reads left with no payload bytes are
 * dropped.
 *
 * @example Two frames with 4-byte headers
 * ```ts
 * import { payloadReads } from "./boundary_picture.ts";
 * import assert from "node:assert/strict";
 *
 * // wire: [hdr 4][payload 3][hdr 4][payload 5] = 16 bytes
 * assert.deepEqual(payloadReads([3, 5], 4, [7, 9]), [3, 5]);
 * assert.deepEqual(payloadReads([3, 5], 4, [12, 4]), [4, 4]); // read 1 ends 1 byte into payload 2
 * assert.deepEqual(payloadReads([3, 5], 4, [9, 7]), [3, 5]); // read 1 ends inside header 2
 * ```
 *
 * @param messageSizes The payload sizes in the order they were sent.
 * @param headerLength The bytes of header in front of each payload.
 * @param readSizes The sizes of the socket reads of the framed stream.
 * @returns Read sizes over the concatenated payloads.
 * @throws {RangeError} When a size or the header length is not an integer ≥ 0.
 */
export function payloadReads(
  messageSizes: readonly number[],
  headerLength: number,
  readSizes: readonly number[],
): number[] {
  checkSizes("messageSizes", messageSizes);
  checkSizes("readSizes", readSizes);
  checkSizes("headerLength", [headerLength]);
  const toPayload = (wire: number): number => {
    let frameStart = 0, payloadStart = 0;
    for (const size of messageSizes) {
      const frameEnd = frameStart + headerLength + size;
      if (wire < frameEnd) {
        return payloadStart + Math.max(0, wire - frameStart - headerLength);
      }
      frameStart = frameEnd;
      payloadStart += size;
    }
    return payloadStart;
  };
  const out: number[] = [];
  let wire = 0, previous = 0;
  for (const size of readSizes) {
    wire += size;
    const at = toPayload(wire);
    if (at > previous) out.push(at - previous);
    previous = at;
  }
  return out;
}

/** What one row under the sent messages shows. */
export type BoundaryRow =
  | {
    /** The row's name, printed on its left. */
    label: string;
    /** The sizes of successive reads of the byte stream of all messages. */
    reads: readonly number[];
  }
  | {
    /** The row's name, printed on its left. */
    label: string;
    /**
     * Per sent message: `"whole"` (received as one unit), `"lost"`, `"refused"` (never sent)
     * or `"unknown"`.
     */
    messages: readonly MessageOutcome[];
  };

/** What became of one message in a {@linkcode BoundaryRow} of messages. */
export type MessageOutcome = "whole" | "lost" | "refused" | "unknown";

/** Settings for {@linkcode drawBoundaryPicture}. */
export interface BoundaryPictureOptions {
  /**
   * The width of every line, row labels included.
   *
   * @default {100}
   */
  width?: number;
  /**
   * Bytes per column: a message is drawn `size / bytesPerColumn` columns wide, within
   * `minSpan` and `maxSpan`.
   *
   * @default {8}
   */
  bytesPerColumn?: number;
  /**
   * The narrowest a message is drawn, its `|` included (at least 3).
   *
   * @default {4}
   */
  minSpan?: number;
  /**
   * The widest a message is drawn, its `|` included: large messages are shortened.
   *
   * @default {14}
   */
  maxSpan?: number;
  /**
   * The names of the sent messages, drawn inside them when they fit.
   *
   * @default {the message's index, or "∅" for an empty message}
   */
  messageLabels?: readonly string[];
  /**
   * The label of the row of sent messages.
   *
   * @default {"sent"}
   */
  sentLabel?: string;
  /**
   * Draw only the first `maxBytes` bytes of the stream, for a stream too long to draw whole:
   * messages and reads past it are left out, a message or read cut there is drawn without its
   * closing `|` or `]`, and every row that goes on past the cut ends in `…`.
   *
   * @default {Infinity}
   */
  maxBytes?: number;
}

function positiveInteger(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer ≥ ${min}, got ${String(value)}`);
  }
  return value;
}

function put(line: string[], at: number, text: string, room: number): void {
  const chars = [...text];
  if (chars.length > room) return;
  for (let i = 0; i < chars.length; i++) line[at + i] = chars[i];
}

/**
 * Draws sent message boundaries above what each receiver got, wrapped to `width` columns.
 *
 * The top row shows each message as `|label`; a row of `reads` draws each read of the byte
 * stream as `[r1 ]` under the bytes it held (reads too narrow to draw alone are drawn as one
 * group, `[r3–66]`); a row of `messages` draws each message received whole as `[label]` exactly
 * under it, and `✘` for one lost or refused. A read boundary inside a message is never drawn
 * under a message boundary, so a merge or split is always visible.
 *
 * @example Two messages merged into one read, then one split over two
 * ```ts
 * import { drawBoundaryPicture } from "./boundary_picture.ts";
 * import assert from "node:assert/strict";
 *
 * const lines = drawBoundaryPicture([16, 16, 32], [
 *   { label: "recv(1024)", reads: [32, 14, 18] },
 *   { label: "frames", messages: ["whole", "whole", "whole"] },
 * ], { width: 40, bytesPerColumn: 4 });
 * assert.deepEqual(lines, [
 *   "sent       |0   |1   |2       |",
 *   "recv(1024) [r1      ][r2][r3 ]", // r1 merged messages 0 and 1; 2 was split
 *   "frames     [0  ][1  ][2      ]",
 * ]);
 * ```
 *
 * @param messageSizes The sizes of the sent messages, in order.
 * @param rows What the receivers got.
 * @param options Width, scale and labels.
 * @returns The lines of the picture, without colours or trailing spaces.
 * @throws {RangeError} On a bad size or option, or a `messages` row of the wrong length.
 */
export function drawBoundaryPicture(
  messageSizes: readonly number[],
  rows: readonly BoundaryRow[],
  options: BoundaryPictureOptions = {},
): string[] {
  checkSizes("messageSizes", messageSizes);
  const width = positiveInteger("width", options.width, 100, 20);
  const bytesPerColumn = positiveInteger("bytesPerColumn", options.bytesPerColumn, 8, 1);
  const minSpan = positiveInteger("minSpan", options.minSpan, 4, 3);
  const maxSpan = positiveInteger("maxSpan", options.maxSpan, 14, minSpan);
  const labels = options.messageLabels ?? messageSizes.map((s, i) => s === 0 ? "∅" : String(i));
  if (labels.length !== messageSizes.length) {
    throw new RangeError("messageLabels must have one label per message");
  }
  const sentLabel = options.sentLabel ?? "sent";
  for (const row of rows) {
    if ("reads" in row) checkSizes("reads", row.reads);
    else if (row.messages.length !== messageSizes.length) {
      throw new RangeError(`row "${row.label}" must have one outcome per message`);
    }
  }
  const maxBytes = options.maxBytes ?? Infinity;
  if (maxBytes !== Infinity && (!Number.isSafeInteger(maxBytes) || maxBytes < 1)) {
    throw new RangeError(`maxBytes must be an integer ≥ 1, got ${String(maxBytes)}`);
  }
  const allBytes = messageSizes.reduce((a, n) => a + n, 0);
  if (maxBytes < allBytes) {
    // Keep the messages that start before the cut, the last one shortened to it.
    const kept: number[] = [];
    let at = 0;
    for (const size of messageSizes) {
      if (at >= maxBytes) break;
      kept.push(Math.min(size, maxBytes - at));
      at += size;
    }
    const cutMessage = at > maxBytes;
    const clip = (reads: readonly number[]): { reads: number[]; cut: boolean } => {
      const out: number[] = [];
      let sum = 0;
      for (const n of reads) {
        if (sum >= maxBytes) break;
        out.push(Math.min(n, maxBytes - sum));
        sum += n;
      }
      return { reads: out, cut: sum > maxBytes };
    };
    const clipped = rows.map((row) => {
      if ("reads" in row) {
        const { reads, cut } = clip(row.reads);
        const more = row.reads.reduce((a, n) => a + n, 0) > maxBytes;
        return { row: { label: row.label, reads }, cut, more };
      }
      return {
        row: { label: row.label, messages: row.messages.slice(0, kept.length) },
        cut: cutMessage,
        more: true,
      };
    });
    const lines = drawBoundaryPicture(kept, clipped.map((c) => c.row), {
      ...options,
      width: width - 1, // room for the "…"
      messageLabels: labels.slice(0, kept.length),
      maxBytes: undefined,
    });
    // Blocks of rows.length + 1 lines, one blank line between; the last holds the end, where
    // the sent row ends with the final "|" and a read or message ending there with "]" before it.
    const first = lines.length - rows.length - 1;
    const end = [...lines[first]].length - 1;
    const marks = [{ cut: cutMessage, more: true }, ...clipped];
    for (let i = 0; i <= rows.length; i++) {
      const chars = [...lines[first + i].padEnd(end + 1)];
      const closing = i === 0 ? end : end - 1;
      if (marks[i].cut && (chars[closing] === "|" || chars[closing] === "]")) chars[closing] = " ";
      // "…" where the sent row's final "|" is, after it when that "|" is a real boundary
      if (marks[i].more) chars.splice(i === 0 && !marks[i].cut ? end + 1 : end, 1, "…");
      lines[first + i] = chars.join("").trimEnd();
    }
    return lines;
  }

  // Column layout: message i is drawn in [col[i], col[i] + span[i]), its "|" at col[i].
  const span = messageSizes.map((size) =>
    Math.min(maxSpan, Math.max(minSpan, Math.ceil(size / bytesPerColumn) + 1))
  );
  const col: number[] = [0];
  for (const s of span) col.push(col[col.length - 1] + s);
  const total = col[col.length - 1] + 1;
  const start: number[] = [0];
  for (const size of messageSizes) start.push(start[start.length - 1] + size);
  const bytes = start[start.length - 1];

  /** The column of a boundary at stream offset x, strictly inside a message unless at its edge. */
  const columnOf = (x: number): number => {
    if (x >= bytes) {
      // the end: after the last non-empty message (trailing empty ones are not in the stream)
      let k = messageSizes.length;
      while (k > 0 && messageSizes[k - 1] === 0) k--;
      return col[k];
    }
    for (let i = 0; i < messageSizes.length; i++) {
      if (start[i] === x) return col[i];
      if (start[i] < x && x < start[i + 1]) {
        const inner = span[i] - 1;
        const offset = 1 + Math.floor(((x - start[i]) / messageSizes[i]) * inner);
        return col[i] + Math.min(inner, Math.max(1, offset));
      }
    }
    return col[messageSizes.length];
  };

  const blank = (): string[] => new Array<string>(total).fill(" ");
  const sentLine = blank();
  for (let i = 0; i < messageSizes.length; i++) {
    sentLine[col[i]] = "|";
    put(sentLine, col[i] + 1, labels[i], span[i] - 1);
  }
  sentLine[total - 1] = "|";

  const drawn: { label: string; line: string[] }[] = [{ label: sentLabel, line: sentLine }];
  for (const row of rows) {
    const line = blank();
    if ("reads" in row) {
      const nonEmpty = row.reads.filter((n) => n > 0);
      const at: number[] = [0];
      let offset = 0;
      for (const n of nonEmpty) at.push(columnOf(offset += n));
      // Greedy groups of reads at least 2 columns wide ("[" and "]"); a group, once it holds
      // more than one read, also takes every following read too narrow to be drawn alone.
      const groups: [number, number][] = [];
      let j = 0;
      while (j < nonEmpty.length) {
        let k = j + 1;
        while (k < nonEmpty.length && at[k] - at[j] < 2) k++;
        if (k - j > 1) { while (k < nonEmpty.length && at[k + 1] - at[k] < 2) k++; }
        if (at[k] - at[j] < 2 && groups.length > 0) groups[groups.length - 1][1] = k;
        else groups.push([j, k]);
        j = k;
      }
      for (const [a, b] of groups) {
        const left = at[a], right = at[b] - 1;
        if (right <= left) continue;
        line[left] = "[";
        line[right] = "]";
        const room = right - left - 1;
        const name = b - a === 1 ? `r${a + 1}` : `r${a + 1}–${b}`;
        const short = b - a === 1 ? "" : `×${b - a}`;
        if ([...name].length <= room) put(line, left + 1, name, room);
        else if (short !== "") put(line, left + 1, short, room);
      }
    } else {
      row.messages.forEach((outcome, i) => {
        const left = col[i], right = col[i] + span[i] - 1;
        if (outcome === "whole") {
          line[left] = "[";
          line[right] = "]";
          put(line, left + 1, labels[i], right - left - 1);
        } else {
          const mark = outcome === "unknown" ? "?" : "✘";
          const text = outcome === "refused" ? `${mark} refused` : mark;
          put(line, left + 1, [...text].length <= span[i] - 1 ? text : mark, span[i] - 1);
        }
      });
    }
    drawn.push({ label: row.label, line });
  }

  // Wrap at message boundaries.
  const labelWidth = Math.max(...drawn.map((d) => [...d.label].length)) + 1;
  const room = width - labelWidth;
  if (room < maxSpan + 1) throw new RangeError(`width ${width} is too narrow for the labels`);
  const cuts: number[] = [0];
  let lineStart = 0;
  for (let i = 1; i <= messageSizes.length; i++) {
    const end = i === messageSizes.length ? total : col[i];
    if (end - lineStart > room) {
      lineStart = col[i - 1];
      cuts.push(lineStart);
    }
  }
  cuts.push(total);
  const out: string[] = [];
  for (let c = 0; c + 1 < cuts.length; c++) {
    if (c > 0) out.push("");
    for (const { label, line } of drawn) {
      const text = line.slice(cuts[c], cuts[c + 1]).join("");
      out.push((label.padEnd(labelWidth) + text).trimEnd());
    }
  }
  return out;
}
