// The typed API client: paths and bodies come from `openapi.json` (the server's own document,
// kept current by a server test), so the UI cannot drift from the API unnoticed.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type User = Schemas["User"];
/** Its subject is a `lead`, `deal`, `customer`... key beside the other fields. */
export type Task = Schemas["Task"];
export type Lead = Schemas["Lead"];

/** Where the API lives: the same origin when the server serves the app, else `VITE_API_BASE`. */
const baseUrl = (import.meta.env.VITE_API_BASE as string | undefined) ?? window.location.origin;

/** What went wrong, in a form the screens put into words (`describe` in i18n). */
export class ApiFailure extends Error {
  readonly status: number;
  readonly code: string;
  readonly serverMessage: string | undefined;
  constructor(status: number, code: string, serverMessage?: string) {
    super(`${status} ${code}`);
    this.status = status;
    this.code = code;
    this.serverMessage = serverMessage;
  }
}

export function apiClient(token: string, language: string) {
  const client = createClient<paths>({ baseUrl });
  const auth: Middleware = {
    onRequest({ request }) {
      request.headers.set("Authorization", `Bearer ${token}`);
      request.headers.set("Accept-Language", language);
      return request;
    },
  };
  client.use(auth);
  return client;
}

export type Client = ReturnType<typeof apiClient>;

/** The data of a reply, or an `ApiFailure` carrying the server's stable error code. */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let reply;
  try {
    reply = await call;
  } catch {
    throw new ApiFailure(0, "network");
  }
  const { data, error, response } = reply;
  if (response.ok && data !== undefined) return data;
  const body = (error ?? {}) as { code?: unknown; message?: unknown };
  const code = typeof body.code === "string" ? body.code : `http_${response.status}`;
  const message = typeof body.message === "string" ? body.message : undefined;
  throw new ApiFailure(response.status, code, message);
}
