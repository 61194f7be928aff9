// Copyright 2025 the sockkit authors. MIT license.
import assert from "node:assert/strict";
import { runDeno } from "./_run_deno.ts";
import { letterOf } from "../examples/lessons/mod.ts";
import { verdictLine } from "../examples/lessons/_lesson.ts";

const config = new URL("../deno.json", import.meta.url).pathname;

Deno.test({
  name: "deno task lessons --json: every claim a..n reproduced, exit 0",
  permissions: { run: [Deno.execPath()], read: true, env: true },
  async fn() {
    const { code, out, err } = await runDeno([
      "task",
      "--quiet",
      "--config",
      config,
      "lessons",
      "--json",
    ]);
    const verdicts: { id: string; claim: string; reproduced: boolean; summary: string }[] = JSON
      .parse(out);
    const failed = verdicts.filter((v) => !v.reproduced).map((v) => `${v.id}: ${v.summary}`);
    assert.deepEqual(failed, [], err);
    assert.equal(code, 0, err);
    const ids = verdicts.map((v) => v.id);
    for (const id of "abcdefghijklmn") assert.ok(ids.includes(id), `lesson ${id} missing`);
    assert.ok(verdicts.every((v) => v.claim.length > 0 && v.summary.length > 0));
  },
});

Deno.test("lessons: file numbers map to claim letters; verdict lines say reproduced or NOT", () => {
  assert.equal(letterOf("01_nagle_merge.ts"), "a");
  assert.equal(letterOf("14_unix_socket.ts"), "n");
  const verdict = { id: "d", claim: "one send = one receive", summary: "10 → 10" };
  assert.equal(
    verdictLine({ ...verdict, reproduced: true }),
    "(d) reproduced     one send = one receive: 10 → 10",
  );
  assert.match(verdictLine({ ...verdict, reproduced: false }), /^\(d\) NOT reproduced /);
});
