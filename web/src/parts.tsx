// Small shared pieces: an error in words, with a retry.
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
