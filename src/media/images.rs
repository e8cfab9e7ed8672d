//! Checking and re-encoding a picture with the `image` crate: its kind is read from its bytes
//! (never from what the sender claims), its size is checked before it is decoded (a
//! decompression bomb is refused without allocating it), it is shrunk to `media.max_side`,
//! and it is encoded again, which drops every EXIF field (GPS positions included). CPU work:
//! callers run it off the async runtime.

use crate::config::MediaConfig;
use image::{DynamicImage, ImageFormat, ImageReader, Limits, imageops::FilterType};
use std::io::Cursor;

/// A picture ready to serve or store.
#[derive(Debug)]
pub struct Picture {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub extension: &'static str,
    pub width: u32,
    pub height: u32,
    /// Its blurred placeholder (4 × 3 components, from a 32-pixel thumbnail), as Mastodon
    /// sends and shows one.
    pub blurhash: Option<String>,
}

/// Why bytes were not taken as a picture.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not PNG, JPEG, GIF or WebP, whatever it claimed.
    NotAPicture,
    /// More pixels than `media.max_pixels` (a decompression bomb, or just too big).
    TooManyPixels { width: u32, height: u32 },
    /// The bytes could not be decoded.
    Broken(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotAPicture => write!(formatter, "not a PNG, JPEG, GIF or WebP picture"),
            Refusal::TooManyPixels { width, height } => {
                write!(formatter, "a picture of {width}×{height} pixels is too big")
            }
            Refusal::Broken(reason) => write!(formatter, "the picture cannot be read: {reason}"),
        }
    }
}

/// Checks `bytes` and re-encodes them: JPEG for photographs (JPEG and opaque WebP), PNG for
/// the rest (a GIF keeps its first frame).
pub fn reencode(bytes: &[u8], limits: &MediaConfig) -> Result<Picture, Refusal> {
    let format = image::guess_format(bytes).map_err(|_| Refusal::NotAPicture)?;
    if !matches!(
        format,
        ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP
    ) {
        return Err(Refusal::NotAPicture);
    }
    let reader = || {
        let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
        let mut decoding_limits = Limits::default();
        // Four bytes a pixel, and some room for the decoder's own buffers.
        decoding_limits.max_alloc = Some(limits.max_pixels.saturating_mul(4) + (64 << 20));
        reader.limits(decoding_limits);
        reader
    };
    let (width, height) = reader()
        .into_dimensions()
        .map_err(|error| Refusal::Broken(error.to_string()))?;
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(Refusal::TooManyPixels { width, height });
    }
    let decoded = reader()
        .decode()
        .map_err(|error| Refusal::Broken(error.to_string()))?;
    let side = limits.max_side;
    let shown = if width > side || height > side {
        decoded.resize(side, side, FilterType::Triangle)
    } else {
        decoded
    };
    let photograph =
        format == ImageFormat::Jpeg || (format == ImageFormat::WebP && !shown.color().has_alpha());
    let mut encoded = Cursor::new(Vec::new());
    let (content_type, extension) = if photograph {
        DynamicImage::ImageRgb8(shown.to_rgb8())
            .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
                &mut encoded,
                85,
            ))
            .map_err(|error| Refusal::Broken(error.to_string()))?;
        ("image/jpeg", "jpg")
    } else {
        shown
            .write_to(&mut encoded, ImageFormat::Png)
            .map_err(|error| Refusal::Broken(error.to_string()))?;
        ("image/png", "png")
    };
    let thumbnail = shown.thumbnail(32, 32).to_rgba8();
    let blurhash = blurhash::encode(
        4,
        3,
        thumbnail.width(),
        thumbnail.height(),
        thumbnail.as_raw(),
    )
    .ok();
    Ok(Picture {
        bytes: encoded.into_inner(),
        content_type,
        extension,
        width: shown.width(),
        height: shown.height(),
        blurhash,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testing::pictures::{GPS_MARKER, contains, jpeg_with_gps, png, png_bomb};

    fn limits() -> MediaConfig {
        crate::config::Config::default().media
    }

    #[test]
    fn a_picture_is_re_encoded_without_its_exif() {
        let original = jpeg_with_gps(64, 48);
        assert!(contains(&original, GPS_MARKER));
        let picture = reencode(&original, &limits()).unwrap();
        assert_eq!(picture.content_type, "image/jpeg");
        assert_eq!((picture.width, picture.height), (64, 48));
        // A blurhash of 4 × 3 components is 28 characters.
        assert_eq!(picture.blurhash.as_deref().map(str::len), Some(28));
        assert!(!contains(&picture.bytes, b"Exif"));
        assert!(!contains(&picture.bytes, GPS_MARKER));
    }

    #[test]
    fn large_pictures_are_shrunk_and_bombs_refused_before_decoding() {
        let mut config = limits();
        config.max_side = 100;
        let picture = reencode(&png(400, 200), &config).unwrap();
        assert_eq!((picture.width, picture.height), (100, 50));
        assert_eq!(picture.content_type, "image/png");
        assert_eq!(
            reencode(&png_bomb(), &limits()).unwrap_err(),
            Refusal::TooManyPixels {
                width: 100_000,
                height: 100_000
            }
        );
        assert_eq!(
            reencode(b"<html>not a picture</html>", &limits()).unwrap_err(),
            Refusal::NotAPicture
        );
    }
}
