//! The OpenAPI 3.1 description of `/api/v1`, served at `/api/v1/openapi.json`. utoipa generates
//! it from the handlers' `#[utoipa::path]` annotations and the `ToSchema` derives of the bodies;
//! the router is built from the same annotations (`routes` in `mod.rs`), so a route cannot exist
//! without being documented. A test walks every documented path and method against the router.

use crate::context::Context;
use axum::{Extension, Json};
use std::sync::Arc;
use utoipa::{
    Modify, OpenApi, PartialSchema,
    openapi::{
        self, RefOr, Required, Server,
        path::Operation,
        schema::{ObjectBuilder, Schema, SchemaType, Type},
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

/// The document's fixed parts; the operations and their schemas come from the handlers as the
/// router is built (see `router_and_document` in `mod.rs`).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kindred client API",
        version = "1",
        description = "Read and write in the groups of a Kindred instance: accounts, groups, threads, replies and votes. Write actions federate like the same action on the web pages.",
        license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later"),
    ),
    modifiers(&BearerToken),
)]
pub struct ApiDoc;

/// The `bearer` security scheme the operations name.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, document: &mut openapi::OpenApi) {
        document
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some("A token from POST /auth/token."))
                        .build(),
                ),
            );
    }
}

/// Tidies what the annotations produce, and adds the answers the shared layers give, for
/// every operation:
/// - a summary is the first paragraph of the handler's doc comment, which may be wrapped over
///   several lines; as in Markdown, a line break in it is a space;
/// - utoipa reads `request_body(content = Option<T>)` as "T or null", where an optional body
///   means "T, or no body at all" (a JSON `null` is refused like any other wrong body); so the
///   null alternative goes and `required` is said explicitly;
/// - the refusals that come before a handler runs ([`add_shared_refusals`]).
pub(super) fn finish(document: &mut openapi::OpenApi) {
    for item in document.paths.paths.values_mut() {
        let operations = [
            (false, &mut item.get),
            (true, &mut item.put),
            (true, &mut item.post),
            (true, &mut item.delete),
            (false, &mut item.options),
            (false, &mut item.head),
            (true, &mut item.patch),
            (false, &mut item.trace),
        ];
        for (reads_a_body, operation) in operations {
            if let Some(operation) = operation {
                tidy(operation);
                add_shared_refusals(operation, reads_a_body);
            }
        }
    }
}

/// The answers every operation may give before its handler runs, documented on each unless it
/// documents them itself (then its own wording stays):
/// - 429 from the per-address allowance (`http.*_per_minute_per_address`), with `Retry-After`;
/// - 422 for a NUL character in the address (or the body);
/// - 400 for a malformed query or path parameter (of the wrong type, say);
/// - 401 for a bearer token that is unknown, expired or revoked, where a token is taken;
/// - on methods with a body: 413 over `http.max_body_bytes`, 408 when it does not arrive in
///   time; with a JSON body also 400 (malformed), 415 (not JSON) and 422 (a field of the
///   wrong type or missing).
fn add_shared_refusals(operation: &mut Operation, reads_a_body: bool) {
    use utoipa::openapi::{
        Ref,
        content::ContentBuilder,
        header::HeaderBuilder,
        response::{Response, ResponseBuilder},
    };
    let error = |description: &str| -> Response {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Error")))
                    .build(),
            )
            .build()
    };
    let mut shared: Vec<(&str, Response)> = Vec::new();
    let too_many = ResponseBuilder::from(error(
        "Too many requests from this address: anonymous reads and writes have an allowance per minute (signed-in writes do not).",
    ))
    .header(
        "Retry-After",
        HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::Integer))
            .description(Some("Seconds to wait before asking again."))
            .build(),
    )
    .build();
    shared.push(("429", too_many));
    shared.push((
        "422",
        error("A NUL character in the address or the body, or a field of the wrong type."),
    ));
    shared.push((
        "400",
        error(
            "A malformed request: a parameter of the wrong type, or a body that is not valid JSON.",
        ),
    ));
    let takes_a_token = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty());
    if takes_a_token {
        shared.push((
            "401",
            error("The bearer token is unknown, expired or revoked (or missing, where one is needed)."),
        ));
    }
    if reads_a_body {
        shared.push((
            "413",
            error("The body is larger than this server takes (`http.max_body_bytes`)."),
        ));
        shared.push(("408", error("The body did not arrive in time.")));
    }
    let takes_json = operation
        .request_body
        .as_ref()
        .is_some_and(|body| body.content.contains_key("application/json"));
    if takes_json {
        shared.push(("415", error("The body is not `application/json`.")));
    }
    for (status, response) in shared {
        operation
            .responses
            .responses
            .entry(status.to_string())
            .or_insert(RefOr::T(response));
    }
}

