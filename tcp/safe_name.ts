/**
 * File names from the network are untrusted: the tutorial's client does
 * `open(dic['filename'], 'wb')` with whatever the server sent, so a name like `../../.bashrc`
 * writes outside the current directory. These helpers accept a plain base name and nothing else,
 * and escape names for printing so that a name cannot move the cursor or recolour a terminal.
 *
 * @module
 */

import { FileTransferError } from "./file_transfer_error.ts";

/** The longest file name accepted, in UTF-8 bytes (the usual `NAME_MAX` of Linux and macOS). */
export const MAX_FILE_NAME_BYTES = 255;

/** Suffix of the hidden file that holds a transfer's data until it is verified. */
export const PARTIAL_SUFFIX = ".sockkit-partial";

/** Suffix of the hidden file that records which source a partial file belongs to. */
export const PARTIAL_STATE_SUFFIX = ".sockkit-partial.json";

const encoder = new TextEncoder();

/**
 * Why a name is unsafe, or `undefined` when it is a safe base name: not empty, not `.` or `..`,
 * no `/` or `\`, no drive letter (`C:`), no NUL, control or bidirectional-override character, at
 * most {@linkcode MAX_FILE_NAME_BYTES} bytes, and not one of sockkit's own partial-file names.
 *
 * @param name The name to check (anything: it came from the network).
 * @returns The reason it is refused, or `undefined` when it is safe.
 *
 * @example Safe and unsafe names
 * ```ts
 * import { unsafeFileNameReason } from "@sockkit/sockkit/tcp";
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
  if (/[\u202a-\u202e\u2066-\u2069\u200e\u200f]/.test(name)) {
    return "the name contains a bidirectional-override character";
  }
  if (/[\ud800-\udfff]/.test(name.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ""))) {
    return "the name contains an unpaired surrogate";
  }
  const bytes = encoder.encode(name).length;
  if (bytes > MAX_FILE_NAME_BYTES) {
    return `the name is ${bytes} bytes long (limit ${MAX_FILE_NAME_BYTES})`;
  }
  if (name.endsWith(PARTIAL_SUFFIX) || name.endsWith(PARTIAL_STATE_SUFFIX)) {
    return "the name is one of sockkit's partial-file names";
  }
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
 * import { isSafeFileName } from "@sockkit/sockkit/tcp";
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
 * import { checkFileName, FileTransferError } from "@sockkit/sockkit/tcp";
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
 * Quotes a name for printing: JSON-style, with every control, bidirectional-override and
 * non-printing character escaped, so a hostile name shows as text instead of acting on the
 * terminal.
 *
 * @param name The name (anything).
 * @returns A double-quoted, escaped rendering.
 *
 * @example An escape sequence in a name
 * ```ts
 * import { escapeFileName } from "@sockkit/sockkit/tcp";
 * import assert from "node:assert/strict";
 *
 * assert.equal(escapeFileName("a\u001b[2Jb\n"), '"a\\u001b[2Jb\\n"');
 * assert.equal(escapeFileName("三体.txt"), '"三体.txt"');
 * ```
 */
export function escapeFileName(name: unknown): string {
  if (typeof name !== "string") return `<${typeof name}>`;
  return JSON.stringify(name).replace(
    /[\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
