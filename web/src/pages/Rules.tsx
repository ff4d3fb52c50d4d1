// The rules kept as data: each rule with its trigger and version, and the decision log — what
// the rules did and the field values that made them do it.
import { unwrap, type Client } from "../api/client";
import { useI18n } from "../i18n";
import { useLoad } from "../useLoad";
import { ErrorNote, TableRegion } from "../parts";
import { DecisionList } from "./Decisions";
import { href } from "../route";
import { triggerName } from "./ruleForm";

async function loadRules(client: Client) {
  const [rules, decisions] = await Promise.all([
    unwrap(client.GET("/v1/rules")),
    unwrap(client.GET("/v1/decisions", { params: { query: { limit: 50 } } })),
  ]);
  return { rules: [...rules].sort((a, b) => a.trigger.localeCompare(b.trigger) || a.id.localeCompare(b.id)), decisions };
}

export function Rules({ client }: { client: Client }) {
  const { t, language, date } = useI18n();
  const loaded = useLoad(() => loadRules(client));
  if (loaded.error !== undefined && !loaded.data)
    return <ErrorNote error={loaded.error} onRetry={loaded.reload} />;
  if (!loaded.data) return <p className="muted">{t("loading")}</p>;
  const { rules, decisions } = loaded.data;
  return (
    <div className="rules">
      <h1>{t("rules")}</h1>
      <p>
        <a className="button" href={href({ page: "rule", id: "new" })}>
          {t("newRule")}
        </a>
      </p>
      <TableRegion label={t("rules")}>
        <table>
          <thead>
            <tr>
              <th scope="col">{t("rule")}</th>
              <th scope="col">{t("when")}</th>
              <th scope="col">{t("version")}</th>
              <th scope="col">{t("changedAt")}</th>
              <th scope="col">{t("status")}</th>
            </tr>
          </thead>
          <tbody>
            {rules.map((r) => (
              <tr key={r.id} data-rule={r.id}>
                <th scope="row">
                  <a href={href({ page: "rule", id: r.id })}>{r.name}</a>
                  <span className="meta">{r.id}</span>
                </th>
                <td>{triggerName(r.trigger, language)}</td>
                <td>v{r.version}</td>
                <td>{date(r.changed_at)}</td>
                <td>{r.enabled === false ? t("disabled") : t("enabled")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableRegion>
      <h2>{t("decisionLog")}</h2>
      <DecisionList decisions={decisions} subjects />
    </div>
  );
}
