// The rep's phone page: open tasks with why, overdue first, done in one tap; leads still
// waiting for a first contact, logged as called in one tap; the public pool, claimed in one.
import { useState } from "react";
import { unwrap, type Client, type Lead, type Task } from "../api/client";
import { useI18n, type Word } from "../i18n";
import { useLoad } from "../useLoad";
import { ErrorNote } from "../parts";
import { Capture } from "./Capture";

interface TodayData {
  /** When it was read: "overdue" is against this. */
  at: number;
  tasks: Task[];
  waiting: Lead[];
  pool: Lead[];
}

async function loadToday(client: Client): Promise<TodayData> {
  const [tasks, waiting, pool] = await Promise.all([
    unwrap(client.GET("/v1/me/tasks")),
    unwrap(client.GET("/v1/leads", { params: { query: { status: "new", limit: 20 } } })),
    unwrap(client.GET("/v1/leads", { params: { query: { pool: true, limit: 10 } } })),
  ]);
  return { at: Date.now(), tasks, waiting: waiting.items, pool: pool.items };
}

/** Open tasks, overdue first, then by due time. */
export function openTasks(tasks: Task[]): Task[] {
  return tasks
    .filter((task) => !task.done_at)
    .sort((a, b) => Date.parse(a.due_at) - Date.parse(b.due_at));
}

/** What a task is about, from its subject key. */
function subjectWord(task: Task): Word {
  if ("deal" in task) return "deal";
  if ("customer" in task) return "customer";
  if ("visit" in task) return "visit";
  return "lead";
}

export function Today({ client, user }: { client: Client; user: string }) {
  const { t, date, describe, pick } = useI18n();
  const today = useLoad(() => loadToday(client));
  const [done, setDone] = useState<Record<string, string>>({});
  const [failed, setFailed] = useState<unknown>();

  const act = async (id: string, call: () => Promise<unknown>, word: Word) => {
    setFailed(undefined);
    try {
      await call();
      setDone((d) => ({ ...d, [id]: t(word) }));
    } catch (e) {
      setFailed(e);
      today.reload();
    }
  };

  if (today.error !== undefined && !today.data)
    return <ErrorNote error={today.error} onRetry={today.reload} />;
  if (!today.data) return <p className="muted">{t("loading")}</p>;
  const now = today.data.at;
  const tasks = openTasks(today.data.tasks);

  return (
    <div className="today">
      {failed !== undefined && <p className="error" role="alert">{describe(failed)}</p>}
      <section aria-labelledby="tasks-title">
        <h1 id="tasks-title">{t("myTasks")}</h1>
        {tasks.length === 0 && <p className="muted">{t("noTasks")}</p>}
        <ul className="list">
          {tasks.map((task) => {
            const overdue = Date.parse(task.due_at) < now;
            return (
              <li key={task.id} className={overdue ? "item overdue" : "item"} data-task={task.id}>
                <div className="what">
                  <strong>{pick(task.title)}</strong>
                  <span className="meta">
                    {overdue ? t("overdue") : t("due")} {date(task.due_at)} · {t(subjectWord(task))}
                  </span>
                  {(task.why ?? task.rule) && (
                    <span className="meta">
                      {t("why")}: {pick(task.why ?? task.rule ?? "")}
                    </span>
                  )}
                </div>
                {done[task.id] ? (
                  <span className="ok">{done[task.id]}</span>
                ) : (
                  <button
                    type="button"
                    className="primary"
                    onClick={() =>
                      act(
                        task.id,
                        () =>
                          unwrap(
                            client.POST("/v1/tasks/{id}/complete", {
                              params: { path: { id: task.id } },
                              body: {},
                            }),
                          ),
                        "markedDone",
                      )
                    }
                  >
                    {t("done")}
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      </section>

      <Capture client={client} user={user} />

      <LeadList
        id="waiting"
        title={t("newLeads")}
        empty={t("noNewLeads")}
        leads={today.data.waiting}
        action={t("called")}
        primary
        done={done}
        onAct={(lead) =>
          act(
            lead.id,
            () =>
              unwrap(
                client.POST("/v1/leads/{id}/activities", {
                  params: { path: { id: lead.id } },
                  body: { kind: "call", summary: t("callSummary") },
                }),
              ),
            "logged",
          )
        }
      />

      <LeadList
        id="pool"
        title={t("pool")}
        empty={t("noPool")}
        leads={today.data.pool}
        action={t("claim")}
        done={done}
        onAct={(lead) =>
          act(
            lead.id,
            () => unwrap(client.POST("/v1/leads/{id}/claim", { params: { path: { id: lead.id } } })),
            "claimed",
          )
        }
      />
    </div>
  );
}

interface LeadListProps {
  id: string;
  title: string;
  empty: string;
  leads: Lead[];
  /** The one-tap action's label, and what it does. */
  action: string;
  primary?: boolean;
  onAct: (lead: Lead) => void;
  /** What each lead acted on shows instead of its button. */
  done: Record<string, string>;
}

/** A list of leads with one action each, one tap away. */
function LeadList({ id, title, empty, leads, action, primary, onAct, done }: LeadListProps) {
  const { date } = useI18n();
  return (
    <section aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{title}</h2>
      {leads.length === 0 && <p className="muted">{empty}</p>}
      <ul className="list">
        {leads.map((lead) => (
          <li key={lead.id} className="item" data-lead={lead.id}>
            <div className="what">
              <strong>
                {lead.contact.name} <span className={`tag p-${lead.priority}`}>{lead.priority}</span>
              </strong>
              <span className="meta">
                {lead.contact.company ?? ""} {lead.contact.phone ?? lead.contact.email ?? ""}
              </span>
              <span className="meta">{date(lead.created_at)}</span>
            </div>
            {done[lead.id] ? (
              <span className="ok">{done[lead.id]}</span>
            ) : (
              <button type="button" className={primary ? "primary" : undefined} onClick={() => onAct(lead)}>
                {action}
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
