//! `fieldline-capture`: read business cards on the device or in batch. Only wiring lives here.

use clap::{Parser, Subcommand};
use fieldline_capture::ModelDir;
use fieldline_capture::ocr::ppocr::PpOcr;
use fieldline_capture::record::{Output, base_name, read_card_file};
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
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Business-card photos to contacts: one JSON object per input.
    Card {
        /// Image files (JPEG, PNG, WebP, BMP, TIFF).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Write JSON lines to stdout (one object per line).
        #[arg(long, conflicts_with = "out_dir")]
        jsonl: bool,
        /// Write <input name>.json files into this folder instead of stdout.
        #[arg(long)]
        out_dir: Option<PathBuf>,
    },
    /// Run the HTTP sidecar (POST /v1/cards, GET /health).
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
        Command::Serve { listen, token } => {
            tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .init();
            let started = std::time::Instant::now();
            let engine = PpOcr::load(&models, cli.threads)?;
            let state = SidecarState::new(Box::new(engine), &token)?;
            tracing::info!(
                load_ms = started.elapsed().as_millis() as u64,
                "models loaded"
            );
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(async move {
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
            })?;
        }
        Command::Card {
            files,
            jsonl,
            out_dir,
        } => {
            let mut engine = PpOcr::load(&models, cli.threads)?;
            if let Some(dir) = &out_dir {
                std::fs::create_dir_all(dir)?;
            }
            let progress = ProgressBar::new(files.len() as u64);
            progress.set_style(ProgressStyle::with_template(
                "{bar:30} {pos}/{len} {wide_msg}",
            )?);
            let mut stdout = std::io::stdout().lock();
            let mut failed = 0;
            for path in &files {
                progress.set_message(base_name(path));
                let output = read_card_file(&mut engine, path);
                if let Output::Error(e) = &output {
                    failed += 1;
                    progress.suspend(|| eprintln!("{}: {}", e.file, e.error.message));
                }
                match (&out_dir, jsonl) {
                    (Some(dir), _) => {
                        let target = dir.join(format!("{}.json", base_name(path)));
                        std::fs::write(target, serde_json::to_string_pretty(&output)?)?;
                    }
                    (None, true) => writeln!(stdout, "{}", serde_json::to_string(&output)?)?,
                    (None, false) => {
                        writeln!(stdout, "{}", serde_json::to_string_pretty(&output)?)?
                    }
                }
                progress.inc(1);
            }
            progress.finish_and_clear();
            eprintln!("{} cards read, {} failed", files.len() - failed, failed);
        }
    }
    Ok(())
}
