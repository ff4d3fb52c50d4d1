// One rule in a form: when (trigger) … if (all of these tests) … then (actions), each
// action's timing in hours or business hours. Before saving, a dry run shows what the draft
// would have done over the last N days; every save is a new version, and any earlier version
// can be brought back. The rule's own decisions are listed with their evidence.
import { useState, type FormEvent } from "react";
import { unwrap, type Client, type Schemas } from "../api/client";
import { useI18n } from "../i18n";
import { useLoad } from "../useLoad";
import { ErrorNote } from "../parts";
import { DecisionList, shown } from "./Decisions";
import { href } from "../route";
import {
  ACTIONS,
  ACTION_KINDS,
  OPS,
  TRIGGER_KEYS,
  UNARY,
  blankAction,
  fromRows,
  toRows,
  triggerName,
  type Action,
  type ActionKind,
  type FieldSpec,
  type RuleDraft,
  type TestRow,
} from "./ruleForm";

type Rule = Schemas["Rule"];

interface RuleData {
  rule?: Rule;
  versions: Rule[];
  decisions: Schemas["Decision"][];
}

async function loadRule(client: Client, id: string): Promise<RuleData> {
  if (id === "new") return { versions: [], decisions: [] };
  const path = { params: { path: { id } } };
  const [rule, versions, decisions] = await Promise.all([
    unwrap(client.GET("/v1/rules/{id}", path)),
    unwrap(client.GET("/v1/rules/{id}/versions", path)),
    unwrap(client.GET("/v1/decisions", { params: { query: { limit: 200 } } })),
  ]);
  return {
    rule,
    versions: [...versions].sort((a, b) => b.version - a.version),
    decisions: decisions.filter((d) => d.rule === id),
  };
}

const NEW_RULE: RuleDraft = {
  name: "",
  trigger: "lead_created",
  subject: "lead",
  enabled: true,
  order: 100,
  actions: [blankAction("create_task")],
};

function draftOf(rule: Rule | undefined): RuleDraft {
  if (!rule) return NEW_RULE;
  return {
    name: rule.name,
    trigger: rule.trigger,
    subject: rule.subject,
    enabled: rule.enabled,
    order: rule.order,
    conditions: rule.conditions,
    actions: rule.actions,
  };
}

export function RulePage({ client, id }: { client: Client; id: string }) {
  const { t } = useI18n();
  const loaded = useLoad(() => loadRule(client, id));
  if (loaded.error !== undefined && !loaded.data)
    return <ErrorNote error={loaded.error} onRetry={loaded.reload} />;
  if (!loaded.data) return <p className="muted">{t("loading")}</p>;
  // Keyed by version: a save or a rollback starts the form again from what is stored.
  return (
    <Editor
      key={loaded.data.rule?.version ?? 0}
      client={client}
      id={id}
      data={loaded.data}
      reload={loaded.reload}
    />
  );
}

