//! Media benchmarks. They print figures; they assert nothing about speed.
//!
//! ```sh
//! cargo bench -p kindred-federation-tests --bench media
//! ```
//!
//! - re-encoding a 12-megapixel JPEG (4,000 × 3,000, as a phone takes it) the way an upload or
//!   the proxy does (sniff, check, decode, shrink to `media.max_side`, encode), in milliseconds
//!   and the process's peak memory;
//! - the media proxy (`federation::media_proxy::picture`) for a 1,600 × 1,200 JPEG on a
//!   loopback server: uncached (fetch, re-encode, store) and cached (read from the store), in
//!   pictures a second from 4 concurrent callers;
//! - the same over HTTP, as a browser asks: `GET /media/attachments/{id}` of a running
//!   instance, uncached and cached, in requests a second from 4 concurrent clients;
//! - uploading that 12-megapixel JPEG over HTTP (`POST /api/v1/media`, multipart), in
//!   milliseconds an upload and the peak memory the process reached meanwhile.

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

/// Resets the process's peak RSS to its current RSS (Linux: `5` into `clear_refs`), so the next
/// reading is the peak of what follows.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn current_rss_megabytes() -> f64 {
    rss_field_megabytes("VmRSS:")
}

fn peak_rss_megabytes() -> f64 {
    rss_field_megabytes("VmHWM:")
}

fn rss_field_megabytes(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix(field))
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

    over_http(port, &large).await;
}

/// A running instance on loopback: proxied pictures as a browser asks for them, and uploads
/// as an app sends them.
async fn over_http(pictures_port: u16, large: &[u8]) {
    use kindred::{accounts, actions, groups};
    use kindred_entities::{post_attachment, session::SessionKind};
    use sea_orm::EntityTrait;

    let listener = TcpListener::bind((LOOPBACK, 0)).await.unwrap();
    let address = listener.local_addr().unwrap();
    let home = format!("home.test:{}", address.port());
    let mut config = testing::test_config(&format!("http://{home}")).unwrap();
    config.federation.resolve = BTreeMap::from([
        ("pictures.test".to_string(), LOOPBACK),
        ("home.test".to_string(), LOOPBACK),
    ]);
    config.http.listen = address;
    config.log.filter = "warn".into();
    // Every request comes from one address here: measure the server, not the allowance.
    config.http.reads_per_minute_per_address = 0;
    let database = testing::fresh_database(Backend::Sqlite).await.unwrap();
    let federation = testing::test_federation(config.clone(), &database)
        .await
        .unwrap();
    let context = federation.to_request_data();
    let ann = accounts::users::create_user(
        &database.connection,
        &config,
        &testing::test_key_source(),
        accounts::users::NewUser {
            name: "ann",
            password: "a long password",
            email: None,
            application_text: None,
        },
        kindred_entities::user::UserState::Active,
        false,
    )
    .await
    .unwrap();
    let group = groups::directory::create_group(
        &database.connection,
        &config,
        &testing::test_key_source(),
        groups::directory::NewGroup {
            name: "repair",
            title: "Repair café",
            summary_markdown: None,
        },
    )
    .await
    .unwrap();
    groups::membership::found(&database.connection, &group, &ann.actor)
        .await
        .unwrap();
    let thread = actions::posts::start_thread(
        &context,
        &ann.actor,
        &group,
        groups::posts::Draft {
            title: Some("Pictures".into()),
            markdown: "Many of them.".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // 2,000 attachments, each a different remote URL, so that every uncached request fetches.
    let rows: Vec<post_attachment::ActiveModel> = (0..2_000)
        .map(|number| post_attachment::ActiveModel {
            post_id: sea_orm::ActiveValue::Set(thread.id),
            position: sea_orm::ActiveValue::Set(number),
            kind: sea_orm::ActiveValue::Set(post_attachment::AttachmentKind::Image),
            url: sea_orm::ActiveValue::Set(format!(
                "http://pictures.test:{pictures_port}/p/{number}.jpg"
            )),
            ..Default::default()
        })
        .collect();
    for chunk in rows.chunks(500) {
        post_attachment::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&database.connection)
            .await
            .unwrap();
    }
    let first_id = post_attachment::Entity::find()
        .all(&database.connection)
        .await
        .unwrap()
        .iter()
        .map(|row| row.id)
        .min()
        .unwrap();
    let token = accounts::sessions::create_session(
        &database.connection,
        ann.user.id,
        SessionKind::Api,
        None,
    )
    .await
    .unwrap()
    .token;
    let server = app::start(federation, listener).await.unwrap();
    let client = reqwest::Client::builder()
        .resolve("home.test", address)
        .build()
        .unwrap();

    println!("\n## GET /media/attachments/{{id}} over HTTP, a 1,600 × 1,200 JPEG, 4 clients");
    let next = Arc::new(std::sync::atomic::AtomicI64::new(first_id));
    for (what, distinct) in [
        ("uncached (fetch, re-encode, store)", true),
        ("cached", false),
    ] {
        let deadline = Instant::now() + Duration::from_secs(3);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let (client, home, next) = (client.clone(), home.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                let mut done = 0_u64;
                while Instant::now() < deadline {
                    let id = if distinct {
                        next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                    } else {
                        first_id
                    };
                    let response = client
                        .get(format!("http://{home}/media/attachments/{id}"))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status(), 200);
                    response.bytes().await.unwrap();
                    done += 1;
                }
                done
            }));
        }
        let mut total = 0;
        for task in tasks {
            total += task.await.unwrap();
        }
        println!(
            "{what}: {:.0} requests/s",
            total as f64 / started.elapsed().as_secs_f64()
        );
    }

    println!(
        "\n## POST /api/v1/media, a 12-megapixel JPEG ({:.1} MB), one at a time",
        large.len() as f64 / 1e6
    );
    let boundary = "kindred-bench-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\nA photograph\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"photo.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(large);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let before = current_rss_megabytes();
    reset_peak_rss();
    let mut timings = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let response = client
            .post(format!("http://{home}/api/v1/media"))
            .bearer_auth(&token)
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        timings.push(started.elapsed());
    }
    timings.sort();
    println!(
        "median {:.0} ms (fastest {:.0} ms); peak RSS {:.0} MB, {:.0} MB above the {:.0} MB before",
        timings[2].as_secs_f64() * 1000.0,
        timings[0].as_secs_f64() * 1000.0,
        peak_rss_megabytes(),
        peak_rss_megabytes() - before,
        before
    );
    server.server.abort();
    database.remove().await.unwrap();
}
