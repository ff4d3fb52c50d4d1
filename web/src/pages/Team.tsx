// The team: each rep's standing on the health metrics (TOP n% within the tenant, with the
// sentence that says where to improve), invalid visits over the last 30 days, and store
// sale-tag spikes (a tag whose share rose significantly in a region this week).
import { unwrap, type Client, type Schemas } from "../api/client";
import { useI18n } from "../i18n";
import { useLoad } from "../useLoad";
import { ErrorNote, TableRegion } from "../parts";

interface TeamData {
  customers: Schemas["CustomerReport"];
  visits: Schemas["VisitReport"];
  tags: Schemas["SaleTagReport"];
}

async function loadTeam(client: Client): Promise<TeamData> {
  const to = new Date();
  const from = new Date(to.getTime() - 30 * 24 * 3600 * 1000);
  const [customers, visits, tags] = await Promise.all([
    unwrap(client.GET("/v1/metrics/customers")),
    unwrap(
      client.GET("/v1/metrics/visits", {
        params: { query: { from: from.toISOString(), to: to.toISOString() } },
      }),
    ),
    unwrap(client.GET("/v1/metrics/sale-tags", { params: { query: { weeks: 8 } } })),
  ]);
  return { customers, visits, tags };
}

export function Team({ client }: { client: Client }) {
  const { t, number, percent } = useI18n();
  const loaded = useLoad(() => loadTeam(client));
  if (loaded.error !== undefined && !loaded.data)
    return <ErrorNote error={loaded.error} onRetry={loaded.reload} />;
  if (!loaded.data) return <p className="muted">{t("loading")}</p>;
  const { customers, visits, tags } = loaded.data;
  const email = (user: string) => customers.reps.find((r) => r.user === user)?.email ?? user;
  const region = (id: string) => tags.regions.find((r) => r.region === id)?.name ?? id;
  const top = (n: number | null | undefined) => (n == null ? "—" : `TOP ${n}%`);
  const ratio = (x: number | null | undefined) => (x == null ? "—" : percent(x));
  const thisWeek = tags.weeks[tags.weeks.length - 1];

  return (
    <div className="team">
      <h1>{t("team")}</h1>

      <section aria-labelledby="standing-title">
        <h2 id="standing-title">{t("standings")}</h2>
        <p className="muted">{t("standingsHelp")}</p>
        <TableRegion label={t("standings")}>
          <table>
            <thead>
              <tr>
                <th scope="col">{t("rep")}</th>
                <th scope="col">{t("activationRate")}</th>
                <th scope="col">{t("coverageDepth")}</th>
                <th scope="col">{t("proposalsPerMonth")}</th>
                <th scope="col">{t("suggestion")}</th>
              </tr>
            </thead>
            <tbody>
              {customers.reps.map((r) => (
                <tr key={r.user}>
                  <th scope="row">{r.email}</th>
                  <td>
                    {ratio(r.lead_activation_rate)} · {top(r.lead_activation_top_percent)}
                  </td>
                  <td>
                    {r.coverage_depth == null ? "—" : number(r.coverage_depth, 1)} ·{" "}
                    {top(r.coverage_top_percent)}
                  </td>
                  <td>
                    {r.proposals_per_month == null ? "—" : number(r.proposals_per_month, 1)} ·{" "}
                    {top(r.proposals_top_percent)}
                  </td>
                  <td className="wrap">{r.suggestion ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      </section>

      <section aria-labelledby="visits-title">
        <h2 id="visits-title">{t("invalidVisits")}</h2>
        <p className="muted">
          {t("last30Days")}: {number(visits.total.visits)} {t("visitsCount")} ·{" "}
          {t("invalidRate")} {ratio(visits.total.invalid_rate)}
        </p>
        <TableRegion label={t("invalidVisits")}>
          <table>
            <thead>
              <tr>
                <th scope="col">{t("rep")}</th>
                <th scope="col">{t("visitsCount")}</th>
                <th scope="col">{t("invalid")}</th>
                <th scope="col">{t("far")}</th>
                <th scope="col">{t("invalidRate")}</th>
              </tr>
            </thead>
            <tbody>
              {[...visits.reps]
                .sort((a, b) => (b.invalid_rate ?? -1) - (a.invalid_rate ?? -1))
                .map((r) => (
                  <tr key={r.user}>
                    <th scope="row">{email(r.user)}</th>
                    <td>{number(r.visits)}</td>
                    <td>{number(r.invalid)}</td>
                    <td>{number(r.far)}</td>
                    <td className={r.invalid_rate != null && r.invalid_rate > 0.2 ? "over" : undefined}>
                      {ratio(r.invalid_rate)}
                    </td>
                  </tr>
                ))}
            </tbody>
          </table>
        </TableRegion>
      </section>

      <section aria-labelledby="spikes-title">
        <h2 id="spikes-title">{t("tagSpikes")}</h2>
        {tags.spikes.length === 0 && <p className="muted">{t("noSpikes")}</p>}
        <ul className="list">
          {[...tags.spikes].reverse().map((s) => (
            <li key={`${s.region}-${s.week}-${s.tag}`} className="item">
              <div className="what">
                <strong>
                  {region(s.region)} · {s.tag}
                  {s.week === thisWeek ? ` · ${t("thisWeek")}` : ` · ${s.week}`}
                </strong>
                <span className="meta">
                  {percent(s.share)} ({number(s.count)}/{number(s.sales)}) · {t("baseline")}{" "}
                  {percent(s.baseline_share)} · z = {number(s.z, 1)}
                </span>
              </div>
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
}
