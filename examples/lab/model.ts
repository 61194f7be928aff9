// Copyright 2025 the sockkit authors. MIT license.
/**
 * The shape of one lab run, as the server sends it and the page draws it: the messages sent,
 * then one row per receiver of boxes (reads, frames, datagrams) with their sizes and marks,
 * counts per row, and a verdict. Pure data: the page needs nothing else to draw a run, and a
 * downloaded run is this object as JSON.
 *
 * @module
 */
import type { Scope } from "./boxes.ts";
import type { SettingDef, Values } from "./settings.ts";

/**
 * What a box shows:
 * - `whole`: one message, alone and complete;
 * - `merged`: a read holding bytes of two or more messages;
 * - `split`: a read holding only part of a message (the message came in two or more reads);
 * - `merged+split`: both;
 * - `lost`: a message that never arrived; `refused`: one the sender refused to send;
 * - `truncated`: a datagram cut short by a small receive buffer;
 * - `duplicate`: a second copy of a datagram; `reordered`: one that overtook or was overtaken;
 * - `corrupted`: a datagram whose bytes were changed on the way;
 * - `leftover`: a read holding bytes of an earlier reply than the command it was read for;
 * - `sent`: a sent message; `empty`: a sent message of 0 bytes.
 */
export type Mark =
  | "sent"
  | "empty"
  | "whole"
  | "merged"
  | "split"
  | "merged+split"
  | "lost"
  | "refused"
  | "truncated"
  | "duplicate"
  | "reordered"
  | "corrupted"
  | "leftover";

/** One box of a drawing. */
export interface Box {
  /** Bytes it holds (for `lost`/`refused`: the message's size). */
  size: number;
  /** What it shows. */
  mark: Mark;
  /** Its name in the drawing and the table (`r3`, `#5`, `msg2`). */
  label: string;
  /** The sent messages it holds bytes of (indices into `sent.boxes`). */
  messages: number[];
  /** Stream rows: where it starts in the stream of all message bytes. */
  offset?: number;
  /** A short explanation for the table. */
  note?: string;
}

/** One receiver (or the sender's own calls) under the sent messages. */
export interface Row {
  /** Stable id, e.g. `tcp-raw`. */
  id: string;
  /** Shown at the row's left and above its table. */
  label: string;
  /**
   * `stream`: boxes are consecutive pieces of the byte stream of all messages (placed by
   * `offset`); `messages`: each box sits under the message(s) it names.
   */
  kind: "stream" | "messages";
  /** The boxes, in the order they happened. */
  boxes: Box[];
  /** The counts shown beside the drawing. */
  counts: Record<string, number>;
}

/** One transport's line of the verdict, as the demo prints it. */
export interface VerdictLine {
  /** Whether it behaved as a message transport should (boundaries kept). */
  ok: boolean;
  /** `TCP raw`, `TCP framed`, `UDP`, … */
  name: string;
  /** What happened, with its numbers. */
  text: string;
}

/** One run of one experiment. */
export interface LabRun {
  /** The experiment's id. */
  experiment: string;
  /** Its title. */
  title: string;
  /** The tutorial's claim it puts to the test. */
  claim: string;
  /** The settings it ran with (all of them, defaults filled in). */
  settings: Record<string, string | number>;
  /** The seed of the message sizes, contents and impairments. */
  seed: number;
  /** The messages sent. */
  sent: { label: string; boxes: Box[] };
  /** What each receiver got. */
  rows: Row[];
  /** The verdict. */
  verdict: { reproduced: boolean; summary: string; lines: VerdictLine[] };
  /** The same run drawn for a terminal (`boundary_picture.ts`). */
  picture: string[];
  /** Wall-clock time of the run. */
  elapsedMs: number;
}

/** What an experiment's `run` returns; the runner adds the rest of a {@linkcode LabRun}. */
export type ExperimentResult = Pick<LabRun, "sent" | "rows" | "verdict">;

/** One experiment of the lab. */
export interface Experiment {
  /** Its id in the URL. */
  id: string;
  /** Its title on the page. */
  title: string;
  /** The tutorial's claim it tests. */
  claim: string;
  /** Its settings. */
  settings: SettingDef[];
  /** Runs it on loopback; everything it opens goes into `scope`. */
  run(values: Values, scope: Scope): Promise<ExperimentResult>;
}
