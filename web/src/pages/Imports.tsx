// Spreadsheets in and out, for the people who keep the records: managers bring in customers,
// leads, historic orders and the catalogue; the warehouse its stock counts. A file goes as an
// upload (any size up to 64 MiB, on one machine or on AWS alike) and a job imports it: a dry
// run first shows every refused row and why, then the import writes all rows or none. Every
// list exports in the caller's scope as CSV or Excel.
import { useEffect, useRef, useState } from "react";
import { unwrap, type Client, type Schemas, type User } from "../api/client";
import { useI18n, type Word } from "../i18n";
import { TableRegion } from "../parts";
import { importKinds } from "../roles";
import { sendToTicket } from "../uploads";

type ImportKind = Schemas["ImportKind"];
type ExportKind = Schemas["ExportKind"];
type Upload = Schemas["Upload"];
type Report = Schemas["ImportReport"];

const EXPORTS: ExportKind[] = ["customers", "leads", "deals", "orders", "visits", "skus", "stock"];

/** The largest file one import takes. */
const MAX_BYTES = 64 * 1024 * 1024;

/** The content type the server takes for a file, from its name (browsers disagree on .csv). */
function contentType(name: string): string {
  const lower = name.toLowerCase();
  if (lower.endsWith(".xlsx"))
    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
  if (lower.endsWith(".tsv")) return "text/tab-separated-values";
  return "text/csv";
}

/** Where a run is: sending the file, waiting for the job, or finished with its report. */
type Run =
  | { state: "sending" }
  | { state: "running"; upload: Upload }
  | { state: "finished"; upload: Upload; report?: Report }
  | { state: "failed"; message: string };

const ERRORS_SHOWN = 200;

export function Imports({ client, me }: { client: Client; me: User }) {
  const { t } = useI18n();
  const kinds = importKinds(me);
  return (
    <div className="imports">
      <h1>{t("importsTitle")}</h1>
      {kinds.length > 0 && <ImportForm client={client} kinds={kinds} />}
      <Exports client={client} />
    </div>
  );
}