function Editor({
  client,
  id,
  data,
  reload,
}: {
  client: Client;
  id: string;
  data: RuleData;
  reload: () => void;
}) {
  const { t, language, date, number, describe } = useI18n();
  const { rule, versions, decisions } = data;
  const [draft, setDraft] = useState<RuleDraft>(() => draftOf(rule));
  const [newId, setNewId] = useState("");
  const [rows, setRows] = useState<TestRow[] | null>(() => toRows(rule?.conditions));
  const [json, setJson] = useState(() => JSON.stringify(rule?.conditions ?? null, null, 2));
  const [days, setDays] = useState(7);
  const [report, setReport] = useState<Schemas["DryRunReport"]>();
  const [problem, setProblem] = useState<string>();
  const [saved, setSaved] = useState<string>();
  const [busy, setBusy] = useState(false);
  const lang = language === "zh" ? 0 : 1;

  /** The draft as it will be sent, or a problem to show. */
  const complete = (): RuleDraft | string => {
    if (rows) return { ...draft, conditions: fromRows(rows) };
    try {
      const parsed = JSON.parse(json) as RuleDraft["conditions"] | null;
      return { ...draft, conditions: parsed ?? undefined };
    } catch {
      return t("conditionsNotJson");
    }
  };

  const run = async (call: (d: RuleDraft) => Promise<void>) => {
    const d = complete();
    setProblem(undefined);
    setSaved(undefined);
    if (typeof d === "string") return setProblem(d);
    setBusy(true);
    try {
      await call(d);
    } catch (e) {
      setProblem(describe(e));
    } finally {
      setBusy(false);
    }
  };

  const dryRun = () =>
    run(async (d) => {
      setReport(await unwrap(client.POST("/v1/rules/dry-run", { body: { rule: d, days } })));
    });

  const save = (e: FormEvent) => {
    e.preventDefault();
    void run(async (d) => {
      if (rule) {
        await unwrap(
          client.PUT("/v1/rules/{id}", {
            params: { path: { id } },
            body: { expected_version: rule.version, rule: d },
          }),
        );
        setSaved(t("savedNewVersion"));
        reload();
      } else {
        const made = await unwrap(client.POST("/v1/rules", { body: { id: newId.trim(), rule: d } }));
        window.location.hash = href({ page: "rule", id: made.id });
      }
    });
  };

  const rollback = (to: number) =>
    run(async () => {
      if (!rule) return;
      await unwrap(
        client.POST("/v1/rules/{id}/rollback", {
          params: { path: { id } },
          body: { to_version: to, expected_version: rule.version },
        }),
      );
      reload();
    });

  const setAction = (i: number, action: Action) =>
    setDraft((d) => ({ ...d, actions: d.actions.map((a, j) => (j === i ? action : a)) }));

  return (
    <article className="detail rule-editor" aria-labelledby="rule-title">
      <p>
        <a href={href({ page: "rules" })}>← {t("rules")}</a>
      </p>
      <h1 id="rule-title">
        {rule ? `${rule.name} · v${rule.version}` : t("newRule")}
      </h1>
      <form onSubmit={save} className="form">
        {!rule && (
          <label>
            {t("ruleId")}
            <input
              required
              pattern="[a-z0-9][a-z0-9-]{1,62}"
              value={newId}
              onChange={(e) => setNewId(e.target.value)}
            />
          </label>
        )}
        <label>
          {t("ruleName")}
          <input
            required
            value={draft.name}
            onChange={(e) => setDraft({ ...draft, name: e.target.value })}
          />
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={draft.enabled !== false}
            onChange={(e) => setDraft({ ...draft, enabled: e.target.checked })}
          />
          {t("enabled")}
        </label>

        <fieldset>
          <legend>{t("when")}</legend>
          <label>
            {t("trigger")}
            <select
              value={draft.trigger}
              onChange={(e) =>
                setDraft({ ...draft, trigger: e.target.value as RuleDraft["trigger"] })
              }
            >
              {TRIGGER_KEYS.map((k) => (
                <option key={k} value={k}>
                  {triggerName(k, language)}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t("about")}
            <select
              value={draft.subject ?? "lead"}
              onChange={(e) =>
                setDraft({ ...draft, subject: e.target.value as RuleDraft["subject"] })
              }
            >
              {(["lead", "deal", "customer", "visit", "order", "upload"] as const).map((k) => (
                <option key={k} value={k}>
                  {t(k)}
                </option>
              ))}
            </select>
          </label>
        </fieldset>

        <fieldset>
          <legend>{t("ifAll")}</legend>
          {rows ? (
            <>
              {rows.length === 0 && <p className="muted">{t("noConditions")}</p>}
              {rows.map((row, i) => (
                <div key={i} className="row" role="group" aria-label={`${t("condition")} ${i + 1}`}>
                  <label>
                    {t("field")}
                    <input
                      value={row.field}
                      placeholder="lead.source"
                      onChange={(e) =>
                        setRows(rows.map((r, j) => (j === i ? { ...r, field: e.target.value } : r)))
                      }
                    />
                  </label>
                  <label>
                    {t("operator")}
                    <select
                      value={row.op}
                      onChange={(e) =>
                        setRows(
                          rows.map((r, j) =>
                            j === i ? { ...r, op: e.target.value as TestRow["op"] } : r,
                          ),
                        )
                      }
                    >
                      {OPS.map((op) => (
                        <option key={op} value={op}>
                          {t(`op_${op}`)}
                        </option>
                      ))}
                    </select>
                  </label>
                  {!UNARY.includes(row.op) && (
                    <label>
                      {t("value")}
                      <input
                        value={row.value}
                        placeholder='"website"'
                        onChange={(e) =>
                          setRows(
                            rows.map((r, j) => (j === i ? { ...r, value: e.target.value } : r)),
                          )
                        }
                      />
                    </label>
                  )}
                  <button
                    type="button"
                    className="quiet"
                    onClick={() => setRows(rows.filter((_, j) => j !== i))}
                  >
                    {t("remove")}
                  </button>
                </div>
              ))}
              <button
                type="button"
                className="quiet"
                onClick={() => setRows([...rows, { field: "", op: "eq", value: "" }])}
              >
                {t("addCondition")}
              </button>
            </>
          ) : (
            <label>
              {t("conditionsJson")}
              <textarea rows={8} value={json} onChange={(e) => setJson(e.target.value)} />
            </label>
          )}
        </fieldset>

        <fieldset>
          <legend>{t("then")}</legend>
          {draft.actions.map((action, i) => (
            <div key={i} className="action" role="group" aria-label={`${t("action")} ${i + 1}`}>
              <label>
                {t("action")} {i + 1}
                <select
                  value={action.do}
                  onChange={(e) => setAction(i, blankAction(e.target.value as ActionKind))}
                >
                  {ACTION_KINDS.map((k) => (
                    <option key={k} value={k}>
                      {ACTIONS[k].label[lang]}
                    </option>
                  ))}
                </select>
              </label>
              {ACTIONS[action.do].fields.map((f) => (
                <ActionField
                  key={f.name}
                  spec={f}
                  lang={lang}
                  value={(action as Record<string, unknown>)[f.name]}
                  onChange={(v) => {
                    // An emptied optional field is left out, not sent as null.
                    const next = Object.fromEntries(
                      Object.entries({ ...action, [f.name]: v }).filter(([, x]) => x !== undefined),
                    );
                    setAction(i, next as unknown as Action);
                  }}
                />
              ))}
              {draft.actions.length > 1 && (
                <button
                  type="button"
                  className="quiet"
                  onClick={() =>
                    setDraft({ ...draft, actions: draft.actions.filter((_, j) => j !== i) })
                  }
                >
                  {t("remove")}
                </button>
              )}
            </div>
          ))}
          <button
            type="button"
            className="quiet"
            onClick={() =>
              setDraft({ ...draft, actions: [...draft.actions, blankAction("notify")] })
            }
          >
            {t("addAction")}
          </button>
        </fieldset>

        <div className="toolbar">
          <label>
            {t("dryRunDays")}
            <input
              type="number"
              min={1}
              max={90}
              value={days}
              onChange={(e) => setDays(Math.max(1, Math.min(90, Number(e.target.value) || 1)))}
            />
          </label>
          <button type="button" disabled={busy} onClick={() => void dryRun()}>
            {t("dryRun")}
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {t("save")}
          </button>
        </div>
        {problem && (
          <p className="error" role="alert">
            {problem}
          </p>
        )}
        {saved && (
          <p className="ok" role="status">
            {saved}
          </p>
        )}
      </form>

      {report && (
        <section aria-labelledby="dry-title" className="dry-run">
          <h2 id="dry-title">{t("dryRunResult")}</h2>
          <p role="status">
            {t("dryRunSummary")
              .replace("{days}", number(days))
              .replace("{examined}", number(report.events_examined))
              .replace("{matched}", number(report.matched))}
          </p>
          <p className="muted">{report.note}</p>
          <ul className="list">
            {report.matches.slice(0, 20).map((m) => (
              <li key={m.event} className="item">
                <div className="what">
                  <strong>{date(m.occurred_at)}</strong>
                  <span className="meta">
                    {m.evidence.map((e) => `${e.field} = ${shown(e.actual)}`).join(" · ")}
                  </span>
                  <span className="meta">
                    {t("wouldDo")}: {m.would_do.map((a) => ACTIONS[a.do].label[lang]).join(", ")}
                  </span>
                </div>
              </li>
            ))}
          </ul>
        </section>
      )}

      {versions.length > 0 && rule && (
        <section aria-labelledby="versions-title">
          <h2 id="versions-title">{t("versions")}</h2>
          <ul className="list">
            {versions.map((v) => (
              <li key={v.version} className="item" data-version={v.version}>
                <div className="what">
                  <strong>
                    v{v.version} · {v.name}
                  </strong>
                  <span className="meta">
                    {date(v.changed_at)} · {triggerName(v.trigger, language)} ·{" "}
                    {v.actions.map((a) => ACTIONS[a.do].label[lang]).join(", ")}
                  </span>
                </div>
                {v.version === rule.version ? (
                  <span className="meta">{t("current")}</span>
                ) : (
                  <button type="button" disabled={busy} onClick={() => void rollback(v.version)}>
                    {t("rollBack")}
                  </button>
                )}
              </li>
            ))}
          </ul>
        </section>
      )}

      {rule && (
        <section aria-labelledby="rule-decisions-title">
          <h2 id="rule-decisions-title">{t("decisions")}</h2>
          <DecisionList decisions={decisions} subjects />
        </section>
      )}
    </article>
  );
}

function ActionField({
  spec,
  lang,
  value,
  onChange,
}: {
  spec: FieldSpec;
  lang: 0 | 1;
  value: unknown;
  onChange: (value: unknown) => void;
}) {
  const label = spec.label[lang];
  const kind = spec.kind;
  if (kind.type === "bool")
    return (
      <label className="check">
        <input
          type="checkbox"
          checked={value === true}
          onChange={(e) => onChange(e.target.checked || undefined)}
        />
        {label}
      </label>
    );
  if (kind.type === "choice")
    return (
      <label>
        {label}
        <select value={typeof value === "string" ? value : ""} onChange={(e) => onChange(e.target.value)}>
          {kind.options.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      </label>
    );
  if (kind.type === "number")
    return (
      <label>
        {label}
        <input
          type="number"
          step="any"
          min={0}
          required={spec.required}
          value={typeof value === "number" ? value : ""}
          onChange={(e) => onChange(e.target.value === "" ? undefined : Number(e.target.value))}
        />
      </label>
    );
  if (kind.type === "list") return <ListField label={label} spec={spec} value={value} onChange={onChange} />;
  return (
    <label>
      {label}
      <input
        required={spec.required}
        value={typeof value === "string" ? value : ""}
        onChange={(e) => onChange(e.target.value === "" && !spec.required ? undefined : e.target.value)}
      />
    </label>
  );
}


/** A comma-separated list, kept as typed (so a trailing comma can be typed) and sent as a list. */
function ListField({
  label,
  spec,
  value,
  onChange,
}: {
  label: string;
  spec: FieldSpec;
  value: unknown;
  onChange: (value: unknown) => void;
}) {
  const [text, setText] = useState(() => (Array.isArray(value) ? value.join(", ") : ""));
  return (
    <label>
      {label}
      <input
        required={spec.required}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          onChange(
            e.target.value
              .split(/[,，]/)
              .map((s) => s.trim())
              .filter(Boolean),
          );
        }}
      />
    </label>
  );
}
