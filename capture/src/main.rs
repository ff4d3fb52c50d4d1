//! `fieldline-capture`: read business cards and shelf photos on the device, in batch, or as an
//! HTTP sidecar. Only wiring lives here.

use clap::{Parser, Subcommand};
use fieldline_capture::ModelDir;
use fieldline_capture::OcrEngine;
use fieldline_capture::ocr::ppocr::PpOcr;
use fieldline_capture::ocr::tesseract::{DEFAULT_LANGUAGES, TesseractOcr};
use fieldline_capture::record::{Kind, Output, base_name, read_image_file};
use fieldline_capture::serve::{SidecarState, router};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "fieldline-capture",
    version,
    about = "Turn photos into records, offline on CPU"
)]
struct Cli {
    /// Model directory (default: $FIELDLINE_MODELS_DIR or ~/.cache/fieldline/models).
    #[arg(long, global = true)]
    models: Option<PathBuf>,
    /// Threads per model.
    #[arg(long, global = true, default_value_t = 2)]
    threads: usize,
    /// OCR engine: ppocr (PP-OCRv4 on ONNX Runtime) or tesseract (libtesseract).
    #[arg(long, global = true, value_enum, default_value_t = Engine::Ppocr)]
    engine: Engine,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Engine {
    Ppocr,
    Tesseract,
}

fn load_engine(
    engine: Engine,
    models: &ModelDir,
    threads: usize,
) -> anyhow::Result<Box<dyn OcrEngine>> {
    Ok(match engine {
        Engine::Ppocr => Box::new(PpOcr::load(models, threads)?),
        Engine::Tesseract => Box::new(TesseractOcr::load(DEFAULT_LANGUAGES)?),
    })
}

/// Where a batch writes its objects.
#[derive(clap::Args)]
struct Batch {
    /// Image files (JPEG, PNG, WebP, BMP, TIFF).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Write JSON lines to stdout (one object per line).
    #[arg(long, conflicts_with = "out_dir")]
    jsonl: bool,
    /// Write <input name>.json files into this folder instead of stdout.
    #[arg(long)]
    out_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Business-card photos to contacts: one JSON object per input.
    Card(Batch),
    /// Shelf photos to price tags and an out-of-stock flag: one JSON object per input.
    Shelf(Batch),
    /// Run the HTTP sidecar (POST /v1/cards, POST /v1/shelves, GET /health).
    Serve {
        #[arg(
            long,
            default_value = "127.0.0.1:8090",
            env = "FIELDLINE_CAPTURE_LISTEN"
        )]
        listen: std::net::SocketAddr,
        /// Bearer token clients must send (at least 16 characters).
        #[arg(long, env = "FIELDLINE_CAPTURE_TOKEN", hide_env_values = true)]
        token: String,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let models = ModelDir::locate(cli.models.as_deref());
    match cli.command {
        Command::Card(batch) => run_batch(
            load_engine(cli.engine, &models, cli.threads)?,
            Kind::Card,
            batch,
        ),
        Command::Shelf(batch) => run_batch(
            load_engine(cli.engine, &models, cli.threads)?,
            Kind::Shelf,
            batch,
        ),
        Command::Serve { listen, token } => serve(cli.engine, &models, cli.threads, listen, &token),
    }
}

/// Reads every input in turn, writing one object each; a bad file gets an error object and
/// the batch goes on.
fn run_batch(mut engine: Box<dyn OcrEngine>, kind: Kind, batch: Batch) -> anyhow::Result<()> {
    if let Some(dir) = &batch.out_dir {
        std::fs::create_dir_all(dir)?;
    }
    let progress = ProgressBar::new(batch.files.len() as u64);
    progress.set_style(ProgressStyle::with_template(
        "{bar:30} {pos}/{len} {wide_msg}",
    )?);
    let mut stdout = std::io::stdout().lock();
    let mut failed = 0;
    for path in &batch.files {
        progress.set_message(base_name(path));
        let output = read_image_file(engine.as_mut(), kind, path);
        if let Output::Error(e) = &output {
            failed += 1;
            progress.suspend(|| eprintln!("{}: {}", e.file, e.error.message));
        }
        match (&batch.out_dir, batch.jsonl) {
            (Some(dir), _) => {
                let target = dir.join(format!("{}.json", base_name(path)));
                std::fs::write(target, serde_json::to_string_pretty(&output)?)?;
            }
            (None, true) => writeln!(stdout, "{}", serde_json::to_string(&output)?)?,
            (None, false) => writeln!(stdout, "{}", serde_json::to_string_pretty(&output)?)?,
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    let noun = if kind == Kind::Card {
        "cards"
    } else {
        "shelves"
    };
    eprintln!(
        "{} {noun} read, {failed} failed",
        batch.files.len() - failed
    );
    Ok(())
}

fn serve(
    engine: Engine,
    models: &ModelDir,
    threads: usize,
    listen: std::net::SocketAddr,
    token: &str,
) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let started = std::time::Instant::now();
    let state = SidecarState::new(load_engine(engine, models, threads)?, token)?;
    tracing::info!(
        load_ms = started.elapsed().as_millis() as u64,
        "models loaded"
    );
    tokio::runtime::Runtime::new()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        eprintln!(
            "fieldline-capture sidecar on http://{}",
            listener.local_addr()?
        );
        axum::serve(listener, router(state))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        anyhow::Ok(())
    })
}
