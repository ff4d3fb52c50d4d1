// Customers by grade and health: the caller's customers (a rep's own, a manager's team's),
// searchable, each with its class (A/B/C), what the team should do with it, and its score.
import { useState, type FormEvent } from "react";
import { unwrap, type Client, type Schemas } from "../api/client";
import { useI18n } from "../i18n";
import { useLoad } from "../useLoad";
import { ErrorNote, TableRegion } from "../parts";
import { href } from "../route";

type Customer = Schemas["Customer"];
type ListedGrade = Schemas["ListedGrade"];

interface Row {
  customer: Customer;
  /** This month's grade, as the list API gives it with each customer. */
  grade?: ListedGrade;
}

interface CustomersData {
  rows: Row[];
  next?: string | null;
}

const PAGE = 25;

type Filter = "all" | Schemas["GradeClass"] | Schemas["CustomerHealth"];
const CLASSES: readonly string[] = ["a", "b", "c"] satisfies Schemas["GradeClass"][];

/** One request per page: the server filters by grade and sends each row's grade along. */
async function loadCustomers(
  client: Client,
  q: string,
  filter: Filter,
  cursor?: string,
): Promise<CustomersData> {
  const grade =
    filter === "all"
      ? {}
      : CLASSES.includes(filter)
        ? { class: filter as Schemas["GradeClass"] }
        : { health: filter as Schemas["CustomerHealth"] };
  const page = await unwrap(
    client.GET("/v1/customers", {
      params: {
        query: { limit: PAGE, ...(q ? { q } : {}), ...(cursor ? { cursor } : {}), ...grade },
      },
    }),
  );
  const byId = new Map(page.grades.map((g) => [g.customer, g]));
  return {
    rows: page.items.map((customer) => ({ customer, grade: byId.get(customer.id) })),
    next: page.next_cursor,
  };
}

export function Customers({ client }: { client: Client }) {
  const { t, number } = useI18n();
  const [query, setQuery] = useState("");
  const [typed, setTyped] = useState("");
  const [cursors, setCursors] = useState<string[]>([]);
  const [filter, setFilter] = useState<Filter>("all");
  const cursor = cursors[cursors.length - 1];
  const loaded = useLoad(() => loadCustomers(client, query, filter, cursor));

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

  const rows = loaded.data?.rows ?? [];

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
          <select
            value={filter}
            onChange={(e) => {
              setFilter(e.target.value as Filter);
              setCursors([]);
              loaded.reload();
            }}
          >
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
          {rows.length === 0 && (
            <p className="muted pad">
              {t(loaded.data.next ? "noCustomersYet" : "noCustomers")}
            </p>
          )}
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
