//! Voice-note decoding: whatever container a phone or chat app sends (WAV, FLAC, MP3, AAC in
//! M4A/MP4, Opus or Vorbis in Ogg/WebM) becomes 16 kHz mono `f32`, the only input Whisper takes.
//! Size and duration are bounded while decoding, so a small file that expands to hours of
//! audio is refused before it fills memory.

use rubato::{FftFixedIn, Resampler};
use std::io::Cursor;
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{CODEC_TYPE_NULL, CODEC_TYPE_OPUS, CodecParameters, DecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// Whisper's sample rate.
pub const SAMPLE_RATE: u32 = 16_000;
/// Largest upload accepted, in bytes (same limit as photos).
pub const MAX_BYTES: usize = crate::image_input::MAX_BYTES;
/// Longest note accepted, in seconds. Voice notes are seconds to minutes; a longer file is a
/// meeting recording, which this service is not sized for.
pub const MAX_SECONDS: u32 = 600;
/// Source sample rates accepted: telephone band to studio (no phone records above 192 kHz).
/// A header may claim any rate; resampling from an absurd one (fuzzing found a WAV claiming
/// 4.28 GHz) would plan a filter of gigabytes.
const SOURCE_RATES: std::ops::RangeInclusive<u32> = 4_000..=192_000;
/// Packets that fail to decode before the file counts as corrupt (a few bad frames in a long
/// MP3 are normal and skipped).
const MAX_BAD_PACKETS: usize = 8;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AudioError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is {0} bytes; the limit is {MAX_BYTES}")]
    TooLarge(usize),
    #[error("not a supported audio file (WAV, FLAC, MP3, M4A/AAC, Ogg Opus or Vorbis): {0}")]
    Unsupported(String),
    #[error("the audio is corrupt or truncated: {0}")]
    Corrupt(String),
    #[error("the recording is longer than {MAX_SECONDS} s")]
    TooLong,
    #[error("the file holds no audio samples")]
    NoSamples,
}

impl AudioError {
    /// A stable code for the error objects of the CLI and the sidecar.
    pub fn code(&self) -> &'static str {
        match self {
            AudioError::Empty => "empty_input",
            AudioError::TooLarge(_) => "input_too_large",
            AudioError::Unsupported(_) => "unsupported_format",
            AudioError::Corrupt(_) => "corrupt_audio",
            AudioError::TooLong => "audio_too_long",
            AudioError::NoSamples => "no_audio",
        }
    }
}

/// Decoded audio: 16 kHz mono, with what the file said about itself.
#[derive(Debug, Clone)]
pub struct Pcm {
    pub samples: Vec<f32>,
    /// The codec as named by the container ("mp3", "aac", "opus", ...).
    pub codec: &'static str,
    pub source_rate: u32,
    pub source_channels: usize,
}

impl Pcm {
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / SAMPLE_RATE as f64
    }
}

/// Decodes and resamples. `extension` (without the dot) helps the container probe, which
/// otherwise reads the file's own magic bytes.
pub fn decode_audio(bytes: &[u8], extension: Option<&str>) -> Result<Pcm, AudioError> {
    if bytes.is_empty() {
        return Err(AudioError::Empty);
    }
    if bytes.len() > MAX_BYTES {
        return Err(AudioError::TooLarge(bytes.len()));
    }
    // The demuxers and codecs are third-party code fed by strangers' uploads; fuzzing found
    // two that panic on malformed input (a Matroska header, an AAC ADTS frame:
    // capture/fuzz/regressions). A decoder that gives up that way has met a corrupt file,
    // not a reason to take the service down.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        decode_checked(bytes, extension)
    }))
    .unwrap_or_else(|_| {
        Err(AudioError::Corrupt(
            "the decoder gave up on malformed data".into(),
        ))
    })
}

