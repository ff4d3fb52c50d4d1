// The pipeline board: a column per stage with its count and total, deals as cards. A card is
// moved by dragging it to another column or, from the keyboard or a phone, with its "move
// to" menu; a gated move that is refused says exactly what is missing (the server's words,
// in the user's language).
import { useState, type DragEvent } from "react";
import { unwrap, type Client, type Schemas } from "../api/client";
import { useI18n } from "../i18n";
import { useLoad } from "../useLoad";
import { ErrorNote } from "../parts";
import { href } from "../route";

type Column = Schemas["BoardColumn"];
type Deal = Schemas["Deal"];

interface BoardData {
  at: number;
  columns: Column[];
}

async function loadBoard(client: Client): Promise<BoardData> {
  const columns = await unwrap(client.GET("/v1/deals/board", { params: { query: { limit: 100 } } }));
  return { at: Date.now(), columns };
}

export function Board({ client }: { client: Client }) {
  const { t, language, money, date, describe } = useI18n();
  const board = useLoad(() => loadBoard(client));
  const [refused, setRefused] = useState<{ deal: string; error: unknown }>();
  const [moving, setMoving] = useState<string>();
  const [over, setOver] = useState<string>();
  // Deals paged in beyond a column's first 100, and where each column's paging stands
  // (`null`: nothing more).
  const [extra, setExtra] = useState<Record<string, { deals: Deal[]; cursor: string | null }>>({});
  const [paging, setPaging] = useState<string>();

  if (board.error !== undefined && !board.data)
    return <ErrorNote error={board.error} onRetry={board.reload} />;
  if (!board.data) return <p className="muted">{t("loading")}</p>;
  const { columns, at } = board.data;
  const stageName = (key: string) =>
    columns.find((c) => c.stage.key === key)?.stage.name[language] ?? key;

  const move = async (deal: Deal, to: string) => {
    if (to === deal.stage) return;
    setRefused(undefined);
    setMoving(deal.id);
    try {
      await unwrap(
        client.POST("/v1/deals/{id}/stage", {
          params: { path: { id: deal.id } },
          body: { to, expected_version: deal.version },
        }),
      );
    } catch (error) {
      setRefused({ deal: deal.id, error });
    } finally {
      setMoving(undefined);
      setExtra({});
      board.reload();
    }
  };

  /** The column's next deals, from the deal list (newest change first, like the board):
   * pages already shown are skipped. */
  const more = async (column: Column) => {
    const stage = column.stage.key;
    const shown = new Set([...column.deals, ...(extra[stage]?.deals ?? [])].map((d) => d.id));
    const pipeline = column.deals[0]?.pipeline ?? "default";
    let cursor = extra[stage]?.cursor ?? undefined;
    let added: Deal[] = [];
    setPaging(stage);
    try {
      for (let round = 0; round < 20 && added.length === 0; round++) {
        const page = await unwrap(
          client.GET("/v1/deals", {
            params: { query: { pipeline, stage, limit: 100, ...(cursor ? { cursor } : {}) } },
          }),
        );
        added = page.items.filter((d) => !shown.has(d.id));
        cursor = page.next_cursor ?? undefined;
        if (!cursor) break;
      }
      const next = cursor ?? null;
      setExtra((e) => ({ ...e, [stage]: { deals: [...(e[stage]?.deals ?? []), ...added], cursor: next } }));
    } catch (error) {
      setRefused({ deal: "", error });
    } finally {
      setPaging(undefined);
    }
  };
  const dealsOf = (column: Column) => [...column.deals, ...(extra[column.stage.key]?.deals ?? [])];
  const dealById = (id: string) => columns.flatMap(dealsOf).find((d) => d.id === id);
  const drop = (e: DragEvent, to: string) => {
    e.preventDefault();
    setOver(undefined);
    const deal = dealById(e.dataTransfer.getData("text/x-fieldline-deal"));
    if (deal) void move(deal, to);
  };

  return (
    <div className="board-page">
      <h1>{t("board")}</h1>
      {refused && (
        <div className="error" role="alert">
          <span>
            {refused.deal && <strong>{dealById(refused.deal)?.title}: </strong>}
            {describe(refused.error)}
          </span>
          <button type="button" className="quiet" onClick={() => setRefused(undefined)}>
            {t("close")}
          </button>
        </div>
      )}
      <div className="board" role="list" aria-label={t("board")}>
        {columns.map((column) => (
          <div
            key={column.stage.key}
            role="listitem"
            className={over === column.stage.key ? "column over" : "column"}
            aria-labelledby={`col-${column.stage.key}`}
            data-stage={column.stage.key}
            onDragOver={(e) => {
              e.preventDefault();
              setOver(column.stage.key);
            }}
            onDragLeave={() => setOver(undefined)}
            onDrop={(e) => drop(e, column.stage.key)}
          >
            <header>
              <h2 id={`col-${column.stage.key}`}>{column.stage.name[language]}</h2>
              <p className="meta">
                {column.count} · {money(column.amount_total, column.deals[0]?.currency ?? "CNY")}
              </p>
            </header>
            <ul className="cards">
              {dealsOf(column).map((deal) => {
                const overdue = deal.rots_at ? Date.parse(deal.rots_at) < at : false;
                return (
                  <li
                    key={deal.id}
                    className={overdue ? "deal overdue" : "deal"}
                    data-deal={deal.id}
                    draggable={moving === undefined}
                    onDragStart={(e) => {
                      e.dataTransfer.setData("text/x-fieldline-deal", deal.id);
                      e.dataTransfer.effectAllowed = "move";
                    }}
                    aria-busy={moving === deal.id}
                  >
                    <strong>
                      <a href={href({ page: "deal", id: deal.id })} draggable={false}>
                        {deal.title}
                      </a>
                    </strong>
                    <span className="meta">{money(deal.amount, deal.currency)}</span>
                    {overdue && deal.rots_at && (
                      <span className="meta late">
                        {t("stalledSince")} {date(deal.rots_at)}
                      </span>
                    )}
                    <label className="move">
                      <span className="visually-hidden">
                        {t("moveTo")} ({deal.title})
                      </span>
                      <select
                        value={deal.stage}
                        disabled={moving !== undefined}
                        onChange={(e) => void move(deal, e.target.value)}
                      >
                        {columns.map((c) => (
                          <option key={c.stage.key} value={c.stage.key}>
                            {c.stage.key === deal.stage ? stageName(c.stage.key) : `→ ${stageName(c.stage.key)}`}
                          </option>
                        ))}
                      </select>
                    </label>
                  </li>
                );
              })}
              {column.more && extra[column.stage.key]?.cursor !== null && (
                <li>
                  <button
                    type="button"
                    className="quiet more"
                    disabled={paging !== undefined}
                    onClick={() => void more(column)}
                  >
                    {t("more")} ({dealsOf(column).length}/{column.count})
                  </button>
                </li>
              )}
            </ul>
          </div>
        ))}
      </div>
    </div>
  );
}
