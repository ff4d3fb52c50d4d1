// Where the month will land and how far to trust it: the funnel (deals of the last 90 days
// that reached each stage, and the share that went on), this month's forecast with its 90 %
// range, commit and best case, and the backtest — what the forecast said at the start of each
// past month against what was won, with its error beside "same as last month".
import { unwrap, type Client, type Schemas } from "../api/client";
import { useI18n } from "../i18n";
import { useLoad } from "../useLoad";
import { ErrorNote, TableRegion } from "../parts";
import { useChart } from "../useChart";

interface ForecastData {
  month: string;
  forecast: Schemas["Forecast"];
  backtest: Schemas["Backtest"];
  funnel: Schemas["StageFigures"][];
  stages: Schemas["Stage"][];
  currency: string;
}

/** `YYYY-MM` of `at` in this browser's zone (the tenant's, for the people using it). */
export function monthOf(at: Date): string {
  return `${at.getFullYear()}-${String(at.getMonth() + 1).padStart(2, "0")}`;
}

async function loadForecast(client: Client): Promise<ForecastData> {
  const now = new Date();
  const month = monthOf(now);
  const from = new Date(now.getTime() - 90 * 24 * 3600 * 1000);
  const [forecast, backtest, metrics, pipelines, board] = await Promise.all([
    unwrap(client.GET("/v1/forecast", { params: { query: { period: month } } })),
    unwrap(client.GET("/v1/forecast/backtest", { params: { query: { months: 6 } } })),
    unwrap(
      client.GET("/v1/metrics/pipeline", {
        params: { query: { from: from.toISOString(), to: now.toISOString() } },
      }),
    ),
    unwrap(client.GET("/v1/pipelines")),
    unwrap(client.GET("/v1/deals/board", { params: { query: { limit: 1 } } })),
  ]);
  const stages = pipelines.find((p) => p.id === metrics.pipeline)?.stages ?? [];
  const currency = board.flatMap((c) => c.deals)[0]?.currency ?? "CNY";
  return { month, forecast, backtest, funnel: metrics.stages, stages, currency };
}

