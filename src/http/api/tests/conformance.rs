//! The API against its own OpenAPI document, the way schemathesis checks one: every operation
//! is called in many ways (as documented, anonymously, with a token and with a revoked one,
//! with malformed, mistyped, oversize or NUL-bearing input, with odd path and query values,
//! and past the per-address allowance), and every status it answers must be one the document
//! lists for that operation; none may be a server error.

use super::*;
use axum::extract::ConnectInfo;
use std::net::SocketAddr;

/// One request a check sends.
struct Probe {
    label: String,
    method: Method,
    uri: String,
    token: Option<String>,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    /// Sent from this address (the allowance per address applies); in-process otherwise.
    from: Option<SocketAddr>,
}

async fn send(router: &Router, probe: &Probe) -> (StatusCode, String) {
    let mut request = Request::builder()
        .method(probe.method.clone())
        .uri(format!("/api/v1{}", probe.uri))
        .header(header::HOST, "kindred.test:8080");
    if let Some(token) = &probe.token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(content_type) = probe.content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    let mut request = request.body(Body::from(probe.body.clone())).unwrap();
    if let Some(address) = probe.from {
        request.extensions_mut().insert(ConnectInfo(address));
    }
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).chars().take(300).collect();
    (status, text)
}

/// A body whose every property has the wrong type (an array of an array fits no field).
fn mistyped_body(document: &Value, schema: &Value) -> Value {
    let schema = match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap();
            &document["components"]["schemas"][name]
        }
        None => schema,
    };
    let mut body = serde_json::Map::new();
    for property in schema["properties"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, _)| name)
    {
        body.insert(property.clone(), json!([[]]));
    }
    if body.is_empty() {
        body.insert("unexpected".into(), json!([[]]));
    }
    Value::Object(body)
}

