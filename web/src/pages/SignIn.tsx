import { useState, type FormEvent } from "react";
import { useI18n } from "../i18n";
import { tokenFromInput } from "../session";
import { ErrorNote } from "../parts";

/** Sign-in with the link an administrator issues (`fieldline token --link`). */
export function SignIn({ reason, onToken }: { reason: unknown; onToken: (token: string) => void }) {
  const { t } = useI18n();
  const [text, setText] = useState("");
  const [bad, setBad] = useState(false);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const token = tokenFromInput(text);
    if (token) onToken(token);
    else setBad(true);
  };
  return (
    <section className="card narrow">
      <h1>{t("signIn")}</h1>
      {reason !== undefined && <ErrorNote error={reason} />}
      <form onSubmit={submit}>
        <p>{t("signInHelp")}</p>
        <label htmlFor="signin-link">{t("signInLink")}</label>
        <input
          id="signin-link"
          value={text}
          autoComplete="off"
          onChange={(e) => {
            setText(e.target.value);
            setBad(false);
          }}
          aria-invalid={bad}
          aria-describedby={bad ? "signin-bad" : undefined}
        />
        {bad && (
          <p id="signin-bad" className="bad">
            {t("signInBad")}
          </p>
        )}
        <button type="submit" className="primary">
          {t("signIn")}
        </button>
      </form>
    </section>
  );
}
