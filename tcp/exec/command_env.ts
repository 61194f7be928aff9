/**
 * What a remote command sees of the server: a cleared environment plus a short allow-list, a
 * fixed search path without empty or relative entries, and programs resolved to absolute paths.
 *
 * A child process inherits its parent's whole environment unless it is cleared, so without this
 * an allowed `printenv` would show the server's secrets (its token, database passwords); and an
 * empty or `.` entry in `PATH` makes `ls` run `./ls` from the command's working directory.
 *
 * @module
 */

/**
 * The `PATH` commands run with, unless another absolute search path is given.
 *
 * @example Only absolute directories
 * ```ts
 * import { SAFE_PATH } from "@sockkit/sockkit/exec";
 * import assert from "node:assert/strict";
 *
 * assert.ok(SAFE_PATH.split(":").every((dir) => dir.startsWith("/")));
 * ```
 */
export const SAFE_PATH = "/usr/local/bin:/usr/bin:/bin";

/**
 * The variables a command gets from the server's environment (when they are set there), besides
 * `PATH`, which is always {@linkcode SAFE_PATH} or the search path given. Everything else is
 * left out unless named explicitly.
 *
 * @example The token is not among them
 * ```ts
 * import { COMMAND_ENV_ALLOW, REMOTE_EXEC_TOKEN_ENV } from "@sockkit/sockkit/exec";
 * import assert from "node:assert/strict";
 *
 * assert.ok(COMMAND_ENV_ALLOW.includes("HOME"));
 * assert.ok(!COMMAND_ENV_ALLOW.includes(REMOTE_EXEC_TOKEN_ENV));
 * ```
 */
export const COMMAND_ENV_ALLOW: readonly string[] = Object.freeze([
  "HOME",
  "LANG",
  "LC_ALL",
  "LC_CTYPE",
  "LOGNAME",
  "TZ",
  "USER",
]);

/** Settings of {@linkcode commandEnv}. */
export interface CommandEnvOptions {
  /**
   * More variables to pass on from the server's environment (when set there). `PATH` is not
   * one of them: give `path`.
   *
   * @default {[]}
   */
  pass?: readonly string[];
  /**
   * The search path; every entry must be an absolute directory.
   *
   * @default {SAFE_PATH}
   */
  path?: string;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Checks a search path: a `:`-separated list of absolute directories. An empty entry or a
 * relative one (`.`, `bin`) would make a program name resolve in the working directory.
 *
 * @param path The search path.
 * @returns Its directories.
 * @throws {RangeError} On an empty or relative entry.
 *
 * @example Empty and relative entries are refused
 * ```ts
 * import { checkSearchPath } from "@sockkit/sockkit/exec";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(checkSearchPath("/usr/bin:/bin"), ["/usr/bin", "/bin"]);
 * assert.throws(() => checkSearchPath("/usr/bin::/bin"), RangeError);
 * assert.throws(() => checkSearchPath(".:/usr/bin"), RangeError);
 * ```
 */
export function checkSearchPath(path: string): string[] {
  if (typeof path !== "string") throw new TypeError("the search path must be a string");
  const dirs = path.split(":");
  for (const dir of dirs) {
    if (!dir.startsWith("/")) {
      throw new RangeError(
        `the search path ${JSON.stringify(path)} has an ${
          dir === "" ? "empty" : `relative (${JSON.stringify(dir)})`
        } entry: a program name would be looked up in the working directory`,
      );
    }
  }
  return dirs;
}

/**
 * Builds a command's environment: `PATH` set to the search path, the variables of
 * {@linkcode COMMAND_ENV_ALLOW} and `pass` copied from this process's environment when set,
 * nothing else.
 *
 * Requires `allow-env` permission.
 *
 * @param options More variables and the search path.
 * @returns The environment.
 * @throws {TypeError} On a bad variable name, or `PATH` in `pass`.
 * @throws {RangeError} On a bad search path.
 *
 * @example A secret stays out; a named variable comes in
 * ```ts
 * import { commandEnv, SAFE_PATH } from "@sockkit/sockkit/exec";
 * import assert from "node:assert/strict";
 *
 * Deno.env.set("MY_DB_PASSWORD", "hunter2");
 * Deno.env.set("MY_SETTING", "on");
 * const env = commandEnv({ pass: ["MY_SETTING"] });
 * assert.equal(env.PATH, SAFE_PATH);
 * assert.equal(env.MY_SETTING, "on");
 * assert.equal(env.MY_DB_PASSWORD, undefined);
 * Deno.env.delete("MY_DB_PASSWORD");
 * Deno.env.delete("MY_SETTING");
 * ```
 * @tags allow-env
 */
export function commandEnv(options: CommandEnvOptions = {}): Record<string, string> {
  const pass = options.pass ?? [];
  if (!Array.isArray(pass)) throw new TypeError("pass must be a list of variable names");
  for (const name of pass) {
    if (typeof name !== "string" || !NAME.test(name)) {
      throw new TypeError(`not an environment variable name: ${JSON.stringify(name)}`);
    }
    if (name === "PATH") {
      throw new TypeError("PATH is not passed on: commands get the search path given instead");
    }
  }
  const path = options.path ?? SAFE_PATH;
  checkSearchPath(path);
  const env: Record<string, string> = { PATH: path };
  for (const name of [...COMMAND_ENV_ALLOW, ...pass]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/**
 * Finds a program: a name is looked up in the search path's directories in order (the first
 * executable regular file wins); an absolute path is taken as it is once checked.
 *
 * Requires `allow-read` permission.
 *
 * @param program A program name (`ls`) or an absolute path (`/bin/ls`).
 * @param path The search path (absolute directories only).
 * @returns The program's absolute path.
 * @throws {RangeError} When it is not found, is a relative path, or the search path is bad.
 *
 * @example Resolving `sh`
 * ```ts
 * import { resolveProgram } from "@sockkit/sockkit/exec";
 * import assert from "node:assert/strict";
 *
 * assert.match(resolveProgram("sh"), /^\/.*\/sh$/);
 * assert.throws(() => resolveProgram("./sh"), RangeError);
 * assert.throws(() => resolveProgram("sh", ".:/bin"), RangeError);
 * ```
 * @tags allow-read
 */
export function resolveProgram(program: string, path: string = SAFE_PATH): string {
  if (typeof program !== "string" || program === "") {
    throw new TypeError("the program must be a non-empty string");
  }
  const dirs = checkSearchPath(path);
  if (program.includes("/")) {
    if (!program.startsWith("/")) {
      throw new RangeError(`${JSON.stringify(program)} is a relative path; give a name or /path`);
    }
    if (!isExecutable(program)) {
      throw new RangeError(`${JSON.stringify(program)} is not an executable file`);
    }
    return program;
  }
  for (const dir of dirs) {
    const candidate = `${dir.replace(/\/+$/, "")}/${program}`;
    if (isExecutable(candidate)) return candidate;
  }
  throw new RangeError(`cannot find the program ${JSON.stringify(program)} in ${path}`);
}

function isExecutable(file: string): boolean {
  try {
    const info = Deno.statSync(file);
    return info.isFile && info.mode !== null && (info.mode & 0o111) !== 0;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return false;
    }
    throw error;
  }
}
