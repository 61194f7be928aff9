// Copyright 2025 the sockkit authors. MIT license.
import assert from "node:assert/strict";
import { run as nagle } from "../examples/lessons/01_nagle_merge.ts";
import { run as lengthFirst } from "../examples/lessons/09_length_first.ts";

Deno.test({
  name: "lesson (a): every byte arrives in every run; Nagle never gives more reads than no Nagle",
  permissions: { net: ["127.0.0.1"] },
  async fn() {
    const lines: string[] = [];
    const verdict = await nagle({ log: (line) => lines.push(line) });
    const data = verdict.data as {
      nagleOn: number[][];
      nagleOff: number[][];
      late: number[];
      readsOn: number;
      readsOff: number;
    };
    // (whether it is reproduced is checked by the lessons runner test)
    for (const rounds of [data.nagleOn, data.nagleOff]) {
      assert.equal(rounds.length, 8);
      assert.ok(rounds.every((reads) => reads.reduce((a, b) => a + b) === 200));
    }
    assert.equal(data.late.reduce((a, b) => a + b), 200);
    assert.ok(data.readsOn <= data.readsOff);
    assert.ok(lines.some((line) => line.startsWith("attempt 1:")));
  },
});

Deno.test({
  name: "lesson (i): fix 1 is slower than fix 2 both through the relay and with Nagle",
  permissions: { net: ["127.0.0.1"] },
  async fn() {
    const verdict = await lengthFirst();
    const { medians } = verdict.data as { medians: Record<string, number> };
    assert.equal(verdict.reproduced, true, verdict.summary);
    assert.ok(medians["relay fix 1"] > medians["relay fix 2"]);
    assert.ok(medians["nagle fix 1"] > medians["nagle fix 2"]);
  },
});
