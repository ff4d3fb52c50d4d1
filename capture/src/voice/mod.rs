//! Voice notes: audio file to transcript (Whisper) to the follow-up a rep would otherwise type
//! (next contact time, amounts, commitments, catalogue mentions, concerns).

pub mod asr;
pub mod audio;

use crate::followup::{self, Catalogue, FollowUp};
use crate::record::{Output, error, ms, read_upload};
use asr::{Language, Segment, WhisperAsr, Window};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

/// How a note is read: language (or detect), when it was recorded and where (relative times
/// like 明天下午三点 resolve against that), and the tenant's catalogue.
#[derive(Debug, Clone)]
pub struct VoiceOptions {
    pub language: Language,
    /// When the note was recorded; `None` means now (the CLI uses the file's time).
    pub recorded_at: Option<DateTime<Utc>>,
    pub time_zone: Tz,
    pub catalogue: Catalogue,
}

impl Default for VoiceOptions {
    fn default() -> Self {
        VoiceOptions {
            language: Language::Detect(vec!["zh".into(), "en".into()]),
            recorded_at: None,
            time_zone: chrono_tz::Asia::Shanghai,
            catalogue: Catalogue::default(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct VoiceTimings {
    pub decode_ms: f64,
    pub asr_ms: f64,
    pub extract_ms: f64,
}

/// One voice note read. `transcript` and `language` are the scorer's fields; the rest is
/// what the app shows and stores.
#[derive(Debug, Serialize)]
pub struct VoiceRecord {
    pub file: String,
    pub transcript: String,
    pub language: Option<String>,
    pub language_probability: Option<f32>,
    pub followup: FollowUp,
    /// The recording time relative phrases were resolved against, in the rep's zone.
    pub recorded_at: String,
    pub duration_s: f64,
    pub speech_s: f64,
    pub segments: Vec<Segment>,
    pub engine: &'static str,
    pub codec: &'static str,
    pub window: Window,
    /// Beams searched per token (1: greedy).
    pub beam: u32,
    pub audio_ctx: i32,
    pub timings: VoiceTimings,
    /// Processing time over audio duration (decode + recognition + extraction).
    pub real_time_factor: f64,
}

/// Reads one note; every failure becomes an error object.
pub fn read_voice(
    asr: &mut WhisperAsr,
    file: String,
    bytes: &[u8],
    options: &VoiceOptions,
) -> Output {
    let started = Instant::now();
    let extension = Path::new(&file)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_owned);
    let pcm = match audio::decode_audio(bytes, extension.as_deref()) {
        Ok(pcm) => pcm,
        Err(e) => return error(file, e.code(), e.to_string()),
    };
    let decode_ms = ms(started);
    let start = Instant::now();
    let transcript = match asr.transcribe(&pcm.samples, &options.language) {
        Ok(t) => t,
        Err(asr::AsrError::UnknownLanguage(code)) => {
            return error(
                file,
                "unknown_language",
                asr::AsrError::UnknownLanguage(code).to_string(),
            );
        }
        Err(e) => return error(file, "asr_failed", e.to_string()),
    };
    let asr_ms = ms(start);
    let start = Instant::now();
    let recorded_at = options
        .recorded_at
        .unwrap_or_else(Utc::now)
        .with_timezone(&options.time_zone);
    let followup = followup::extract(&transcript.text, recorded_at, &options.catalogue);
    let extract_ms = ms(start);
    let duration_s = (pcm.seconds() * 1000.0).round() / 1000.0;
    Output::Voice(Box::new(VoiceRecord {
        file,
        transcript: transcript.text,
        language: transcript.language,
        language_probability: transcript.language_probability,
        followup,
        recorded_at: recorded_at.to_rfc3339(),
        duration_s,
        speech_s: transcript.speech_s,
        segments: transcript.segments,
        engine: "whisper-base",
        codec: pcm.codec,
        window: asr.window(),
        beam: asr.beam(),
        audio_ctx: transcript.audio_ctx,
        timings: VoiceTimings {
            decode_ms,
            asr_ms,
            extract_ms,
        },
        real_time_factor: if duration_s > 0.0 {
            ((started.elapsed().as_secs_f64() / duration_s) * 1000.0).round() / 1000.0
        } else {
            0.0
        },
    }))
}

/// Reads a note file. Without an explicit recording time, the file's modification time is
/// used (phones keep it when they share a recording).
pub fn read_voice_file(asr: &mut WhisperAsr, path: &Path, options: &VoiceOptions) -> Output {
    let (file, bytes, metadata) = match read_upload(path) {
        Ok(read) => read,
        Err(output) => return output,
    };
    let mut options = options.clone();
    if options.recorded_at.is_none() {
        options.recorded_at = metadata.modified().ok().map(DateTime::<Utc>::from);
    }
    read_voice(asr, file, &bytes, &options)
}
