/**
 * Runs every `tests/*_bench.ts` as its own `deno run` process, one after another, so that each
 * prints its side-by-side table without the others' garbage or JIT state. `deno task bench`.
 *
 * Pass names to run only some: `deno task bench framing tcp`.
 *
 * @module
 */

const dir = new URL(".", import.meta.url);
const only = Deno.args;
const files: string[] = [];
for await (const entry of Deno.readDir(dir)) {
  if (!entry.isFile || !entry.name.endsWith("_bench.ts")) continue;
  const name = entry.name.slice(0, -"_bench.ts".length);
  if (only.length > 0 && !only.includes(name)) continue;
  files.push(entry.name);
}
files.sort();
let failed = 0;
for (const file of files) {
  console.log(`\n=== ${file} ===`);
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1,[::1]",
      "--allow-read",
      "--allow-write",
      "--allow-run",
      "--allow-env",
      "--allow-sys",
      new URL(file, dir).pathname,
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) {
    failed++;
    console.log(`${file} exited with ${code}`);
  }
}
if (files.length === 0) console.log("no benchmarks matched");
Deno.exit(failed === 0 ? 0 : 1);
