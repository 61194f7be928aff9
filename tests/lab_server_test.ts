// Copyright 2025 the sockkit authors. MIT license.
// The socket lab's server without a browser: every experiment's JSON, and the guards.
import assert from "node:assert/strict";
import { analyzeReads } from "../examples/boundary_picture.ts";
import type { LabRun } from "../examples/lab/model.ts";
import { startLab } from "../examples/lab/server.ts";

async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(new URL("/api/run", url), {
    method: "POST",
    headers: { "content-type": "application/json", "x-lab-page": "test-page", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

async function run(url: string, experiment: string, settings: Record<string, string> = {}) {
  const { status, json } = await post(url, { experiment, settings });
  assert.equal(status, 200, String(json.error));
  return json as unknown as LabRun;
}

/** Checks what every drawing relies on: stream rows tile the bytes, counts match the boxes. */
function checkShape(run: LabRun): void {
  const sizes = run.sent.boxes.map((b) => b.size);
  const total = sizes.reduce((a, n) => a + n, 0);
  for (const row of run.rows) {
    if (row.kind === "stream") {
      let at = 0;
      for (const box of row.boxes) {
        assert.equal(box.offset, at, `${row.id}: boxes tile the stream`);
        at += box.size;
      }
      assert.equal(at, total, `${row.id}: every byte read`);
      const merged = row.boxes.filter((b) => b.messages.length > 1).length;
      if (row.id !== "tcp-framed-reads" && row.counts.merged !== undefined) {
        assert.equal(merged, analyzeReads(sizes, row.boxes.map((b) => b.size)).merged);
        assert.equal(row.counts.merged, merged, `${row.id}: merged count = merged boxes`);
      }
    } else {
      for (const box of row.boxes) {
        for (const m of box.messages) assert.ok(m >= 0 && m < sizes.length);
      }
    }
  }
  assert.equal(typeof run.verdict.reproduced, "boolean");
  assert.ok(run.verdict.lines.length > 0);
  assert.ok(run.picture.length > 0);
}

Deno.test("lab: the page, its scripts and the list of experiments", async () => {
  await using lab = await startLab();
  const page = await fetch(lab.url);
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type")!, /text\/html/);
  assert.match(page.headers.get("content-security-policy")!, /default-src 'none'/);
  assert.match(await page.text(), /sockkit socket lab/);
  for (const name of ["lab.js", "draw.js", "lab.css"]) {
    const r = await fetch(new URL(name, lab.url));
    assert.equal(r.status, 200);
    await r.body?.cancel();
  }
  const list = await (await fetch(new URL("/api/experiments", lab.url))).json();
  assert.deepEqual(list.experiments.map((e: { id: string }) => e.id), [
    "sticky",
    "large",
    "empty",
    "leftovers",
    "udp-limit",
    "udp-truncation",
    "udp-relay",
  ]);
  const missing = await fetch(new URL("/../../deno.json", lab.url));
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
});

Deno.test("lab: every experiment reproduces its claim with settings that force it", async () => {
  await using lab = await startLab();
  const sticky = await run(lab.url, "sticky", { count: "30", readDelay: "50", nagle: "off" });
  checkShape(sticky);
  assert.equal(sticky.verdict.reproduced, true, sticky.verdict.summary);
  assert.ok(sticky.rows[0].counts.merged > 0);
  assert.equal(sticky.rows[2].counts.whole, 30);

  const large = await run(lab.url, "large", { size: "100000", buffer: "1024" });
  checkShape(large);
  assert.equal(large.verdict.reproduced, true);
  assert.ok(large.rows[1].boxes.length >= 98); // ≥ 100,000 / 1,024 reads
  assert.ok(large.rows[1].boxes.every((b) => b.size <= 1024 && b.mark === "split"));

  const empty = await run(lab.url, "empty", { count: "3", pause: "20" });
  checkShape(empty);
  assert.equal(empty.sent.boxes[1].size, 0);
  assert.equal(empty.verdict.reproduced, true, empty.verdict.summary);

  const leftovers = await run(lab.url, "leftovers", { commands: "3", sizes: "2000" });
  checkShape(leftovers);
  assert.equal(leftovers.verdict.reproduced, true, leftovers.verdict.summary);
  assert.ok(leftovers.rows[0].boxes.some((b) => b.mark === "leftover"));

  const limit = await run(lab.url, "udp-limit", { sizes: "65507,65508", check: "os" });
  checkShape(limit);
  assert.equal(limit.verdict.reproduced, true, limit.verdict.summary);
  assert.deepEqual(limit.rows[0].boxes.map((b) => b.mark), ["whole", "refused"]);

  const cut = await run(lab.url, "udp-truncation", { sizes: "100,3000,200", buffer: "1000" });
  checkShape(cut);
  assert.equal(cut.verdict.reproduced, true, cut.verdict.summary);
  assert.deepEqual(cut.rows[0].boxes.map((b) => [b.mark, b.size]), [
    ["whole", 100],
    ["truncated", 1000],
    ["whole", 200],
  ]);
});

Deno.test("lab: the relay experiment impairs the same datagrams for the same seed", async () => {
  await using lab = await startLab();
  const settings = { count: "200", loss: "0.1", duplicate: "0.05", reorder: "0.1", pause: "0" };
  const a = await run(lab.url, "udp-relay", { ...settings, seed: "7" });
  const b = await run(lab.url, "udp-relay", { ...settings, seed: "7" });
  const c = await run(lab.url, "udp-relay", { ...settings, seed: "8" });
  checkShape(a);
  assert.equal(a.verdict.reproduced, true, a.verdict.summary);
  const direct = a.rows[0].counts;
  assert.equal(direct.lost + direct.duplicates + direct.reordered, 0, "loopback impairs nothing");
  const impaired = (r: LabRun) =>
    r.rows[1].boxes.filter((x) => x.mark !== "whole").map((x) => `${x.mark}:${x.messages}`);
  assert.deepEqual(impaired(a), impaired(b));
  assert.notDeepEqual(impaired(a), impaired(c));
  assert.deepEqual(a.sent, b.sent);
  const relayed = a.rows[1].counts;
  assert.equal(relayed.lost, relayed["relay dropped"]);
  assert.equal(relayed.duplicates, relayed["relay duplicated"]);
  const bent = await run(lab.url, "udp-relay", {
    count: "100",
    loss: "0",
    duplicate: "0",
    reorder: "0",
    corrupt: "0.3",
    delay: "5",
    jitter: "3",
  });
  const corrupted = bent.rows[1].boxes.filter((x) => x.mark === "corrupted").length;
  assert.ok(corrupted > 0);
  assert.equal(corrupted, bent.rows[1].counts["relay corrupted"]);
});

Deno.test("lab: bad settings get HTTP 400 with a message", async () => {
  await using lab = await startLab();
  const cases: [unknown, RegExp][] = [
    [
      { experiment: "sticky", settings: { count: "9999" } },
      /count must be an integer from 1 to 500/,
    ],
    [{ experiment: "sticky", settings: { count: "2.5" } }, /count must be an integer/],
    [{ experiment: "sticky", settings: { sizes: "40-14" } }, /ends before it starts/],
    [{ experiment: "sticky", settings: { nagle: "maybe" } }, /nagle must be one of on, off/],
    [{ experiment: "sticky", settings: { colour: "red" } }, /unknown setting "colour"/],
    [{ experiment: "sticky", settings: { count: "500", sizes: "4096" } }, /at most 1 MiB/],
    [{ experiment: "large", settings: { size: "4194304", buffer: "64" } }, /over 8,192 reads/],
    [
      { experiment: "leftovers", settings: { commands: "8", sizes: "65536", buffer: "16" } },
      /over 8,192 reads/,
    ],
    [{ experiment: "udp-relay", settings: { loss: "1.5" } }, /probability from 0 to 1/],
    [{ experiment: "udp-relay", settings: { count: "2000", pause: "20" } }, /at most 4,000 ms/],
    [{ experiment: "nope" }, /unknown experiment "nope"/],
    [{ settings: {} }, /needs \{"experiment"/],
    ["{not json", /not JSON/],
    [{ experiment: "sticky", settings: [] }, /settings must be an object/],
  ];
  for (const [body, message] of cases) {
    const { status, json } = await post(lab.url, body);
    assert.equal(status, 400, JSON.stringify(body));
    assert.match(String(json.error), message);
  }
  const big = await post(lab.url, JSON.stringify({ experiment: "x", pad: "x".repeat(20_000) }));
  assert.equal(big.status, 400);
  assert.match(String(big.json.error), /over 16384 bytes/);
});

Deno.test("lab: loopback Host only, JSON only, one run per page, bounded runs", async () => {
  await using lab = await startLab({ maxRuns: 2, runDeadline: 15_000 });
  // a request naming another host (DNS rebinding) is refused
  {
    using conn = await Deno.connect({ hostname: "127.0.0.1", port: lab.addr.port });
    await conn.write(
      new TextEncoder().encode("GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"),
    );
    const chunks: string[] = [];
    const buffer = new Uint8Array(4096);
    for (let n; (n = await conn.read(buffer)) !== null;) {
      chunks.push(new TextDecoder().decode(buffer.subarray(0, n)));
    }
    assert.match(chunks.join(""), /^HTTP\/1\.1 403/);
    assert.match(chunks.join(""), /answers only on loopback/);
  }
  const wrongType = await fetch(new URL("/api/run", lab.url), {
    method: "POST",
    headers: { "content-type": "text/plain", "x-lab-page": "p" },
    body: "{}",
  });
  assert.equal(wrongType.status, 415);
  await wrongType.body?.cancel();
  assert.equal((await post(lab.url, { experiment: "sticky" }, { "x-lab-page": "" })).status, 400);
  assert.equal(
    (await post(lab.url, { experiment: "sticky" }, { origin: "http://evil.example" })).status,
    403,
  );
  const get = await fetch(new URL("/api/run", lab.url));
  assert.equal(get.status, 405);
  await get.body?.cancel();
  // a second run from the same page while one runs: 409; from a third page past maxRuns: 503
  const slow = { experiment: "udp-relay", settings: { count: "60", pause: "20" } };
  const first = post(lab.url, slow, { "x-lab-page": "page-a" });
  await new Promise((resolve) => setTimeout(resolve, 100));
  const again = await post(lab.url, slow, { "x-lab-page": "page-a" });
  assert.equal(again.status, 409);
  assert.match(String(again.json.error), /already running for this page/);
  const other = post(lab.url, slow, { "x-lab-page": "page-b" });
  await new Promise((resolve) => setTimeout(resolve, 100));
  const third = await post(lab.url, slow, { "x-lab-page": "page-c" });
  assert.equal(third.status, 503);
  assert.equal((await first).status, 200);
  assert.equal((await other).status, 200);
});

Deno.test("lab: a run past its deadline is stopped with HTTP 504", async () => {
  await using lab = await startLab({ runDeadline: 300 });
  const { status, json } = await post(lab.url, {
    experiment: "udp-relay",
    settings: { count: "200", pause: "10" },
  });
  assert.equal(status, 504);
  assert.match(String(json.error), /did not finish within 0.3 s/);
});