/// `decode_audio` once the size limits hold.
fn decode_checked(bytes: &[u8], extension: Option<&str>) -> Result<Pcm, AudioError> {
    let stream = MediaSourceStream::new(Box::new(Cursor::new(bytes.to_vec())), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = extension {
        hint.with_extension(&ext.to_ascii_lowercase());
    }
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            stream,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .map_err(|e| AudioError::Unsupported(e.to_string()))?;
    let mut format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| AudioError::Unsupported("no audio track".into()))?;
    let track_id = track.id;
    let params = track.codec_params.clone();
    let (mono, rate, channels) = if params.codec == CODEC_TYPE_OPUS {
        decode_opus(format.as_mut(), track_id, &params)?
    } else {
        decode_symphonia(format.as_mut(), track_id, &params)?
    };
    if mono.is_empty() {
        return Err(AudioError::NoSamples);
    }
    if !SOURCE_RATES.contains(&rate) {
        return Err(AudioError::Unsupported(format!("sample rate {rate} Hz")));
    }
    let samples = resample(&mono, rate)?;
    Ok(Pcm {
        samples,
        codec: codec_name(&params),
        source_rate: rate,
        source_channels: channels,
    })
}

fn codec_name(params: &CodecParameters) -> &'static str {
    symphonia::default::get_codecs()
        .get_codec(params.codec)
        .map(|d| d.short_name)
        .unwrap_or(if params.codec == CODEC_TYPE_OPUS {
            "opus"
        } else {
            "unknown"
        })
}

/// Appends interleaved samples as mono, failing once the note is longer than allowed.
fn push_mono(
    mono: &mut Vec<f32>,
    interleaved: &[f32],
    channels: usize,
    rate: u32,
) -> Result<(), AudioError> {
    let channels = channels.max(1);
    mono.extend(
        interleaved
            .chunks_exact(channels)
            .map(|frame| frame.iter().sum::<f32>() / channels as f32),
    );
    if mono.len() as u64 > MAX_SECONDS as u64 * rate as u64 {
        return Err(AudioError::TooLong);
    }
    Ok(())
}

/// Reads packets until the end of the stream, counting undecodable ones.
fn for_each_packet(
    format: &mut dyn FormatReader,
    track_id: u32,
    mut on_packet: impl FnMut(&[u8], &symphonia::core::formats::Packet) -> Result<bool, AudioError>,
) -> Result<(), AudioError> {
    let mut bad = 0;
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Ok(());
            }
            Err(SymphoniaError::ResetRequired) => return Ok(()),
            Err(e) => return Err(AudioError::Corrupt(e.to_string())),
        };
        if packet.track_id() != track_id {
            continue;
        }
        if !on_packet(&packet.data, &packet)? {
            bad += 1;
            if bad > MAX_BAD_PACKETS {
                return Err(AudioError::Corrupt(format!(
                    "more than {MAX_BAD_PACKETS} packets failed to decode"
                )));
            }
        }
    }
}

fn decode_symphonia(
    format: &mut dyn FormatReader,
    track_id: u32,
    params: &CodecParameters,
) -> Result<(Vec<f32>, u32, usize), AudioError> {
    let mut decoder = symphonia::default::get_codecs()
        .make(params, &DecoderOptions::default())
        .map_err(|e| AudioError::Unsupported(e.to_string()))?;
    let mut mono = Vec::new();
    let mut rate = params.sample_rate.unwrap_or(0);
    let mut channels = params.channels.map(|c| c.count()).unwrap_or(0);
    let mut buffer: Option<SampleBuffer<f32>> = None;
    for_each_packet(format, track_id, |_, packet| match decoder.decode(packet) {
        Ok(decoded) => {
            let spec = *decoded.spec();
            rate = spec.rate;
            channels = spec.channels.count();
            let needed = decoded.capacity() as u64 * channels as u64;
            if buffer
                .as_ref()
                .is_none_or(|b| (b.capacity() as u64) < needed)
            {
                buffer = Some(SampleBuffer::new(decoded.capacity() as u64, spec));
            }
            let buf = buffer.as_mut().expect("allocated above");
            buf.copy_interleaved_ref(decoded);
            push_mono(&mut mono, buf.samples(), channels, rate)?;
            Ok(true)
        }
        Err(SymphoniaError::DecodeError(_)) => Ok(false),
        Err(SymphoniaError::IoError(_)) => Ok(false),
        Err(e) => Err(AudioError::Corrupt(e.to_string())),
    })?;
    if rate == 0 {
        return Err(AudioError::NoSamples);
    }
    Ok((mono, rate, channels))
}

