/**
 * `framing/` is plain JavaScript: no Deno API, no sockets, nothing newer than Node 20 has, so the
 * same code runs in Node, Bun and browsers (`deno task node-check` runs its tests in Node).
 *
 * @module
 */
import assert from "node:assert/strict";

const dir = new URL("../framing/", import.meta.url);

async function framingSources(): Promise<[name: string, source: string][]> {
  const out: [string, string][] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && entry.name.endsWith(".ts")) {
      out.push([entry.name, await Deno.readTextFile(new URL(entry.name, dir))]);
    }
  }
  return out.sort(([a], [b]) => a.localeCompare(b));
}

/** The source without its comments (doc examples included), for checks that concern code. */
function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

/** `Deno.x`, `Deno?.x`, `Deno[x]`, `globalThis["Deno"]`: prose such as "in Deno 2.9" is fine. */
const DENO_API = /\bDeno\s*(?:\??\.|\[)|["'`]Deno["'`]/;

Deno.test("framing/ never touches the Deno API, not even in its doc examples", async () => {
  const sources = await framingSources();
  assert.ok(sources.length >= 5, `framing/ has its files (${sources.length} found)`);
  for (const [name, source] of sources) {
    const lines = source.split("\n").flatMap((line, i) =>
      DENO_API.test(line) ? [`${name}:${i + 1}: ${line.trim()}`] : []
    );
    assert.deepEqual(lines, [], `framing/ must not touch the Deno API:\n${lines.join("\n")}`);
  }
});

Deno.test("framing/ imports only its own files", async () => {
  for (const [name, source] of await framingSources()) {
    const code = withoutComments(source);
    for (const m of code.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/gms)) {
      assert.match(m[1], /^\.\/[a-z_]+\.ts$/, `${name} imports ${m[1]}`);
    }
    assert.doesNotMatch(code, /\bimport\s*\(/, `${name}: no dynamic import`);
  }
});

Deno.test("framing/ code calls nothing newer than Node 20 has (Array.fromAsync is Node 22)", async () => {
  for (const [name, source] of await framingSources()) {
    assert.doesNotMatch(withoutComments(source), /\bArray\.fromAsync\b/, name);
  }
});

Deno.test("the checks' patterns find what they look for", () => {
  for (const hit of ["Deno.env", "Deno?.build", "globalThis.Deno.x", 'globalThis["Deno"]']) {
    assert.match(hit, DENO_API, hit);
  }
  assert.doesNotMatch("In Deno 2.9 a new Uint8Array costs ~1 us.", DENO_API);
  const code = withoutComments('/** Deno.x */\nconst a = "http://x"; // Deno.y\nlet b = 1;');
  assert.equal(code, '\nconst a = "http://x"; \nlet b = 1;');
});
