// Small shared pieces: an error in words with a retry, and a table that scrolls on its own.
import type { ReactNode } from "react";
import { useI18n } from "./i18n";

export function ErrorNote({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t, describe } = useI18n();
  return (
    <div className="error" role="alert">
      <span>{describe(error)}</span>
      {onRetry && (
        <button type="button" className="quiet" onClick={onRetry}>
          {t("retry")}
        </button>
      )}
    </div>
  );
}

/** A wide table in a box that scrolls sideways on a phone; focusable and named, so a keyboard
 * can scroll it and a screen reader can find it. */
export function TableRegion({ label, children }: { label: string; children: ReactNode }) {
  const { t } = useI18n();
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label={`${label} · ${t("table")}`}>
      {children}
    </div>
  );
}
