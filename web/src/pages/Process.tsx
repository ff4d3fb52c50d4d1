// 过程断点热力图: median dwell per stage and team over the last 90 days, cells over the stage's
// limit marked; picking a stage lists its most overdue deals. The same figures are in a table
// beneath the chart, for keyboards and screen readers.
import { useState } from "react";
import { unwrap, type Client, type Schemas } from "../api/client";
import { useI18n } from "../i18n";
import { useLoad } from "../useLoad";
import { ErrorNote, TableRegion } from "../parts";
import { useChart } from "../useChart";
import { href } from "../route";

type Metrics = Schemas["PipelineMetrics"];

interface ProcessData {
  metrics: Metrics;
  stageNames: Record<string, { zh: string; en: string }>;
  teamNames: Record<string, string>;
  /** Each rep's team ("" for none): a stalled deal is in its owner's team's cell. */
  ownerTeams: Record<string, string>;
}

/** A stage, or one cell (a stage in one team's row; "" is the no-team row). */
interface Pick {
  stage: string;
  team?: string;
}

async function loadProcess(client: Client): Promise<ProcessData> {
  const to = new Date();
  const from = new Date(to.getTime() - 90 * 24 * 3600 * 1000);
  const period = { from: from.toISOString(), to: to.toISOString() };
  const [metrics, board, leads] = await Promise.all([
    unwrap(client.GET("/v1/metrics/pipeline", { params: { query: period } })),
    unwrap(client.GET("/v1/deals/board", { params: { query: { limit: 1 } } })),
    unwrap(client.GET("/v1/metrics/leads", { params: { query: period } })),
  ]);
  const stageNames = Object.fromEntries(board.map((c) => [c.stage.key, c.stage.name]));
  const teamNames = Object.fromEntries(leads.teams.map((t) => [t.team, t.name]));
  const ownerTeams = Object.fromEntries(leads.reps.map((r) => [r.user, r.team ?? ""]));
  return { metrics, stageNames, teamNames, ownerTeams };
}

export function Process({ client }: { client: Client }) {
  const { t, language, number, percent } = useI18n();
  const process = useLoad(() => loadProcess(client));
  const [picked, setPicked] = useState<Pick>();
  const same = (a: Pick | undefined, b: Pick) => a?.stage === b.stage && a.team === b.team;
  const toggle = (next: Pick) => setPicked(same(picked, next) ? undefined : next);

  const data = process.data;
  const stages = data ? data.metrics.stages.map((s) => s.stage) : [];
  const teams = data
    ? [...new Set(data.metrics.heat_map.map((c) => c.team ?? ""))]
    : [];
  const stageLabel = (key: string) => data?.stageNames[key]?.[language] ?? key;
  const teamLabel = (id: string) => (id ? (data?.teamNames[id] ?? id) : t("noTeam"));

  const chart = useChart(
    data !== undefined,
    ({ drawHeatMap }, element) =>
      drawHeatMap(
        element,
        {
          stages: stages.map(stageLabel),
          teams: teams.map(teamLabel),
          cells: (data?.metrics.heat_map ?? []).map((c) => [
            stages.indexOf(c.stage),
            teams.indexOf(c.team ?? ""),
            c.median_dwell_hours,
            c.over_threshold ? 1 : 0,
          ]),
          hoursLabel: t("hours"),
        },
        (stage, team) => {
          const [s, tm] = [stages[stage], teams[team]];
          if (s !== undefined) setPicked({ stage: s, team: tm });
        },
      ),
    [data, language],
  );

  if (process.error !== undefined && !data)
    return <ErrorNote error={process.error} onRetry={process.reload} />;
  if (!data) return <p className="muted">{t("loading")}</p>;
  const cell = (stage: string, team: string) =>
    data.metrics.heat_map.find((c) => c.stage === stage && (c.team ?? "") === team);
  const stalled = data.metrics.stalled.filter(
    (d) =>
      !picked ||
      (d.stage === picked.stage &&
        (picked.team === undefined || (data.ownerTeams[d.owner] ?? "") === picked.team)),
  );

  return (
    <div className="process">
      <h1>{t("heatMap")}</h1>
      <p className="muted">{t("heatMapHelp")}</p>
      <div ref={chart} className="chart" aria-hidden="true" />
      <TableRegion label={t("heatMap")}>
        <table>
          <thead>
            <tr>
              <th scope="col">{t("stage")}</th>
              {teams.map((team) => (
                <th key={team} scope="col">
                  {teamLabel(team)}
                </th>
              ))}
              <th scope="col">{t("penetration")}</th>
            </tr>
          </thead>
          <tbody>
            {data.metrics.stages.map((s) => (
              <tr key={s.stage}>
                <th scope="row">
                  <button
                    type="button"
                    className="link"
                    aria-pressed={same(picked, { stage: s.stage })}
                    onClick={() => toggle({ stage: s.stage })}
                  >
                    {stageLabel(s.stage)}
                  </button>
                </th>
                {teams.map((team) => {
                  const c = cell(s.stage, team);
                  const text = c
                    ? `${number(c.median_dwell_hours, 1)} ${t("hours")}${c.over_threshold ? ` · ${t("overLimit")}` : ""}`
                    : "—";
                  return (
                    <td key={team} className={c?.over_threshold ? "over" : undefined}>
                      {c ? (
                        <button
                          type="button"
                          className="link cell"
                          aria-pressed={same(picked, { stage: s.stage, team })}
                          aria-label={`${stageLabel(s.stage)} · ${teamLabel(team)}: ${text}`}
                          onClick={() => toggle({ stage: s.stage, team })}
                        >
                          {text}
                        </button>
                      ) : (
                        "—"
                      )}
                    </td>
                  );
                })}
                <td>{s.penetration == null ? "—" : percent(s.penetration)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableRegion>

      <h2>
        {t("stalledDeals")}
        {picked ? ` · ${stageLabel(picked.stage)}` : ""}
        {picked?.team !== undefined ? ` · ${teamLabel(picked.team)}` : ""}
      </h2>
      {stalled.length === 0 && <p className="muted">{t("noStalled")}</p>}
      <ul className="list stalled">
        {stalled.slice(0, 10).map((d) => (
          <li key={d.id} className="item">
            <div className="what">
              <strong>
                <a href={href({ page: "deal", id: d.id })}>{d.title}</a>
              </strong>
              <span className="meta">
                {stageLabel(d.stage)} · {t("overdueBy")} {number(d.overdue_days)} {t("days")}
              </span>
            </div>
          </li>
        ))}
      </ul>
    </div>
  );
}
