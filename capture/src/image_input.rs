//! Decoding uploads safely: bounded size and dimensions, EXIF orientation applied (phones
//! store portrait photos sideways), and a clear error for anything that is not an image.

use image::{DynamicImage, ImageDecoder, ImageReader, Limits, RgbImage};
use std::io::Cursor;

/// Largest upload accepted, in bytes.
pub const MAX_BYTES: usize = 25 * 1024 * 1024;
/// Largest side accepted, in pixels (a 50 MP phone photo is ~8200 px wide).
pub const MAX_SIDE: u32 = 12_000;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImageError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is {0} bytes; the limit is {MAX_BYTES}")]
    TooLarge(usize),
    #[error("not a supported image (JPEG, PNG, WebP, BMP or TIFF)")]
    Unsupported,
    #[error("the image is corrupt or truncated: {0}")]
    Corrupt(String),
    #[error("the image is {0}x{1} pixels; the limit is {MAX_SIDE} per side and 16 px minimum")]
    BadDimensions(u32, u32),
}

impl ImageError {
    /// A stable code for the error objects of the CLI and the sidecar.
    pub fn code(&self) -> &'static str {
        match self {
            ImageError::Empty => "empty_input",
            ImageError::TooLarge(_) => "input_too_large",
            ImageError::Unsupported => "unsupported_format",
            ImageError::Corrupt(_) => "corrupt_image",
            ImageError::BadDimensions(..) => "bad_dimensions",
        }
    }
}

pub fn decode_image(bytes: &[u8]) -> Result<RgbImage, ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::Empty);
    }
    if bytes.len() > MAX_BYTES {
        return Err(ImageError::TooLarge(bytes.len()));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| ImageError::Unsupported)?;
    match reader.format() {
        None => return Err(ImageError::Unsupported),
        Some(image::ImageFormat::Jpeg) if !jpeg_is_complete(bytes) => {
            return Err(ImageError::Corrupt(
                "the JPEG ends before its last scan does (an interrupted upload?)".into(),
            ));
        }
        Some(_) => {}
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(1024 * 1024 * 1024);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(classify)?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(classify)?;
    img.apply_orientation(orientation);
    let (w, h) = (img.width(), img.height());
    if w < 16 || h < 16 || w > MAX_SIDE || h > MAX_SIDE {
        return Err(ImageError::BadDimensions(w, h));
    }
    Ok(img.to_rgb8())
}

/// JPEG decoders pad a cut-off scan with grey instead of failing, so a truncated upload would
/// pass as an image with its lower part missing. In the entropy-coded data 0xFF is always
/// stuffed, so an end-of-image marker after the last start-of-scan means the scan is whole.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let Some(last_scan) = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]) else {
        return false;
    };
    bytes[last_scan..].windows(2).any(|w| w == [0xFF, 0xD9])
}

fn classify(e: image::ImageError) -> ImageError {
    match e {
        image::ImageError::Unsupported(_) => ImageError::Unsupported,
        image::ImageError::Limits(_) => ImageError::BadDimensions(0, 0),
        other => ImageError::Corrupt(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = RgbImage::from_pixel(w, h, image::Rgb([200, 10, 10]));
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn decodes_and_refuses_with_stable_codes() {
        assert_eq!(decode_image(&png(40, 30)).unwrap().dimensions(), (40, 30));
        assert_eq!(decode_image(b"").unwrap_err().code(), "empty_input");
        assert_eq!(
            decode_image(b"hello, not an image").unwrap_err().code(),
            "unsupported_format"
        );
        let full = png(64, 64);
        assert_eq!(
            decode_image(&full[..full.len() / 2]).unwrap_err().code(),
            "corrupt_image"
        );
        assert_eq!(
            decode_image(&png(8, 8)).unwrap_err().code(),
            "bad_dimensions"
        );
        assert_eq!(
            decode_image(&vec![0u8; MAX_BYTES + 1]).unwrap_err().code(),
            "input_too_large"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let _ = decode_image(&bytes);
        }

        #[test]
        fn corrupted_pngs_never_panic(cut in 0usize..400, flip in 0usize..400, bit in 0u8..8) {
            let mut bytes = png(32, 24);
            if flip < bytes.len() { bytes[flip] ^= 1 << bit; }
            bytes.truncate(cut.max(1).min(bytes.len()));
            let _ = decode_image(&bytes);
        }
    }
}
