// A visit on the phone: check in where you stand (the phone's position, judged against the
// customer's address), take the shelf photos, tick what you did, check out — three taps for
// a routine visit. At a store, the quick sale tags (what the shopper cared about, what held
// them back, which competitor they compared) are one tap each.
import { useCallback, useState } from "react";
import { unwrap, type Client, type Schemas } from "../api/client";
import { useI18n, type Word } from "../i18n";
import { useLoad } from "../useLoad";
import { ErrorNote } from "../parts";
import { href } from "../route";
import { Capture } from "./Capture";
import type { Queued } from "../uploads";

type GeoFix = Schemas["GeoFix"];

/** Why a position could not be had, as a word. */
class NoPosition extends Error {
  readonly word: Word;
  constructor(word: Word) {
    super(word);
    this.word = word;
  }
}

/** The phone's position now (GPS, WGS 84). */
function position(): Promise<GeoFix> {
  return new Promise((resolve, reject) => {
    if (!("geolocation" in navigator)) return reject(new NoPosition("noGeolocation"));
    navigator.geolocation.getCurrentPosition(
      (p) =>
        resolve({
          lat: p.coords.latitude,
          lon: p.coords.longitude,
          accuracy_m: Math.min(10000, Math.max(0, p.coords.accuracy)),
          datum: "wgs84",
        }),
      (e) => reject(new NoPosition(e.code === e.PERMISSION_DENIED ? "geoDenied" : "geoUnavailable")),
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 },
    );
  });
}

/** The button on a customer's page that starts a visit there. One Idempotency-Key per visit
 * attempt: a retry after a lost reply gets the same visit, not a second one. */
