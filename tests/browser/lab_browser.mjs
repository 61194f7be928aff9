// Copyright 2025 the sockkit authors. MIT license.
// The socket lab in a real browser: headless Chromium (Debian's /usr/bin/chromium) driven by
// playwright-core. Starts `deno task lab`, runs every experiment from the page and checks that
// what is drawn matches the server's JSON for that run, that a shared URL and a downloaded run
// reproduce it, that bad settings show the server's error, and that the page works by keyboard.
// Run by .ci/run with `node --test` (not part of `deno task test`: it needs npm packages).
//
//   cd tests/browser && npm ci && node --test lab_browser.mjs
//
// Screenshots go to $LAB_SCREENSHOTS (default: a fresh temporary folder, printed).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

const ROOT = resolve(import.meta.dirname, "../..");
const DENO = process.env.DENO
  ? [process.env.DENO]
  : ["npx", "-y", "deno@2.9.6"];
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const fmt = (n) => Number(n).toLocaleString("en-US");

let lab, labUrl, context, profile, shots;
const foreign = [];

function startLab() {
  return new Promise((resolveStart, reject) => {
    const child = spawn(DENO[0], [
      ...DENO.slice(1),
      "task",
      "lab",
      "--stop-after",
      "600",
    ], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group: npx → deno task → deno run, stopped together
    });
    let out = "", err = "";
    const timer = setTimeout(
      () => reject(new Error(`the lab did not start in 120 s: ${err}`)),
      120_000,
    );
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const match = out.match(/sockkit lab: (http:\/\/127\.0\.0\.1:\d+\/)/);
      if (match) {
        clearTimeout(timer);
        resolveStart({ child, url: match[1] });
      }
    });
    child.stderr.on("data", (chunk) => (err += chunk));
    child.on(
      "exit",
      (code) => reject(new Error(`the lab exited (${code}): ${err}`)),
    );
  });
}

before(async () => {
  ({ child: lab, url: labUrl } = await startLab());
  profile = await mkdtemp(join(tmpdir(), "sockkit-lab-profile-"));
  shots = process.env.LAB_SCREENSHOTS ??
    await mkdtemp(join(tmpdir(), "sockkit-lab-shots-"));
  console.log(`# screenshots in ${shots}`);
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
  });
  // nothing but the lab itself: any other request is refused and recorded
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.origin === new URL(labUrl).origin) return route.continue();
    foreign.push(url.href);
    return route.abort();
  });
});

