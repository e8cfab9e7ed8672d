//! The access log, in a process of its own (a scoped log subscriber must not share the
//! process with tests that log elsewhere): one line a request, with its method, path, status
//! and time, never its query string (a search, a token), and no colours into a file; a 404
//! names the path it did not find.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use kindred::testing::{Backend, TestApp};

/// A log writer into memory, for the test of access lines.
#[derive(Clone, Default)]
struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut captured) = self.0.lock() {
            captured.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn every_request_gets_one_access_line_without_its_query_and_a_404_names_its_path() {
    let logs = CapturedLogs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("kindred::access=info")
        .with_ansi(false)
        .with_writer(logs.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let app = TestApp::on(Backend::Sqlite).start().await;
    let searched = app
        .call(
            Request::builder()
                .uri("/search?q=my+secret+words")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(searched.status, StatusCode::OK);
    let missing = app
        .call(
            Request::builder()
                .uri("/no/such/page")
                .header(header::ACCEPT, "application/json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("/no/such/page"), "{}", missing.body);
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].contains("method=GET") && lines[0].contains("path=/search"));
    assert!(lines[0].contains("status=200") && lines[0].contains("milliseconds="));
    assert!(!text.contains("secret"), "no query string: {text}");
    assert!(lines[1].contains("path=/no/such/page") && lines[1].contains("status=404"));
    assert!(!text.contains('\u{1b}'), "no colours into a file");
}
