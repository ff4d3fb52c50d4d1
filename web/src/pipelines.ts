import type { Schemas } from "./api/client";

/** Each stage's name in both languages, by key, for the pipeline `id` (empty if unknown). */
export function stageNames(
  pipelines: Schemas["Pipeline"][],
  id: string,
): Record<string, Schemas["Localized"]> {
  const stages = pipelines.find((p) => p.id === id)?.stages ?? [];
  return Object.fromEntries(stages.map((s) => [s.key, s.name]));
}