after(async () => {
  await context?.close();
  if (lab) {
    try {
      process.kill(-lab.pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
  if (profile) await rm(profile, { recursive: true, force: true });
});

async function openPage(path = "") {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.errors = errors;
  await page.goto(labUrl + path);
  await page.waitForSelector("body[data-ready=true]");
  return page;
}

/** Sets the form and clicks Run; returns the server's JSON of that run. */
async function runFromForm(page, experiment, settings) {
  await page.selectOption("#experiment", experiment);
  for (const [name, value] of Object.entries(settings)) {
    const field = page.locator(`#setting-${name}`);
    if (await field.evaluate((e) => e.tagName) === "SELECT") {
      await field.selectOption(value);
    } else await field.fill(value);
  }
  const responded = page.waitForResponse((r) => r.url().endsWith("/api/run"));
  await page.click("#run");
  const response = await responded;
  const body = await response.json();
  assert.equal(response.status(), 200, body.error);
  await page.waitForFunction(() =>
    document.getElementById("status").textContent.startsWith("Done")
  );
  return body;
}

/** What the page drew, read back from the DOM. */
function readDrawing(page) {
  return page.evaluate(() => {
    const rows = {};
    for (const g of document.querySelectorAll("#drawing g.box")) {
      (rows[g.dataset.row] ??= []).push({
        size: Number(g.dataset.size),
        mark: g.dataset.mark,
        label: g.dataset.label,
        patterned: g.querySelector("rect").getAttribute("fill")?.startsWith(
          "url(#pat-",
        ) ?? false,
        crossed: g.querySelectorAll("line.cross").length,
        text: g.querySelector("text")?.textContent ?? "",
      });
    }
    const counts = {};
    for (const table of document.querySelectorAll("#counts table")) {
      counts[table.dataset.row] = Object.fromEntries(
        [...table.querySelectorAll("td[data-count]")].map((
          td,
        ) => [td.dataset.count, td.textContent]),
      );
    }
    const tables = {};
    for (const table of document.querySelectorAll("#tables table")) {
      tables[table.dataset.row] = [...table.querySelectorAll("tbody tr")].map((
        tr,
      ) => ({
        size: Number(tr.dataset.size),
        mark: tr.dataset.mark,
      }));
    }
    return {
      rows,
      counts,
      tables,
      verdict: document.getElementById("verdict").textContent,
      reproduced: document.getElementById("verdict").dataset.reproduced,
      lines: [...document.querySelectorAll("#verdict-lines li")].map((li) => ({
        ok: li.dataset.ok,
        text: li.textContent,
      })),
      rowLabels: [...document.querySelectorAll("#drawing [data-row-label]")]
        .map((t) => t.textContent),
      error: document.getElementById("error").hidden
        ? null
        : document.getElementById("error").textContent,
    };
  });
}

const PATTERNED = new Set([
  "merged",
  "split",
  "merged+split",
  "truncated",
  "duplicate",
  "reordered",
  "corrupted",
  "leftover",
]);

/** Checks that the drawing, the counts, the tables and the verdict say what the JSON says. */
async function assertDrawn(page, run) {
  // long tables are built when opened: open them all
  await page.evaluate(() => document.querySelectorAll("#tables details").forEach((d) => (d.open = true)));
  await page.waitForFunction(() =>
    [...document.querySelectorAll("#tables details")].every((d) => d.querySelector("table"))
  );
  const drawn = await readDrawing(page);
  assert.equal(drawn.error, null);
  const all = [{ id: "sent", boxes: run.sent.boxes }, ...run.rows];
  assert.deepEqual(Object.keys(drawn.rows).sort(), all.map((r) => r.id).sort());
  for (const row of all) {
    const boxes = drawn.rows[row.id];
    assert.equal(
      boxes.length,
      row.boxes.length,
      `${row.id}: one drawn box per box`,
    );
    row.boxes.forEach((box, i) => {
      const d = boxes[i];
      assert.deepEqual([d.size, d.mark, d.label], [
        box.size,
        box.mark,
        box.label,
      ], `${row.id} box ${i}`);
      // readable without colour: a pattern for every special mark, a cross for lost/refused
      if (PATTERNED.has(box.mark)) {
        assert.ok(d.patterned, `${row.id} box ${i} has a pattern`);
      }
      if (box.mark === "lost" || box.mark === "refused") {
        assert.equal(d.crossed, 2);
      }
    });
    assert.deepEqual(
      drawn.tables[row.id],
      row.boxes.map((b) => ({ size: b.size, mark: b.mark })),
      `${row.id}: the text table lists the same boxes`,
    );
  }
  for (const row of run.rows) {
    const expected = Object.fromEntries(
      Object.entries(row.counts).map(([k, v]) => [k, fmt(v)]),
    );
    assert.deepEqual(drawn.counts[row.id], expected, `${row.id}: counts`);
  }
  assert.ok(drawn.rowLabels.slice(1).every((l, i) => l === run.rows[i].label));
  assert.equal(drawn.reproduced, String(run.verdict.reproduced));
  assert.ok(drawn.verdict.includes(run.verdict.summary));
  assert.deepEqual(
    drawn.lines.map((l) => l.ok),
    run.verdict.lines.map((l) => String(l.ok)),
  );
  drawn.lines.forEach((l, i) =>
    assert.ok(l.text.includes(run.verdict.lines[i].text))
  );
  return drawn;
}

const impairedOf = (run) =>
  run.rows.find((r) => r.id === "udp-relay").boxes
    .filter((b) => b.mark !== "whole")
    .map((b) => `${b.mark}:${b.messages.join(",")}`);

const EXPERIMENTS = {
  sticky: {
    settings: {
      count: "24",
      sizes: "14-40",
      nagle: "off",
      readDelay: "50",
      seed: "3",
    },
    check(run) {
      assert.ok(run.rows[0].counts.merged > 0, "raw TCP merged");
      assert.equal(run.rows[2].counts.whole, 24, "every frame whole");
      assert.equal(run.rows[3].counts.whole, 24, "every datagram whole");
    },
  },
  large: {
    settings: { size: "400000", buffer: "1024" },
    check(run) {
      assert.ok(run.rows[1].boxes.length >= 391); // over 300: its table is built when opened
      assert.equal(run.rows[2].counts.whole, 1);
    },
  },
  empty: {
    settings: { count: "5", pause: "20" },
    check(run) {
      assert.equal(run.sent.boxes[2].mark, "empty");
      assert.ok(
        run.rows[0].boxes.every((b) => !b.messages.includes(2)),
        "no read holds it",
      );
      assert.ok(
        run.rows[2].boxes.some((b) => b.messages[0] === 2 && b.size === 0),
      );
    },
  },
  leftovers: {
    settings: { commands: "3", sizes: "1800-2600", buffer: "1024" },
    check(run) {
      assert.ok(run.rows[0].counts.leftover > 0);
    },
  },
  "udp-limit": {
    settings: { sizes: "65506,65507,65508,70000", check: "sockkit" },
    check(run) {
      assert.deepEqual(run.rows[0].boxes.map((b) => b.mark), [
        "whole",
        "whole",
        "refused",
        "refused",
      ]);
    },
  },
  "udp-truncation": {
    settings: { sizes: "100,1500,3000,500", buffer: "1024" },
    check(run) {
      assert.equal(run.rows[0].counts.truncated, 2);
    },
  },
  "udp-relay": {
    settings: {
      count: "120",
      loss: "0.1",
      duplicate: "0.05",
      reorder: "0.1",
      seed: "11",
    },
    check(run) {
      const c = run.rows[1].counts;
      assert.ok(c.lost > 0 && c.duplicates > 0 && c.reordered > 0);
    },
  },
};

describe("the socket lab in Chromium", () => {
  for (const [id, { settings, check }] of Object.entries(EXPERIMENTS)) {
    test(`experiment ${id}: drawn as the server's JSON says`, async () => {
      const page = await openPage();
      const run = await runFromForm(page, id, settings);
      assert.equal(run.experiment, id);
      assert.equal(run.verdict.reproduced, true, run.verdict.summary);
      check(run);
      await assertDrawn(page, run);
      // the URL now holds the settings
      const params = new URL(page.url()).searchParams;
      assert.equal(params.get("experiment"), id);
      for (const [k, v] of Object.entries(settings)) {
        assert.equal(params.get(k), v);
      }
      await page.screenshot({
        path: join(shots, `lab-${id}.png`),
        fullPage: true,
      });
      assert.deepEqual(page.errors, []);
      await page.close();
    });
  }

  test("a shared URL reproduces the run (same settings, messages and impairments)", async () => {
    const page = await openPage();
    const first = await runFromForm(
      page,
      "udp-relay",
      EXPERIMENTS["udp-relay"].settings,
    );
    const shared = page.url();
    await page.close();
    const other = await context.newPage();
    const responded = other.waitForResponse((r) =>
      r.url().endsWith("/api/run")
    );
    await other.goto(shared);
    const second = await (await responded).json();
    await other.waitForFunction(() =>
      document.getElementById("status").textContent.startsWith("Done")
    );
    assert.deepEqual(second.settings, first.settings);
    assert.deepEqual(second.sent, first.sent);
    assert.deepEqual(impairedOf(second), impairedOf(first));
    await assertDrawn(other, second);
    // the form shows the shared settings
    assert.equal(await other.inputValue("#setting-seed"), "11");
    assert.equal(await other.inputValue("#experiment"), "udp-relay");
    await other.close();
  });

  test("a downloaded run reopens as drawn and replays the same with its seed", async () => {
    const page = await openPage();
    const run = await runFromForm(page, "udp-relay", {
      ...EXPERIMENTS["udp-relay"].settings,
      seed: "21",
    });
    const downloading = page.waitForEvent("download");
    await page.click("#download");
    const download = await downloading;
    const file = join(shots, download.suggestedFilename());
    await download.saveAs(file);
    const saved = JSON.parse(await readFile(file, "utf8"));
    assert.deepEqual(saved, run);
    await page.close();

    const fresh = await openPage();
    await fresh.setInputFiles("#open", file);
    await fresh.waitForFunction(() =>
      document.getElementById("status").textContent.startsWith("Opened")
    );
    await assertDrawn(fresh, saved);
    assert.equal(await fresh.inputValue("#setting-seed"), "21");
    const responded = fresh.waitForResponse((r) =>
      r.url().endsWith("/api/run")
    );
    await fresh.click("#run");
    const replay = await (await responded).json();
    assert.deepEqual(replay.sent, saved.sent);
    assert.deepEqual(impairedOf(replay), impairedOf(saved));
    await fresh.close();
  });

  test("bad settings show the server's error on the page", async () => {
    const page = await openPage();
    await page.selectOption("#experiment", "sticky");
    await page.fill("#setting-count", "9999");
    const responded = page.waitForResponse((r) => r.url().endsWith("/api/run"));
    await page.click("#run");
    const response = await responded;
    assert.equal(response.status(), 400);
    const { error } = await response.json();
    await page.waitForSelector("#error:not([hidden])");
    assert.equal(await page.textContent("#error"), error);
    assert.match(error, /count must be an integer from 1 to 500/);
    assert.equal(await page.evaluate(() => document.activeElement.id), "error");
    await page.screenshot({ path: join(shots, "lab-error.png") });
    await page.close();
    for (
      const [path, message] of [
        ["?experiment=sticky&sizes=40-14", /ends before it starts/],
        ["?experiment=udp-relay&loss=2", /probability from 0 to 1/],
        ["?experiment=nope", /unknown experiment "nope"/],
        ["?experiment=sticky&colour=red", /unknown setting "colour"/],
      ]
    ) {
      const shared = await context.newPage();
      await shared.goto(labUrl + path);
      await shared.waitForSelector("#error:not([hidden])");
      assert.match(await shared.textContent("#error"), message, path);
      await shared.close();
    }
  });

  test("by keyboard alone: pick, set, run, then reach the drawing and the tables", async () => {
    const page = await openPage();
    await page.keyboard.press("Tab"); // the skip link
    await page.keyboard.press("Tab");
    assert.equal(
      await page.evaluate(() => document.activeElement.id),
      "experiment",
    );
    // choose "large" (the second experiment) with the arrow key
    await page.keyboard.press("ArrowDown");
    assert.equal(await page.inputValue("#experiment"), "large");
    await page.keyboard.press("Tab");
    assert.equal(
      await page.evaluate(() => document.activeElement.id),
      "setting-size",
    );
    await page.keyboard.press("Control+A");
    await page.keyboard.type("20000");
    const responded = page.waitForResponse((r) => r.url().endsWith("/api/run"));
    await page.keyboard.press("Enter"); // submits the form
    const run = await (await responded).json();
    assert.equal(run.settings.size, 20000);
    await page.waitForFunction(() =>
      document.getElementById("status").textContent.startsWith("Done")
    );
    await assertDrawn(page, run);
    // every control and the drawing can take the focus
    const stops = [];
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press("Tab");
      stops.push(
        await page.evaluate(() =>
          document.activeElement.id || document.activeElement.className ||
          document.activeElement.tagName
        ),
      );
    }
    for (const stop of ["run", "share", "download", "open", "drawing-wrap"]) {
      assert.ok(stops.includes(stop), `Tab reaches ${stop}: ${stops}`);
    }
    await page.close();
  });

  test("one run at a time per page, and nothing fetched from anywhere but the lab", async () => {
    const page = await openPage();
    await page.selectOption("#experiment", "udp-relay");
    await page.fill("#setting-count", "100");
    await page.fill("#setting-pause", "10");
    let requests = 0;
    page.on("request", (r) => r.url().endsWith("/api/run") && requests++);
    const responded = page.waitForResponse((r) => r.url().endsWith("/api/run"));
    await page.click("#run");
    assert.equal(
      await page.isDisabled("#run"),
      true,
      "Run is disabled while running",
    );
    await page.locator("#form").evaluate((f) => f.requestSubmit()); // a second try anyway
    await responded;
    await page.waitForFunction(() =>
      document.getElementById("status").textContent.startsWith("Done")
    );
    assert.equal(requests, 1);
    assert.equal(await page.isDisabled("#run"), false);
    assert.deepEqual(foreign, []);
    await page.close();
  });
});
