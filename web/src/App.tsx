import { Suspense, lazy, useEffect, useMemo, useState } from "react";
import { ApiFailure, apiClient, unwrap, type Client, type User } from "./api/client";
import { I18nContext, i18n, rememberLanguage, rememberedLanguage, type Language, type Word } from "./i18n";
import { SignIn } from "./pages/SignIn";
import { Today } from "./pages/Today";
import { parseRoute, type Route } from "./route";
import { forgetToken, keepToken, storedToken, takeTokenFromAddress } from "./session";
import { ErrorNote } from "./parts";
import { backOffice, importKinds, oversees } from "./roles";

// Today is the rep's first page and loads with the app; every other page is its own chunk,
// fetched when it is first opened, so the phone's first load carries only what it shows.
const Cockpit = lazy(() => import("./pages/Cockpit").then((m) => ({ default: m.Cockpit })));
const Board = lazy(() => import("./pages/Board").then((m) => ({ default: m.Board })));
const Process = lazy(() => import("./pages/Process").then((m) => ({ default: m.Process })));
const Deal = lazy(() => import("./pages/Deal").then((m) => ({ default: m.Deal })));
const Forecast = lazy(() => import("./pages/Forecast").then((m) => ({ default: m.Forecast })));
const Customers = lazy(() => import("./pages/Customers").then((m) => ({ default: m.Customers })));
const Customer = lazy(() => import("./pages/Customer").then((m) => ({ default: m.Customer })));
const Team = lazy(() => import("./pages/Team").then((m) => ({ default: m.Team })));
const Rules = lazy(() => import("./pages/Rules").then((m) => ({ default: m.Rules })));
const VisitPage = lazy(() => import("./pages/Visit").then((m) => ({ default: m.VisitPage })));
const RulePage = lazy(() => import("./pages/Rule").then((m) => ({ default: m.RulePage })));
const Orders = lazy(() => import("./pages/Orders").then((m) => ({ default: m.Orders })));
const Imports = lazy(() => import("./pages/Imports").then((m) => ({ default: m.Imports })));

/** Who sees a page in the top bar: everyone, those who sell (not the back office), managers,
 * those who import spreadsheets. */
type Audience = "everyone" | "sales" | "managers" | "importers";

/** The pages in the top bar, and who sees them. */
const NAV: { page: Route["page"]; word: Word; who: Audience }[] = [
  { page: "today", word: "today", who: "everyone" },
  { page: "board", word: "board", who: "sales" },
  { page: "customers", word: "customers", who: "sales" },
  { page: "orders", word: "orders", who: "everyone" },
  { page: "cockpit", word: "cockpit", who: "managers" },
  { page: "process", word: "heatMap", who: "managers" },
  { page: "forecast", word: "forecast", who: "managers" },
  { page: "team", word: "team", who: "managers" },
  { page: "rules", word: "rules", who: "managers" },
  { page: "imports", word: "dataNav", who: "importers" },
];

function sees(me: User, who: Audience): boolean {
  if (who === "managers") return oversees(me);
  if (who === "importers") return importKinds(me).length > 0;
  if (who === "sales") return !backOffice(me);
  return true;
}

/** A detail page lights up the list it belongs to. */
function section(route: Route | null): Route["page"] | undefined {
  if (!route) return undefined;
  if (route.page === "deal") return "board";
  if (route.page === "customer" || route.page === "visit") return "customers";
  if (route.page === "rule") return "rules";
  return route.page;
}

const routeFromAddress = () => parseRoute(window.location.hash);

