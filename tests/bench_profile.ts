/**
 * Summarises V8 CPU profiles (`.cpuprofile` files, as written by `deno run --cpu-prof`): the
 * functions with the most self time, with their share of all samples.
 *
 * `deno task bench --cpu-prof DIR --only 64k --rounds 1` writes one profile per bench child into
 * its own folder under DIR (`<role>-<mode>-<n>`); then
 * `deno run --allow-read tests/bench_profile.ts DIR [--top N]` prints one table per profile.
 *
 * @module
 */

import { parseArgs } from "node:util";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
}

/**
 * The functions of one profile with the most self samples.
 *
 * @param profile A parsed `.cpuprofile`.
 * @param top How many to return.
 * @returns `[name, share of samples]`, largest first.
 */
export function topSelf(profile: Profile, top: number): [string, number][] {
  const byName = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    total += hits;
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.replace(/^.*\//, "");
    const name = `${functionName || "(anonymous)"}${file ? ` ${file}:${lineNumber + 1}` : ""}`;
    byName.set(name, (byName.get(name) ?? 0) + hits);
  }
  return [...byName].sort((a, b) => b[1] - a[1]).slice(0, top).map((
    [name, hits],
  ) => [name, hits / Math.max(1, total)]);
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: { top: { type: "string", default: "12" } },
  });
  const top = Number(values.top);
  for (const dir of positionals) {
    const files: string[] = [];
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name.endsWith(".cpuprofile")) files.push(`${dir}/${entry.name}`);
      if (!entry.isDirectory) continue;
      for await (const inner of Deno.readDir(`${dir}/${entry.name}`)) {
        if (inner.name.endsWith(".cpuprofile")) files.push(`${dir}/${entry.name}/${inner.name}`);
      }
    }
    for (const file of files.sort()) {
      const profile: Profile = JSON.parse(await Deno.readTextFile(file));
      console.log(`\n${file}`);
      for (const [name, share] of topSelf(profile, top)) {
        console.log(`${(share * 100).toFixed(1).padStart(5)} %  ${name}`);
      }
    }
  }
}
