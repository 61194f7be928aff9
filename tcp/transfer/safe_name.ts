/**
 * File names from the network are untrusted: the tutorial's client does
 * `open(dic['filename'], 'wb')` with whatever the server sent, so a name like `../../.bashrc`
 * writes outside the current directory. These helpers accept a plain base name and nothing else,
 * and escape names for printing so that a name cannot move the cursor or recolour a terminal.
 *
 * @module
 */

import { FileTransferError } from "./error.ts";
import {
  HIDDEN_NAME_EXTRA,
  LOCK_SUFFIX,
  LOCK_TEMP_RANDOM,
  NAME_MAX,
  PARTIAL_STATE_SUFFIX,
  PARTIAL_SUFFIX,
} from "./wire.ts";

/**
 * The longest file name accepted, in UTF-8 bytes: the file system's 255, less what the longest
 * hidden file of a transfer adds (`.NAME.sockkit-partial.json`), so that every file a receive
 * makes fits.
 */
export const MAX_FILE_NAME_BYTES: number = NAME_MAX - HIDDEN_NAME_EXTRA;

const encoder = new TextEncoder();

/** Names that sockkit itself makes beside a file (they must never be a file's name). */
const OWN_NAME = new RegExp(
  `(?:${escapeRegExp(PARTIAL_SUFFIX)}|${escapeRegExp(PARTIAL_STATE_SUFFIX)}|${
    escapeRegExp(LOCK_SUFFIX)
  }(?:\\.[0-9a-z]{${LOCK_TEMP_RANDOM}})?)$`,
);

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Bidirectional controls: they reorder what a terminal shows (`evil\u202Etxt.exe`). */
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/**
 * Characters escaped when a name is printed: controls, format characters (zero-width and bidi
 * marks among them: U+200B, U+200E, U+202E, U+2066, U+FEFF, …), line and paragraph separators
 * (U+2028, U+2029), and every space but the plain one.
 */
const INVISIBLE = /(?! )[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Zs}]/gu;

/**
 * Why a name is unsafe, or `undefined` when it is a safe base name: not empty, not `.` or `..`,
 * no `/` or `\`, no drive letter (`C:`), no NUL, control, line-separator or bidirectional
 * control character, no unpaired surrogate, at most {@linkcode MAX_FILE_NAME_BYTES} bytes (room
 * for the hidden files beside it), and not one of sockkit's own hidden-file names. Other
 * invisible characters (U+200B, U+200D in emoji, …) are allowed but escaped when printed.
 *
 * @param name The name to check (anything: it came from the network).
 * @returns The reason it is refused, or `undefined` when it is safe.
 *
 * @example Safe and unsafe names
 * ```ts
 * import { unsafeFileNameReason } from "@sockkit/sockkit/transfer";
 * import assert from "node:assert/strict";
 *
 * assert.equal(unsafeFileNameReason("三体.txt"), undefined);
 * assert.match(unsafeFileNameReason("../x")!, /separator/);
 * assert.match(unsafeFileNameReason("C:x")!, /drive/);
 * assert.match(unsafeFileNameReason("a\nb")!, /control/);
 * assert.match(unsafeFileNameReason("")!, /empty/);
 * ```
 */
export function unsafeFileNameReason(name: unknown): string | undefined {
  if (typeof name !== "string") return `the name is not a string (got ${typeof name})`;
  if (name.length === 0) return "the name is empty";
  if (name === "." || name === "..") return `the name is "${name}"`;
  if (/[/\\]/.test(name)) return "the name contains a path separator (/ or \\)";
  if (/^[A-Za-z]:/.test(name)) return "the name starts with a drive letter";
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return "the name contains a control character";
  if (/[\u2028\u2029]/.test(name)) return "the name contains a line or paragraph separator";
  if (BIDI.test(name)) return "the name contains a bidirectional control character";
  if (/[\ud800-\udfff]/.test(name.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ""))) {
    return "the name contains an unpaired surrogate";
  }
  const bytes = encoder.encode(name).length;
  if (bytes > MAX_FILE_NAME_BYTES) {
    return `the name is ${bytes} bytes long (limit ${MAX_FILE_NAME_BYTES}: the receiver's hidden ${PARTIAL_STATE_SUFFIX} file adds ${HIDDEN_NAME_EXTRA} to the file system's ${NAME_MAX})`;
  }
  if (OWN_NAME.test(name)) return "the name is one of sockkit's hidden-file names";
  return undefined;
}

/**
 * Tells whether a name is a safe base name (see {@linkcode unsafeFileNameReason}).
 *
 * @param name The name to check.
 * @returns `true` when the name is safe to create in a directory.
 *
 * @example Hostile names
 * ```ts
 * import { isSafeFileName } from "@sockkit/sockkit/transfer";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isSafeFileName("report.pdf"), true);
 * for (const name of ["../x", "/etc/passwd", "a/../../b", "C:\\x", "..\\x", "a\u001b[31m", ""]) {
 *   assert.equal(isSafeFileName(name), false);
 * }
 * ```
 */
export function isSafeFileName(name: unknown): name is string {
  return unsafeFileNameReason(name) === undefined;
}

/**
 * Returns the name when it is safe, or throws.
 *
 * @param name The name to check.
 * @returns The same name.
 * @throws {FileTransferError} With code `"unsafe-name"` when the name is refused.
 *
 * @example Refusing a path
 * ```ts
 * import { checkFileName, FileTransferError } from "@sockkit/sockkit/transfer";
 * import assert from "node:assert/strict";
 *
 * assert.equal(checkFileName("a.txt"), "a.txt");
 * assert.throws(() => checkFileName("/etc/passwd"), FileTransferError);
 * ```
 */
export function checkFileName(name: unknown): string {
  const reason = unsafeFileNameReason(name);
  if (reason !== undefined) {
    throw new FileTransferError(
      "unsafe-name",
      `refused file name ${escapeFileName(name)}: ${reason}`,
    );
  }
  return name as string;
}

/**
 * Quotes a name for printing: JSON-style, with every control, format (zero-width, bidirectional),
 * line-separator and non-plain space character escaped as `\uXXXX`, so a hostile name shows as
 * text instead of acting on the terminal or hiding part of itself.
 *
 * @param name The name (anything).
 * @returns A double-quoted, escaped rendering.
 *
 * @example An escape sequence in a name
 * ```ts
 * import { escapeFileName } from "@sockkit/sockkit/transfer";
 * import assert from "node:assert/strict";
 *
 * assert.equal(escapeFileName("a\u001b[2Jb\n"), '"a\\u001b[2Jb\\n"');
 * assert.equal(escapeFileName("三体.txt"), '"三体.txt"');
 * assert.equal(escapeFileName("a\u200bb\u2028c\u202ed"), '"a\\u200bb\\u2028c\\u202ed"');
 * ```
 */
export function escapeFileName(name: unknown): string {
  if (typeof name !== "string") return `<${typeof name}>`;
  return JSON.stringify(name).replace(
    INVISIBLE,
    (c) =>
      Array.from(
        { length: c.length },
        (_, i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, "0")}`,
      ).join(""),
  );
}
