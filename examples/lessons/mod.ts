// Copyright 2025 the sockkit authors. MIT license.
/**
 * Runs every lesson in `examples/lessons/` (the files named `NN_name.ts`) in order, and prints
 * one verdict line per claim of the tutorial. Exits 0 only when every claim was reproduced.
 *
 * ```sh
 * deno task lessons            # one line per claim
 * deno task lessons --json     # the verdicts as JSON
 * deno task lessons --verbose  # each lesson's story too
 * deno task lessons --only a,m # some lessons
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type Lesson, type Verdict, verdictLine } from "./_lesson.ts";

export type { Verdict } from "./_lesson.ts";

/** How long one lesson may take before it counts as not reproduced. */
const LESSON_TIMEOUT_MS = 60_000;

/** The lesson files, in order: `NN_name.ts` in this folder. */
export async function lessonFiles(): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(new URL(".", import.meta.url))) {
    if (entry.isFile && /^\d\d_[a-z0-9_]+\.ts$/.test(entry.name)) names.push(entry.name);
  }
  return names.sort();
}

/** The claim letter of a lesson file: `01_…` is "a", `14_…` is "n". */
export function letterOf(name: string): string {
  return String.fromCharCode(96 + Number(name.slice(0, 2)));
}

/** Settings for {@linkcode runAll}. */
export interface RunAllOptions {
  /** Run only the lessons with these letters (see {@linkcode letterOf}). */
  only?: readonly string[];
  /** Where the lessons' stories go (none by default). */
  log?: (line: string) => void;
  /** Called with each verdict as soon as it is known. */
  onVerdict?: (verdict: Verdict) => void;
}

/** Runs one lesson file; a lesson that throws or hangs gets a verdict saying so. */
async function runFile(name: string, log?: (line: string) => void): Promise<Verdict> {
  const fallback = { id: letterOf(name), claim: name.replace(/^\d\d_|\.ts$/g, "") };
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const lesson: Lesson = await import(new URL(name, import.meta.url).href);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`timed out after ${LESSON_TIMEOUT_MS} ms`)),
        LESSON_TIMEOUT_MS,
      );
    });
    return await Promise.race([lesson.run({ log }), timeout]);
  } catch (error) {
    return {
      ...fallback,
      reproduced: false,
      summary: `failed: ${String((error as Error).message).split("\n")[0]}`,
    };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs the lessons in order and returns their verdicts. */
export async function runAll(options: RunAllOptions = {}): Promise<Verdict[]> {
  const verdicts: Verdict[] = [];
  for (const name of await lessonFiles()) {
    if (options.only && !options.only.includes(letterOf(name))) continue;
    const verdict = await runFile(name, options.log);
    options.onVerdict?.(verdict);
    verdicts.push(verdict);
  }
  return verdicts;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      json: { type: "boolean", default: false },
      verbose: { type: "boolean", short: "v", default: false },
      only: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log("Usage: deno task lessons [--json] [--verbose] [--only a,b,…]");
    Deno.exit(0);
  }
  const verdicts = await runAll({
    only: values.only?.split(","),
    log: values.verbose && !values.json ? (line) => console.log("    " + line) : undefined,
    onVerdict: values.json ? undefined : (verdict) => console.log(verdictLine(verdict)),
  });
  const all = verdicts.length > 0 && verdicts.every((v) => v.reproduced);
  if (values.json) console.log(JSON.stringify(verdicts, null, 2));
  else {console.log(`${
      verdicts.filter((v) => v.reproduced).length
    } of ${verdicts.length} claims reproduced`);}
  Deno.exit(all ? 0 : 1);
}
