// Copyright 2025 the sockkit authors. MIT license.
import assert from "node:assert/strict";
import { run } from "../examples/lessons/15_delimiter.ts";

Deno.test({
  name:
    "lesson (o): lines come apart intact; a newline in a payload splits it; the length prefix does not",
  permissions: { net: ["127.0.0.1"] },
}, async () => {
  const lines: string[] = [];
  const verdict = await run({ log: (line) => lines.push(line) });
  assert.equal(verdict.id, "o");
  assert.equal(verdict.reproduced, true, verdict.summary);
  const data = verdict.data as {
    lines: { frames: string[] };
    broken: { frames: string[] };
    framed: number;
    refused: boolean;
  };
  assert.equal(data.lines.frames.length, 200);
  assert.deepEqual(data.broken.frames.slice(3, 5), ["a poem:", "roses are red"]);
  assert.equal(data.framed, 7);
  assert.equal(data.refused, true);
  assert.ok(lines.length >= 4);
});