fn tidy(operation: &mut Operation) {
    if let Some(summary) = &mut operation.summary {
        *summary = summary.replace('\n', " ");
    }
    let Some(body) = &mut operation.request_body else {
        return;
    };
    if matches!(body.required, Some(Required::True)) {
        return;
    }
    body.required = Some(Required::False);
    for content in body.content.values_mut() {
        if let Some(RefOr::T(Schema::OneOf(one_of))) = &mut content.schema {
            one_of.items.retain(|item| !is_null(item));
            if one_of.items.len() == 1 {
                content.schema = one_of.items.pop();
            }
        }
    }
}

fn is_null(schema: &RefOr<Schema>) -> bool {
    matches!(schema, RefOr::T(Schema::Object(object)) if object.schema_type == SchemaType::Type(Type::Null))
}

/// The OpenAPI document of this API
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    responses((status = 200, description = "This document.", body = serde_json::Value)),
)]
pub async fn document(
    context: Context,
    Extension(document): Extension<Arc<openapi::OpenApi>>,
) -> Json<openapi::OpenApi> {
    let mut document = (*document).clone();
    document.servers = Some(vec![Server::new(format!(
        "{}api/v1",
        context.config.instance.public_url
    ))]);
    Json(document)
}

// Descriptions that many operations share.

pub(super) const GROUP_NAME: &str = "A local group's name, or name@host for a group on another server (joining looks an unknown one up on its server).";
pub(super) const POST_ID: &str = "The post's number, as in /posts/{id}.";
pub(super) const MEMBER_ID: &str =
    "The person's id, as the requests and moderators endpoints list it.";
pub(super) const UNAUTHORIZED: &str = "No valid bearer token.";
pub(super) const BAD_CURSOR: &str = "The cursor is not one this server gave.";
pub(super) const FORBIDDEN: &str = "Signed in, but not allowed to do this.";
pub(super) const NOT_FOUND: &str = "No such group or post.";
pub(super) const INVALID: &str =
    "A field is missing, of the wrong type, or breaks a rule (code `invalid`).";

// Schemas the types cannot say themselves (for `#[schema(schema_with = ...)]`).

/// A string that is one of `values`.
pub(super) fn string_enum(values: &[&str]) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
}

/// `T`'s schema, a string enum, taking null as well: the schema of an `Option<T>` field, said as
/// `"type": ["string", "null"]` with null among the values (utoipa's own is a `oneOf`).
pub(super) fn nullable_enum<T: PartialSchema>() -> RefOr<Schema> {
    let mut schema = T::schema();
    if let RefOr::T(Schema::Object(object)) = &mut schema {
        if let SchemaType::Type(kind) = object.schema_type.clone() {
            object.schema_type = SchemaType::Array(vec![kind, Type::Null]);
        }
        if let Some(values) = &mut object.enum_values {
            values.push(serde_json::Value::Null);
        }
    }
    schema
}

/// A vote: 1 (like), -1 (dislike) or 0 (none).
pub(super) fn vote_value() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .enum_values(Some([-1, 0, 1]))
}

/// Types for the document only, of path segments that are one of a few words. The handlers
/// parse these with `from_path` of `actions::moderation`'s enums, which have no schema; a test
/// checks that they take every word listed here.
macro_rules! path_words {
    ($($(#[doc = $doc:literal])* $name:ident = [$($word:literal),+ $(,)?];)+) => {$(
        $(#[doc = $doc])*
        pub(super) struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                string_enum(&[$($word),+]).into()
            }
        }

        impl utoipa::ToSchema for $name {}
    )+};
}

path_words! {
    /// `JoinDecision::from_path`'s words.
    JoinDecisionParam = ["approve", "refuse"];
    /// `ReportClosing::from_path`'s words.
    ReportClosingParam = ["resolve", "dismiss"];
    /// `PostModeration::from_path`'s words.
    PostModerationParam = ["remove", "restore", "lock", "unlock", "pin", "unpin", "approve"];
}

/// `?sort=` of a group's threads (`groups::posts::ThreadOrder`).
pub(super) fn thread_order() -> ObjectBuilder {
    string_enum(&["new", "active", "top"]).default(Some("new".into()))
}

/// `?state=` of a group's reports.
pub(super) fn report_filter() -> ObjectBuilder {
    string_enum(&["open", "all"]).default(Some("open".into()))
}

/// The moderation log's actions (`groups::moderation::log::Action::name`).
pub(super) fn log_action() -> ObjectBuilder {
    string_enum(&[
        "remove_post",
        "restore_post",
        "lock_thread",
        "unlock_thread",
        "approve_member",
        "refuse_member",
        "appoint_moderator",
        "dismiss_moderator",
        "posting_mode",
        "ban",
        "unban",
        "resolve_report",
        "dismiss_report",
        "pin_thread",
        "unpin_thread",
        "approve_post",
    ])
}
