// The phone's upload queue: a photo or recording is kept in this browser (IndexedDB) the
// moment it is taken, then sent when the network allows — retried when the connection comes
// back and every half minute — and followed until capture has read it. Nothing is lost on a
// flaky connection, and nothing is made twice: each file carries one Idempotency-Key for all
// its tries, so a retry after a lost reply gets the same upload record.
import { createStore, del, get, set } from "idb-keyval";
import { ApiFailure, unwrap, type Client, type Schemas } from "./api/client";

export type Kind = "card" | "shelf" | "voice";
type Upload = Schemas["Upload"];

export interface Queued {
  /** Also the Idempotency-Key of the upload request. */
  id: string;
  kind: Kind;
  name: string;
  type: string;
  size: number;
  takenAt: string;
  /** `waiting`: not sent yet (offline, or the server was unreachable). */
  state: "waiting" | "sending" | "sent" | "refused";
  /** The server's upload once sent: its status, links and error. */
  upload?: Upload;
  /** Why the server refused the file (too big, wrong type): it will not be retried. */
  refusal?: string;
}

const store = createStore("fieldline", "uploads");
const LIST = "list";
const blobKey = (id: string) => `blob:${id}`;
const KEEP = 20;

export async function listQueued(): Promise<Queued[]> {
  return (await get<Queued[]>(LIST, store)) ?? [];
}

async function save(items: Queued[]): Promise<void> {
  await set(LIST, items.slice(0, KEEP), store);
}

async function update(id: string, change: Partial<Queued>): Promise<Queued[]> {
  const items = (await listQueued()).map((q) => (q.id === id ? { ...q, ...change } : q));
  await save(items);
  return items;
}

/** Keeps the file in this browser first; sending comes after. */
export async function enqueue(kind: Kind, file: File): Promise<Queued[]> {
  const item: Queued = {
    id: crypto.randomUUID(),
    kind,
    name: file.name || `${kind}.${file.type.split("/")[1] ?? "bin"}`,
    type: file.type || "application/octet-stream",
    size: file.size,
    takenAt: new Date().toISOString(),
    state: "waiting",
  };
  await set(blobKey(item.id), file, store);
  const items = [item, ...(await listQueued())];
  await save(items);
  return items;
}

let sending: Promise<Queued[]> | null = null;

/** Sends every waiting file, one round at a time; a network failure leaves a file waiting
 * for the next round. */
export function sendWaiting(client: Client): Promise<Queued[]> {
  sending ??= sendRound(client).finally(() => {
    sending = null;
  });
  return sending;
}

async function sendRound(client: Client): Promise<Queued[]> {
  for (const item of await listQueued()) {
    if (item.state !== "waiting" && item.state !== "sending") continue;
    const blob = await get<Blob>(blobKey(item.id), store);
    if (!blob) {
      await update(item.id, { state: "refused", refusal: "lost" });
      continue;
    }
    await update(item.id, { state: "sending" });
    try {
      const started = await unwrap(
        client.POST("/v1/uploads", {
          body: { kind: item.kind, file_name: item.name, content_type: item.type, size: item.size },
          headers: { "Idempotency-Key": `web-${item.id}` },
        }),
      );
      if (started.upload.status === "pending") {
        const ticket = started.ticket;
        const reply = await fetch(new URL(ticket.url, window.location.origin), {
          method: ticket.method,
          headers: ticket.headers,
          body: blob,
        }).catch(() => {
          throw new ApiFailure(0, "network");
        });
        if (!reply.ok) throw new ApiFailure(reply.status, `http_${reply.status}`);
      }
      await del(blobKey(item.id), store);
      await update(item.id, { state: "sent", upload: started.upload });
    } catch (e) {
      const retry = e instanceof ApiFailure && (e.code === "network" || e.status >= 500 || e.status === 429);
      if (retry) {
        await update(item.id, { state: "waiting" });
      } else {
        await del(blobKey(item.id), store);
        await update(item.id, {
          state: "refused",
          refusal: e instanceof ApiFailure ? (e.serverMessage ?? e.code) : String(e),
        });
      }
    }
  }
  return listQueued();
}

/** Reads the status of every sent upload that capture has not finished. */
export async function follow(client: Client): Promise<Queued[]> {
  for (const item of await listQueued()) {
    const upload = item.upload;
    if (item.state !== "sent" || !upload || upload.status === "done" || upload.status === "failed")
      continue;
    try {
      const now = await unwrap(
        client.GET("/v1/uploads/{id}", { params: { path: { id: upload.id } } }),
      );
      await update(item.id, { upload: now });
    } catch {
      // Offline or busy: the next round asks again.
    }
  }
  return listQueued();
}
