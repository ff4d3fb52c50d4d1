// Customers by grade and health: the caller's customers (a rep's own, a manager's team's),
// searchable, each with its class (A/B/C), what the team should do with it, and its score.
import { useState, type FormEvent } from "react";
import { unwrap, type Client, type Schemas } from "../api/client";
import { useI18n } from "../i18n";
import { useLoad } from "../useLoad";
import { ErrorNote, TableRegion } from "../parts";
import { href } from "../route";

type Customer = Schemas["Customer"];
type Grade = Schemas["Grade"];

interface Row {
  customer: Customer;
  /** Absent when it could not be read (the list still shows). */
  grade?: Grade;
}

interface CustomersData {
  rows: Row[];
  next?: string | null;
}

const PAGE = 25;

async function loadCustomers(client: Client, q: string, cursor?: string): Promise<CustomersData> {
  const page = await unwrap(
    client.GET("/v1/customers", {
      params: { query: { limit: PAGE, ...(q ? { q } : {}), ...(cursor ? { cursor } : {}) } },
    }),
  );
  const grades = await Promise.all(
    page.items.map((c) =>
      unwrap(client.GET("/v1/customers/{id}/grade", { params: { path: { id: c.id } } })).then(
        (g) => g,
        () => undefined,
      ),
    ),
  );
  return {
    rows: page.items.map((customer, i) => ({ customer, grade: grades[i] })),
    next: page.next_cursor,
  };
}

type Filter = "all" | "a" | "b" | "c" | Schemas["CustomerHealth"];

export function Customers({ client }: { client: Client }) {
  const { t, number } = useI18n();
  const [query, setQuery] = useState("");
  const [typed, setTyped] = useState("");
  const [cursors, setCursors] = useState<string[]>([]);
  const [filter, setFilter] = useState<Filter>("all");
  const cursor = cursors[cursors.length - 1];
  const loaded = useLoad(() => loadCustomers(client, query, cursor));

  const search = (e: FormEvent) => {
    e.preventDefault();
    setQuery(typed.trim());
    setCursors([]);
    loaded.reload();
  };
  const turn = (next: string[]) => {
    setCursors(next);
    loaded.reload();
  };

  const rows = (loaded.data?.rows ?? []).filter(
    (r) =>
      filter === "all" ||
      r.grade?.class === filter ||
      r.grade?.health === filter,
  );

  return (
    <div className="customers">
      <h1>{t("customers")}</h1>
      <form className="toolbar" role="search" onSubmit={search}>
        <label>
          <span className="visually-hidden">{t("search")}</span>
          <input
            type="search"
            value={typed}
            placeholder={t("searchCustomers")}
            onChange={(e) => setTyped(e.target.value)}
          />
        </label>
        <button type="submit">{t("search")}</button>
        <label>
          <span className="visually-hidden">{t("show")}</span>
          <select value={filter} onChange={(e) => setFilter(e.target.value as Filter)}>
            <option value="all">{t("allGrades")}</option>
            <option value="a">{t("classA")}</option>
            <option value="b">{t("classB")}</option>
            <option value="c">{t("classC")}</option>
            <option value="high_value">{t("health_high_value")}</option>
            <option value="churn_risk">{t("health_churn_risk")}</option>
            <option value="high_potential">{t("health_high_potential")}</option>
            <option value="healthy">{t("health_healthy")}</option>
          </select>
        </label>
      </form>
      {loaded.error !== undefined && <ErrorNote error={loaded.error} onRetry={loaded.reload} />}
      {!loaded.data && loaded.error === undefined && <p className="muted">{t("loading")}</p>}
      {loaded.data && (
        <TableRegion label={t("customers")}>
          <table>
            <thead>
              <tr>
                <th scope="col">{t("customer")}</th>
                <th scope="col">{t("kind")}</th>
                <th scope="col">{t("grade")}</th>
                <th scope="col">{t("health")}</th>
                <th scope="col">{t("score")}</th>
                <th scope="col">{t("rolesMet")}</th>
                <th scope="col">{t("tags")}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(({ customer, grade }) => (
                <tr key={customer.id} data-customer={customer.id}>
                  <th scope="row">
                    <a href={href({ page: "customer", id: customer.id })}>{customer.name}</a>
                  </th>
                  <td>{t(`kind_${customer.kind ?? "other"}`)}</td>
                  <td>
                    {grade ? (
                      <span className={`tag g-${grade.class}`}>{grade.class.toUpperCase()}</span>
                    ) : (
                      "—"
                    )}
                  </td>
                  <td className={grade ? `health ${grade.health}` : undefined}>
                    {grade ? t(`health_${grade.health}`) : "—"}
                  </td>
                  <td>{grade ? number(grade.score, 1) : "—"}</td>
                  <td>{grade ? number(grade.roles_met) : "—"}</td>
                  <td>{(customer.tags ?? []).join(", ")}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {rows.length === 0 && <p className="muted pad">{t("noCustomers")}</p>}
        </TableRegion>
      )}
      <div className="pager">
        <button
          type="button"
          className="quiet"
          disabled={cursors.length === 0}
          onClick={() => turn(cursors.slice(0, -1))}
        >
          {t("previous")}
        </button>
        <button
          type="button"
          className="quiet"
          disabled={!loaded.data?.next}
          onClick={() => loaded.data?.next && turn([...cursors, loaded.data.next])}
        >
          {t("next")}
        </button>
      </div>
    </div>
  );
}
