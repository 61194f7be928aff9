// Copyright 2025 the sockkit authors. MIT license.
// The lab page: builds the settings form from the server's definitions, keeps the settings
// in the URL, runs one experiment at a time, draws the result, downloads and reopens runs.
import { boxTables, countTables, drawRun, legendItems } from "./draw.js";

const $ = (id) => document.getElementById(id);
const pageId = crypto.randomUUID();
let experiments = [];
let lastRun = null;
let busy = false;

function current() {
  return experiments.find((e) => e.id === $("experiment").value);
}

function buildFields(values = {}) {
  const experiment = current();
  const fieldset = $("fields");
  fieldset.replaceChildren(
    Object.assign(document.createElement("legend"), {
      textContent: "Settings",
    }),
  );
  $("claim").textContent = experiment ? `Claim: ${experiment.claim}.` : "";
  if (!experiment) return;
  for (const def of experiment.settings) {
    const div = document.createElement("div");
    div.className = "field";
    const id = `setting-${def.name}`;
    const label = Object.assign(document.createElement("label"), {
      htmlFor: id,
      textContent: def.label + (def.unit ? ` (${def.unit})` : ""),
    });
    let input;
    if (def.kind === "choice") {
      input = document.createElement("select");
      for (const c of def.choices) input.appendChild(new Option(c, c));
    } else {
      input = document.createElement("input");
      input.type = "text";
      input.inputMode = def.kind === "prob" ? "decimal" : "numeric";
      input.autocomplete = "off";
    }
    input.id = id;
    input.name = def.name;
    input.value = values[def.name] ?? String(def.default);
    const help = document.createElement("small");
    help.id = `${id}-help`;
    const bounds = def.kind === "prob"
      ? "0 to 1"
      : def.kind === "choice"
      ? def.choices.join(" or ")
      : `${Number(def.min).toLocaleString("en-US")} to ${Number(def.max).toLocaleString("en-US")}`;
    help.textContent = `${def.help} (${bounds})`;
    input.setAttribute("aria-describedby", help.id);
    div.append(label, input, help);
    fieldset.appendChild(div);
  }
}

function settingsFromForm() {
  const settings = {};
  for (const input of $("fields").querySelectorAll("input, select")) {
    settings[input.name] = input.value;
  }
  return settings;
}

function urlFor(experiment, settings) {
  const params = new URLSearchParams({ experiment, ...settings });
  return `${location.pathname}?${params}`;
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
  box.focus();
}

function render(run, origin) {
  $("error").hidden = true;
  $("result").hidden = false;
  $("result-title").textContent = run.title;
  const verdict = $("verdict");
  verdict.dataset.reproduced = String(run.verdict.reproduced);
  verdict.textContent = `${
    run.verdict.reproduced ? "✔ Reproduced" : "✘ Not reproduced"
  }: ${run.verdict.summary}`;
  $("verdict-lines").replaceChildren(...run.verdict.lines.map((line) => {
    const li = document.createElement("li");
    li.className = line.ok ? "ok" : "bad";
    li.dataset.ok = String(line.ok);
    li.textContent = `${line.name.padEnd(11)} ${line.text}`;
    return li;
  }));
  const settings = Object.entries(run.settings).map(([k, v]) => `${k}=${v}`)
    .join(", ");
  $("run-info").textContent = `${origin}: ${settings}; ${run.elapsedMs} ms`;
  drawRun($("drawing"), run);
  $("counts").replaceChildren(...countTables(run));
  $("tables").replaceChildren(...boxTables(run));
  $("legend").replaceChildren(...legendItems());
  $("picture").textContent = run.picture.join("\n");
  lastRun = run;
  $("download").disabled = false;
}

async function run(experiment, settings) {
  if (busy) return;
  busy = true;
  $("run").disabled = true;
  $("error").hidden = true;
  $("status").textContent = `Running ${experiment}…`;
  const url = urlFor(experiment, settings);
  history.replaceState(null, "", url);
  $("share").href = url;
  try {
    const response = await fetch("/api/run", {
      method: "POST",
      headers: { "content-type": "application/json", "x-lab-page": pageId },
      body: JSON.stringify({ experiment, settings }),
    });
    const body = await response.json().catch(() => ({
      error: `HTTP ${response.status}`,
    }));
    if (!response.ok) {
      $("status").textContent = `The lab said no (HTTP ${response.status}).`;
      showError(body.error ?? `HTTP ${response.status}`);
      return;
    }
    render(body, "Ran");
    $("status").textContent = `Done in ${body.elapsedMs} ms.`;
  } catch (error) {
    $("status").textContent = "";
    showError(`could not reach the lab: ${error.message}`);
  } finally {
    busy = false;
    $("run").disabled = false;
  }
}

function download() {
  if (!lastRun) return;
  const blob = new Blob([JSON.stringify(lastRun, null, 2)], {
    type: "application/json",
  });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `sockkit-lab-${lastRun.experiment}-seed${lastRun.seed}.json`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

async function open(file) {
  try {
    const saved = JSON.parse(await file.text());
    if (
      !saved || typeof saved.experiment !== "string" || !saved.sent ||
      !Array.isArray(saved.rows)
    ) {
      throw new Error("not a run downloaded from this lab");
    }
    if (!experiments.some((e) => e.id === saved.experiment)) {
      throw new Error(`unknown experiment "${saved.experiment}"`);
    }
    $("experiment").value = saved.experiment;
    buildFields(
      Object.fromEntries(
        Object.entries(saved.settings).map(([k, v]) => [k, String(v)]),
      ),
    );
    const url = urlFor(saved.experiment, settingsFromForm());
    history.replaceState(null, "", url);
    $("share").href = url;
    render(
      saved,
      `Opened ${file.name} (press Run to run it again with the same settings and seed)`,
    );
    $("status").textContent = `Opened ${file.name}.`;
  } catch (error) {
    showError(`cannot open ${file.name}: ${error.message}`);
  }
}

async function start() {
  const response = await fetch("/api/experiments");
  experiments = (await response.json()).experiments;
  const select = $("experiment");
  for (const e of experiments) select.appendChild(new Option(e.title, e.id));
  const params = new URLSearchParams(location.search);
  const wanted = params.get("experiment");
  if (wanted && experiments.some((e) => e.id === wanted)) select.value = wanted;
  const values = Object.fromEntries(
    [...params].filter(([k]) => k !== "experiment"),
  );
  buildFields(values);
  select.addEventListener("change", () => {
    buildFields();
    const url = urlFor(select.value, settingsFromForm());
    history.replaceState(null, "", url);
    $("share").href = url;
  });
  $("form").addEventListener("submit", (event) => {
    event.preventDefault();
    run(select.value, settingsFromForm());
  });
  $("download").addEventListener("click", download);
  $("open").addEventListener("change", (event) => {
    const file = event.target.files?.[0];
    if (file) open(file);
    event.target.value = "";
  });
  $("share").href = urlFor(select.value, settingsFromForm());
  document.body.dataset.ready = "true";
  if (wanted) {
    // a shared link: run it as it says, unknown settings included (the lab explains them)
    const known = new Set((current()?.settings ?? []).map((d) => d.name));
    const extra = Object.fromEntries(
      Object.entries(values).filter(([k]) => !known.has(k)),
    );
    await run(wanted, { ...settingsFromForm(), ...extra });
  }
}

start().catch((error) => showError(`the page could not start: ${error.message}`));
