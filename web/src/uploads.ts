// The phone's upload queue: a photo or recording is kept in this browser (IndexedDB) the
// moment it is taken, then sent when the network allows — retried when the connection comes
// back and every half minute — and followed until capture has read it. Nothing is lost on a
// flaky connection, and nothing is made twice: each file carries one Idempotency-Key for all
// its tries, so a retry after a lost reply gets the same upload record. Each user has their
// own queue: on a shared phone, what one rep took is never sent under another's sign-in.
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
  /** The record it was taken for (a visit's shelf photos), if any. */
  subject?: Subject;
  /** A card pasted as text (a WeChat card, an e-mail signature) rather than photographed. */
  pasted?: boolean;
}

export type Subject = Schemas["Subject"];

const store = createStore("fieldline", "uploads");
const listKey = (user: string) => `list:${user}`;
const blobKey = (id: string) => `blob:${id}`;
const KEEP = 20;

export async function listQueued(user: string): Promise<Queued[]> {
  return (await get<Queued[]>(listKey(user), store)) ?? [];
}

async function save(user: string, items: Queued[]): Promise<void> {
  await set(listKey(user), items.slice(0, KEEP), store);
}

async function update(user: string, id: string, change: Partial<Queued>): Promise<Queued[]> {
  const items = (await listQueued(user)).map((q) => (q.id === id ? { ...q, ...change } : q));
  await save(user, items);
  return items;
}

/** Keeps the file in this browser first; sending comes after. */
export async function enqueue(
  user: string,
  kind: Kind,
  file: File,
  subject?: Subject,
): Promise<Queued[]> {
  const item: Queued = {
    id: crypto.randomUUID(),
    kind,
    name: file.name || `${kind}.${file.type.split("/")[1] ?? "bin"}`,
    type: file.type || "application/octet-stream",
    size: file.size,
    takenAt: new Date().toISOString(),
    state: "waiting",
    subject,
  };
  await set(blobKey(item.id), file, store);
  const items = [item, ...(await listQueued(user))];
  await save(user, items);
  return items;
}

/** A card pasted as text, kept and sent like a photo (offline first, one key for all tries). */
export async function enqueueText(user: string, text: string): Promise<Queued[]> {
  const blob = new Blob([text], { type: "text/plain" });
  const item: Queued = {
    id: crypto.randomUUID(),
    kind: "card",
    name: text.split("\n")[0]?.trim().slice(0, 40) || "card.txt",
    type: "text/plain",
    size: blob.size,
    takenAt: new Date().toISOString(),
    state: "waiting",
    pasted: true,
  };
  await set(blobKey(item.id), blob, store);
  const items = [item, ...(await listQueued(user))];
  await save(user, items);
  return items;
}

/** Puts a changed upload (a proposal decided, a transcript corrected) into the queue's copy. */
export async function remember(user: string, upload: Upload): Promise<Queued[]> {
  const items = (await listQueued(user)).map((q) => (q.upload?.id === upload.id ? { ...q, upload } : q));
  await save(user, items);
  return items;
}

const sending = new Map<string, Promise<Queued[]>>();
const following = new Map<string, Promise<Queued[]>>();

/** Sends every waiting file, one round at a time; a network failure leaves a file waiting
 * for the next round. A call during a round gets one more round right after it, so a file
 * taken meanwhile goes at once rather than at the next timer. */
export function sendWaiting(user: string, client: Client): Promise<Queued[]> {
  const running = sending.get(user);
  if (!running) {
    const round = sendRound(user, client).finally(() => sending.delete(user));
    sending.set(user, round);
    return round;
  }
  let next = following.get(user);
  if (!next) {
    next = running.then(() => {
      following.delete(user);
      return sendWaiting(user, client);
    });
    following.set(user, next);
  }
  return next;
}

async function sendRound(user: string, client: Client): Promise<Queued[]> {
  for (const item of await listQueued(user)) {
    if (item.state !== "waiting" && item.state !== "sending") continue;
    const blob = await get<Blob>(blobKey(item.id), store);
    if (!blob) {
      await update(user, item.id, { state: "refused", refusal: "lost" });
      continue;
    }
    await update(user, item.id, { state: "sending" });
    try {
      const upload = item.pasted
        ? await unwrap(
            client.POST("/v1/uploads/card-text", {
              body: { text: await blob.text(), subject: item.subject },
              headers: { "Idempotency-Key": `web-${item.id}` },
            }),
          )
        : await sendFile(client, item, blob);
      await del(blobKey(item.id), store);
      await update(user, item.id, { state: "sent", upload });
    } catch (e) {
      const retry = e instanceof ApiFailure && (e.code === "network" || e.status >= 500 || e.status === 429);
      if (retry) {
        await update(user, item.id, { state: "waiting" });
      } else {
        await del(blobKey(item.id), store);
        await update(user, item.id, {
          state: "refused",
          refusal: e instanceof ApiFailure ? (e.serverMessage ?? e.code) : String(e),
        });
      }
    }
  }
  return listQueued(user);
}

/** Starts the upload (its record) and sends the bytes where its ticket says. */
async function sendFile(client: Client, item: Queued, blob: Blob): Promise<Upload> {
  const started = await unwrap(
    client.POST("/v1/uploads", {
      body: {
        kind: item.kind,
        file_name: item.name,
        content_type: item.type,
        size: item.size,
        subject: item.subject,
      },
      headers: { "Idempotency-Key": `web-${item.id}` },
    }),
  );
  if (started.upload.status === "pending") await sendToTicket(started.ticket, blob);
  return started.upload;
}

/** Sends the bytes where an upload ticket says (this server, or S3 on AWS), with exactly the
 * ticket's headers; a refusal carries the server's stable code when it gave one. */
export async function sendToTicket(ticket: Schemas["UploadTicket"], body: Blob): Promise<void> {
  const reply = await fetch(new URL(ticket.url, window.location.origin), {
    method: ticket.method,
    headers: ticket.headers,
    body,
  }).catch(() => {
    throw new ApiFailure(0, "network");
  });
  if (reply.ok) return;
  const refusal = (await reply.json().catch(() => ({}))) as { code?: unknown; message?: unknown };
  throw new ApiFailure(
    reply.status,
    typeof refusal.code === "string" ? refusal.code : `http_${reply.status}`,
    typeof refusal.message === "string" ? refusal.message : undefined,
  );
}

/** Reads the status of every sent upload that capture has not finished. */
export async function follow(user: string, client: Client): Promise<Queued[]> {
  for (const item of await listQueued(user)) {
    const upload = item.upload;
    if (item.state !== "sent" || !upload || upload.status === "done" || upload.status === "failed")
      continue;
    try {
      const now = await unwrap(
        client.GET("/v1/uploads/{id}", { params: { path: { id: upload.id } } }),
      );
      await update(user, item.id, { upload: now });
    } catch {
      // Offline or busy: the next round asks again.
    }
  }
  return listQueued(user);
}
