// Copyright 2025 the sockkit authors. MIT license.
/**
 * Helpers the experiments share: the messages a run sends (drawn from the seeded `Random` of
 * `examples/_random.ts`) and the rows of boxes a run's drawing is made of. The counting itself is `analyzeReads` from the
 * demo's `boundary_picture.ts`, so the lab and the demo count merges and splits the same way.
 *
 * @module
 */
import {
  analyzeReads,
  type BoundaryPictureOptions,
  type BoundaryRow,
  drawBoundaryPicture,
  type MessageOutcome,
} from "../boundary_picture.ts";
import type { Random } from "../_random.ts";
import type { Box, ExperimentResult, Mark, Row } from "./model.ts";
import type { SizeRange } from "./settings.ts";

const text = new TextEncoder();
const LETTERS = "abcdefghijklmnopqrstuvwxyz";

/**
 * One message of `size` bytes that a reader can recognise: `msg7:abcdef…;`, cut or padded to
 * the size (large ones continue with a byte pattern).
 */
export function makeMessage(
  index: number,
  size: number,
  prefix = "msg",
): Uint8Array {
  const bytes = new Uint8Array(size);
  const head = text.encode(`${prefix}${index}:`);
  for (let i = 0; i < size; i++) {
    bytes[i] = i < head.length ? head[i] : i === size - 1
      ? 0x3b // ";"
      : i < 4096
      ? LETTERS.charCodeAt((i - head.length) % 26)
      : (i * 31 + index) & 0xff;
  }
  return bytes;
}

/** `count` messages whose sizes are drawn from `sizes` with `random`. */
export function makeMessages(
  count: number,
  sizes: SizeRange,
  random: Random,
): Uint8Array[] {
  return Array.from(
    { length: count },
    (_, i) => makeMessage(i, random.int(sizes.min, sizes.max)),
  );
}

/** The boxes of the sent messages. */
export function sentBoxes(
  sizes: readonly number[],
  labels?: readonly string[],
): Box[] {
  return sizes.map((size, i) => ({
    size,
    mark: size === 0 ? "empty" : "sent",
    label: labels?.[i] ?? (size === 0 ? "∅" : `m${i}`),
    messages: [i],
  }));
}

/** A run's `sent` line: {@linkcode sentBoxes} under the label "sent". */
export function sentRow(
  sizes: readonly number[],
  labels?: readonly string[],
): ExperimentResult["sent"] {
  return { label: "sent", boxes: sentBoxes(sizes, labels) };
}

/**
 * A row of consecutive pieces of the byte stream of the messages (reads, writes): each read
 * is marked merged, split, both or whole, and the counts are `analyzeReads`'s.
 */
export function streamRow(
  id: string,
  label: string,
  messageSizes: readonly number[],
  readSizes: readonly number[],
  name = "r",
): Row {
  const analysis = analyzeReads(messageSizes, readSizes);
  const starts: number[] = [];
  let at = 0;
  for (const size of messageSizes) {
    starts.push(at);
    at += size;
  }
  const boxes: Box[] = [];
  let offset = 0, first = 0;
  for (const [j, size] of readSizes.entries()) {
    const end = offset + size;
    while (
      first < messageSizes.length &&
      starts[first] + messageSizes[first] <= offset
    ) first++;
    const touched: number[] = [];
    for (let k = first; k < messageSizes.length && starts[k] < end; k++) {
      if (messageSizes[k] > 0 && size > 0) touched.push(k);
    }
    const merged = touched.length > 1;
    const split = touched.some((k) => analysis.readsPerMessage[k] > 1);
    const mark: Mark = merged && split
      ? "merged+split"
      : merged
      ? "merged"
      : split
      ? "split"
      : "whole";
    boxes.push({
      size,
      mark,
      label: `${name}${j + 1}`,
      messages: touched,
      offset,
    });
    offset = end;
  }
  return {
    id,
    label,
    kind: "stream",
    boxes,
    counts: {
      reads: analysis.reads,
      merged: analysis.merged,
      split: analysis.split,
      whole: analysis.whole,
      invisible: analysis.invisible,
      bytes: analysis.bytesRead,
    },
  };
}

/** Counts the boxes of a row by mark. */
export function countMarks(boxes: readonly Box[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const box of boxes) counts[box.mark] = (counts[box.mark] ?? 0) + 1;
  return counts;
}

/** `1,024`. */
export const fmt = (n: number): string => n.toLocaleString("en-US");

/** `3 reads`, `1 read`. */
export const plural = (n: number, word: string): string => `${fmt(n)} ${word}${n === 1 ? "" : "s"}`;