#[tokio::test]
async fn every_status_the_api_answers_is_one_its_document_lists() {
    testing::for_each_backend(async |backend| {
        let app = TestApp::on(backend)
            .configured(|config| {
                config.instance.registration = RegistrationMode::Open;
                config.instance.group_creation = GroupCreation::Anyone;
                // Small allowances, reached by the probes sent from an address below.
                config.http.reads_per_minute_per_address = 3;
                config.http.anonymous_posts_per_minute_per_address = 3;
                config.http.max_body_bytes = 64 * 1024;
            })
            .start()
            .await;
        let (router, database) = (&app.router, &app.database);
        let ann = account(router, database, "ann", true).await;
        let bob = account(router, database, "bob", false).await;
        let created = call(
            router,
            Method::POST,
            "/groups",
            Some(&ann),
            Some(json!({ "name": "repair", "title": "Repair café" })),
        )
        .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
        call(
            router,
            Method::POST,
            "/groups/repair/membership",
            Some(&bob),
            None,
        )
        .await;
        let thread = call(
            router,
            Method::POST,
            "/groups/repair/threads",
            Some(&bob),
            Some(json!({ "title": "Kettle", "body": "It clicks" })),
        )
        .await;
        let thread_id = thread.json["id"].as_i64().unwrap().to_string();
        let bob_id = thread.json["author"]["id"].as_i64().unwrap().to_string();

        let document = call(router, Method::GET, "/openapi.json", None, None)
            .await
            .json;
        let mut probes_sent = 0;
        let mut undocumented = Vec::new();
        for (path, operations) in document["paths"].as_object().unwrap() {
            for (method_name, operation) in operations.as_object().unwrap() {
                let method = Method::from_bytes(method_name.to_uppercase().as_bytes()).unwrap();
                let documented: Vec<u16> = operation["responses"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .map(|status| status.parse().unwrap())
                    .collect();
                // The path with its parameters filled with values that exist here.
                let fill = |value_of: &dyn Fn(&str) -> String| {
                    let mut filled = path.clone();
                    for parameter in path
                        .split('/')
                        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
                    {
                        filled = filled.replace(&format!("{{{parameter}}}"), &value_of(parameter));
                    }
                    filled
                };
                let existing = |parameter: &str| match parameter {
                    "name" => "repair".to_string(),
                    "id" => thread_id.clone(),
                    "member" | "person" => bob_id.clone(),
                    "decision" => "approve".to_string(),
                    "action" => "lock".to_string(),
                    _ => "1".to_string(),
                };
                let concrete = fill(&existing);
                let json_body =
                    operation["requestBody"]["content"]["application/json"]["schema"].clone();
                let takes_json = !json_body.is_null();
                let takes_multipart =
                    !operation["requestBody"]["content"]["multipart/form-data"].is_null();
                let plain = |label: &str, uri: String, token: Option<&str>| Probe {
                    label: label.to_string(),
                    method: method.clone(),
                    uri,
                    token: token.map(str::to_string),
                    content_type: takes_json.then_some("application/json"),
                    body: if takes_json {
                        b"{}".to_vec()
                    } else {
                        Vec::new()
                    },
                    from: None,
                };
                let mut probes = vec![
                    plain("anonymous", concrete.clone(), None),
                    plain("with a token", concrete.clone(), Some(&bob)),
                    plain("as an administrator", concrete.clone(), Some(&ann)),
                    plain(
                        "with a revoked token",
                        concrete.clone(),
                        Some("not-a-token"),
                    ),
                    plain(
                        "a NUL in the query",
                        format!("{concrete}?q=%00"),
                        Some(&bob),
                    ),
                ];
                // Odd values in each path parameter.
                for odd in [
                    "0",
                    "-5",
                    "99999999999999999999",
                    "%F0%9F%98%80",
                    "a%20b",
                    "..%2F..",
                ] {
                    let uri = fill(&|_| odd.to_string());
                    probes.push(plain(&format!("path {odd}"), uri, Some(&bob)));
                }
                // Odd values in each query parameter.
                for parameter in operation["parameters"].as_array().into_iter().flatten() {
                    if parameter["in"] != "query" {
                        continue;
                    }
                    let name = parameter["name"].as_str().unwrap();
                    for odd in ["-1", "0", "zzz", "99999999999999999999", "%FF", ""] {
                        probes.push(plain(
                            &format!("query {name}={odd}"),
                            format!("{concrete}?{name}={odd}"),
                            Some(&bob),
                        ));
                    }
                }
                if method != Method::GET {
                    let mut with_body = |label: &str, content_type, body: Vec<u8>| {
                        probes.push(Probe {
                            label: label.to_string(),
                            method: method.clone(),
                            uri: concrete.clone(),
                            token: Some(bob.clone()),
                            content_type: Some(content_type),
                            body,
                            from: None,
                        });
                    };
                    with_body(
                        "an oversize body",
                        "application/json",
                        format!("{{\"x\":\"{}\"}}", "a".repeat(70 * 1024)).into_bytes(),
                    );
                    with_body(
                        "a NUL byte in the body",
                        "application/json",
                        b"{\"title\":\"a\0b\"}".to_vec(),
                    );
                    if takes_json {
                        with_body("a text body", "text/plain", b"hello".to_vec());
                        with_body("malformed JSON", "application/json", b"{\"".to_vec());
                        with_body(
                            "fields of the wrong type",
                            "application/json",
                            mistyped_body(&document, &json_body)
                                .to_string()
                                .into_bytes(),
                        );
                        with_body(
                            "an escaped NUL in the body",
                            "application/json",
                            br#"{"title":"a\u0000b","body":"x"}"#.to_vec(),
                        );
                        with_body("a JSON array", "application/json", b"[]".to_vec());
                    }
                    if takes_multipart {
                        with_body("a JSON body", "application/json", b"{}".to_vec());
                        with_body(
                            "an empty multipart body",
                            "multipart/form-data; boundary=x",
                            b"--x--\r\n".to_vec(),
                        );
                    }
                }
                // Past the allowance: the same anonymous request, four times from one address.
                for attempt in 0..4 {
                    let mut probe = plain(
                        &format!("anonymous, from one address ({attempt})"),
                        concrete.clone(),
                        None,
                    );
                    probe.from = Some(SocketAddr::from(([203, 0, 113, 9], 4000)));
                    probes.push(probe);
                }
                for probe in &probes {
                    let (status, text) = send(router, probe).await;
                    probes_sent += 1;
                    if status.is_server_error() || !documented.contains(&status.as_u16()) {
                        undocumented.push(format!(
                            "{method} {path} ({}): {status} {text}",
                            probe.label
                        ));
                    }
                }
            }
        }
        assert!(probes_sent > 500, "only {probes_sent} probes");
        assert!(
            undocumented.is_empty(),
            "{} answers the document does not list:\n{}",
            undocumented.len(),
            undocumented.join("\n")
        );
    })
    .await;
}
