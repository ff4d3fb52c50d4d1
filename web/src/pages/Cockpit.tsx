// The manager's process-health cockpit: the self-test tiles (24 h response rate, profile
// completeness, weekly active reps, auto-capture rate), each graded by the band the API
// states, this week against last week; then the lead SLAs, the most overdue deals and each
// rep's row.
import { unwrap, type Client, type Schemas } from "../api/client";
import { useI18n, type Word } from "../i18n";
import { useLoad } from "../useLoad";
import { ErrorNote, TableRegion } from "../parts";
import { href } from "../route";
import { stageNames } from "../pipelines";

type LeadReport = Schemas["MetricsReport"];
type CaptureReport = Schemas["CaptureReport"];

interface Weeks {
  now: LeadReport;
  before: LeadReport;
  capture: CaptureReport;
  captureBefore: CaptureReport;
  stalled: Schemas["StalledDeal"][];
  stages: Record<string, Schemas["Localized"]>;
}

/** Monday 00:00 (this browser's zone) of the week holding `at`. */
export function weekStart(at: Date): Date {
  const start = new Date(at);
  start.setHours(0, 0, 0, 0);
  start.setDate(start.getDate() - ((start.getDay() + 6) % 7));
  return start;
}

async function loadWeeks(client: Client): Promise<Weeks> {
  const now = new Date();
  const monday = weekStart(now);
  const lastMonday = new Date(monday);
  lastMonday.setDate(monday.getDate() - 7);
  // Last week up to the same moment, so the change compares like with like.
  const sameMomentLastWeek = new Date(now.getTime() - 7 * 24 * 3600 * 1000);
  const period = (from: Date, to: Date) => ({
    params: { query: { from: from.toISOString(), to: to.toISOString() } },
  });
  const [thisWeek, lastWeek, capture, captureBefore, pipeline, pipelines] = await Promise.all([
    unwrap(client.GET("/v1/metrics/leads", period(monday, now))),
    unwrap(client.GET("/v1/metrics/leads", period(lastMonday, sameMomentLastWeek))),
    unwrap(client.GET("/v1/metrics/capture", period(monday, now))),
    unwrap(client.GET("/v1/metrics/capture", period(lastMonday, sameMomentLastWeek))),
    unwrap(client.GET("/v1/metrics/pipeline", period(monday, now))),
    unwrap(client.GET("/v1/pipelines")),
  ]);
  const stages = stageNames(pipelines, pipeline.pipeline);
  return {
    now: thisWeek,
    before: lastWeek,
    capture,
    captureBefore,
    stalled: pipeline.stalled,
    stages,
  };
}

type Kind = "share" | "count" | "hours";
type Grade = "healthy" | "watch" | "warning" | undefined;

interface TileProps {
  label: Word;
  value: number | null | undefined;
  before: number | null | undefined;
  kind: Kind;
  /** Whether a rise is good news (response rates) or bad (breaches). */
  higherIsBetter: boolean;
  /** Where the figure turns from healthy to watch to warning (rates only). */
  band?: Band;
  /** A line under the value (e.g. "7 of 9 reps"). */
  detail?: string;
}

type Band = Schemas["Band"];

/** A rate's grade by its band, as the API grades it. */
export function gradeOf(value: number | null | undefined, band: Band | undefined): Grade {
  if (value === null || value === undefined || !band) return undefined;
  if (value >= band.healthy_at) return "healthy";
  return value < band.warning_below ? "warning" : "watch";
}

function Tile({ label, value, before, kind, higherIsBetter, band, detail }: TileProps) {
  const grade = gradeOf(value, band);
  const { t, number, percent } = useI18n();
  const show = (v: number) =>
    kind === "share" ? percent(v) : kind === "hours" ? `${number(v, 1)} ${t("hours")}` : number(v);
  const has = value !== null && value !== undefined;
  const change = has && before !== null && before !== undefined ? value - before : undefined;
  const better = change === undefined || change === 0 ? undefined : change > 0 === higherIsBetter;
  const changeText =
    change === undefined
      ? ""
      : `${change > 0 ? "+" : change < 0 ? "−" : "±"}${
          kind === "share" ? `${number(Math.abs(change) * 100, 1)} pt` : show(Math.abs(change))
        }`;
  return (
    <article className={`tile ${grade ?? ""}`} aria-label={t(label)}>
      <h2>{t(label)}</h2>
      <p className="value">{has ? show(value) : t("noData")}</p>
      {detail && <p className="meta">{detail}</p>}
      {grade && <p className={`grade ${grade}`}>{t(grade)}</p>}
      {change !== undefined && (
        <p className={better === undefined ? "change" : better ? "change up" : "change down"}>
          {changeText} {t("vsLastWeek")}
        </p>
      )}
      {band && (
        <p className="meta">
          {t("healthyAt")} ≥ {percent(band.healthy_at)} · {t("warningBelow")} &lt;{" "}
          {percent(band.warning_below)}
        </p>
      )}
    </article>
  );
}

