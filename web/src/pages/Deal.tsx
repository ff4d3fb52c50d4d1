// A deal in full: where it stands, how long each stage took (the stage log), what the rules
// did with it and why (the decision log with its evidence), and the follow-ups logged on it.
import { unwrap, type Client, type Schemas } from "../api/client";
import { useI18n } from "../i18n";
import { useLoad } from "../useLoad";
import { ErrorNote } from "../parts";
import { DecisionList } from "./Decisions";
import { href } from "../route";
import { stageNames } from "../pipelines";

type Localized = Schemas["Localized"];

interface DealData {
  deal: Schemas["DealView"];
  history: Schemas["StageChange"][];
  decisions: Schemas["Decision"][];
  activities: Schemas["Activity"][];
  stages: Record<string, Localized>;
  customer?: string;
}

async function loadDeal(client: Client, id: string): Promise<DealData> {
  const path = { params: { path: { id } } };
  const [deal, history, decisions, activities, pipelines] = await Promise.all([
    unwrap(client.GET("/v1/deals/{id}", path)),
    unwrap(client.GET("/v1/deals/{id}/history", path)),
    unwrap(client.GET("/v1/deals/{id}/decisions", path)),
    unwrap(client.GET("/v1/deals/{id}/activities", { params: { path: { id }, query: { limit: 20 } } })),
    unwrap(client.GET("/v1/pipelines")),
  ]);
  const stages = stageNames(pipelines, deal.pipeline);
  // The customer's name is a nicety: a deal shows without it.
  const customer = await unwrap(
    client.GET("/v1/customers/{id}", { params: { path: { id: deal.customer } } }),
  ).then(
    (c) => c.name,
    () => undefined,
  );
  return { deal, history, decisions, activities, stages, customer };
}

export function Deal({ client, id }: { client: Client; id: string }) {
  const { t, language, money, date, duration, number } = useI18n();
  const loaded = useLoad(() => loadDeal(client, id));
  if (loaded.error !== undefined && !loaded.data)
    return <ErrorNote error={loaded.error} onRetry={loaded.reload} />;
  if (!loaded.data) return <p className="muted">{t("loading")}</p>;
  const { deal, history, decisions, activities, stages, customer } = loaded.data;
  const stage = (key: string | null | undefined) => (key ? (stages[key]?.[language] ?? key) : "—");
  // Newest first on screen; the log is kept oldest first.
  const moves = [...history].sort((a, b) => b.version - a.version);

  return (
    <article className="detail" aria-labelledby="deal-title">
      <p>
        <a href={href({ page: "board" })}>← {t("board")}</a>
      </p>
      <h1 id="deal-title">{deal.title}</h1>
      <dl className="facts">
        <div>
          <dt>{t("stage")}</dt>
          <dd>
            {stage(deal.stage)}
            {deal.overdue_days > 0 && (
              <span className="late">
                {" "}
                · {t("overdueBy")} {number(deal.overdue_days)} {t("days")}
              </span>
            )}
          </dd>
        </div>
        <div>
          <dt>{t("amount")}</dt>
          <dd>{money(deal.amount, deal.currency)}</dd>
        </div>
        <div>
          <dt>{t("customer")}</dt>
          <dd>
            <a href={href({ page: "customer", id: deal.customer })}>{customer ?? t("open")}</a>
          </dd>
        </div>
        <div>
          <dt>{t("expectedClose")}</dt>
          <dd>{deal.expected_close ?? "—"}</dd>
        </div>
        <div>
          <dt>{t("inStageSince")}</dt>
          <dd>{date(deal.stage_entered_at)}</dd>
        </div>
        {deal.status !== "open" && (
          <div>
            <dt>{t("status")}</dt>
            <dd>{t(deal.status === "won" ? "won" : "lost")}</dd>
          </div>
        )}
      </dl>

      <section aria-labelledby="history-title">
        <h2 id="history-title">{t("stageHistory")}</h2>
        <ol className="timeline">
          {moves.map((m) => (
            <li key={m.version}>
              <strong>
                {m.from ? `${stage(m.from)} → ${stage(m.to)}` : `${t("createdIn")} ${stage(m.to)}`}
              </strong>
              <span className="meta">
                {date(m.at)}
                {m.from && ` · ${t("timeInStage")} ${duration(m.seconds_in_previous)}`}
                {m.reason && ` · ${m.reason}`}
              </span>
              {(m.overridden ?? []).length > 0 && (
                <span className="meta late">
                  {t("overridden")}: {(m.overridden ?? []).join("; ")}
                </span>
              )}
            </li>
          ))}
        </ol>
      </section>

      <section aria-labelledby="decisions-title">
        <h2 id="decisions-title">{t("decisions")}</h2>
        <DecisionList decisions={decisions} />
      </section>

      <section aria-labelledby="activities-title">
        <h2 id="activities-title">{t("activities")}</h2>
        {activities.length === 0 && <p className="muted">{t("noActivities")}</p>}
        <ul className="list">
          {activities.map((a) => (
            <li key={a.id} className="item">
              <div className="what">
                <strong>{t(`activity_${a.kind}`)}</strong>
                <span className="meta">{date(a.occurred_at)}</span>
                <p className="summary">{a.summary}</p>
              </div>
            </li>
          ))}
        </ul>
      </section>
    </article>
  );
}