export function CheckIn({ client, customer }: { client: Client; customer: string }) {
  const { t, describe } = useI18n();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string>();
  const [key] = useState(() => crypto.randomUUID());
  const checkIn = async () => {
    setBusy(true);
    setProblem(undefined);
    try {
      const where = await position();
      const visit = await unwrap(
        client.POST("/v1/visits", {
          body: { customer, position: where, purpose: t("routineVisit") },
          headers: { "Idempotency-Key": `web-visit-${key}` },
        }),
      );
      window.location.hash = href({ page: "visit", id: visit.id });
    } catch (e) {
      setProblem(e instanceof NoPosition ? t(e.word) : describe(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="check-in">
      <button type="button" className="primary" disabled={busy} onClick={() => void checkIn()}>
        {busy ? t("locating") : t("checkIn")}
      </button>
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
    </div>
  );
}

interface VisitData {
  visit: Schemas["Visit"];
  customer: Schemas["CustomerDetail"];
  policy: Schemas["VisitPolicy"];
  retail: Schemas["RetailPolicy"];
}

async function loadVisit(client: Client, id: string): Promise<VisitData> {
  const visit = await unwrap(client.GET("/v1/visits/{id}", { params: { path: { id } } }));
  const [customer, policy, retail] = await Promise.all([
    unwrap(client.GET("/v1/customers/{id}", { params: { path: { id: visit.customer } } })),
    unwrap(client.GET("/v1/settings/visits")),
    unwrap(client.GET("/v1/settings/retail")),
  ]);
  return { visit, customer, policy, retail };
}

export function VisitPage({ client, id, user }: { client: Client; id: string; user: string }) {
  const { t, date, number, describe } = useI18n();
  const loaded = useLoad(() => loadVisit(client, id));
  const [actions, setActions] = useState<string[]>([]);
  const [photos, setPhotos] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string>();
  const onItems = useCallback(
    (items: Queued[]) =>
      setPhotos(items.flatMap((q) => (q.kind === "shelf" && q.upload ? [q.upload.id] : []))),
    [],
  );

  if (loaded.error !== undefined && !loaded.data)
    return <ErrorNote error={loaded.error} onRetry={loaded.reload} />;
  if (!loaded.data) return <p className="muted">{t("loading")}</p>;
  const { visit, customer, policy, retail } = loaded.data;
  const open = !visit.checked_out_at;

  const checkOut = async () => {
    setBusy(true);
    setProblem(undefined);
    try {
      // A position that cannot be had does not block the check-out; it is judged without.
      const where = await position().catch(() => null);
      await unwrap(
        client.POST("/v1/visits/{id}/check-out", {
          params: { path: { id } },
          body: { position: where, actions, photos },
        }),
      );
      loaded.reload();
    } catch (e) {
      setProblem(describe(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <article className="detail visit" aria-labelledby="visit-title">
      <p>
        <a href={href({ page: "customer", id: customer.id })}>← {customer.name}</a>
      </p>
      <h1 id="visit-title">
        {t("visit")} · {customer.name}
      </h1>
      <p className="meta">
        {t("checkedIn")} {date(visit.checked_in_at)}
        {visit.distance_m != null && ` · ${number(visit.distance_m)} m`}
      </p>
      {visit.far && <p className="late">{t("checkInFar")}</p>}

      {open ? (
        <>
          <Capture client={client} user={user} visit={id} only={["shelf"]} onItems={onItems} />
          <section aria-labelledby="did-title">
            <h2 id="did-title">{t("whatYouDid")}</h2>
            <div className="chips">
              {(policy.actions ?? []).map((a) => (
                <button
                  key={a}
                  type="button"
                  className="chip"
                  aria-pressed={actions.includes(a)}
                  onClick={() =>
                    setActions(actions.includes(a) ? actions.filter((x) => x !== a) : [...actions, a])
                  }
                >
                  {a}
                </button>
              ))}
            </div>
          </section>
          <button type="button" className="primary wide" disabled={busy} onClick={() => void checkOut()}>
            {t("checkOut")}
          </button>
          {problem && (
            <p className="error" role="alert">
              {problem}
            </p>
          )}
        </>
      ) : (
        <section aria-labelledby="result-title">
          <h2 id="result-title">{t("checkedOut")}</h2>
          <p className={visit.valid ? "ok" : "late"} role="status">
            {visit.valid ? t("visitValid") : t("visitInvalid")}
          </p>
          {visit.invalid_reasons.length > 0 && (
            <ul>
              {visit.invalid_reasons.map((r) => (
                <li key={r}>{r}</li>
              ))}
            </ul>
          )}
          <p className="meta">
            {visit.actions.join(" · ")} · {number(visit.photos.length)} {t("photos")}
          </p>
        </section>
      )}

      {customer.kind === "store" && <SaleTagPicker client={client} store={customer.id} retail={retail} />}
    </article>
  );
}

type Dimension = "focus" | "obstacle" | "competitor";
const DIMENSIONS: { key: Dimension; word: Word }[] = [
  { key: "focus", word: "tagFocus" },
  { key: "obstacle", word: "tagObstacle" },
  { key: "competitor", word: "tagCompetitor" },
];

/** A store's quick sale tags: one tap per dimension, one tap to record the sale. */
export function SaleTagPicker({
  client,
  store,
  retail,
}: {
  client: Client;
  store: string;
  retail: Schemas["RetailPolicy"];
}) {
  const { t, describe } = useI18n();
  const [picked, setPicked] = useState<Partial<Record<Dimension, string>>>({});
  const [recorded, setRecorded] = useState(0);
  const [problem, setProblem] = useState<string>();
  const [key, setKey] = useState(() => crypto.randomUUID());
  const catalogue = retail.sale_tags ?? {};
  const record = async () => {
    setProblem(undefined);
    try {
      await unwrap(
        client.POST("/v1/stores/{id}/sale-tags", {
          params: { path: { id: store } },
          body: picked,
          headers: { "Idempotency-Key": `web-tags-${key}` },
        }),
      );
      setRecorded((n) => n + 1);
      setPicked({});
      setKey(crypto.randomUUID());
    } catch (e) {
      setProblem(describe(e));
    }
  };
  return (
    <section aria-labelledby="tags-title" className="sale-tags">
      <h2 id="tags-title">{t("saleTags")}</h2>
      {DIMENSIONS.map((d) => (
        <div key={d.key} role="group" aria-label={t(d.word)}>
          <h3>{t(d.word)}</h3>
          <div className="chips">
            {(catalogue[d.key] ?? []).map((tag) => (
              <button
                key={tag}
                type="button"
                className="chip"
                aria-pressed={picked[d.key] === tag}
                onClick={() =>
                  setPicked({ ...picked, [d.key]: picked[d.key] === tag ? undefined : tag })
                }
              >
                {tag}
              </button>
            ))}
          </div>
        </div>
      ))}
      <button
        type="button"
        className="primary wide"
        disabled={!picked.focus && !picked.obstacle && !picked.competitor}
        onClick={() => void record()}
      >
        {t("recordSale")}
      </button>
      {recorded > 0 && (
        <p className="ok" role="status">
          {t("salesRecorded").replace("{n}", String(recorded))}
        </p>
      )}
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
    </section>
  );
}