export function Forecast({ client }: { client: Client }) {
  const { t, language, money, percent, number } = useI18n();
  const loaded = useLoad(() => loadForecast(client));
  const data = loaded.data;
  const stageName = (key: string) =>
    data?.stages.find((s) => s.key === key)?.name[language] ?? key;
  // The funnel is the open path: lost stages are not a step on the way to winning.
  const path = (data?.funnel ?? []).filter(
    (f) => data?.stages.find((s) => s.key === f.stage)?.kind !== "lost",
  );
  const monthLabel = (iso: string) =>
    new Intl.DateTimeFormat(language === "zh" ? "zh-CN" : "en-GB", {
      year: "numeric",
      month: "short",
    }).format(new Date(iso));

  const funnel = useChart(
    data !== undefined,
    ({ drawFunnel }, element) =>
      drawFunnel(element, {
        stages: path.map((f) => ({ name: stageName(f.stage), reached: f.reached })),
      }),
    [data, language],
  );
  const backtest = useChart(
    data !== undefined && data.backtest.months.length > 0,
    ({ drawBacktest }, element) =>
      drawBacktest(element, {
        months: (data?.backtest.months ?? []).map((m) => monthLabel(m.from)),
        lines: [
          { name: t("actual"), values: (data?.backtest.months ?? []).map((m) => m.actual) },
          {
            name: t("forecastSaid"),
            values: (data?.backtest.months ?? []).map((m) => Math.round(m.forecast)),
          },
          {
            name: t("naive"),
            values: (data?.backtest.months ?? []).map((m) => m.naive),
            dashed: true,
          },
        ],
      }),
    [data, language],
  );

  if (loaded.error !== undefined && !data)
    return <ErrorNote error={loaded.error} onRetry={loaded.reload} />;
  if (!data) return <p className="muted">{t("loading")}</p>;
  const { forecast: f, backtest: b, currency } = data;
  const ratio = (x: number | null | undefined) => (x == null ? "—" : percent(x));

  return (
    <div className="forecast">
      <h1>{t("forecast")}</h1>

      <section aria-labelledby="month-title">
        <h2 id="month-title">
          {t("thisMonth")} ({data.month})
        </h2>
        <div className="tiles">
          <article className="tile" aria-label={t("expected")}>
            <h3>{t("expected")}</h3>
            <p className="value">{money(f.expected, currency)}</p>
            <p className="change">
              {t("range90")}: {money(f.low, currency)} – {money(f.high, currency)}
            </p>
          </article>
          <article className="tile" aria-label={t("wonSoFar")}>
            <h3>{t("wonSoFar")}</h3>
            <p className="value">{money(f.won_to_date, currency)}</p>
          </article>
          <article className="tile" aria-label={t("commit")}>
            <h3>{t("commit")}</h3>
            <p className="value">{money(f.commit, currency)}</p>
            <p className="change">
              {t("bestCase")}: {money(f.best_case, currency)}
            </p>
          </article>
          <article className="tile" aria-label={t("openPipeline")}>
            <h3>{t("openPipeline")}</h3>
            <p className="value">{money(f.pipeline, currency)}</p>
            <p className="change">
              {number(f.open_deals)} {t("dealsCount")} · {number(f.unscheduled_deals)}{" "}
              {t("unscheduled")}
            </p>
          </article>
        </div>
      </section>

      <section aria-labelledby="backtest-title">
        <h2 id="backtest-title">{t("backtest")}</h2>
        <p className="muted">{t("backtestHelp")}</p>
        <div className="tiles">
          <article className="tile" aria-label="WAPE">
            <h3>{t("wape")}</h3>
            <p className="value">{ratio(b.wape)}</p>
            <p className="change">
              {t("naive")}: {ratio(b.naive_wape)}
            </p>
          </article>
          <article className="tile" aria-label={t("bias")}>
            <h3>{t("bias")}</h3>
            <p className="value">{ratio(b.bias)}</p>
          </article>
          <article className="tile" aria-label={t("skill")}>
            <h3>{t("skill")}</h3>
            <p className="value">{ratio(b.skill)}</p>
          </article>
        </div>
        {b.months.length > 0 && <div ref={backtest} className="chart" aria-hidden="true" />}
        <TableRegion label={t("backtest")}>
          <table>
            <thead>
              <tr>
                <th scope="col">{t("month")}</th>
                <th scope="col">{t("forecastSaid")}</th>
                <th scope="col">{t("actual")}</th>
                <th scope="col">{t("naive")}</th>
              </tr>
            </thead>
            <tbody>
              {b.months.map((m) => (
                <tr key={m.from}>
                  <th scope="row">{monthLabel(m.from)}</th>
                  <td>{money(m.forecast, currency)}</td>
                  <td>{money(m.actual, currency)}</td>
                  <td>{money(m.naive, currency)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      </section>

      <section aria-labelledby="funnel-title">
        <h2 id="funnel-title">{t("funnel")}</h2>
        <p className="muted">{t("funnelHelp")}</p>
        <div ref={funnel} className="chart" aria-hidden="true" />
        <TableRegion label={t("funnel")}>
          <table>
            <thead>
              <tr>
                <th scope="col">{t("stage")}</th>
                <th scope="col">{t("reached")}</th>
                <th scope="col">{t("penetration")}</th>
                <th scope="col">{t("winProbability")}</th>
              </tr>
            </thead>
            <tbody>
              {path.map((s) => (
                <tr key={s.stage}>
                  <th scope="row">{stageName(s.stage)}</th>
                  <td>{number(s.reached)}</td>
                  <td>{ratio(s.penetration)}</td>
                  <td>
                    {ratio(f.probabilities.find((p) => p.stage === s.stage)?.probability)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      </section>
    </div>
  );
}
