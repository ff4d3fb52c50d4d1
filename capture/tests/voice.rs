//! Voice notes with the real Whisper model: decoding every container phones send, transcripts,
//! follow-ups resolved against the recording time, bad input, the CLI batch and the sidecar.

mod common;

use chrono::{DateTime, TimeZone, Utc};
use common::TOKEN;
use fieldline_capture::ModelDir;
use fieldline_capture::followup::Catalogue;
use fieldline_capture::ocr::ppocr::PpOcr;
use fieldline_capture::record::Output;
use fieldline_capture::serve::SidecarState;
use fieldline_capture::voice::asr::{Language, WhisperAsr, Window};
use fieldline_capture::voice::audio::decode_audio;
use fieldline_capture::voice::{VoiceOptions, VoiceRecord, read_voice};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

fn devset(dir: &str, file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("devset")
        .join(dir)
        .join(file)
}

fn bytes(dir: &str, file: &str) -> Vec<u8> {
    std::fs::read(devset(dir, file)).unwrap()
}

/// One model per test binary, as in the sidecar.
fn asr() -> &'static Mutex<WhisperAsr> {
    static ASR: OnceLock<Mutex<WhisperAsr>> = OnceLock::new();
    ASR.get_or_init(|| {
        Mutex::new(
            WhisperAsr::load(&ModelDir::locate(None), 2, Window::Fit)
                .unwrap_or_else(|e| panic!("{e:#}")),
        )
    })
}

/// Monday 23 November 2026, 10:00 in Shanghai.
fn recorded() -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(2026, 11, 23, 10, 0, 0)
        .unwrap()
        .to_utc()
}

fn options() -> VoiceOptions {
    VoiceOptions {
        recorded_at: Some(recorded()),
        ..VoiceOptions::default()
    }
}

fn read(dir: &str, file: &str, options: &VoiceOptions) -> Box<VoiceRecord> {
    let mut asr = asr().lock().unwrap_or_else(|p| p.into_inner());
    match read_voice(&mut asr, file.to_string(), &bytes(dir, file), options) {
        Output::Voice(v) => v,
        Output::Error(e) => panic!("{}: {}", e.error.code, e.error.message),
        _ => unreachable!(),
    }
}

fn labels(dir: &str) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(devset(dir, "labels.json")).unwrap();
    let labels: serde_json::Value = serde_json::from_str(&text).unwrap();
    labels["clips"].as_array().unwrap().clone()
}

#[test]
fn every_container_decodes_to_16k_mono_of_the_labelled_length() {
    let clips = labels("voice");
    let mut seen = std::collections::BTreeSet::new();
    for clip in &clips {
        let file = clip["file"].as_str().unwrap();
        let ext = file.rsplit('.').next().unwrap();
        let pcm = decode_audio(&bytes("voice", file), Some(ext))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let want = clip["duration_s"].as_f64().unwrap();
        // Lossy codecs add a frame of padding at most.
        assert!(
            (pcm.seconds() - want).abs() < 0.1,
            "{file}: {} s decoded, {want} s labelled",
            pcm.seconds()
        );
        seen.insert(pcm.codec);
    }
    for codec in ["pcm_s16le", "flac", "mp3", "aac", "opus"] {
        assert!(seen.contains(codec), "no {codec} clip decoded: {seen:?}");
    }
}

#[test]
fn english_note_becomes_a_transcript_and_a_dated_follow_up() {
    let note = read("voice", "note_02_en.mp3", &options());
    let text = note.transcript.to_lowercase();
    assert!(text.contains("purchasing manager"), "{text}");
    assert_eq!(note.language.as_deref(), Some("en"));
    let next = note.followup.next_contact.as_ref().expect("next contact");
    // "next Tuesday afternoon" said on Monday 23 November: the first Tuesday after it (the
    // extractor's documented reading of English "next <day>").
    assert_eq!(next.at, "2026-11-24T14:00:00+08:00", "{next:?}");
    assert_eq!(next.precision, "part_of_day");
    assert!(note.real_time_factor > 0.0 && note.audio_ctx < 1500);
}

#[test]
fn mandarin_note_is_simplified_and_resolves_tomorrow_three_pm() {
    let note = read("voice-zh-neural", "neural_00_zh.wav", &options());
    assert_eq!(note.language.as_deref(), Some("zh"));
    assert!(
        note.transcript.contains("明天下午三点"),
        "{}",
        note.transcript
    );
    assert!(note.transcript.contains("报价单"), "{}", note.transcript);
    let next = note.followup.next_contact.as_ref().expect("next contact");
    assert_eq!(next.at, "2026-11-24T15:00:00+08:00");
    assert_eq!(next.precision, "time");
}

