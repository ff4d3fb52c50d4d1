// Scan a card, photograph a shelf, record a voice note: the phone's camera or recorder through
// a file input, queued in the browser and sent when the network allows; each shows where it
// is and the records capture made from it.
import { useCallback, useEffect, useMemo, useState, type ChangeEvent, type FormEvent } from "react";
import type { Client } from "../api/client";
import { useI18n, type Word } from "../i18n";
import { UploadResult } from "./UploadResult";
import {
  enqueue,
  enqueueText,
  follow,
  remember,
  listQueued,
  sendWaiting,
  type Kind,
  type Queued,
  type Subject,
} from "../uploads";

const kinds: { kind: Kind; accept: string; capture: "environment" | "user"; word: Word }[] = [
  { kind: "card", accept: "image/jpeg,image/png,image/webp", capture: "environment", word: "scanCard" },
  { kind: "shelf", accept: "image/jpeg,image/png,image/webp", capture: "environment", word: "shelfPhoto" },
  { kind: "voice", accept: "audio/*", capture: "user", word: "voiceNote" },
];

function statusWord(item: Queued): Word {
  if (item.state === "waiting") return navigator.onLine ? "uploadQueued" : "uploadWaiting";
  if (item.state === "sending") return "uploadSending";
  if (item.state === "refused") return "uploadRefused";
  switch (item.upload?.status) {
    case "done":
      return "uploadDone";
    case "failed":
      return "uploadFailed";
    default:
      return "uploadReading";
  }
}

/** The same subject (`{visit: id}`), or both without one. */
function sameSubject(a?: Subject, b?: Subject): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

interface CaptureProps {
  client: Client;
  user: string;
  /** Files taken here belong to this visit (its shelf photos); only they are listed. */
  visit?: string;
  /** The buttons offered (all three by default). */
  only?: Kind[];
  /** Told the queue after every change (a visit collects its photos' upload ids). */
  onItems?: (items: Queued[]) => void;
}

const LINK_ACTIONS: Record<string, Word> = {
  created: "linkCreated",
  changed: "linkChanged",
  proposed: "linkProposed",
};
const LINK_KINDS: Record<string, Word> = {
  lead: "lead",
  customer: "customer",
  contact: "contact",
  deal: "deal",
  activity: "activity",
  task: "task",
};

export function Capture({ client, user, visit, only, onItems }: CaptureProps) {
  const { t, date, uploadError } = useI18n();
  /** "Made a lead", "proposed for a contact": a record capture made or proposes to change. */
  const linkWords = (link: { action: string; kind: string }) => {
    const action = LINK_ACTIONS[link.action];
    const kind = LINK_KINDS[link.kind];
    return `${action ? t(action) : link.action} · ${kind ? t(kind) : link.kind}`;
  };
  const [all, setAll] = useState<Queued[]>([]);
  const subject = useMemo<Subject | undefined>(() => (visit ? { visit } : undefined), [visit]);
  const setItems = useCallback(
    (next: Queued[]) => {
      setAll(next);
      onItems?.(next.filter((q) => subject === undefined || sameSubject(q.subject, subject)));
    },
    [onItems, subject],
  );
  const items = subject === undefined ? all : all.filter((q) => sameSubject(q.subject, subject));

  /** Sends what waits, then asks after what capture is reading. */
  const round = useCallback(async () => {
    await sendWaiting(user, client);
    return follow(user, client);
  }, [client, user]);

  useEffect(() => {
    const refresh = () => void round().then(setItems);
    void listQueued(user).then(setItems);
    refresh();
    const timer = window.setInterval(refresh, 5000);
    const online = refresh;
    window.addEventListener("online", online);
    return () => {
      window.clearInterval(timer);
      window.removeEventListener("online", online);
    };
  }, [round, user, setItems]);

  const [pasted, setPasted] = useState("");
  const paste = async (e: FormEvent) => {
    e.preventDefault();
    const text = pasted.trim();
    if (!text) return;
    setPasted("");
    setItems(await enqueueText(user, text));
    setItems(await round());
  };

  const take = async (kind: Kind, e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    e.target.value = "";
    if (!file) return;
    setItems(await enqueue(user, kind, file, subject));
    setItems(await round());
  };

  return (
    <section aria-labelledby="capture-title">
      <h2 id="capture-title">{t("capture")}</h2>
      <div className="capture-buttons">
        {kinds
          .filter((k) => !only || only.includes(k.kind))
          .map(({ kind, accept, capture, word }) => (
          <label key={kind} className="button">
            {t(word)}
            <input
              type="file"
              accept={accept}
              capture={capture}
              className="visually-hidden"
              data-kind={kind}
              onChange={(e) => void take(kind, e)}
            />
          </label>
          ))}
      </div>
      {(!only || only.includes("card")) && (
        <details className="paste">
          <summary>{t("pasteCard")}</summary>
          <form onSubmit={(e) => void paste(e)}>
            <label>
              <span className="meta">{t("pasteCardHelp")}</span>
              <textarea rows={4} value={pasted} onChange={(e) => setPasted(e.target.value)} />
            </label>
            <button type="submit" className="primary" disabled={!pasted.trim()}>
              {t("readIt")}
            </button>
          </form>
        </details>
      )}
      <ul className="list uploads" aria-live="polite">
        {items.map((item) => (
          <li key={item.id} className="item" data-upload={item.id}>
            <div className="what">
              <strong>
                {t(kinds.find((k) => k.kind === item.kind)?.word ?? "scanCard")} · {item.name}
              </strong>
              <span className="meta">{date(item.takenAt)}</span>
              {item.upload?.error && (
                <span className="meta bad">
                  {uploadError(item.upload.error.code, item.upload.error.message)}
                </span>
              )}
              {item.refusal && <span className="meta bad">{item.refusal}</span>}
              {(item.upload?.links ?? []).map((link) => (
                <span key={`${link.kind}-${link.id}-${link.action}`} className="meta">
                  {linkWords(link)}
                </span>
              ))}
              {item.upload?.status === "done" && (
                <UploadResult
                  client={client}
                  upload={item.upload}
                  onChange={(upload) => void remember(user, upload).then(setItems)}
                />
              )}
            </div>
            <span className={`status ${statusWord(item)}`}>{t(statusWord(item))}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
