/**
 * The file-transfer wire in one place: the two layouts, the hidden files' names, the limits, and
 * the types that the sending and the receiving side share. Every other file of file transfer
 * imports from here, never from each other's public entry.
 *
 * @module
 */

import type { EnvelopeOptions } from "../../framing/envelope.ts";
import type { FileTransferError } from "./error.ts";

/** Largest control frame (offer, reply, end, acknowledgement, error), in bytes. */
export const MAX_CONTROL_FRAME = 64 * 1024;

/** Chunk size for reading and writing files. */
export const FILE_CHUNK = 1024 * 1024;

/** The envelope layout of the sockkit wire: `u32be` JSON header, body length in `length`. */
export const SOCKKIT_FILE_ENVELOPE: EnvelopeOptions = Object.freeze({
  sizeField: "length",
  maxHeaderLength: MAX_CONTROL_FRAME,
});

/** The tutorial's layout: `i32le` JSON header `{"filename","filesize"}`, then the bytes. */
export const SEED_FILE_ENVELOPE: EnvelopeOptions = Object.freeze({
  lengthFormat: "i32le",
  sizeField: "filesize",
  maxHeaderLength: MAX_CONTROL_FRAME,
});

/**
 * While a body arrives, the receiver reports `{"type":"progress","received"}` at most this often
 * (milliseconds): the sender, waiting all along for the receiver's answer, then sees a live peer
 * within its idle deadline however long the body takes.
 */
export const PROGRESS_INTERVAL = 100;

/** A lowercase hex SHA-256. */
export const HEX64: RegExp = /^[0-9a-f]{64}$/;

/** Suffix of the hidden file that holds a transfer's data until it is verified. */
export const PARTIAL_SUFFIX = ".sockkit-partial";

/** Suffix of the hidden file that records which source a partial file belongs to. */
export const PARTIAL_STATE_SUFFIX = ".sockkit-partial.json";

/** Suffix of the hidden file that one receive of a name holds while it runs. */
export const LOCK_SUFFIX = ".sockkit-lock";

/** Characters of the random part of a lock's temporary name (`.NAME.sockkit-lock.XXXXXX`). */
export const LOCK_TEMP_RANDOM = 6;

/**
 * Bytes the longest hidden file adds to a name: a leading `.`, plus the longest suffix
 * (`.sockkit-partial.json`, or `.sockkit-lock.` and its random part).
 */
export const HIDDEN_NAME_EXTRA: number = 1 +
  Math.max(PARTIAL_STATE_SUFFIX.length, LOCK_SUFFIX.length + 1 + LOCK_TEMP_RANDOM);

/** The file system's limit on one name, in UTF-8 bytes (`NAME_MAX` of Linux and macOS). */
export const NAME_MAX = 255;

/** The wire format of a transfer: see the module documentation. */
export type FileWire = "sockkit" | "seed";

/** What a transfer is doing, for {@linkcode FileProgress}. */
export type FileTransferPhase = "hashing" | "sending" | "receiving";

/** Progress of one file, given to {@linkcode FileTransferOptions.onProgress}. */
export interface FileProgress {
  /** The file's name (as sent). */
  name: string;
  /** What is happening: hashing the source, or moving bytes. */
  phase: FileTransferPhase;
  /** Bytes done: hashed, or present at the receiver (the resumed offset included). */
  done: number;
  /** The file's size in bytes. */
  total: number;
  /** Where this run started (bytes that a previous run already delivered). */
  offset: number;
}