#[test]
fn budgets_and_catalogue_mentions_are_extracted_from_speech() {
    let budget = read("voice-zh-neural", "neural_02_zh.mp3", &options());
    assert_eq!(budget.followup.amounts.len(), 1, "{}", budget.transcript);
    assert_eq!(budget.followup.amounts[0].value, 500_000.0);

    let mut with_catalogue = options();
    with_catalogue.catalogue =
        Catalogue::from_json(r#"{"competitors": {"Contoso": ["contoso"]}, "products": {}}"#)
            .unwrap();
    let rival = read("voice", "note_05_en.wav", &with_catalogue);
    assert!(
        rival
            .followup
            .mentions
            .iter()
            .any(|m| m.name == "Contoso" && m.kind == "competitor"),
        "{}",
        rival.transcript
    );
}

#[test]
fn a_fixed_language_skips_detection_and_an_unknown_one_is_refused() {
    let mut fixed = options();
    fixed.language = Language::Fixed("zh".into());
    let note = read("voice-zh-neural", "neural_10_zh.wav", &fixed);
    assert_eq!(note.language.as_deref(), Some("zh"));
    assert!(note.language_probability.is_none());

    fixed.language = Language::Fixed("klingon".into());
    let mut asr = asr().lock().unwrap_or_else(|p| p.into_inner());
    let out = read_voice(
        &mut asr,
        "x.wav".into(),
        &bytes("voice-zh-neural", "neural_10_zh.wav"),
        &fixed,
    );
    match out {
        Output::Error(e) => assert_eq!(e.error.code, "unknown_language"),
        _ => panic!("an unknown language must be refused"),
    }
}

/// A WAV of `seconds` of the given samples at 16 kHz.
fn wav(samples: &[i16]) -> Vec<u8> {
    let mut out = Vec::new();
    let data = (samples.len() * 2) as u32;
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    for v in [16u32, 0x0001_0001, 16_000, 32_000, 0x0010_0002] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

#[test]
fn silence_gives_an_empty_transcript_not_an_invented_one() {
    let mut asr = asr().lock().unwrap_or_else(|p| p.into_inner());
    // Five seconds of near-silence with a little hiss.
    let hiss: Vec<i16> = (0..80_000).map(|i| ((i * 7919) % 13) as i16 - 6).collect();
    match read_voice(&mut asr, "quiet.wav".into(), &wav(&hiss), &options()) {
        Output::Voice(v) => {
            assert_eq!(v.transcript, "");
            assert!(v.segments.is_empty());
            assert_eq!(v.followup.next_contact, None);
        }
        _ => panic!("silence is not an error"),
    }
}

#[test]
fn batch_keeps_going_past_bad_recordings_with_stable_codes() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.m4a");
    std::fs::write(&empty, b"").unwrap();
    let text = dir.path().join("notes.mp3");
    std::fs::write(&text, "this is a text file, not a recording").unwrap();
    let truncated = dir.path().join("cut.flac");
    let flac = bytes("voice", "note_01_en.flac");
    std::fs::write(&truncated, &flac[..40]).unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_fieldline-capture"))
        .args([
            "voice",
            "--jsonl",
            "--recorded-at",
            "2026-11-23T10:00:00+08:00",
        ])
        .arg(devset("voice", "note_07_en.mp3"))
        .args([&empty, &text, &truncated])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let objects = common::jsonl_objects(out);
    assert_eq!(objects.len(), 4, "one object per input");
    assert!(
        objects[0]["transcript"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("samples"),
        "{}",
        objects[0]
    );
    assert_eq!(objects[0]["recorded_at"], "2026-11-23T10:00:00+08:00");
    assert_eq!(objects[1]["error"]["code"], "empty_input");
    assert_eq!(objects[2]["error"]["code"], "unsupported_format");
    let cut = objects[3]["error"]["code"].as_str().unwrap();
    assert!(
        ["corrupt_audio", "unsupported_format", "no_audio"].contains(&cut),
        "{cut}"
    );
    assert!(stderr.contains("1 voice notes read, 3 failed"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sidecar_transcribes_voice_notes_with_per_request_options() {
    let models = ModelDir::locate(None);
    let ocr = PpOcr::load(&models, 1).unwrap_or_else(|e| panic!("{e:#}"));
    let speech = WhisperAsr::load(&models, 2, Window::Fit).unwrap_or_else(|e| panic!("{e:#}"));
    let state =
        SidecarState::new(Box::new(ocr), Some(speech), VoiceOptions::default(), TOKEN).unwrap();
    let base = common::serve(state).await;
    let client = reqwest::Client::new();
    let health = common::health(&base).await;
    assert_eq!(health["models"]["speech"]["loaded"], true);

    let post = |query: &str, body: Vec<u8>, token: Option<&str>| {
        let mut req = client
            .post(format!("{base}/v1/voice{query}"))
            .header("content-type", "audio/ogg")
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    let clip = bytes("voice-zh-neural", "neural_09_zh.ogg");

    let r = post(
        "?recorded_at=2026-11-23T10:00:00%2B08:00&tz=Asia/Shanghai",
        clip.clone(),
        Some(TOKEN),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let note: serde_json::Value = r.json().await.unwrap();
    assert_eq!(note["file"], "upload.ogg");
    assert_eq!(note["language"], "zh");
    assert!(
        note["transcript"].as_str().unwrap().contains("讨论"),
        "{note}"
    );
    assert_eq!(note["recorded_at"], "2026-11-23T10:00:00+08:00");

    let r = post("", clip.clone(), None).await.unwrap();
    assert_eq!(r.status(), 401);
    let r = post("?tz=Mars/Olympus", clip.clone(), Some(TOKEN))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "bad_time_zone");
    let r = post("?recorded_at=yesterday", clip.clone(), Some(TOKEN))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = post("", b"garbage".to_vec(), Some(TOKEN)).await.unwrap();
    assert_eq!(r.status(), 422);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "unsupported_format");
}
