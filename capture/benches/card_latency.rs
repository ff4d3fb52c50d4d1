//! Business-card latency on this machine: model load time, per-card median and p95 over the
//! dev set, peak memory, and the same figures for RapidOCR (Python, same models) measured in
//! the same run as the baseline.
//!
//! `cargo bench -p fieldline-capture --bench card_latency`   env: CAPTURE_THREADS (default 2)

use fieldline_capture::ModelDir;
use fieldline_capture::ocr::ppocr::PpOcr;
use fieldline_capture::record::{Output, read_card_file};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn summary(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (
        percentile(&v, 0.5),
        percentile(&v, 0.95),
        v.iter().sum::<f64>() / v.len() as f64,
    )
}

/// Peak resident memory of this process (Linux), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() -> anyhow::Result<()> {
    let threads: usize = std::env::var("CAPTURE_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("devset/cards");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    files.sort();

    let start = Instant::now();
    let mut engine = PpOcr::load(&ModelDir::locate(None), threads)?;
    let load_ms = start.elapsed().as_secs_f64() * 1000.0;
    for f in files.iter().take(2) {
        read_card_file(&mut engine, f);
    }
    let mut latencies = Vec::new();
    for f in &files {
        let start = Instant::now();
        let out = read_card_file(&mut engine, f);
        latencies.push(start.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(matches!(out, Output::Card(_)), "{} failed", f.display());
    }
    let (median, p95, mean) = summary(latencies);
    println!(
        "card_latency: {} dev-set cards, {threads} threads, PP-OCRv4 det+cls+rec on ONNX Runtime 1.22 (CPU)",
        files.len()
    );
    println!(
        "{:<28} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "pipeline", "load ms", "median ms", "p95 ms", "mean ms", "peak MiB"
    );
    println!(
        "{:<28} {:>10.0} {:>10.0} {:>10.0} {:>10.0} {:>10.0}",
        "fieldline-capture (Rust)",
        load_ms,
        median,
        p95,
        mean,
        peak_rss_mib().unwrap_or(f64::NAN)
    );

    let script = dir.join("../rapidocr_baseline.py");
    let baseline = Command::new("python3")
        .arg(&script)
        .arg(threads.to_string())
        .args(&files)
        .output();
    match baseline {
        Ok(out) if out.status.success() => {
            let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
            let lat: Vec<f64> = v["latencies_ms"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|x| x.as_f64())
                .collect();
            let (b_median, b_p95, b_mean) = summary(lat);
            println!(
                "{:<28} {:>10.0} {:>10.0} {:>10.0} {:>10.0} {:>10}",
                "RapidOCR 1.4.4 (Python)",
                v["load_ms"].as_f64().unwrap_or(f64::NAN),
                b_median,
                b_p95,
                b_mean,
                "-"
            );
            println!(
                "ratio Rust/RapidOCR: median {:.2}, p95 {:.2}, mean {:.2} (below 1 = faster)",
                median / b_median,
                p95 / b_p95,
                mean / b_mean
            );
        }
        Ok(out) => println!(
            "baseline unavailable: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ),
        Err(e) => println!("baseline unavailable: {e}"),
    }
    println!(
        "target: a card in <= 1000 ms; median is {:.2}x of it",
        median / 1000.0
    );
    Ok(())
}
