// One customer: its grade as a radar of the three dimensions (value, interaction, decision-
// chain coverage), now against a month ago, with the explanation line by line (input × rate
// = points), and its contacts with their part in the buying decision.
import { unwrap, type Client, type Schemas } from "../api/client";
import { useI18n, type Word } from "../i18n";
import { useLoad } from "../useLoad";
import { ErrorNote, TableRegion } from "../parts";
import { useChart } from "../useChart";
import { monthOf } from "./Forecast";
import { CheckIn, SaleTagPicker } from "./Visit";

type Grade = Schemas["Grade"];

interface CustomerData {
  customer: Schemas["CustomerDetail"];
  grade: Grade;
  /** The grade at the end of last month, when there is one. */
  before?: Schemas["GradeSnapshot"];
  /** The quick sale tags' catalogue, for a store. */
  retail?: Schemas["RetailPolicy"];
}

async function loadCustomer(client: Client, id: string): Promise<CustomerData> {
  const path = { params: { path: { id } } };
  const [customer, grade, history] = await Promise.all([
    unwrap(client.GET("/v1/customers/{id}", path)),
    unwrap(client.GET("/v1/customers/{id}/grade", path)),
    unwrap(client.GET("/v1/customers/{id}/grade/history", path)),
  ]);
  const lastMonth = new Date();
  lastMonth.setDate(1);
  lastMonth.setMonth(lastMonth.getMonth() - 1);
  const before = history.find((s) => s.month === monthOf(lastMonth));
  const retail =
    customer.kind === "store" ? await unwrap(client.GET("/v1/settings/retail")) : undefined;
  return { customer, grade, before, retail };
}

const DIMENSIONS: { key: "value" | "interaction" | "coverage"; word: Word }[] = [
  { key: "value", word: "dimValue" },
  { key: "interaction", word: "dimInteraction" },
  { key: "coverage", word: "dimCoverage" },
];

export function Customer({ client, id }: { client: Client; id: string }) {
  const { t, language, number, date } = useI18n();
  const loaded = useLoad(() => loadCustomer(client, id));
  const data = loaded.data;
  const radar = useChart(
    data !== undefined,
    ({ drawRadar }, element) =>
      drawRadar(element, {
        dimensions: DIMENSIONS.map((d) => t(d.word)),
        series: [
          { name: t("now"), scores: DIMENSIONS.map((d) => data?.grade[d.key].score ?? 0) },
          ...(data?.before
            ? [
                {
                  name: t("monthAgo"),
                  scores: DIMENSIONS.map((d) => data.before?.grade[d.key].score ?? 0),
                },
              ]
            : []),
        ],
      }),
    [data, language],
  );

  if (loaded.error !== undefined && !data)
    return <ErrorNote error={loaded.error} onRetry={loaded.reload} />;
  if (!data) return <p className="muted">{t("loading")}</p>;
  const { customer, grade, before, retail } = data;

  return (
    <article className="detail" aria-labelledby="customer-title">
      <p>
        <a href="#/customers">← {t("customers")}</a>
      </p>
      <h1 id="customer-title">{customer.name}</h1>
      <p className="grade-line">
        <span className={`tag g-${grade.class}`}>{grade.class.toUpperCase()}</span>{" "}
        <strong className={`health ${grade.health}`}>{t(`health_${grade.health}`)}</strong> ·{" "}
        {t("score")} {number(grade.score, 1)}
        {before && (
          <span className="muted">
            {" "}
            ({t("monthAgo")}: {before.grade.class.toUpperCase()} · {number(before.grade.score, 1)})
          </span>
        )}
      </p>
      <p className="muted">{grade.health_label}</p>
      <CheckIn client={client} customer={customer.id} />

      <div className="two">
        <div ref={radar} className="chart radar" aria-hidden="true" />
        <TableRegion label={t("gradeWhy")}>
          <table>
            <thead>
              <tr>
                <th scope="col">{t("dimension")}</th>
                <th scope="col">{t("now")}</th>
                <th scope="col">{t("monthAgo")}</th>
                <th scope="col">{t("weight")}</th>
              </tr>
            </thead>
            <tbody>
              {DIMENSIONS.map((d) => (
                <tr key={d.key}>
                  <th scope="row">{t(d.word)}</th>
                  <td>{number(grade[d.key].score, 1)}</td>
                  <td>{before ? number(before.grade[d.key].score, 1) : "—"}</td>
                  <td>{number(grade[d.key].weight, 2)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      </div>

      <section aria-labelledby="why-title">
        <h2 id="why-title">{t("gradeWhy")}</h2>
        <p className="muted">
          {t("gradedAt")} {date(grade.as_of)} · {t("policyVersion")} {grade.policy_version} ·{" "}
          {t("gradeLines")} A ≥ {number(grade.thresholds.grade_a)}, B ≥{" "}
          {number(grade.thresholds.grade_b)}
        </p>
        {DIMENSIONS.map((d) => (
          <div key={d.key} className="why">
            <h3>
              {t(d.word)}: {number(grade[d.key].score, 1)} × {number(grade[d.key].weight, 2)} ={" "}
              {number(grade[d.key].contribution, 1)}
            </h3>
            {grade[d.key].parts.length === 0 ? (
              <p className="muted">{t("noSignals")}</p>
            ) : (
              <ul>
                {grade[d.key].parts.map((p) => (
                  <li key={p.item}>
                    {p.item}: {number(p.input, 2)} × {number(p.rate, 2)} = {number(p.points, 1)}
                  </li>
                ))}
              </ul>
            )}
          </div>
        ))}
      </section>

      {retail && <SaleTagPicker client={client} store={customer.id} retail={retail} />}

      <section aria-labelledby="contacts-title">
        <h2 id="contacts-title">
          {t("contacts")} · {t("rolesMet")} {number(grade.roles_met)}
        </h2>
        {customer.contacts.length === 0 && <p className="muted">{t("noContacts")}</p>}
        <ul className="list">
          {customer.contacts.map((c) => (
            <li key={c.id} className="item">
              <div className="what">
                <strong>{c.name}</strong>
                <span className="meta">
                  {[c.title, c.role].filter(Boolean).join(" · ")}
                  {c.phones.length > 0 && ` · ${c.phones.join(", ")}`}
                </span>
              </div>
              <span className={`tag role-${c.decision_role}`}>{t(`role_${c.decision_role}`)}</span>
            </li>
          ))}
        </ul>
      </section>
    </article>
  );
}