export function App() {
  const [token, setToken] = useState<string | null>(() => {
    const fromLink = takeTokenFromAddress();
    if (fromLink) keepToken(fromLink);
    return fromLink ?? storedToken();
  });
  const [me, setMe] = useState<User>();
  const [failure, setFailure] = useState<unknown>();
  const [language, setLanguage] = useState<Language>(() => rememberedLanguage());
  const [route, setRoute] = useState<Route | null>(routeFromAddress);
  const words = useMemo(() => i18n(language), [language]);
  const client = useMemo(() => (token ? apiClient(token, language) : null), [token, language]);

  useEffect(() => {
    // A sign-in link opened while the app is already open only changes the fragment.
    const onHash = () => {
      const fromLink = takeTokenFromAddress();
      if (fromLink) {
        keepToken(fromLink);
        setMe(undefined);
        setFailure(undefined);
        setToken(fromLink);
      }
      setRoute(routeFromAddress());
      window.scrollTo(0, 0);
    };
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);

  useEffect(() => {
    document.documentElement.lang = words.locale;
  }, [words.locale]);

  useEffect(() => {
    if (!token) return;
    let current = true;
    unwrap(apiClient(token, "en").GET("/v1/me")).then(
      (user) => {
        if (!current) return;
        setMe(user);
        setLanguage(rememberedLanguage(user.id));
      },
      (e: unknown) => {
        if (!current) return;
        if (e instanceof ApiFailure && e.status === 401) {
          forgetToken();
          setToken(null);
        }
        setFailure(e);
      },
    );
    return () => {
      current = false;
    };
  }, [token]);

  const chooseLanguage = (next: Language) => {
    rememberLanguage(next, me?.id);
    setLanguage(next);
  };
  const signOut = () => {
    forgetToken();
    setToken(null);
    setMe(undefined);
  };

  let body;
  if (!token || !client) {
    body = (
      <SignIn
        reason={failure}
        onToken={(t) => {
          keepToken(t);
          setFailure(undefined);
          setToken(t);
        }}
      />
    );
  } else if (!me) {
    body = failure ? <ErrorNote error={failure} /> : <p className="muted">{words.t("loading")}</p>;
  } else {
    const shown: Route = route ?? { page: home(me) };
    body = (
      <Suspense fallback={<p className="muted">{words.t("loading")}</p>}>
        <Signed client={client} me={me} route={shown} />
      </Suspense>
    );
  }

  return (
    <I18nContext.Provider value={words}>
      <a className="skip" href="#main">
        {words.t("skipToContent")}
      </a>
      <header className="bar">
        <span className="brand">{words.t("appName")}</span>
        {me && (
          <nav aria-label={words.t("appName")}>
            {NAV.filter((n) => sees(me, n.who)).map((n) => (
              <a
                key={n.page}
                href={`#/${n.page}`}
                aria-current={section(route) === n.page ? "page" : undefined}
              >
                {words.t(n.word)}
              </a>
            ))}
          </nav>
        )}
        <span className="spacer" />
        <label className="language">
          <span className="visually-hidden">{words.t("language")}</span>
          <select
            value={language}
            onChange={(e) => chooseLanguage(e.target.value === "en" ? "en" : "zh")}
          >
            <option value="zh">中文</option>
            <option value="en">English</option>
          </select>
        </label>
        {me && (
          <button type="button" className="quiet" onClick={signOut}>
            {words.t("signOut")}
          </button>
        )}
      </header>
      <main id="main">{body}</main>
    </I18nContext.Provider>
  );
}

/** Where a user lands: managers on process health, the back office on orders, reps on today. */
function home(me: User): "cockpit" | "orders" | "today" {
  if (oversees(me)) return "cockpit";
  if (backOffice(me)) return "orders";
  return "today";
}

function Signed({ client, me, route }: { client: Client; me: User; route: Route }) {
  const manager = oversees(me);
  switch (route.page) {
    case "board":
      return <Board client={client} />;
    case "deal":
      return <Deal key={route.id} client={client} id={route.id} />;
    case "customers":
      return <Customers client={client} />;
    case "orders":
      return <Orders client={client} me={me} />;
    case "imports":
      return <Imports client={client} me={me} />;
    case "visit":
      return <VisitPage key={route.id} client={client} id={route.id} user={me.id} />;
    case "customer":
      return <Customer key={route.id} client={client} id={route.id} />;
    case "cockpit":
      return manager ? <Cockpit client={client} /> : <Today client={client} user={me.id} />;
    case "process":
      return manager ? <Process client={client} /> : <Today client={client} user={me.id} />;
    case "forecast":
      return manager ? <Forecast client={client} /> : <Today client={client} user={me.id} />;
    case "team":
      return manager ? <Team client={client} /> : <Today client={client} user={me.id} />;
    case "rules":
      return manager ? <Rules client={client} /> : <Today client={client} user={me.id} />;
    case "rule":
      return manager ? (
        <RulePage key={route.id} client={client} id={route.id} />
      ) : (
        <Today client={client} user={me.id} />
      );
    default:
      return <Today client={client} user={me.id} />;
  }
}
