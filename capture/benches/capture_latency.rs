//! Capture latency on this machine, per input kind: model load time, median and p95 per input
//! over the dev sets, peak memory — and RapidOCR (Python, still the PP-OCRv4 models) over the
//! same images in the same run as the baseline. RapidOCR does OCR only, so for shelves the
//! ratio also charges our tag and gap analysis to us.
//!
//! `cargo bench -p fieldline-capture --bench capture_latency`   env: CAPTURE_THREADS (default 2)

mod common;

use common::{peak_rss_mib, summary};
use fieldline_capture::ModelDir;
use fieldline_capture::ocr::ppocr::PpOcr;
use fieldline_capture::record::{Kind, Output, read_image_file};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn images(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    files.sort();
    files
}

fn main() -> anyhow::Result<()> {
    let threads: usize = std::env::var("CAPTURE_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let devset = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("devset");
    let start = Instant::now();
    let mut engine = PpOcr::load(&ModelDir::locate(None), threads)?;
    let load_ms = start.elapsed().as_secs_f64() * 1000.0;
    println!(
        "capture_latency: {threads} threads; PP-OCRv6 det+cls+rec on ONNX Runtime 1.22 (CPU); model load {load_ms:.0} ms"
    );
    println!(
        "{:<8} {:>6} {:>11} {:>11} {:>14} {:>14} {:>9} {:>9}",
        "input",
        "count",
        "median ms",
        "p95 ms",
        "rapidocr med",
        "rapidocr p95",
        "med/base",
        "p95/base"
    );
    for (name, kind, target_ms) in [
        ("cards", Kind::Card, 1000.0),
        ("shelves", Kind::Shelf, 3000.0),
    ] {
        let files = images(&devset.join(name));
        for f in files.iter().take(2) {
            read_image_file(&mut engine, kind, f);
        }
        let mut latencies = Vec::new();
        for f in &files {
            let start = Instant::now();
            let out = read_image_file(&mut engine, kind, f);
            latencies.push(start.elapsed().as_secs_f64() * 1000.0);
            anyhow::ensure!(!matches!(out, Output::Error(_)), "{} failed", f.display());
        }
        let (median, p95) = summary(latencies);
        let baseline = Command::new("python3")
            .arg(devset.join("rapidocr_baseline.py"))
            .arg(threads.to_string())
            .args(&files)
            .output();
        let (b_median, b_p95) = match baseline {
            Ok(out) if out.status.success() => {
                let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
                summary(
                    v["latencies_ms"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter_map(|x| x.as_f64())
                        .collect(),
                )
            }
            _ => (f64::NAN, f64::NAN),
        };
        println!(
            "{name:<8} {:>6} {median:>11.0} {p95:>11.0} {b_median:>14.0} {b_p95:>14.0} {:>9.2} {:>9.2}   (target {target_ms:.0} ms: p95 at {:.2}x)",
            files.len(),
            median / b_median,
            p95 / b_p95,
            p95 / target_ms
        );
    }
    println!("peak memory of this process: {:.0} MiB", peak_rss_mib());
    println!("(baseline: pip install rapidocr_onnxruntime==1.4.4; NaN when it is not installed)");
    Ok(())
}
