/**
 * The errors a remote-command client reports.
 *
 * @module
 */

/**
 * Base class of the errors a remote-command client reports: the server said no, or does not
 * speak the protocol.
 *
 * @example Every client error is one
 * ```ts
 * import { RemoteCommandRefusedError, RemoteExecError } from "@sockkit/sockkit/exec";
 * import assert from "node:assert/strict";
 *
 * assert.ok(new RemoteCommandRefusedError("no") instanceof RemoteExecError);
 * ```
 */
export class RemoteExecError extends Error {
  /**
   * Makes the error.
   *
   * @param message What went wrong.
   * @param options The cause.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RemoteExecError";
  }
}

/**
 * Authentication failed: the server refused our proof, or the server's own proof was wrong (it
 * does not know the token).
 *
 * @example
 * ```ts
 * import { RemoteExecAuthError } from "@sockkit/sockkit/exec";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new RemoteExecAuthError("refused").name, "RemoteExecAuthError");
 * ```
 */
export class RemoteExecAuthError extends RemoteExecError {
  /**
   * Makes the error.
   *
   * @param message What went wrong.
   */
  constructor(message: string) {
    super(message);
    this.name = "RemoteExecAuthError";
  }
}

/**
 * The server refused to run a command (not in its allow-list, or a shell line it does not take).
 * The connection stays usable.
 *
 * @example
 * ```ts
 * import { RemoteCommandRefusedError } from "@sockkit/sockkit/exec";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new RemoteCommandRefusedError("no").name, "RemoteCommandRefusedError");
 * ```
 */
export class RemoteCommandRefusedError extends RemoteExecError {
  /**
   * Makes the error.
   *
   * @param message The server's explanation.
   */
  constructor(message: string) {
    super(message);
    this.name = "RemoteCommandRefusedError";
  }
}
