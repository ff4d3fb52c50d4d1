// Orders as each person works them: the warehouse opens on its queue (待发货 to ship, then
// shipped to deliver) with the delivery address and one tap to confirm; managers see their
// team's orders and approve held ones with a note; reps submit their drafts. Purchasing,
// managers and admins get the replenishment list below: what to move, what to buy.
import { useState } from "react";
import { unwrap, type Client, type Schemas, type User } from "../api/client";
import { useI18n, type Word } from "../i18n";
import { useLoad } from "../useLoad";
import { ErrorNote, TableRegion } from "../parts";
import { oversees } from "../roles";

type Order = Schemas["Order"];
type Status = Order["status"];

const STATUSES: Status[] = [
  "draft",
  "submitted",
  "approved",
  "to_ship",
  "shipped",
  "delivered",
  "cancelled",
];

/** The move a person can make next on an order, if any (the server checks again). */
type Move = "submit" | "approve" | "ship" | "deliver";

function nextMove(order: Order, me: User): Move | undefined {
  const manager = oversees(me);
  // Someone else's order in the warehouse's hands is on screen only for warehouse duty.
  const onDuty = manager || me.role === "warehouse" || order.owner !== me.id;
  if (order.status === "draft" && order.owner === me.id) return "submit";
  if (order.status === "submitted" && manager) return "approve";
  if (order.status === "to_ship" && onDuty) return "ship";
  if (order.status === "shipped" && onDuty) return "deliver";
  return undefined;
}

const MOVE_WORD: Record<Move, Word> = {
  submit: "orderSubmit",
  approve: "orderApprove",
  ship: "orderShip",
  deliver: "orderDeliver",
};

export function Orders({ client, me }: { client: Client; me: User }) {
  const { t } = useI18n();
  const plans = me.role === "purchasing" || oversees(me);
  // The warehouse starts on its queue; everyone else on all of their orders.
  const [status, setStatus] = useState<Status | "">(me.role === "warehouse" ? "to_ship" : "");
  return (
    <div className="orders">
      <h1>{t("orders")}</h1>
      {me.role !== "purchasing" && (
        <section aria-labelledby="orders-title">
          <h2 id="orders-title" className="visually-hidden">
            {t("orders")}
          </h2>
          <label>
            {t("orderStatus")}{" "}
            <select value={status} onChange={(e) => setStatus(e.target.value as Status | "")}>
              <option value="">{t("orderAll")}</option>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {t(`order_${s}`)}
                </option>
              ))}
            </select>
          </label>
          <OrderList key={status} client={client} me={me} status={status || undefined} />
        </section>
      )}
      {plans && <Replenishment client={client} />}
    </div>
  );
}

function OrderList({ client, me, status }: { client: Client; me: User; status?: Status }) {
  const { t, date, money, describe } = useI18n();
  const orders = useLoad(() =>
    unwrap(client.GET("/v1/orders", { params: { query: { status, limit: 50 } } })),
  );
  const [done, setDone] = useState<Record<string, string>>({});
  const [failed, setFailed] = useState<unknown>();
  const [notes, setNotes] = useState<Record<string, string>>({});

  if (orders.error !== undefined && !orders.data)
    return <ErrorNote error={orders.error} onRetry={orders.reload} />;
  if (!orders.data) return <p className="muted">{t("loading")}</p>;

  const move = async (order: Order, m: Move) => {
    setFailed(undefined);
    const expected_version = order.version;
    const body =
      m === "approve"
        ? { do: m, expected_version, note: (notes[order.id] ?? "").trim() }
        : { do: m, expected_version };
    try {
      await unwrap(
        client.POST("/v1/orders/{id}/actions", { params: { path: { id: order.id } }, body }),
      );
      setDone((d) => ({ ...d, [order.id]: t(`order_${m}_done`) }));
    } catch (e) {
      setFailed(e);
      orders.reload();
    }
  };

  const items = orders.data.items;
  return (
    <>
      {failed !== undefined && (
        <p className="error" role="alert">
          {describe(failed)}
        </p>
      )}
      {items.length === 0 && <p className="muted">{t("noOrders")}</p>}
      <ul className="list">
        {items.map((order) => {
          const m = nextMove(order, me);
          const note = notes[order.id] ?? "";
          return (
            <li key={order.id} className="item" data-order={order.id}>
              <div className="what">
                <strong>
                  {order.lines.map((l) => `${l.name} × ${l.quantity}`).join("，")}
                </strong>
                <span className="meta">
                  {t(`order_${order.status}`)} · {order.location} ·{" "}
                  {money(order.total / 100, order.currency)} · {date(order.created_at)}
                </span>
                <span className="meta">
                  {t("deliveryAddress")}: {order.delivery_address}
                </span>
                {order.holds.length > 0 && (
                  <span className="meta">
                    {t("orderHolds")}: {order.holds.map((h) => t(`hold_${h.kind}`)).join("、")}
                  </span>
                )}
              </div>
              {done[order.id] ? (
                <span className="ok">{done[order.id]}</span>
              ) : (
                m && (
                  <form
                    className="move"
                    onSubmit={(e) => {
                      e.preventDefault();
                      void move(order, m);
                    }}
                  >
                    {m === "approve" && (
                      <label>
                        <span className="visually-hidden">{t("approvalNote")}</span>
                        <input
                          required
                          placeholder={t("approvalNote")}
                          value={note}
                          onChange={(e) => setNotes((n) => ({ ...n, [order.id]: e.target.value }))}
                        />
                      </label>
                    )}
                    <button type="submit" className="primary">
                      {t(MOVE_WORD[m])}
                    </button>
                  </form>
                )
              )}
            </li>
          );
        })}
      </ul>
    </>
  );
}

function Replenishment({ client }: { client: Client }) {
  const { t, number } = useI18n();
  const plan = useLoad(() => unwrap(client.GET("/v1/stock/replenishment")));
  return (
    <section aria-labelledby="replenish-title">
      <h2 id="replenish-title">{t("replenishment")}</h2>
      <p className="muted">{t("replenishmentHelp")}</p>
      {plan.error !== undefined && !plan.data && (
        <ErrorNote error={plan.error} onRetry={plan.reload} />
      )}
      {plan.data && plan.data.length === 0 && <p className="muted">{t("nothingToReplenish")}</p>}
      {plan.data && plan.data.length > 0 && (
        <TableRegion label={t("replenishment")}>
          <table>
            <thead>
              <tr>
                <th scope="col">SKU</th>
                <th scope="col">{t("warehouse")}</th>
                <th scope="col">{t("available")}</th>
                <th scope="col">{t("reorderPoint")}</th>
                <th scope="col">{t("suggested")}</th>
                <th scope="col">{t("transfers")}</th>
                <th scope="col">{t("purchase")}</th>
              </tr>
            </thead>
            <tbody>
              {plan.data.map((r) => (
                <tr key={`${r.sku}@${r.location}`}>
                  <th scope="row">{r.sku}</th>
                  <td>{r.location}</td>
                  <td>{number(r.available)}</td>
                  <td>{number(r.reorder_point)}</td>
                  <td>{number(r.suggested)}</td>
                  <td>
                    {r.transfers.map((m) => `${m.from} → ${number(m.quantity)}`).join("，") ||
                      "—"}
                  </td>
                  <td>{number(r.purchase)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      )}
    </section>
  );
}
