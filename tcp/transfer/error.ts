/**
 * The one error class of file transfer, with a code that says what went wrong.
 *
 * @module
 */

/**
 * What went wrong with a file transfer:
 * - `"unsafe-name"`: the sender's file name is not a plain base name (path, `..`, control
 *   characters, …).
 * - `"exists"`: a file of that name is already in the directory and overwriting was not allowed.
 * - `"busy"`: another receive of the same name is running in that directory.
 * - `"no-space"`: the file is larger than the free space of the destination's file system, or
 *   the disk filled up during the transfer (the partial data is kept for a resume).
 * - `"too-large"`: a header or a file over its limit.
 * - `"bad-header"`: a header that is not a valid JSON object with a non-negative size.
 * - `"checksum"`: the received bytes do not have the sender's SHA-256: nothing was kept.
 * - `"truncated"`: the connection ended before the whole file arrived; the partial data is kept
 *   (sockkit wire) so that the next run resumes.
 * - `"timeout"`: no progress within the idle timeout; the connection was closed.
 * - `"aborted"`: the `signal` fired.
 * - `"protocol"`: the peer broke the protocol (unexpected message, wrong wire).
 * - `"not-found"`: a file to send does not exist or is not a regular file.
 * - `"connection"`: the connection failed (reset, broken pipe, closed).
 * - `"unsafe-file"`: a hidden file of the transfer in the directory is a link or not a regular
 *   file, or was replaced during the transfer: nothing is written through it.
 * - `"io"`: reading or writing a local file failed.
 */
export type FileTransferErrorCode =
  | "unsafe-name"
  | "exists"
  | "busy"
  | "no-space"
  | "too-large"
  | "bad-header"
  | "checksum"
  | "truncated"
  | "timeout"
  | "aborted"
  | "protocol"
  | "not-found"
  | "connection"
  | "unsafe-file"
  | "io";

/**
 * Every {@linkcode FileTransferErrorCode}, for checking a code that came from the network.
 *
 * @example Checking a code a peer sent
 * ```ts
 * import { FILE_TRANSFER_ERROR_CODES } from "@sockkit/sockkit/transfer";
 * import assert from "node:assert/strict";
 *
 * assert.ok(FILE_TRANSFER_ERROR_CODES.includes("busy"));
 * assert.ok(!(FILE_TRANSFER_ERROR_CODES as readonly string[]).includes("rm -rf"));
 * ```
 */
export const FILE_TRANSFER_ERROR_CODES: readonly FileTransferErrorCode[] = Object.freeze([
  "unsafe-name",
  "exists",
  "busy",
  "no-space",
  "too-large",
  "bad-header",
  "checksum",
  "truncated",
  "timeout",
  "aborted",
  "protocol",
  "not-found",
  "connection",
  "unsafe-file",
  "io",
]);

/**
 * A file transfer failed. `code` tells why; a sender gets the receiver's code for a file the
 * receiver refused (`remote` is then `true`).
 *
 * @example Telling failures apart
 * ```ts
 * import { FileTransferError } from "@sockkit/sockkit/transfer";
 * import assert from "node:assert/strict";
 *
 * const error = new FileTransferError("exists", "a.txt already exists", { remote: true });
 * assert.equal(error.code, "exists");
 * assert.equal(error.remote, true);
 * assert.ok(error instanceof Error);
 * ```
 */
export class FileTransferError extends Error {
  /** Why the transfer failed. */
  readonly code: FileTransferErrorCode;
  /** Whether the peer reported the failure (for a sender: the receiver refused the file). */
  readonly remote: boolean;

  /**
   * Makes the error.
   *
   * @param code Why the transfer failed.
   * @param message What happened, for people.
   * @param options The cause, and whether the peer reported it.
   */
  constructor(
    code: FileTransferErrorCode,
    message: string,
    options?: ErrorOptions & { remote?: boolean },
  ) {
    super(message, options);
    this.name = "FileTransferError";
    this.code = code;
    this.remote = options?.remote ?? false;
  }
}
