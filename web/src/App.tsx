import { useEffect, useMemo, useState } from "react";
import { ApiFailure, apiClient, unwrap, type Client, type User } from "./api/client";
import { I18nContext, i18n, rememberLanguage, rememberedLanguage, type Language } from "./i18n";
import { SignIn } from "./pages/SignIn";
import { Today } from "./pages/Today";
import { Cockpit } from "./pages/Cockpit";
import { Board } from "./pages/Board";
import { Process } from "./pages/Process";
import { forgetToken, keepToken, storedToken, takeTokenFromAddress } from "./session";
import { ErrorNote } from "./parts";

type Page = "today" | "cockpit" | "board" | "process";

function pageFromAddress(): Page | null {
  const page = window.location.hash.replace(/^#\/?/, "");
  return page === "today" || page === "cockpit" || page === "board" || page === "process"
    ? page
    : null;
}

export function App() {
  const [token, setToken] = useState<string | null>(() => {
    const fromLink = takeTokenFromAddress();
    if (fromLink) keepToken(fromLink);
    return fromLink ?? storedToken();
  });
  const [me, setMe] = useState<User>();
  const [failure, setFailure] = useState<unknown>();
  const [language, setLanguage] = useState<Language>(() => rememberedLanguage());
  const [page, setPage] = useState<Page | null>(pageFromAddress);
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
      setPage(pageFromAddress());
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
    const shown: Page = page ?? (me.role === "rep" ? "today" : "cockpit");
    body = <Signed client={client} me={me} page={shown} />;
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
            <a href="#/today" aria-current={page === "today" ? "page" : undefined}>
              {words.t("today")}
            </a>
            <a href="#/board" aria-current={page === "board" ? "page" : undefined}>
              {words.t("board")}
            </a>
            {me.role !== "rep" && (
              <a href="#/cockpit" aria-current={page === "cockpit" ? "page" : undefined}>
                {words.t("cockpit")}
              </a>
            )}
            {me.role !== "rep" && (
              <a href="#/process" aria-current={page === "process" ? "page" : undefined}>
                {words.t("heatMap")}
              </a>
            )}
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

function Signed({ client, me, page }: { client: Client; me: User; page: Page }) {
  if (page === "cockpit" && me.role !== "rep") return <Cockpit client={client} />;
  if (page === "board") return <Board client={client} />;
  if (page === "process" && me.role !== "rep") return <Process client={client} />;
  return <Today client={client} user={me.id} />;
}
