//! Business cards through the real models and the real binary. Models come from
//! `scripts/setup-models.sh`; without them these tests fail and say so.

mod common;

use fieldline_capture::ocr::ppocr::PpOcr;
use fieldline_capture::record::{Output, read_card_file};
use fieldline_capture::{ModelDir, OcrEngine};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

fn devset(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("devset/cards")
        .join(file)
}

fn engine() -> &'static Mutex<PpOcr> {
    static ENGINE: OnceLock<Mutex<PpOcr>> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let models = ModelDir::locate(None);
        Mutex::new(PpOcr::load(&models, 2).unwrap_or_else(|e| panic!("{e:#}")))
    })
}

fn labels() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(devset("labels.json")).unwrap()).unwrap()
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

#[test]
fn recogniser_dictionary_comes_from_model_metadata() {
    let engine = engine().lock().unwrap();
    // The PP-OCRv6 multilingual dictionary (Chinese, English, ~40 Latin-script languages),
    // plus the CTC blank and the space.
    assert!(
        engine.dictionary_len() > 6000,
        "{}",
        engine.dictionary_len()
    );
    assert_eq!(engine.name(), "ppocr-v6");
}

#[test]
fn chinese_and_latin_cards_read_into_their_labels() {
    let labels = labels();
    let mut engine = engine().lock().unwrap();
    let mut checked = 0;
    for label in labels["cards"].as_array().unwrap().iter().take(12) {
        let file = label["file"].as_str().unwrap();
        let Output::Card(card) = read_card_file(&mut *engine, &devset(file)) else {
            panic!("{file} failed")
        };
        // Phones are read on every card of the set so far; each labelled number must be found.
        for phone in label["phones"].as_array().unwrap() {
            let want = digits(phone["number"].as_str().unwrap());
            let tail = &want[want.len() - 7..];
            assert!(
                card.fields
                    .phones
                    .iter()
                    .any(|p| digits(&p.number).ends_with(tail)),
                "{file}: {want} not among {:?}",
                card.fields.phones
            );
        }
        let email = label["emails"][0].as_str().unwrap();
        if card
            .fields
            .emails
            .iter()
            .any(|e| e.eq_ignore_ascii_case(email))
        {
            checked += 1;
        }
        assert!(
            card.reading.lines.len() >= 5,
            "{file}: only {} lines",
            card.reading.lines.len()
        );
        assert!(card.reading.timings.ocr_ms > 0.0);
    }
    assert!(checked >= 10, "e-mails right on only {checked} of 12 cards");
}

#[test]
fn a_blank_image_yields_an_empty_card_not_an_invented_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blank.png");
    image::RgbImage::from_pixel(800, 500, image::Rgb([250, 250, 250]))
        .save(&path)
        .unwrap();
    let mut engine = engine().lock().unwrap();
    let Output::Card(card) = read_card_file(&mut *engine, &path) else {
        panic!("blank image failed")
    };
    assert!(card.reading.lines.is_empty());
    assert!(
        card.fields.name.is_none()
            && card.fields.company.is_none()
            && card.fields.phones.is_empty()
            && card.fields.emails.is_empty()
    );
}

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fieldline-capture"))
}

#[test]
fn batch_keeps_going_past_bad_files_with_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.jpg");
    std::fs::write(&empty, b"").unwrap();
    let text = dir.path().join("notes.jpg");
    std::fs::write(&text, "not an image at all").unwrap();
    let truncated = dir.path().join("truncated.jpg");
    let bytes = std::fs::read(devset("card-001.jpg")).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let missing = dir.path().join("missing.jpg");

    let out = cli()
        .args(["card", "--jsonl"])
        .arg(devset("card-000.jpg"))
        .args([&empty, &text, &truncated, &missing])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let objects = common::jsonl_objects(out);
    assert_eq!(objects.len(), 5, "one object per input, in order");
    assert_eq!(objects[0]["file"], "card-000.jpg");
    assert!(objects[0]["name"].is_string());
    let codes: Vec<&str> = objects[1..]
        .iter()
        .map(|o| o["error"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes[..3],
        ["empty_input", "unsupported_format", "corrupt_image"]
    );
    assert_eq!(codes[3], "unreadable_file");
    assert_eq!(objects[2]["file"], "notes.jpg");
    assert!(stderr.contains("1 cards read, 4 failed"), "{stderr}");
}

#[test]
fn out_dir_writes_one_json_file_per_input_for_the_scorers() {
    let dir = tempfile::tempdir().unwrap();
    let status = cli()
        .args(["card", "--out-dir"])
        .arg(dir.path())
        .arg(devset("card-002.jpg"))
        .status()
        .unwrap();
    assert!(status.success());
    let written: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("card-002.jpg.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(written["file"], "card-002.jpg");
    for key in [
        "name",
        "title",
        "department",
        "company",
        "phones",
        "emails",
        "websites",
        "address",
    ] {
        assert!(written.get(key).is_some(), "missing key {key}");
    }
}

#[test]
fn missing_models_name_the_file_and_the_install_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = cli()
        .arg("--models")
        .arg(dir.path())
        .arg("card")
        .arg(devset("card-000.jpg"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("libonnxruntime.so") && stderr.contains("scripts/setup-models.sh"),
        "{stderr}"
    );
}

#[test]
fn tesseract_engine_reads_the_same_card_through_the_same_trait() {
    use fieldline_capture::ocr::tesseract::{DEFAULT_LANGUAGES, TesseractOcr};
    let mut tess = TesseractOcr::load(DEFAULT_LANGUAGES)
        .unwrap_or_else(|e| panic!("{e:#} (run scripts/setup-system.sh)"));
    assert_eq!(tess.name(), "tesseract-5");
    let labels = labels();
    // card-003 is a Latin-script card: Tesseract's stronger side.
    let label = labels["cards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["file"] == "card-003.jpg")
        .unwrap();
    let Output::Card(card) = read_card_file(&mut tess, &devset("card-003.jpg")) else {
        panic!("failed")
    };
    assert!(card.reading.lines.len() >= 5);
    let want = label["emails"][0].as_str().unwrap();
    assert!(
        card.fields
            .emails
            .iter()
            .any(|e| e.eq_ignore_ascii_case(want)),
        "{:?} vs {want}",
        card.fields.emails
    );
}
