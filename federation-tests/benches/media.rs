//! Media benchmarks. They print figures; they assert nothing about speed.
//!
//! ```sh
//! cargo bench -p kindred-federation-tests --bench media
//! ```
//!
//! - re-encoding a 12-megapixel JPEG (4,000 × 3,000, as a phone takes it) the way an upload or
//!   the proxy does (sniff, check, decode, shrink to `media.max_side`, encode), in milliseconds
//!   and the process's peak memory;
//! - the media proxy (`federation::media_proxy::picture`) for a 1,600 × 1,200 JPEG on a loopback server:
//!   uncached (fetch, re-encode, store) and cached (read from the store), in pictures a second
//!   from 4 concurrent callers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::{Router, extract::Path, http::header, response::IntoResponse};
use kindred::{
    app,
    federation::media_proxy as proxy,
    media::images,
    testing::{self, Backend},
};
use std::{
    collections::BTreeMap,
    io::Cursor,
    net::{IpAddr, Ipv4Addr},
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::net::TcpListener;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn photograph(width: u32, height: u32) -> Vec<u8> {
    // Texture, so the encoder has work like a real photograph's.
    let picture = image::RgbImage::from_fn(width, height, |x, y| {
        let noise = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) % 32;
        image::Rgb([
            ((x * 255 / width) as u8).saturating_add(noise as u8),
            ((y * 255 / height) as u8).saturating_add(noise as u8),
            (128 + noise) as u8,
        ])
    });
    let mut bytes = Vec::new();
    picture
        .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Jpeg)
        .unwrap();
    bytes
}

fn peak_rss_megabytes() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(0.0)
        / 1024.0
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    app::install_crypto_provider();
    println!(
        "Media benchmarks on {} cores",
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    let limits = kindred::config::Config::default().media;

    let large = photograph(4_000, 3_000);
    println!(
        "\n## Re-encoding a 12-megapixel JPEG ({:.1} MB)",
        large.len() as f64 / 1e6
    );
    let before = peak_rss_megabytes();
    let mut timings = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let picture = images::reencode(&large, &limits).unwrap();
        timings.push(started.elapsed());
        assert_eq!(picture.width, limits.max_side);
    }
    timings.sort();
    println!(
        "median {:.0} ms (fastest {:.0} ms); peak RSS {:.0} MB (before: {:.0} MB)",
        timings[2].as_secs_f64() * 1000.0,
        timings[0].as_secs_f64() * 1000.0,
        peak_rss_megabytes(),
        before
    );

    // A loopback server with pictures at /p/{n}.jpg.
    let served = Arc::new(photograph(1_600, 1_200));
    let listener = TcpListener::bind((LOOPBACK, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = Router::new().route(
        "/p/{name}",
        axum::routing::get(move |Path(_name): Path<String>| {
            let served = served.clone();
            async move { ([(header::CONTENT_TYPE, "image/jpeg")], served.to_vec()).into_response() }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut config = testing::test_config("http://home.test:1").unwrap();
    config.federation.resolve = BTreeMap::from([("pictures.test".to_string(), LOOPBACK)]);
    config.log.filter = "warn".into();
    let database = testing::fresh_database(Backend::Sqlite).await.unwrap();
    let federation = testing::test_federation(config, &database).await.unwrap();
    let context = federation.to_request_data();

    println!("\n## The media proxy, a 1,600 × 1,200 JPEG, 4 concurrent callers");
    for (what, distinct) in [
        ("uncached (fetch, re-encode, store)", true),
        ("cached", false),
    ] {
        let deadline = Instant::now() + Duration::from_secs(3);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for worker in 0..4 {
            let context = context.clone();
            tasks.push(tokio::spawn(async move {
                let mut done = 0_u64;
                while Instant::now() < deadline {
                    let name = if distinct {
                        format!("{worker}-{done}")
                    } else {
                        "same".to_string()
                    };
                    proxy::picture(
                        &context,
                        &format!("http://pictures.test:{port}/p/{name}.jpg"),
                    )
                    .await
                    .unwrap();
                    done += 1;
                }
                done
            }));
        }
        if !distinct {
            proxy::picture(&context, &format!("http://pictures.test:{port}/p/same.jpg"))
                .await
                .unwrap();
        }
        let mut total = 0;
        for task in tasks {
            total += task.await.unwrap();
        }
        println!(
            "{what}: {:.0} pictures/s",
            total as f64 / started.elapsed().as_secs_f64()
        );
    }
    println!("peak RSS {:.0} MB", peak_rss_megabytes());
    database.remove().await.unwrap();
}
