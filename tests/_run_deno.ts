/**
 * Runs a Deno subprocess (an example program, or a test's child with its own permissions) and
 * collects what it printed, bounded by a timeout (60 s unless told).
 *
 * @module
 */

/** What a finished `deno` subprocess left. */
export interface DenoRun {
  /** The exit code. */
  code: number;
  /** Standard output, decoded. */
  out: string;
  /** Standard error, decoded. */
  err: string;
}

/**
 * Runs `deno <args>` and waits for it.
 *
 * @param args The arguments after `deno` (e.g. `["run", "--allow-net=127.0.0.1", script]`).
 * @param env Extra environment variables.
 * @param options `cwd`: where it runs (default: here); `clearEnv`: `env` is all it gets;
 *   `timeout`: when it is stopped, in ms (default 60,000).
 * @returns The exit code and the decoded output.
 */
export async function runDeno(
  args: string[],
  env: Record<string, string> = {},
  options: { cwd?: string; clearEnv?: boolean; timeout?: number } = {},
): Promise<DenoRun> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    env,
    cwd: options.cwd,
    clearEnv: options.clearEnv ?? false,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(options.timeout ?? 60_000),
  }).output();
  const text = new TextDecoder();
  return { code, out: text.decode(stdout), err: text.decode(stderr) };
}

/** The path of a file in `examples/`. */
export function examplePath(name: string): string {
  return new URL(`../examples/${name}`, import.meta.url).pathname;
}
