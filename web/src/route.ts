// Where the app is: the address fragment (`#/deal/0193…`), so a page can be bookmarked, sent
// in a chat and opened with the browser's back button, without any server routing.

export type Route =
  | { page: "today" }
  | { page: "board" }
  | { page: "cockpit" }
  | { page: "process" }
  | { page: "forecast" }
  | { page: "customers" }
  | { page: "team" }
  | { page: "rules" }
  | { page: "orders" }
  | { page: "imports" }
  | { page: "deal"; id: string }
  | { page: "customer"; id: string }
  | { page: "rule"; id: string }
  | { page: "visit"; id: string };

const simple = [
  "today",
  "board",
  "cockpit",
  "process",
  "forecast",
  "customers",
  "team",
  "rules",
  "orders",
  "imports",
];
const withId = ["deal", "customer", "rule", "visit"];

/** The route in `hash`, or `null` for none (the user's home page) or one we do not know. */
export function parseRoute(hash: string): Route | null {
  const [page = "", id, ...rest] = hash.replace(/^#\/?/, "").split("/");
  if (rest.length === 0 && id === undefined && simple.includes(page)) return { page } as Route;
  if (rest.length === 0 && id && withId.includes(page)) {
    return { page, id: decodeURIComponent(id) } as Route;
  }
  return null;
}

/** The fragment that opens `route`. */
export function href(route: Route): string {
  return "id" in route ? `#/${route.page}/${encodeURIComponent(route.id)}` : `#/${route.page}`;
}