/// Symphonia reads Ogg and WebM but has no Opus decoder; libopus decodes the packets.
fn decode_opus(
    format: &mut dyn FormatReader,
    track_id: u32,
    params: &CodecParameters,
) -> Result<(Vec<f32>, u32, usize), AudioError> {
    // Opus always decodes at 48 kHz; the header's "input rate" is informational only.
    const RATE: u32 = 48_000;
    let channels = params.channels.map(|c| c.count()).unwrap_or(1).clamp(1, 2);
    let mut decoder = opus::Decoder::new(
        RATE,
        if channels == 2 {
            opus::Channels::Stereo
        } else {
            opus::Channels::Mono
        },
    )
    .map_err(|e| AudioError::Unsupported(format!("opus: {e}")))?;
    // 120 ms is the longest Opus frame.
    let mut frame = vec![0f32; 5760 * channels];
    let mut mono = Vec::new();
    for_each_packet(format, track_id, |data, _| {
        match decoder.decode_float(data, &mut frame, false) {
            Ok(n) => {
                push_mono(&mut mono, &frame[..n * channels], channels, RATE)?;
                Ok(true)
            }
            Err(_) => Ok(false),
        }
    })?;
    // The encoder's look-ahead ("pre-skip") is not audio.
    let pre_skip = params.delay.unwrap_or(0) as usize;
    mono.drain(..pre_skip.min(mono.len()));
    Ok((mono, RATE, channels))
}

/// Band-limited resampling to 16 kHz (FFT-based, exact for the usual ratios).
fn resample(input: &[f32], rate: u32) -> Result<Vec<f32>, AudioError> {
    if rate == SAMPLE_RATE {
        return Ok(input.to_vec());
    }
    let corrupt = |e: &dyn std::fmt::Display| AudioError::Corrupt(format!("resampling: {e}"));
    let mut resampler = FftFixedIn::<f32>::new(rate as usize, SAMPLE_RATE as usize, 1024, 2, 1)
        .map_err(|e| corrupt(&e))?;
    let expected = (input.len() as u64 * SAMPLE_RATE as u64 / rate as u64) as usize;
    let delay = resampler.output_delay();
    let mut out = Vec::with_capacity(expected + delay + 2048);
    let mut pos = 0;
    while input.len() - pos >= resampler.input_frames_next() {
        let n = resampler.input_frames_next();
        let chunk = resampler
            .process(&[&input[pos..pos + n]], None)
            .map_err(|e| corrupt(&e))?;
        out.extend_from_slice(&chunk[0]);
        pos += n;
    }
    if pos < input.len() {
        let chunk = resampler
            .process_partial(Some(&[&input[pos..]]), None)
            .map_err(|e| corrupt(&e))?;
        out.extend_from_slice(&chunk[0]);
    }
    // Flush what the filter still holds.
    while out.len() < expected + delay {
        let chunk = resampler
            .process_partial::<&[f32]>(None, None)
            .map_err(|e| corrupt(&e))?;
        if chunk[0].is_empty() {
            break;
        }
        out.extend_from_slice(&chunk[0]);
    }
    out.drain(..delay.min(out.len()));
    out.truncate(expected);
    Ok(out)
}

/// Where speech is: the note without its leading and trailing silence, found from short-time
/// energy against the recording's own noise floor, so quiet phones and noisy shops both work.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpeechSpan {
    pub start: usize,
    pub end: usize,
    /// The note has no quiet stretch to measure speech against (talk over music, a noisy
    /// street from the first to the last frame): all of it is kept, and the recogniser's own
    /// no-speech estimate decides what is words.
    pub unsure: bool,
}

impl SpeechSpan {
    pub fn seconds(&self) -> f64 {
        (self.end - self.start) as f64 / SAMPLE_RATE as f64
    }
}