function ImportForm({ client, kinds }: { client: Client; kinds: ImportKind[] }) {
  const { t, describe } = useI18n();
  const [kind, setKind] = useState<ImportKind>(kinds[0] ?? "customers");
  const [file, setFile] = useState<File>();
  const [map, setMap] = useState("");
  const [run, setRun] = useState<Run>();
  const alive = useRef(true);
  useEffect(
    () => () => {
      alive.current = false;
    },
    [],
  );

  const start = async (dryRun: boolean) => {
    if (!file) return;
    if (file.size === 0 || file.size > MAX_BYTES) {
      setRun({ state: "failed", message: t("importTooLarge") });
      return;
    }
    setRun({ state: "sending" });
    try {
      const started = await unwrap(
        client.POST("/v1/uploads", {
          body: {
            kind: "import",
            import: { kind, dry_run: dryRun, map: map.trim() || undefined },
            file_name: file.name,
            content_type: contentType(file.name),
            size: file.size,
          },
        }),
      );
      await sendToTicket(started.ticket, file);
      let upload = started.upload;
      // The job reports on the upload; a second apart is often enough for a person.
      while (alive.current && upload.status !== "done" && upload.status !== "failed") {
        setRun({ state: "running", upload });
        await new Promise((r) => setTimeout(r, 1000));
        upload = await unwrap(
          client.GET("/v1/uploads/{id}", { params: { path: { id: upload.id } } }),
        );
      }
      if (!alive.current) return;
      const report = upload.imported
        ? await unwrap(
            client.GET("/v1/uploads/{id}/report", { params: { path: { id: upload.id } } }),
          )
        : undefined;
      setRun({ state: "finished", upload, report });
    } catch (e) {
      if (alive.current) setRun({ state: "failed", message: describe(e) });
    }
  };

  const busy = run?.state === "sending" || run?.state === "running";
  return (
    <section aria-labelledby="import-title">
      <h2 id="import-title">{t("importTitle")}</h2>
      <p className="muted">{t("importHelp")}</p>
      <form
        className="import-form"
        onSubmit={(e) => {
          e.preventDefault();
          void start(true);
        }}
      >
        <label>
          {t("importKind")}{" "}
          <select value={kind} onChange={(e) => setKind(e.target.value as ImportKind)}>
            {kinds.map((k) => (
              <option key={k} value={k}>
                {t(`list_${k}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("importFile")}{" "}
          <input
            type="file"
            required
            accept=".csv,.tsv,.txt,.xlsx,text/csv"
            onChange={(e) => {
              setFile(e.target.files?.[0]);
              setRun(undefined);
            }}
          />
        </label>
        <label>
          {t("importMap")}{" "}
          <input
            value={map}
            maxLength={1000}
            placeholder="sku=物料编码,on_hand=数量"
            onChange={(e) => setMap(e.target.value)}
          />
        </label>
        <div className="actions">
          <button type="submit" disabled={busy || !file}>
            {t("importDryRun")}
          </button>
          <button
            type="button"
            className="primary"
            disabled={busy || !file}
            onClick={() => void start(false)}
          >
            {t("importCommit")}
          </button>
        </div>
      </form>
      <RunView run={run} />
    </section>
  );
}

function RunView({ run }: { run?: Run }) {
  const { t, number, uploadError, rowError } = useI18n();
  if (!run) return null;
  if (run.state === "sending") return <p role="status">{t("importSending")}</p>;
  if (run.state === "failed")
    return (
      <p className="error" role="alert">
        {run.message}
      </p>
    );
  if (run.state === "running") {
    const step = run.upload.progress;
    return (
      <p role="status">
        {step ? (
          <>
            {t(step.phase === "writing" ? "importWriting" : "importChecking")}{" "}
            <progress max={step.total} value={step.done} />{" "}
            {number(step.done)} / {number(step.total)}
          </>
        ) : (
          t("importQueued")
        )}
      </p>
    );
  }
  const { upload, report } = run;
  const totals = upload.imported;
  const rejected = upload.status === "failed" && upload.error?.code === "import_rejected";
  const outcome: Word = rejected
    ? "importRejected"
    : upload.status === "failed"
      ? "importFailed"
      : totals?.committed
        ? "importCommitted"
        : "importChecked";
  const errors = (report?.rows ?? []).filter((r) => r.outcome === "error");
  return (
    <div className="import-result" role="status">
      <p className={upload.status === "failed" ? "error" : "ok"}>
        {t(outcome)}
        {upload.status === "failed" && !rejected && upload.error
          ? `: ${uploadError(upload.error.code, upload.error.message)}`
          : ""}
      </p>
      {totals && (
        <p>
          {t("importRows")} {number(totals.rows)} · {t("importCreated")} {number(totals.created)}{" "}
          · {t("importUpdated")} {number(totals.updated)} · {t("importUnchanged")}{" "}
          {number(totals.unchanged)} · {t("importErrors")} {number(totals.errors)}
        </p>
      )}
      {errors.length > 0 && (
        <TableRegion label={t("importErrorRows")}>
          <table>
            <caption>
              {t("importErrorRows")}
              {errors.length > ERRORS_SHOWN ? ` (${number(ERRORS_SHOWN)} / ${number(errors.length)})` : ""}
            </caption>
            <thead>
              <tr>
                <th scope="col">{t("importRow")}</th>
                <th scope="col">{t("importKey")}</th>
                <th scope="col">{t("importWhy")}</th>
              </tr>
            </thead>
            <tbody>
              {errors.slice(0, ERRORS_SHOWN).map((r) => (
                <tr key={r.row}>
                  <th scope="row">{r.row}</th>
                  <td>{r.key}</td>
                  <td>{rowError(r.code, r.error ?? "")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      )}
    </div>
  );
}

function Exports({ client }: { client: Client }) {
  const { t, describe } = useI18n();
  const [failed, setFailed] = useState<unknown>();
  const download = async (kind: ExportKind, format: "csv" | "xlsx") => {
    setFailed(undefined);
    try {
      const blob = await unwrap(
        client.GET("/v1/exports/{kind}", {
          params: { path: { kind }, query: { format } },
          parseAs: "blob",
        }),
      );
      const href = URL.createObjectURL(blob);
      const a = document.createElement("a");
      a.href = href;
      a.download = `${kind}.${format}`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(href), 10_000);
    } catch (e) {
      setFailed(e);
    }
  };
  return (
    <section aria-labelledby="export-title">
      <h2 id="export-title">{t("exportTitle")}</h2>
      <p className="muted">{t("exportHelp")}</p>
      {failed !== undefined && (
        <p className="error" role="alert">
          {describe(failed)}
        </p>
      )}
      <ul className="list">
        {EXPORTS.map((k) => (
          <li key={k} className="item">
            <span className="what">{t(`list_${k}`)}</span>
            <span className="actions">
              <button type="button" onClick={() => void download(k, "csv")}>
                CSV
              </button>{" "}
              <button type="button" onClick={() => void download(k, "xlsx")}>
                Excel
              </button>
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}
