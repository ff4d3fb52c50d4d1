//! `fieldline-capture`: read business cards, shelf photos and voice notes on the device, in
//! batch, or as an HTTP sidecar. Only wiring lives here.

use clap::{Parser, Subcommand};
use fieldline_capture::ModelDir;
use fieldline_capture::OcrEngine;
use fieldline_capture::followup::Catalogue;
use fieldline_capture::ocr::ppocr::PpOcr;
use fieldline_capture::ocr::tesseract::{DEFAULT_LANGUAGES, TesseractOcr};
use fieldline_capture::record::{Kind, Output, base_name, read_image_file};
use fieldline_capture::serve::{SidecarState, router};
use fieldline_capture::voice::asr::{Language, WhisperAsr, Window};
use fieldline_capture::voice::{VoiceOptions, read_voice_file};
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
    /// OCR engine: ppocr (PP-OCRv6 on ONNX Runtime) or tesseract (libtesseract).
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
    /// Input files: images (JPEG, PNG, WebP, BMP, TIFF) or, for `voice`, recordings (WAV,
    /// FLAC, MP3, M4A/AAC, Ogg Opus/Vorbis).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Write JSON lines to stdout (one object per line).
    #[arg(long, conflicts_with = "out_dir")]
    jsonl: bool,
    /// Write <input name>.json files into this folder instead of stdout.
    #[arg(long)]
    out_dir: Option<PathBuf>,
}

/// How voice notes are read.
#[derive(clap::Args)]
struct VoiceArgs {
    /// Spoken language as a Whisper code (zh, en, ...), or auto to detect it per note.
    #[arg(long, default_value = "auto")]
    language: String,
    /// With --language auto: the languages to choose among (comma-separated), or "any".
    #[arg(long, default_value = "zh,en")]
    detect_among: String,
    /// Recording time (RFC 3339) that "tomorrow 3 pm" resolves against; default: the file's time.
    #[arg(long)]
    recorded_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// The rep's IANA time zone.
    #[arg(long, default_value = "Asia/Shanghai")]
    tz: chrono_tz::Tz,
    /// The tenant's catalogue: {"products": {"Name": ["alias"]}, "competitors": {...}}.
    #[arg(long)]
    catalogue: Option<PathBuf>,
    /// Encoder window: fit (the speech only, fast for short notes) or full (always 30 s).
    #[arg(long, value_enum, default_value_t = WindowArg::Fit)]
    window: WindowArg,
    /// Beams searched per token (1-8): 1 decodes greedily, about 15 % faster; 5 reads
    /// conversational Mandarin better.
    #[arg(long, default_value_t = fieldline_capture::voice::asr::DEFAULT_BEAM, value_parser = clap::value_parser!(u32).range(1..=8))]
    beam: u32,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum WindowArg {
    Fit,
    Full,
}

impl VoiceArgs {
    fn options(&self) -> anyhow::Result<VoiceOptions> {
        let catalogue = match &self.catalogue {
            Some(path) => Catalogue::from_json(&std::fs::read_to_string(path)?)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
            None => Catalogue::default(),
        };
        Ok(VoiceOptions {
            language: self.language()?,
            recorded_at: self.recorded_at.map(|t| t.to_utc()),
            time_zone: self.tz,
            catalogue,
        })
    }

    fn language(&self) -> anyhow::Result<Language> {
        let language = if self.language == "auto" {
            Language::Detect(if self.detect_among == "any" {
                Vec::new()
            } else {
                self.detect_among
                    .split(',')
                    .map(|c| c.trim().to_string())
                    .filter(|c| !c.is_empty())
                    .collect()
            })
        } else {
            Language::Fixed(self.language.clone())
        };
        language.validate()?;
        Ok(language)
    }

    fn window(&self) -> Window {
        match self.window {
            WindowArg::Fit => Window::Fit,
            WindowArg::Full => Window::Full,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Business-card photos to contacts: one JSON object per input.
    Card(Batch),
    /// Shelf photos to price tags and an out-of-stock flag: one JSON object per input.
    Shelf(Batch),
    /// Voice notes to a transcript and a structured follow-up: one JSON object per input.
    Voice {
        #[command(flatten)]
        batch: Batch,
        #[command(flatten)]
        voice: VoiceArgs,
    },
    /// Run the HTTP sidecar (POST /v1/cards, /v1/shelves, /v1/voice; GET /health).
    Serve {
        /// Run without the speech model (saves ~200 MB; /v1/voice answers 503).
        #[arg(long)]
        no_voice: bool,
        #[command(flatten)]
        voice: VoiceArgs,
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
        Command::Card(batch) => read_images(cli.engine, &models, cli.threads, Kind::Card, &batch),
        Command::Shelf(batch) => read_images(cli.engine, &models, cli.threads, Kind::Shelf, &batch),
        Command::Voice { batch, voice } => {
            let options = voice.options()?;
            let mut asr =
                WhisperAsr::load(&models, cli.threads, voice.window())?.with_beam(voice.beam);
            run_batch("voice notes", &batch, |path| {
                read_voice_file(&mut asr, path, &options)
            })
        }
        Command::Serve {
            listen,
            token,
            no_voice,
            voice,
        } => {
            let started = std::time::Instant::now();
            let ocr = load_engine(cli.engine, &models, cli.threads)?;
            let asr = if no_voice {
                None
            } else {
                Some(WhisperAsr::load(&models, cli.threads, voice.window())?.with_beam(voice.beam))
            };
            let load_ms = started.elapsed().as_millis() as u64;
            serve(
                SidecarState::new(ocr, asr, voice.options()?, &token)?,
                listen,
                load_ms,
            )
        }
    }
}

fn read_images(
    engine: Engine,
    models: &ModelDir,
    threads: usize,
    kind: Kind,
    batch: &Batch,
) -> anyhow::Result<()> {
    let mut engine = load_engine(engine, models, threads)?;
    run_batch(kind.plural(), batch, |path| {
        read_image_file(engine.as_mut(), kind, path)
    })
}

/// Reads every input in turn, writing one object each; a bad file gets an error object and
/// the batch goes on.
fn run_batch(
    noun: &str,
    batch: &Batch,
    mut read: impl FnMut(&std::path::Path) -> Output,
) -> anyhow::Result<()> {
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
        let output = read(path);
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
    eprintln!(
        "{} {noun} read, {failed} failed",
        batch.files.len() - failed
    );
    Ok(())
}

fn serve(state: SidecarState, listen: std::net::SocketAddr, load_ms: u64) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    tracing::info!(load_ms, "models loaded");
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
