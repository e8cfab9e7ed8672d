//! Pictures for tests and benchmarks, made in memory: a plain PNG, a JPEG with a phone's GPS
//! position in its EXIF, a PNG decompression bomb (a few bytes that claim 100,000 × 100,000
//! pixels) and a photograph-sized JPEG.

use image::{ImageEncoder, ImageFormat, RgbImage, codecs::png::PngEncoder};
use std::io::Cursor;

/// The text the EXIF segment of [`jpeg_with_gps`] carries; it must not survive an upload.
pub const GPS_MARKER: &[u8] = b"GPSLatitude";

/// A plain PNG of one colour.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    let _ = RgbImage::from_pixel(width, height, image::Rgb([200, 100, 50]))
        .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png);
    bytes
}

/// A JPEG with an EXIF segment holding a GPS position, as a phone writes one.
pub fn jpeg_with_gps(width: u32, height: u32) -> Vec<u8> {
    let mut jpeg = Vec::new();
    let _ = RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    })
    .write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg);
    let mut exif_body = b"Exif\0\0MM\0*\0\0\0\x08".to_vec();
    exif_body.extend_from_slice(GPS_MARKER);
    exif_body.extend_from_slice(b" 52.5200 N GPSLongitude 13.4050 E");
    let mut segment = vec![0xFF, 0xE1];
    segment.extend_from_slice(&((exif_body.len() + 2) as u16).to_be_bytes());
    segment.extend_from_slice(&exif_body);
    let mut with_exif = jpeg[..2].to_vec();
    with_exif.extend_from_slice(&segment);
    with_exif.extend_from_slice(&jpeg[2..]);
    with_exif
}

/// A PNG that claims 100,000 × 100,000 pixels (40 GB decoded) in a few dozen bytes.
pub fn png_bomb() -> Vec<u8> {
    let mut bomb = Vec::new();
    let _ = PngEncoder::new(&mut bomb).write_image(&[0; 3], 1, 1, image::ExtendedColorType::Rgb8);
    // The IHDR chunk's width and height (bytes 16..24), and its CRC made right again.
    bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = crc32(&bomb[12..29]);
    bomb[29..33].copy_from_slice(&crc.to_be_bytes());
    bomb
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Whether `haystack` contains `needle`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// What every media store must do, run against the file-system store and the S3 store alike:
/// nothing under a new key, a put replaced by a later one, keys kept apart, a deletion that
/// may be repeated, a 5 MB object intact, and keys that could escape refused. Keys are unique
/// to the call, so runs may share one store.
pub async fn check_media_store(store: &dyn crate::media::MediaStore) -> crate::error::Result<()> {
    use bytes::Bytes;
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let key = format!("{unique}.png");
    let other_key = format!("{unique}-other.jpg");
    assert_eq!(store.get(&key).await?, None, "a new key holds nothing");
    store.put(&key, Bytes::from_static(b"one")).await?;
    store.put(&key, Bytes::from_static(b"two")).await?;
    store.put(&other_key, Bytes::from_static(b"other")).await?;
    assert_eq!(store.get(&key).await?, Some(Bytes::from_static(b"two")));
    assert_eq!(
        store.get(&other_key).await?,
        Some(Bytes::from_static(b"other"))
    );
    store.delete(&key).await?;
    store.delete(&key).await?;
    assert_eq!(store.get(&key).await?, None, "a deleted key holds nothing");
    assert_eq!(
        store.get(&other_key).await?,
        Some(Bytes::from_static(b"other")),
        "deleting one key leaves the others"
    );
    let large: Bytes = (0..5 * 1024 * 1024)
        .map(|index| (index % 251) as u8)
        .collect();
    store.put(&other_key, large.clone()).await?;
    assert_eq!(store.get(&other_key).await?, Some(large));
    store.delete(&other_key).await?;
    for hostile in ["../escape", "a/b", ".hidden", "", "a\\b", "x y"] {
        assert!(
            store.put(hostile, Bytes::new()).await.is_err(),
            "{hostile:?} is refused"
        );
        assert!(store.get(hostile).await.is_err(), "{hostile:?} is refused");
    }
    Ok(())
}

/// A configuration change that keeps media in the test S3 server's bucket (see
/// `config::s3_for_tests`), under a prefix of its own; `None` when no S3 server is given, and
/// then a loud warning.
pub fn s3_media_config() -> Option<impl Fn(&mut crate::config::Config) + Clone> {
    let Some((endpoint, bucket)) = crate::config::s3_for_tests() else {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"\n*** TEST_S3_ENDPOINT is not set: the S3 media store is NOT tested ***\n",
        );
        return None;
    };
    let prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
    Some(move |config: &mut crate::config::Config| {
        config.media.store = crate::config::MediaStoreKind::S3;
        config.media.s3_endpoint = endpoint.clone();
        config.media.s3_bucket = bucket.clone();
        config.media.s3_region = "us-east-1".to_string();
        config.media.s3_access_key_id = "testing".to_string();
        config.media.s3_secret_access_key = "testing".to_string();
        config.media.s3_prefix = prefix.clone();
    })
}