/** Resolves after `ms` milliseconds (at once for 0). */
export function pause(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Closes what an experiment opened when its deadline passes, so a stuck read or accept
 * rejects and the experiment ends.
 */
export class Scope {
  #closers = new Set<() => void>();
  /** Aborted when the deadline passes. */
  readonly signal: AbortSignal;

  /**
   * Makes a scope.
   *
   * @param signal Aborted at the deadline.
   */
  constructor(signal: AbortSignal) {
    this.signal = signal;
    signal.addEventListener("abort", () => {
      for (const close of this.#closers) {
        try {
          close();
        } catch {
          // already closed
        }
      }
    }, { once: true });
  }

  /** Registers something to close at the deadline and returns it. */
  add<T extends { close(): unknown }>(resource: T): T {
    this.#closers.add(() => resource.close());
    if (this.signal.aborted) resource.close();
    return resource;
  }

  /** Throws when the deadline has passed. */
  check(): void {
    this.signal.throwIfAborted();
  }
}

/** One datagram as {@linkcode datagramRow} needs it. */
export interface DatagramSeen {
  /** Its size in bytes. */
  size: number;
  /** The message it is (-1: none), and how. */
  index: number;
  kind: "whole" | "duplicate" | "truncated" | "unknown";
}

/**
 * A row of datagrams in arrival order, each under the message it is, then one crossed box per
 * message that never arrived (`refused` when the sender refused it, else `lost`). A datagram
 * arriving after one of a later message is `reordered`.
 */
export function datagramRow(
  id: string,
  label: string,
  messageSizes: readonly number[],
  seen: readonly DatagramSeen[],
  refused: ReadonlySet<number> = new Set(),
  unmatchedMark: Mark = "merged",
): Row {
  const boxes: Box[] = [];
  const arrived = new Set<number>();
  let highest = -1;
  let whole = 0, duplicates = 0, reordered = 0, truncated = 0, unknown = 0;
  for (const [j, d] of seen.entries()) {
    let mark: Mark;
    let note: string | undefined;
    if (d.kind === "duplicate") {
      mark = "duplicate";
      duplicates++;
      note = `a second copy of m${d.index}`;
    } else if (d.kind === "truncated") {
      mark = "truncated";
      truncated++;
      note = `cut to ${fmt(d.size)} of ${fmt(messageSizes[d.index])} B; the rest is gone`;
    } else if (d.kind === "unknown") {
      mark = unmatchedMark;
      unknown++;
      note = unmatchedMark === "corrupted"
        ? "matches no sent message: bytes changed on the way"
        : "matches no sent message";
    } else if (d.index < highest) {
      mark = "reordered";
      reordered++;
      whole++;
      note = `arrived after m${highest}`;
    } else {
      mark = "whole";
      whole++;
    }
    if (d.index >= 0) {
      arrived.add(d.index);
      highest = Math.max(highest, d.index);
    }
    boxes.push({
      size: d.size,
      mark,
      label: `#${j + 1}`,
      messages: d.index >= 0 ? [d.index] : [],
      ...(note ? { note } : {}),
    });
  }
  let lost = 0;
  messageSizes.forEach((size, i) => {
    if (arrived.has(i)) return;
    const wasRefused = refused.has(i);
    if (!wasRefused) lost++;
    boxes.push({
      size,
      mark: wasRefused ? "refused" : "lost",
      label: `m${i}`,
      messages: [i],
      note: wasRefused ? "refused by send(): too large for one datagram" : "never arrived",
    });
  });
  return {
    id,
    label,
    kind: "messages",
    boxes,
    counts: {
      sent: messageSizes.length - refused.size,
      received: seen.length,
      whole,
      lost,
      refused: refused.size,
      duplicates,
      reordered,
      truncated,
      unmatched: unknown,
    },
  };
}

/** A row of frames, each the message of the same index when `exact`. */
export function frameRow(
  id: string,
  label: string,
  messageSizes: number[],
  frames: number[],
): Row {
  const seen: DatagramSeen[] = frames.map((size, i) => ({
    size,
    index: i < messageSizes.length && messageSizes[i] === size ? i : -1,
    kind: i < messageSizes.length && messageSizes[i] === size ? "whole" : "unknown",
  }));
  const row = datagramRow(id, label, messageSizes, seen);
  row.boxes.forEach((box, i) => {
    if (i < frames.length) box.label = `f${i + 1}`;
  });
  const { whole, lost, unmatched } = row.counts;
  row.counts = { frames: frames.length, whole, lost, unmatched };
  return row;
}

/** The run drawn for a terminal with the demo's `drawBoundaryPicture`. */
export function terminalPicture(
  sent: readonly Box[],
  rows: readonly Row[],
): string[] {
  const sizes = sent.map((b) => b.size);
  const total = sizes.reduce((a, n) => a + n, 0);
  const pictureRows: BoundaryRow[] = rows.map((row) => {
    if (row.kind === "stream") {
      return {
        label: row.label,
        reads: row.boxes.map((b) => b.size),
      };
    }
    const outcomes: MessageOutcome[] = sizes.map((_, i) => {
      const boxes = row.boxes.filter((b) => b.messages.length === 1 && b.messages[0] === i);
      if (boxes.some((b) => b.mark === "whole" || b.mark === "reordered")) {
        return "whole";
      }
      if (boxes.some((b) => b.mark === "refused")) return "refused";
      if (boxes.some((b) => b.mark === "lost")) return "lost";
      return "unknown";
    });
    return { label: row.label, messages: outcomes };
  });
  const options: BoundaryPictureOptions = {
    width: 100,
    messageLabels: sent.map((b) => b.label),
  };
  const stream = rows.find((r) => r.kind === "stream");
  if (total > 8 * 1024 && stream) {
    // too long to draw whole: the first reads only, as sticky_packets.ts does
    const first = stream.boxes.slice(0, 4);
    const shown = Math.max(64, first.reduce((a, b) => a + b.size, 0));
    if (shown < total) options.maxBytes = shown;
    options.bytesPerColumn = Math.max(1, Math.ceil(shown / 60));
    options.maxSpan = 70;
  }
  try {
    return drawBoundaryPicture(sizes, pictureRows, options);
  } catch (error) {
    return [`(no terminal picture: ${(error as Error).message})`];
  }
}
