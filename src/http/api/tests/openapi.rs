//! The OpenAPI document against the router: every documented operation is routed, and every
//! route is documented, fully described and served as built.

use super::*;

#[tokio::test]
async fn every_documented_operation_is_routed() {
    testing::for_each_backend(async |backend| {
        let app = start_app(backend, RegistrationMode::Open, GroupCreation::Anyone).await;
        let router = &app.router;
        let document = call(router, Method::GET, "/openapi.json", None, None).await;
        assert_eq!(document.status, StatusCode::OK);
        assert_eq!(document.json["openapi"], "3.1.0");
        let paths = document.json["paths"].as_object().unwrap();
        assert!(paths.len() >= 10);
        for (path, operations) in paths {
            let concrete = path.replace("{name}", "nothing").replace("{id}", "999999");
            for method in operations.as_object().unwrap().keys() {
                let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let answer = call(router, method.clone(), &concrete, None, Some(json!({}))).await;
                assert_ne!(
                    answer.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path}"
                );
                assert_ne!(
                    answer.json["error"]["message"], "API endpoint not found",
                    "{method} {path} is documented but not routed"
                );
            }
        }
    })
    .await;
}

#[tokio::test]
async fn every_route_is_documented() {
    // Routes come only from `routes!` over annotated handlers, so the document lists what the
    // router mounts; this checks that no handler is left out of the list, that every operation
    // is fully described, and that the document is served as built, with this server's URL.
    let (_, document) = crate::http::api::router_and_document();
    let document = serde_json::to_value(&document).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().unwrap();
    let mut operation_ids = Vec::new();
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().unwrap() {
            let id = operation["operationId"].as_str();
            assert!(
                id.is_some_and(|id| !id.is_empty()),
                "{method} {path}: operationId"
            );
            operation_ids.push(id.unwrap().to_string());
            assert!(
                operation["summary"]
                    .as_str()
                    .is_some_and(|summary| !summary.is_empty() && !summary.contains('\n')),
                "{method} {path}: summary"
            );
            let responses = operation["responses"].as_object().unwrap();
            assert!(!responses.is_empty(), "{method} {path}: responses");
            for (status, response) in responses {
                assert!(status.parse::<u16>().is_ok(), "{method} {path}: {status}");
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{method} {path}: {status} needs a description"
                );
            }
            // The path's parameters are the ones in the path, each with a schema.
            let mut documented: Vec<&str> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|parameter| parameter["in"] == "path")
                .inspect(|parameter| assert!(parameter["schema"].is_object()))
                .map(|parameter| parameter["name"].as_str().unwrap())
                .collect();
            let mut in_path: Vec<&str> = path
                .split('/')
                .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            documented.sort_unstable();
            in_path.sort_unstable();
            assert_eq!(documented, in_path, "{method} {path}: path parameters");
        }
    }
    operation_ids.sort();
    let mut expected = vec![
        "appointModerator",
        "approvalQueue",
        "closeReport",
        "createBan",
        "createGroup",
        "createThread",
        "createToken",
        "decideJoinRequest",
        "deletePost",
        "dismissModerator",
        "editGroup",
        "editPost",
        "getGroup",
        "getThread",
        "joinGroup",
        "leaveGroup",
        "liftBan",
        "listBans",
        "listGroups",
        "listJoinRequests",
        "listModerators",
        "listNotifications",
        "listReports",
        "listThreads",
        "listTokens",
        "me",
        "moderatePost",
        "moderationLog",
        "openapi",
        "readNotifications",
        "refreshThread",
        "register",
        "removeGroup",
        "removeUser",
        "reply",
        "reportPost",
        "revokeToken",
        "revokeTokenById",
        "uploadPicture",
        "searchPosts",
        "editProfile",
        "vote",
    ];
    expected.sort_unstable();
    assert_eq!(operation_ids, expected);

    // Every `$ref` names a schema the document has.
    fn references(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    match (key.as_str(), value) {
                        ("$ref", Value::String(target)) => found.push(target.clone()),
                        _ => references(value, found),
                    }
                }
            }
            Value::Array(values) => values.iter().for_each(|value| references(value, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    references(&document, &mut found);
    assert!(found.len() > 50);
    let schemas = document["components"]["schemas"].as_object().unwrap();
    for target in &found {
        let name = target.strip_prefix("#/components/schemas/");
        assert!(
            name.is_some_and(|name| schemas.contains_key(name)),
            "{target} does not resolve"
        );
    }

    // The error codes: the ones `Error` and the rejections produce, all documented.
    use crate::error::Error;
    let documented: Vec<&str> = document["components"]["schemas"]["Error"]["properties"]["error"]
        ["properties"]["code"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|code| code.as_str().unwrap())
        .collect();
    assert_eq!(documented, crate::http::api::auth::ERROR_CODES);
    for error in [
        Error::not_found("thing"),
        Error::Gone("thing".into()),
        Error::bad_request("why"),
        Error::invalid("why"),
        Error::Unauthorized("why".into()),
        Error::Forbidden("why".into()),
        Error::Conflict("why".into()),
        Error::TooManyRequests(std::time::Duration::from_secs(1)),
        Error::PayloadTooLarge,
        Error::RequestTimeout,
        Error::internal("why"),
    ] {
        assert!(documented.contains(&error.code()), "{error}");
    }

    // The words documented for path segments and queries the handlers parse themselves.
    use crate::{
        actions::moderation::{JoinDecision, PostModeration, ReportClosing},
        groups::posts::ThreadOrder,
    };
    type Parses = fn(&str) -> bool;
    let parsers: [(&str, &str, Parses); 4] = [
        ("decideJoinRequest", "decision", |word| {
            JoinDecision::from_path(word).is_ok()
        }),
        ("closeReport", "decision", |word| {
            ReportClosing::from_path(word).is_ok()
        }),
        ("moderatePost", "action", |word| {
            PostModeration::from_path(word).is_ok()
        }),
        ("listThreads", "sort", |word| {
            serde_json::from_value::<ThreadOrder>(json!(word)).is_ok()
        }),
    ];
    for (operation_id, name, parses) in parsers {
        let operation = paths
            .values()
            .flat_map(|operations| operations.as_object().unwrap().values())
            .find(|operation| operation["operationId"] == operation_id)
            .unwrap();
        let parameter = operation["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|parameter| parameter["name"] == name)
            .unwrap();
        let words = parameter["schema"]["enum"].as_array().unwrap();
        assert!(!words.is_empty());
        for word in words {
            assert!(parses(word.as_str().unwrap()), "{operation_id}: {word}");
        }
    }

    testing::for_each_backend(async |backend| {
        let app = start_app(backend, RegistrationMode::Open, GroupCreation::Anyone).await;
        let router = &app.router;
        // Served as built, with this server's URL.
        let served = call(router, Method::GET, "/openapi.json", None, None).await;
        assert_eq!(served.status, StatusCode::OK);
        assert_eq!(
            served.json["servers"],
            json!([{ "url": format!("{PUBLIC_URL}/api/v1") }])
        );
        let mut without_servers = served.json.clone();
        without_servers.as_object_mut().unwrap().remove("servers");
        assert_eq!(without_servers, document);

        // No undocumented method hides on a documented path: each answers 405.
        let mut refused = 0;
        for (path, operations) in paths {
            let operations = operations.as_object().unwrap();
            let concrete = path
                .split('/')
                .map(|segment| {
                    if segment.starts_with('{') {
                        "1"
                    } else {
                        segment
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            for method in [
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
                Method::OPTIONS,
                Method::TRACE,
            ] {
                let name = method.as_str().to_lowercase();
                // axum answers HEAD wherever GET is routed.
                if operations.contains_key(&name)
                    || (method == Method::HEAD && operations.contains_key("get"))
                {
                    continue;
                }
                let answer = call(router, method.clone(), &concrete, None, None).await;
                assert_eq!(
                    answer.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is not documented but answers"
                );
                if method != Method::HEAD {
                    assert_error(
                        &answer,
                        StatusCode::METHOD_NOT_ALLOWED,
                        "method_not_allowed",
                    );
                }
                refused += 1;
            }
        }
        assert!(refused > 100);
    })
    .await;
}
