// The decision log's entries: what a rule did, when, on what, and the field values that made
// it act. Shown on a deal, on a rule and on the rules page.
import type { Schemas } from "../api/client";
import { useI18n } from "../i18n";
import { href } from "../route";
import { triggerName } from "./ruleForm";

type Decision = Schemas["Decision"];
type Evidence = Schemas["Evidence"];

/** A value from the evidence as a person reads it (strings bare, the rest as JSON). */
export function shown(value: unknown): string {
  if (value === null || value === undefined) return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}

function EvidenceLine({ e }: { e: Evidence }) {
  const { t } = useI18n();
  return (
    <li>
      <code>{e.field}</code> = {shown(e.actual)} ({t(`op_${e.op}`)}
      {e.expected !== undefined && e.expected !== null ? ` ${shown(e.expected)}` : ""})
    </li>
  );
}

/** What rules did and why: each action's outcome with the field values that matched. */
export function DecisionList({ decisions, subjects }: { decisions: Decision[]; subjects?: boolean }) {
  const { t, date, language } = useI18n();
  if (decisions.length === 0) return <p className="muted">{t("noDecisions")}</p>;
  return (
    <ul className="list decisions">
      {decisions.map((d) => (
        <li key={`${d.event}-${d.rule}-${d.action_index}`} className={`item outcome-${d.outcome}`}>
          <div className="what">
            <strong>
              <a href={href({ page: "rule", id: d.rule })}>{d.rule}</a> v{d.rule_version} ·{" "}
              {t(`outcome_${d.outcome}`)}
            </strong>
            <span className="meta">
              {date(d.at)} · {t("trigger")}: {triggerName(d.trigger, language)}
              {subjects && "deal" in d && (
                <>
                  {" · "}
                  <a href={href({ page: "deal", id: d.deal })}>{t("deal")}</a>
                </>
              )}
              {subjects && "customer" in d && (
                <>
                  {" · "}
                  <a href={href({ page: "customer", id: d.customer })}>{t("customer")}</a>
                </>
              )}
            </span>
            {d.detail && <p className="summary">{d.detail}</p>}
            {d.evidence.length > 0 && (
              <ul className="evidence" aria-label={t("evidence")}>
                {d.evidence.map((e, i) => (
                  <EvidenceLine key={i} e={e} />
                ))}
              </ul>
            )}
          </div>
        </li>
      ))}
    </ul>
  );
}
