// The manager's process-health cockpit: this week against last week, tile by tile, with the
// thresholds the API grades by where it has them (the auto-capture rate), and each rep's row.
import { unwrap, type Client, type Schemas } from "../api/client";
import { useI18n, type Word } from "../i18n";
import { useLoad } from "../useLoad";
import { ErrorNote } from "../parts";

type LeadReport = Schemas["MetricsReport"];
type CaptureReport = Schemas["CaptureReport"];

interface Weeks {
  now: LeadReport;
  before: LeadReport;
  capture: CaptureReport;
  captureBefore: CaptureReport;
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
  const [thisWeek, lastWeek, capture, captureBefore] = await Promise.all([
    unwrap(client.GET("/v1/metrics/leads", period(monday, now))),
    unwrap(client.GET("/v1/metrics/leads", period(lastMonday, sameMomentLastWeek))),
    unwrap(client.GET("/v1/metrics/capture", period(monday, now))),
    unwrap(client.GET("/v1/metrics/capture", period(lastMonday, sameMomentLastWeek))),
  ]);
  return { now: thisWeek, before: lastWeek, capture, captureBefore };
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
  grade?: Grade;
  thresholds?: { healthyAt: number; warningBelow: number };
}

function Tile({ label, value, before, kind, higherIsBetter, grade, thresholds }: TileProps) {
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
      {grade && <p className={`grade ${grade}`}>{t(grade)}</p>}
      {change !== undefined && (
        <p className={better === undefined ? "change" : better ? "change up" : "change down"}>
          {changeText} {t("vsLastWeek")}
        </p>
      )}
      {thresholds && (
        <p className="meta">
          {t("healthyAt")} ≥ {percent(thresholds.healthyAt)} · {t("warningBelow")} &lt;{" "}
          {percent(thresholds.warningBelow)}
        </p>
      )}
    </article>
  );
}

export function Cockpit({ client }: { client: Client }) {
  const { t, number, percent } = useI18n();
  const weeks = useLoad(() => loadWeeks(client));
  if (weeks.error !== undefined && !weeks.data)
    return <ErrorNote error={weeks.error} onRetry={weeks.reload} />;
  if (!weeks.data) return <p className="muted">{t("loading")}</p>;
  const { now, before, capture, captureBefore } = weeks.data;
  const captureGrade = (capture.total.status ?? undefined) as Grade;

  return (
    <div className="cockpit">
      <h1>
        {t("cockpit")} · {t("thisWeek")}
      </h1>
      <div className="tiles">
        <Tile
          label="responseRate"
          value={now.total.response_rate_24h}
          before={before.total.response_rate_24h}
          kind="share"
          higherIsBetter
        />
        <Tile
          label="activationRate"
          value={now.total.activation_rate_72h}
          before={before.total.activation_rate_72h}
          kind="share"
          higherIsBetter
        />
        <Tile
          label="captureRate"
          value={capture.total.rate}
          before={captureBefore.total.rate}
          kind="share"
          higherIsBetter
          grade={captureGrade}
          thresholds={{ healthyAt: capture.healthy_at, warningBelow: capture.warning_below }}
        />
        <Tile
          label="slaBreaches"
          value={now.total.sla_breaches}
          before={before.total.sla_breaches}
          kind="count"
          higherIsBetter={false}
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

      <h2>{t("reps")}</h2>
      <div className="table-wrap" tabIndex={0} role="region" aria-label={`${t("reps")} · ${t("table")}`}>
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
      </div>
    </div>
  );
}
