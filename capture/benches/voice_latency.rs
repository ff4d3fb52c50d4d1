//! Voice-note latency on this machine: Whisper base load time, median and p95 per note, and the
//! real-time factor (processing time / audio time) over the dev sets' 3-10 s notes, for:
//!   full   — Whisper's plain 30 s window, language detected (the baseline)
//!   fit    — speech trimmed and the encoder window fitted to it, language detected
//!   fit+lang — as fit with the language given (the app knows the rep's language)
//! and faster-whisper (Python, the same weights) over the same files in the same run, when a
//! Python with faster-whisper is available (FASTER_WHISPER_PYTHON, default python3).
//!
//! `cargo bench -p fieldline-capture --bench voice_latency`   env: CAPTURE_THREADS (default 2)

mod common;

use common::{peak_rss_mib, summary};
use fieldline_capture::ModelDir;
use fieldline_capture::followup::Catalogue;
use fieldline_capture::record::Output;
use fieldline_capture::voice::asr::{Language, WhisperAsr, Window};
use fieldline_capture::voice::{VoiceOptions, read_voice_file};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// (file, labelled language, duration) of every note in a dev-set folder.
fn notes(dir: &Path) -> Vec<(PathBuf, String, f64)> {
    let labels: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("labels.json")).unwrap()).unwrap();
    labels["clips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let lang = c["language"].as_str().unwrap();
            (
                dir.join(c["file"].as_str().unwrap()),
                if lang.starts_with("zh") { "zh" } else { "en" }.to_string(),
                c["duration_s"].as_f64().unwrap(),
            )
        })
        .collect()
}

struct Figures {
    median_ms: f64,
    p95_ms: f64,
    rtf: f64,
}

fn run(asr: &mut WhisperAsr, notes: &[(PathBuf, String, f64)], fixed: bool) -> Figures {
    let base = VoiceOptions {
        recorded_at: Some(chrono::Utc::now()),
        catalogue: Catalogue::default(),
        ..VoiceOptions::default()
    };
    for (file, _, _) in notes.iter().take(2) {
        read_voice_file(asr, file, &base);
    }
    let mut latencies = Vec::new();
    let (mut busy, mut audio) = (0.0, 0.0);
    for (file, lang, seconds) in notes {
        let mut options = base.clone();
        if fixed {
            options.language = Language::Fixed(lang.clone());
        }
        let start = Instant::now();
        let out = read_voice_file(asr, file, &options);
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        assert!(
            !matches!(out, Output::Error(_)),
            "{} failed",
            file.display()
        );
        latencies.push(ms);
        busy += ms / 1000.0;
        audio += seconds;
    }
    let (median_ms, p95_ms) = summary(latencies);
    Figures {
        median_ms,
        p95_ms,
        rtf: busy / audio,
    }
}

fn main() -> anyhow::Result<()> {
    let threads: usize = std::env::var("CAPTURE_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let devset = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("devset");
    let mut all = notes(&devset.join("voice"));
    all.extend(notes(&devset.join("voice-zh-neural")));
    let seconds: Vec<f64> = all.iter().map(|n| n.2).collect();
    let models = ModelDir::locate(None);

    let start = Instant::now();
    let mut full = WhisperAsr::load(&models, threads, Window::Full)?;
    let load_ms = start.elapsed().as_secs_f64() * 1000.0;
    let mut fit = WhisperAsr::load(&models, threads, Window::Fit)?;
    println!(
        "voice_latency: {threads} threads; Whisper base (ggml f16, whisper.cpp via whisper-rs); model load {load_ms:.0} ms"
    );
    println!(
        "{} notes, {:.1}-{:.1} s, {:.0} s of audio (English and Mandarin)",
        all.len(),
        seconds.iter().cloned().fold(f64::INFINITY, f64::min),
        seconds.iter().cloned().fold(0.0, f64::max),
        seconds.iter().sum::<f64>()
    );
    println!(
        "{:<24} {:>10} {:>10} {:>8} {:>10}",
        "mode", "median ms", "p95 ms", "RTF", "RTF/full"
    );
    let baseline = run(&mut full, &all, false);
    let row = |name: &str, f: &Figures| {
        println!(
            "{name:<24} {:>10.0} {:>10.0} {:>8.3} {:>10.2}",
            f.median_ms,
            f.p95_ms,
            f.rtf,
            f.rtf / baseline.rtf
        )
    };
    row("full window, detect", &baseline);
    row("fit window, detect", &run(&mut fit, &all, false));
    row("fit window, language set", &run(&mut fit, &all, true));
    drop(full);

    let python = std::env::var("FASTER_WHISPER_PYTHON").unwrap_or_else(|_| "python3".into());
    for (compute, beam) in [("int8", 1), ("int8", 5)] {
        let out = Command::new(&python)
            .arg(devset.join("faster_whisper_baseline.py"))
            .arg(models.root())
            .arg(threads.to_string())
            .arg(beam.to_string())
            .arg(compute)
            .args(all.iter().map(|n| &n.0))
            .output();
        match out {
            Ok(out) if out.status.success() => {
                let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
                let lat: Vec<f64> = v["latencies_ms"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|x| x.as_f64())
                    .collect();
                let busy: f64 = lat.iter().sum::<f64>() / 1000.0;
                let audio: f64 = v["audio_s"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|x| x.as_f64())
                    .sum();
                let (median_ms, p95_ms) = summary(lat);
                row(
                    &format!("faster-whisper {compute} b{beam}"),
                    &Figures {
                        median_ms,
                        p95_ms,
                        rtf: busy / audio,
                    },
                );
            }
            _ => println!(
                "faster-whisper {compute} b{beam}: not available (pip install faster-whisper; FASTER_WHISPER_PYTHON)"
            ),
        }
    }
    println!("target: RTF <= 0.25 over short notes");
    println!(
        "peak memory of this process (both windows loaded): {:.0} MiB",
        peak_rss_mib()
    );
    Ok(())
}