/** Settings shared by sending and receiving. Deadlines are the connection's own options. */
export interface FileTransferOptions {
  /**
   * The wire format; both sides must use the same.
   *
   * @default {"sockkit"}
   */
  wire?: FileWire;
  /**
   * Stops the transfer: the connection is aborted and the transfer fails with code `"aborted"`
   * (a receiver keeps the partial data, synced, for a resume).
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * Called as the transfer progresses (after every chunk: throttle your rendering).
   *
   * @default {undefined}
   */
  onProgress?: (progress: FileProgress) => void;
  /**
   * Where the SHA-256 runs. `true`: in a worker (this package's own module; loading it from disk
   * needs read permission for it, and without that the hash runs on the main thread), so that
   * hashing overlaps the socket and file I/O. `false`: on the main thread. `"auto"`: in a worker
   * for files of 16 MiB and more when the machine has at least 4 CPUs (with fewer, the two ends'
   * hashing and copying keep every CPU busy already, and a worker only adds its own cost).
   *
   * @default {"auto"}
   */
  hashWorker?: "auto" | boolean;
}

/** Settings of `sendFiles`. */
export interface SendFileOptions extends FileTransferOptions {
  /**
   * The names to send, one per path; by default each path's base name.
   *
   * @default {undefined}
   */
  names?: readonly string[];
}

/** Settings of `receiveFiles`. */
export interface ReceiveFileOptions extends FileTransferOptions {
  /**
   * The directory to write into; it must exist. Nothing is ever written outside it, and nothing
   * in it is written, moved, chmod-ed or timed through a link.
   *
   * @default {"."}
   */
  dir?: string;
  /**
   * Whether an existing file of the same name may be replaced.
   *
   * @default {false}
   */
  overwrite?: boolean;
  /**
   * Whether to continue from the partial data of an interrupted transfer of the same source
   * (sockkit wire). When `false`, partial data is discarded and the file starts over.
   *
   * @default {true}
   */
  resume?: boolean;
  /**
   * The largest file accepted, in bytes. Files above the free space of `dir` are refused too
   * (when `allow-sys` for `statfs` is granted).
   *
   * @default {Number.MAX_SAFE_INTEGER}
   */
  maxFileSize?: number;
  /**
   * The largest JSON header accepted, in bytes.
   *
   * @default {65536}
   */
  maxHeaderLength?: number;
  /**
   * The most files to receive before returning (the connection stays open).
   *
   * @default {Infinity}
   */
  maxFiles?: number;
}

/** {@linkcode ReceiveFileOptions} with every default filled in. */
export interface ResolvedReceiveOptions extends ReceiveFileOptions {
  /** The directory. */
  dir: string;
  /** Overwrite policy. */
  overwrite: boolean;
  /** Resume policy. */
  resume: boolean;
  /** File size limit. */
  maxFileSize: number;
  /** Header limit. */
  maxHeaderLength: number;
  /** File count limit. */
  maxFiles: number;
  /** Whether `statfs` may be called without a permission prompt. */
  canStatfs: boolean;
}

/** The outcome of one file. */
export interface FileTransferResult {
  /** The file's name as sent (an unsafe name is reported as received; print it escaped). */
  name: string;
  /** Sender: the source path. Receiver: the final path (written only when `ok`). */
  path: string;
  /** The file's size in bytes, as declared. */
  size: number;
  /** The SHA-256 of the file, hex (sockkit wire; on the seed wire the receiver's own hash). */
  sha256?: string;
  /** Bytes that an earlier, interrupted run had already delivered (0 when not resumed). */
  resumedFrom: number;
  /** Body bytes that crossed the connection in this run. */
  transferred: number;
  /**
   * Receiver: the file arrived complete and verified under its final name. Sender on the sockkit
   * wire: the receiver acknowledged exactly these bytes under the final name. Sender on the seed
   * wire: every byte was handed to the connection; that wire has no acknowledgement, so whether
   * the receiver kept the file is unknown (`acknowledged` is `false`).
   */
  ok: boolean;
  /** Whether the peer confirmed the outcome (sender on the sockkit wire only). */
  acknowledged: boolean;
  /** Why not, when not `ok`. */
  error?: FileTransferError;
}

/** A fresh result for `name` at `path`. */
export function newResult(name: string, path: string): FileTransferResult {
  return { name, path, size: 0, resumedFrom: 0, transferred: 0, ok: false, acknowledged: false };
}