export function Cockpit({ client }: { client: Client }) {
  const { t, number, percent, language } = useI18n();
  const weeks = useLoad(() => loadWeeks(client));
  if (weeks.error !== undefined && !weeks.data)
    return <ErrorNote error={weeks.error} onRetry={weeks.reload} />;
  if (!weeks.data) return <p className="muted">{t("loading")}</p>;
  const { now, before, capture, captureBefore, stalled, stages } = weeks.data;
  const stageName = (key: string) => stages[key]?.[language] ?? key;

  return (
    <div className="cockpit">
      <h1>
        {t("cockpit")} · {t("thisWeek")}
      </h1>
      <h2 className="visually-hidden">{t("selfTest")}</h2>
      <div className="tiles">
        <Tile
          label="responseRate"
          value={now.total.response_rate_24h}
          before={before.total.response_rate_24h}
          kind="share"
          higherIsBetter
          band={now.bands.response_rate_24h}
        />
        <Tile
          label="completeness"
          value={now.total.completeness}
          before={before.total.completeness}
          kind="share"
          higherIsBetter
          band={now.bands.completeness}
        />
        <Tile
          label="activeReps"
          value={capture.active_reps.rate}
          before={captureBefore.active_reps.rate}
          kind="share"
          higherIsBetter
          band={capture.active_reps.band}
          detail={t("activeOf")
            .replace("{active}", number(capture.active_reps.active))
            .replace("{reps}", number(capture.active_reps.reps))}
        />
        <Tile
          label="captureRate"
          value={capture.total.rate}
          before={captureBefore.total.rate}
          kind="share"
          higherIsBetter
          band={{ healthy_at: capture.healthy_at, warning_below: capture.warning_below }}
        />
      </div>
      <h2>{t("leadSla")}</h2>
      <div className="tiles">
        <Tile
          label="slaBreaches"
          value={now.total.sla_breaches}
          before={before.total.sla_breaches}
          kind="count"
          higherIsBetter={false}
        />
        <Tile
          label="activationRate"
          value={now.total.activation_rate_72h}
          before={before.total.activation_rate_72h}
          kind="share"
          higherIsBetter
        />
        <Tile
          label="medianFirstContact"
          value={now.total.median_first_contact_hours}
          before={before.total.median_first_contact_hours}
          kind="hours"
          higherIsBetter={false}
        />
        <Tile
          label="staleLeads"
          value={now.total.stale}
          before={undefined}
          kind="count"
          higherIsBetter={false}
        />
        <Tile
          label="poolSize"
          value={now.pool_size}
          before={undefined}
          kind="count"
          higherIsBetter={false}
        />
      </div>

      <h2>{t("stalledDeals")}</h2>
      {stalled.length === 0 && <p className="muted">{t("noStalled")}</p>}
      <ul className="list stalled">
        {stalled.slice(0, 5).map((d) => (
          <li key={d.id} className="item overdue">
            <div className="what">
              <strong>
                <a href={href({ page: "deal", id: d.id })}>{d.title}</a>
              </strong>
              <span className="meta">
                {stageName(d.stage)} · {t("overdueBy")} {number(d.overdue_days)} {t("days")}
              </span>
            </div>
          </li>
        ))}
      </ul>

      <h2>{t("reps")}</h2>
      <TableRegion label={t("reps")}>
        <table>
          <thead>
            <tr>
              <th scope="col">{t("rep")}</th>
              <th scope="col">{t("leads")}</th>
              <th scope="col">{t("responseRate")}</th>
              <th scope="col">{t("activationRate")}</th>
              <th scope="col">{t("slaBreaches")}</th>
              <th scope="col">{t("staleLeads")}</th>
            </tr>
          </thead>
          <tbody>
            {now.reps.map((rep) => (
              <tr key={rep.user}>
                <th scope="row">{rep.email}</th>
                <td>{number(rep.leads)}</td>
                <td>{rep.response_rate_24h == null ? "—" : percent(rep.response_rate_24h)}</td>
                <td>{rep.activation_rate_72h == null ? "—" : percent(rep.activation_rate_72h)}</td>
                <td>{number(rep.sla_breaches)}</td>
                <td>{number(rep.stale)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableRegion>
    </div>
  );
}
