// Copyright 2025 the sockkit authors. MIT license.
/**
 * Every experiment of the lab, and {@linkcode runExperiment}, which checks a run's settings,
 * runs it under a deadline and returns the whole {@linkcode LabRun}.
 *
 * @module
 */
import { Scope, terminalPicture } from "./boxes.ts";
import type { Experiment, LabRun } from "./model.ts";
import { parseSettings, SettingsError } from "./settings.ts";
import { TCP_EXPERIMENTS } from "./tcp_experiments.ts";
import { UDP_EXPERIMENTS } from "./udp_experiments.ts";

/** All experiments, in the tutorial's order. */
export const EXPERIMENTS: readonly Experiment[] = [
  ...TCP_EXPERIMENTS,
  ...UDP_EXPERIMENTS,
];

/** The longest a run may take, in milliseconds. */
export const RUN_DEADLINE_MS = 20_000;

/** A run that passed its deadline (its sockets are closed). */
export class DeadlineError extends Error {
  /** Makes one. */
  constructor(ms: number) {
    super(
      `the experiment did not finish within ${ms / 1000} s and was stopped`,
    );
    this.name = "DeadlineError";
  }
}

/** The experiments as the page needs them: ids, titles, claims and setting definitions. */
export function describeExperiments(): Pick<
  Experiment,
  "id" | "title" | "claim" | "settings"
>[] {
  return EXPERIMENTS.map(({ id, title, claim, settings }) => ({
    id,
    title,
    claim,
    settings,
  }));
}

/**
 * Runs one experiment on loopback.
 *
 * Requires `allow-net` permission for 127.0.0.1.
 *
 * @param id The experiment's id.
 * @param raw Its settings as strings (missing ones take their defaults).
 * @param deadlineMs The longest it may take.
 * @returns The run.
 * @throws {SettingsError} On an unknown experiment or bad settings.
 * @throws {DeadlineError} When it took too long.
 */
export async function runExperiment(
  id: string,
  raw: Record<string, string>,
  deadlineMs: number = RUN_DEADLINE_MS,
): Promise<LabRun> {
  const experiment = EXPERIMENTS.find((e) => e.id === id);
  if (!experiment) {
    throw new SettingsError(
      `unknown experiment "${String(id).slice(0, 40)}"; one of: ${
        EXPERIMENTS.map((e) => e.id).join(", ")
      }`,
    );
  }
  const { values, echo } = parseSettings(experiment.settings, raw);
  const controller = new AbortController();
  const scope = new Scope(controller.signal);
  const started = performance.now();
  // At the deadline the scope closes the run's sockets, so whatever it waits for rejects.
  const timer = setTimeout(() => controller.abort(), deadlineMs);
  let result;
  try {
    result = await experiment.run(values, scope);
  } catch (error) {
    if (controller.signal.aborted) throw new DeadlineError(deadlineMs);
    throw error;
  } finally {
    clearTimeout(timer);
  }
  if (controller.signal.aborted) throw new DeadlineError(deadlineMs);
  return {
    experiment: experiment.id,
    title: experiment.title,
    claim: experiment.claim,
    settings: echo,
    seed: typeof values.seed === "number" ? values.seed : 0,
    ...result,
    picture: terminalPicture(result.sent.boxes, result.rows),
    elapsedMs: Math.round(performance.now() - started),
  };
}
