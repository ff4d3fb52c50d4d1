// What capture read from a file, for the rep to confirm or correct on the spot: a card's
// fields (the unsure ones marked), and its merge proposal when the card's phone or e-mail
// is already known — merge into that record, or keep the card apart; a voice note's
// transcript, corrected in place, with the next contact and the promises it heard.
import { useState } from "react";
import { unwrap, type Client, type Schemas } from "../api/client";
import { useI18n, type Word } from "../i18n";

type Upload = Schemas["Upload"];

/** A card field's label; a field this version does not know shows under its own key. */
const FIELDS: Record<string, Word> = {
  name: "field_name",
  title: "field_title",
  company: "field_company",
  department: "field_department",
  phone: "field_phone",
  email: "field_email",
  website: "field_website",
  address: "field_address",
};

export function UploadResult({
  client,
  upload,
  onChange,
}: {
  client: Client;
  upload: Upload;
  onChange: (upload: Upload) => void;
}) {
  const { t, date, describe } = useI18n();
  const fieldLabel = (field: string) => {
    const word = FIELDS[field];
    return word ? t(word) : field;
  };
  const [problem, setProblem] = useState<string>();
  const [editing, setEditing] = useState<string>();
  const [busy, setBusy] = useState(false);
  const captured = upload.captured;
  if (!captured) return null;

  const act = async (call: () => Promise<Upload>) => {
    setBusy(true);
    setProblem(undefined);
    try {
      onChange(await call());
      setEditing(undefined);
    } catch (e) {
      setProblem(describe(e));
    } finally {
      setBusy(false);
    }
  };

  const decide = (decision: Schemas["MergeDecision"]) =>
    act(() =>
      unwrap(
        client.POST("/v1/uploads/{id}/proposal", {
          params: { path: { id: upload.id } },
          body: { decision },
        }),
      ),
    );

  if (captured.kind === "card") {
    const proposal = captured.proposal;
    return (
      <div className="captured">
        <ul className="fields">
          {captured.fields.map((f) => (
            <li key={`${f.field}-${f.value}`} className={f.confirm ? "unsure" : undefined}>
              <span className="meta">{fieldLabel(f.field)}</span> {f.value}
              {f.confirm && <span className="visually-hidden"> ({t("checkThis")})</span>}
            </li>
          ))}
        </ul>
        {proposal && !proposal.decision && (
          <div className="proposal" role="group" aria-label={t("alreadyKnown")}>
            <p>{proposal.lead ? t("proposalLead") : t("proposalContact")}</p>
            <button
              type="button"
              className="primary"
              disabled={busy}
              onClick={() => void decide("merge")}
            >
              {t("merge")}
            </button>
            <button type="button" disabled={busy} onClick={() => void decide("dismiss")}>
              {t("keepApart")}
            </button>
          </div>
        )}
        {proposal?.decision && (
          <p className="ok">{proposal.decision === "merged" ? t("merged") : t("keptApart")}</p>
        )}
        {problem && (
          <p className="error" role="alert">
            {problem}
          </p>
        )}
      </div>
    );
  }

  if (captured.kind === "voice") {
    const text = captured.corrected?.text ?? captured.transcript;
    return (
      <div className="captured">
        {editing === undefined ? (
          <>
            <p className="summary">{text}</p>
            {captured.corrected && <p className="meta">{t("correctedByYou")}</p>}
            <button type="button" className="quiet" onClick={() => setEditing(text)}>
              {t("correct")}
            </button>
          </>
        ) : (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void act(() =>
                unwrap(
                  client.PUT("/v1/uploads/{id}/transcript", {
                    params: { path: { id: upload.id } },
                    body: { text: editing },
                  }),
                ),
              );
            }}
          >
            <label>
              {t("transcript")}
              <textarea rows={4} value={editing} onChange={(e) => setEditing(e.target.value)} />
            </label>
            <button type="submit" className="primary" disabled={busy || !editing.trim()}>
              {t("save")}
            </button>
          </form>
        )}
        {captured.next_contact && (
          <p className="meta">
            {t("nextContact")}: {date(captured.next_contact)}
            {captured.next_contact_phrase && ` (${captured.next_contact_phrase})`}
          </p>
        )}
        {(captured.commitments ?? []).map((c) => (
          <p key={c} className="meta">
            {t("promised")}: {c}
          </p>
        ))}
        {problem && (
          <p className="error" role="alert">
            {problem}
          </p>
        )}
      </div>
    );
  }
  return null;
}