/// Finds the speech in 16 kHz audio, keeping `margin_s` of context on each side. `None` when
/// the note is silent, empty or a steady noise (Whisper would only invent text).
pub fn speech_span(samples: &[f32], margin_s: f64) -> Option<SpeechSpan> {
    const FRAME: usize = 320; // 20 ms
    let energies: Vec<f32> = samples
        .chunks(FRAME)
        .map(|f| (f.iter().map(|s| s * s).sum::<f32>() / f.len() as f32).sqrt())
        .collect();
    if energies.is_empty() {
        return None;
    }
    let mut sorted = energies.clone();
    sorted.sort_by(f32::total_cmp);
    let floor = sorted[sorted.len() / 10];
    let loudest = sorted[sorted.len() - 1 - sorted.len() / 100];
    // Speech stands well above the floor; digital silence does not.
    if loudest < 0.002 {
        return None;
    }
    if loudest < floor * 4.0 {
        // No quiet stretch. A hum or steady noise barely changes from frame to frame (the
        // RMS of 20 ms of white noise varies by ~4 %); speech rises and falls with its
        // syllables. Trimming must never cut speech, so whatever modulates is kept whole.
        let mean = energies.iter().sum::<f32>() / energies.len() as f32;
        let variance =
            energies.iter().map(|e| (e - mean).powi(2)).sum::<f32>() / energies.len() as f32;
        return (variance.sqrt() / mean >= 0.1).then_some(SpeechSpan {
            start: 0,
            end: samples.len(),
            unsure: true,
        });
    }
    let threshold = (floor * 3.0).max(loudest * 0.08).max(0.001);
    let first = energies.iter().position(|&e| e > threshold)?;
    let last = energies.iter().rposition(|&e| e > threshold)?;
    let margin = (margin_s * SAMPLE_RATE as f64) as usize;
    Some(SpeechSpan {
        start: (first * FRAME).saturating_sub(margin),
        end: ((last + 1) * FRAME + margin).min(samples.len()),
        unsure: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(seconds: f64, rate: u32, amplitude: f32) -> Vec<f32> {
        (0..(seconds * rate as f64) as usize)
            .map(|i| amplitude * (i as f32 * 440.0 * std::f32::consts::TAU / rate as f32).sin())
            .collect()
    }

    fn wav(samples: &[f32], rate: u32, channels: u16) -> Vec<u8> {
        let mut out = Vec::new();
        let data_len = (samples.len() * channels as usize * 2) as u32;
        out.extend_from_slice(b"RIFF");
        out.extend_from_slice(&(36 + data_len).to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&channels.to_le_bytes());
        out.extend_from_slice(&rate.to_le_bytes());
        out.extend_from_slice(&rate.wrapping_mul(channels as u32 * 2).to_le_bytes());
        out.extend_from_slice(&(channels * 2).to_le_bytes());
        out.extend_from_slice(&16u16.to_le_bytes());
        out.extend_from_slice(b"data");
        out.extend_from_slice(&data_len.to_le_bytes());
        for s in samples {
            for _ in 0..channels {
                out.extend_from_slice(&((s * 32767.0) as i16).to_le_bytes());
            }
        }
        out
    }

    #[test]
    fn stereo_44k_wav_becomes_16k_mono_of_the_same_length() {
        let pcm = decode_audio(&wav(&tone(2.0, 44_100, 0.5), 44_100, 2), Some("wav")).unwrap();
        assert_eq!(pcm.source_rate, 44_100);
        assert_eq!(pcm.source_channels, 2);
        assert_eq!(pcm.samples.len(), 32_000);
        // The tone survives resampling: RMS of a 0.5 sine is ~0.354.
        let mid = &pcm.samples[8_000..24_000];
        let rms = (mid.iter().map(|s| s * s).sum::<f32>() / mid.len() as f32).sqrt();
        assert!((rms - 0.354).abs() < 0.02, "rms {rms}");
    }

    #[test]
    fn bad_inputs_get_stable_codes() {
        assert_eq!(decode_audio(&[], None).unwrap_err().code(), "empty_input");
        assert_eq!(
            decode_audio(b"definitely not audio, just text", Some("txt"))
                .unwrap_err()
                .code(),
            "unsupported_format"
        );
        let huge = vec![0u8; MAX_BYTES + 1];
        assert_eq!(
            decode_audio(&huge, None).unwrap_err().code(),
            "input_too_large"
        );
    }

    #[test]
    fn a_header_promising_more_than_ten_minutes_is_refused_while_decoding() {
        // 8 kHz 8-bit would be small on disk; here 16-bit mono at 4 kHz keeps the test fast.
        let long = vec![0.0f32; 4_000 * (MAX_SECONDS as usize + 5)];
        let err = decode_audio(&wav(&long, 4_000, 1), Some("wav")).unwrap_err();
        assert_eq!(err.code(), "audio_too_long");
    }

    #[test]
    fn absurd_sample_rates_are_refused_before_resampling() {
        let note = tone(0.5, 8_000, 0.3);
        for rate in [1_000, 3_999, 192_001, 4_278_212_130] {
            let err = decode_audio(&wav(&note, rate, 1), Some("wav")).unwrap_err();
            assert_eq!(err.code(), "unsupported_format", "{rate} Hz");
        }
        assert!(decode_audio(&wav(&note, 192_000, 1), Some("wav")).is_ok());
        // Found by capture/fuzz (decode_audio): a WAV inside junk claiming 4.28 GHz took
        // gigabytes to plan its resampler. Its first byte chose the hint.
        let found =
            include_bytes!("../../fuzz/regressions/decode_audio-wav-absurd-sample-rate-oom");
        for hint in [None, Some("ogg"), Some("wav")] {
            match decode_audio(&found[1..], hint) {
                Err(
                    AudioError::Corrupt(_) | AudioError::Unsupported(_) | AudioError::NoSamples,
                ) => {}
                other => panic!("{hint:?}: {:?}", other.map(|p| p.codec)),
            }
        }
    }

    #[test]
    fn a_demuxer_that_panics_on_a_malformed_file_gives_corrupt_audio() {
        // Found by capture/fuzz (decode_audio); each one's first byte chose the hint.
        let found: [&[u8]; 2] = [
            include_bytes!("../../fuzz/regressions/decode_audio-mkv-subtract-overflow"),
            include_bytes!("../../fuzz/regressions/decode_audio-aac-adts-subtract-overflow"),
        ];
        for bytes in found {
            for hint in [None, Some("ogg"), Some("webm"), Some("m4a"), Some("aac")] {
                match decode_audio(&bytes[1..], hint) {
                    Err(AudioError::Corrupt(_) | AudioError::Unsupported(_)) => {}
                    other => panic!("{hint:?}: {:?}", other.map(|p| p.codec)),
                }
            }
        }
    }

    #[test]
    fn speech_span_trims_silence_and_rejects_silent_notes() {
        let mut note = vec![0.0f32; 16_000];
        note.extend(tone(1.0, 16_000, 0.3));
        note.extend(vec![0.0f32; 32_000]);
        let span = speech_span(&note, 0.1).unwrap();
        assert!((span.start as i64 - 14_400).abs() <= 320, "{span:?}");
        assert!((span.end as i64 - 33_600).abs() <= 320, "{span:?}");
        assert!(speech_span(&vec![0.0; 48_000], 0.1).is_none());
        // A steady hum is noise, not speech.
        assert!(speech_span(&tone(3.0, 16_000, 0.05), 0.1).is_none());
        // So is steady hiss at any level.
        let mut seed = 1u32;
        let hiss: Vec<f32> = (0..48_000)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 8) as f32 / (1u32 << 24) as f32 * 0.2 - 0.1
            })
            .collect();
        assert!(speech_span(&hiss, 0.1).is_none());
        // Sound rising and falling four times a second with no quiet stretch (talk over
        // music) is kept whole, not cut to nothing.
        let talk: Vec<f32> = tone(2.0, 16_000, 1.0)
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s * (0.3 + 0.12 * (i as f32 * 4.0 * std::f32::consts::TAU / 16_000.0).sin())
            })
            .collect();
        let span = speech_span(&talk, 0.1).expect("kept");
        assert_eq!((span.start, span.end, span.unsure), (0, talk.len(), true));
    }
}
