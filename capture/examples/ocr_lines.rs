//! Prints the OCR lines of images: `cargo run -p fieldline-capture --example ocr_lines -- FILE...`
use fieldline_capture::ocr::ppocr::PpOcr;
use fieldline_capture::{ModelDir, OcrEngine, decode_image};

fn main() -> anyhow::Result<()> {
    let mut ocr = PpOcr::load(&ModelDir::locate(None), 2)?;
    for path in std::env::args().skip(1) {
        let image = decode_image(&std::fs::read(&path)?)?;
        let t = std::time::Instant::now();
        let lines = ocr.read_lines(&image, fieldline_capture::ocr::TextScale::Document)?;
        println!("{path}: {} lines in {:?}", lines.len(), t.elapsed());
        for l in lines {
            println!(
                "  {:.2} {:?} {}",
                l.confidence,
                l.bbox.map(|v| v as i32),
                l.text
            );
        }
    }
    Ok(())
}
