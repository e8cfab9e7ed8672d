//! The OpenAPI 3.1 description of `/api/v1`, served at `/api/v1/openapi.json`. A test walks
//! every path and method listed here against the router, so the document cannot drift from
//! the routes.

use crate::context::Context;
use axum::Json;
use serde_json::{Value, json};

pub async fn document(context: Context) -> Json<Value> {
    Json(openapi(&context.config.instance.public_url))
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
    })
}

fn json_body(schema: &str) -> Value {
    json!({
        "required": true,
        "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } }
    })
}

fn json_response(description: &str, schema: Value) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": schema } }
    })
}

fn reference(schema: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{schema}") })
}

fn path_parameter(name: &str, description: &str, kind: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "description": description, "schema": { "type": kind } })
}

/// The whole document; `public_url` is the server it describes.
pub fn openapi(public_url: &url::Url) -> Value {
    let bearer = json!([{ "bearer": [] }]);
    let optional_bearer = json!([{}, { "bearer": [] }]);
    let group_name = path_parameter(
        "name",
        "A local group's name, or name@host for a group on another server (joining looks an unknown one up on its server).",
        "string",
    );
    let post_id = path_parameter("id", "The post's number, as in /posts/{id}.", "integer");
    let unauthorized = error_response("No valid bearer token.");
    let forbidden = error_response("Signed in, but not allowed to do this.");
    let not_found = error_response("No such group or post.");
    let invalid =
        error_response("A field is missing, of the wrong type, or breaks a rule (code `invalid`).");
    let mut paths = serde_json::Map::new();
    paths.insert("/auth/token".to_string(), json!({
                "post": {
                    "summary": "Sign in: exchange a name and password for a bearer token",
                    "operationId": "createToken",
                    "requestBody": json_body("TokenRequest"),
                    "responses": {
                        "201": json_response("A new token; it is shown only once.", reference("TokenResponse")),
                        "401": error_response("Wrong name or password."),
                        "403": error_response("The account waits for approval or is disabled."),
                        "422": invalid
                    }
                },
                "delete": {
                    "summary": "Sign out: revoke the token used for this request",
                    "operationId": "revokeToken",
                    "security": bearer,
                    "responses": { "204": { "description": "Revoked." }, "401": unauthorized }
                }
            }));
    paths.insert("/accounts".to_string(), json!({
                "post": {
                    "summary": "Register an account (as instance.registration allows)",
                    "operationId": "register",
                    "requestBody": json_body("RegisterRequest"),
                    "responses": {
                        "201": json_response("Created; `state` is `pending` until an administrator approves it.", reference("RegisterResponse")),
                        "403": error_response("This instance does not take new accounts."),
                        "409": error_response("The name is taken."),
                        "422": invalid
                    }
                }
            }));
    paths.insert("/me".to_string(), json!({
                "get": {
                    "summary": "The signed-in account",
                    "operationId": "me",
                    "security": bearer,
                    "responses": { "200": json_response("The account.", reference("User")), "401": unauthorized }
                }
            }));
    paths.insert("/groups".to_string(), json!({
                "get": {
                    "summary": "The group directory, local groups first",
                    "operationId": "listGroups",
                    "security": optional_bearer,
                    "parameters": [{ "name": "q", "in": "query", "required": false, "description": "Search in names, titles and summaries.", "schema": { "type": "string" } }],
                    "responses": { "200": json_response("Groups.", json!({ "type": "array", "items": reference("Group") })) }
                },
                "post": {
                    "summary": "Create a group; the creator is its first member",
                    "operationId": "createGroup",
                    "security": bearer,
                    "requestBody": json_body("CreateGroupRequest"),
                    "responses": {
                        "201": json_response("The new group.", reference("Group")),
                        "401": unauthorized,
                        "403": forbidden,
                        "409": error_response("The name is taken by a group or a person."),
                        "422": invalid
                    }
                }
            }));
    paths.insert("/groups/{name}".to_string(), json!({
                "get": {
                    "summary": "One group: local by name, or a remote one this instance knows by name@host",
                    "operationId": "getGroup",
                    "security": optional_bearer,
                    "parameters": [group_name],
                    "responses": { "200": json_response("The group.", reference("Group")), "404": not_found }
                },
                "delete": {
                    "summary": "Remove a local group (administrators); its members' servers get Delete",
                    "operationId": "removeGroup",
                    "security": bearer,
                    "parameters": [group_name],
                    "responses": { "204": { "description": "Removed." }, "401": unauthorized, "403": forbidden, "404": not_found }
                },
                "patch": {
                    "summary": "Edit a local group's title, summary and icon (its owner or an administrator); members' servers get Update{Group}",
                    "operationId": "editGroup",
                    "security": bearer,
                    "parameters": [group_name],
                    "requestBody": json_body("EditGroupRequest"),
                    "responses": { "200": json_response("The edited group.", reference("Group")), "401": unauthorized, "403": forbidden, "404": not_found, "422": invalid }
                }
            }));
    paths.insert("/auth/tokens".to_string(), json!({
        "get": {
            "summary": "The caller's API tokens (not their secrets)",
            "operationId": "listTokens",
            "security": bearer,
            "responses": { "200": json_response("Tokens, newest first.", json!({ "type": "array", "items": reference("TokenInfo") })), "401": unauthorized }
        }
    }));
    paths.insert("/auth/tokens/{id}".to_string(), json!({
        "delete": {
            "summary": "Revoke one of the caller's API tokens",
            "operationId": "revokeTokenById",
            "security": bearer,
            "parameters": [path_parameter("id", "The token's id, from GET /auth/tokens.", "integer")],
            "responses": { "204": { "description": "Revoked." }, "401": unauthorized, "404": error_response("No such token of the caller's.") }
        }
    }));
    let member_id = path_parameter(
        "member",
        "The person's id, as the requests and moderators endpoints list it.",
        "integer",
    );
    paths.insert("/groups/{name}/requests".to_string(), json!({
        "get": {
            "summary": "Join requests waiting for a moderator (moderators only)",
            "operationId": "listJoinRequests",
            "security": bearer,
            "parameters": [group_name],
            "responses": { "200": json_response("Requests, oldest first.", json!({ "type": "array", "items": reference("JoinRequest") })), "401": unauthorized, "403": forbidden, "404": not_found }
        }
    }));
    paths.insert("/groups/{name}/requests/{member}/{decision}".to_string(), json!({
        "post": {
            "summary": "Approve or refuse a join request; a remote person's server gets Accept or Reject",
            "operationId": "decideJoinRequest",
            "security": bearer,
            "parameters": [group_name, member_id, { "name": "decision", "in": "path", "required": true, "schema": { "type": "string", "enum": ["approve", "refuse"] } }],
            "responses": { "204": { "description": "Decided." }, "401": unauthorized, "403": forbidden, "404": error_response("No such group or pending request.") }
        }
    }));
    paths.insert("/groups/{name}/moderators".to_string(), json!({
        "get": {
            "summary": "The group's owner and moderators",
            "operationId": "listModerators",
            "parameters": [group_name],
            "responses": { "200": json_response("Owner first.", json!({ "type": "array", "items": reference("Moderator") })), "404": not_found }
        }
    }));
    paths.insert("/groups/{name}/moderators/{member}".to_string(), json!({
        "put": {
            "summary": "Appoint a member as moderator (the owner or an administrator); federated as Add",
            "operationId": "appointModerator",
            "security": bearer,
            "parameters": [group_name, member_id],
            "responses": { "204": { "description": "Appointed." }, "401": unauthorized, "403": forbidden, "404": not_found, "422": error_response("Not a member, or the owner.") }
        },
        "delete": {
            "summary": "Dismiss a moderator (the owner or an administrator); federated as Remove",
            "operationId": "dismissModerator",
            "security": bearer,
            "parameters": [group_name, member_id],
            "responses": { "204": { "description": "Dismissed." }, "401": unauthorized, "403": forbidden, "404": not_found, "422": error_response("Not a member, or the owner.") }
        }
    }));
    paths.insert("/groups/{name}/modlog".to_string(), json!({
        "get": {
            "summary": "The group's public moderation log, newest first",
            "operationId": "moderationLog",
            "parameters": [group_name],
            "responses": { "200": json_response("Entries.", json!({ "type": "array", "items": reference("LogEntry") })), "404": not_found }
        }
    }));
    paths.insert("/posts/{id}/moderate/{action}".to_string(), json!({
        "post": {
            "summary": "Remove (with an optional public reason) or restore a post, lock, unlock, pin or unpin a thread (the group's moderators or an administrator)",
            "operationId": "moderatePost",
            "security": bearer,
            "parameters": [post_id, { "name": "action", "in": "path", "required": true, "schema": { "type": "string", "enum": ["remove", "restore", "lock", "unlock", "pin", "unpin", "approve"] } }],
            "requestBody": { "required": false, "content": { "application/json": { "schema": { "type": "object", "properties": { "reason": { "type": "string", "maxLength": 1000 } } } } } },
            "responses": { "200": json_response("The post.", reference("Post")), "401": unauthorized, "403": forbidden, "404": not_found, "410": error_response("The author deleted it."), "422": invalid }
        }
    }));
    paths.insert("/groups/{name}/bans".to_string(), json!({
        "get": {
            "summary": "Bans in force (moderators only)",
            "operationId": "listBans",
            "security": bearer,
            "parameters": [group_name],
            "responses": { "200": json_response("Bans, newest first.", json!({ "type": "array", "items": reference("Ban") })), "401": unauthorized, "403": forbidden, "404": not_found }
        },
        "post": {
            "summary": "Ban a person (federated as Block, announced and sent to their server) or a whole server; their membership ends, their activities are refused",
            "operationId": "createBan",
            "security": bearer,
            "parameters": [group_name],
            "requestBody": json_body("BanRequest"),
            "responses": { "201": { "description": "Banned." }, "401": unauthorized, "403": forbidden, "404": not_found, "422": invalid }
        }
    }));
    paths.insert("/groups/{name}/bans/{ban}".to_string(), json!({
        "delete": {
            "summary": "Lift a ban (federated as Undo{Block})",
            "operationId": "liftBan",
            "security": bearer,
            "parameters": [group_name, path_parameter("ban", "The ban's id, from GET /groups/{name}/bans.", "integer")],
            "responses": { "204": { "description": "Lifted." }, "401": unauthorized, "403": forbidden, "404": not_found }
        }
    }));
    paths.insert("/posts/{id}/report".to_string(), json!({
        "post": {
            "summary": "Report a post to its group's moderators (a Flag to a remote group or to remote moderators; optionally to the author's server)",
            "operationId": "reportPost",
            "security": bearer,
            "parameters": [post_id],
            "requestBody": json_body("ReportRequest"),
            "responses": { "201": { "description": "Reported." }, "401": unauthorized, "404": not_found, "422": invalid }
        }
    }));
    paths.insert("/groups/{name}/reports".to_string(), json!({
        "get": {
            "summary": "Reports about the group's posts (moderators only)",
            "operationId": "listReports",
            "security": bearer,
            "parameters": [group_name, { "name": "state", "in": "query", "required": false, "schema": { "type": "string", "enum": ["open", "all"], "default": "open" } }],
            "responses": { "200": json_response("Reports, newest first.", json!({ "type": "array", "items": reference("Report") })), "401": unauthorized, "403": forbidden, "404": not_found, "422": invalid }
        }
    }));
    paths.insert("/groups/{name}/reports/{report}/{decision}".to_string(), json!({
        "post": {
            "summary": "Close a report as resolved or dismissed (moderators only)",
            "operationId": "closeReport",
            "security": bearer,
            "parameters": [group_name, path_parameter("report", "The report's id.", "integer"), { "name": "decision", "in": "path", "required": true, "schema": { "type": "string", "enum": ["resolve", "dismiss"] } }],
            "responses": { "204": { "description": "Closed." }, "401": unauthorized, "403": forbidden, "404": not_found }
        }
    }));
    paths.insert("/users/{name}".to_string(), json!({
        "delete": {
            "summary": "Remove a local account (administrators); the servers of its groups get Delete",
            "operationId": "removeUser",
            "security": bearer,
            "parameters": [path_parameter("name", "The account's name.", "string")],
            "responses": { "204": { "description": "Removed." }, "401": unauthorized, "403": forbidden, "404": not_found, "422": invalid }
        }
    }));
    paths.insert("/groups/{name}/queue".to_string(), json!({
        "get": {
            "summary": "Posts waiting for approval in a pre-moderated group (moderators only); approve with POST /posts/{id}/moderate/approve",
            "operationId": "approvalQueue",
            "security": bearer,
            "parameters": [group_name],
            "responses": { "200": json_response("Waiting posts, oldest first.", json!({ "type": "array", "items": reference("Post") })), "401": unauthorized, "403": forbidden, "404": not_found }
        }
    }));
    paths.insert("/notifications".to_string(), json!({
        "get": {
            "summary": "Replies to the caller's posts and mentions of the caller, newest first",
            "operationId": "listNotifications",
            "security": bearer,
            "responses": { "200": json_response("Notifications.", json!({ "type": "array", "items": reference("Notification") })), "401": unauthorized }
        }
    }));
    paths.insert(
        "/notifications/read".to_string(),
        json!({
            "post": {
                "summary": "Mark every notification read",
                "operationId": "readNotifications",
                "security": bearer,
                "responses": { "204": { "description": "Done." }, "401": unauthorized }
            }
        }),
    );
    paths.insert("/groups/{name}/membership".to_string(), json!({
                "post": {
                    "summary": "Join the group: at once, or pending while a moderator or the remote group's server has not accepted",
                    "operationId": "joinGroup",
                    "security": bearer,
                    "parameters": [group_name],
                    "responses": { "200": json_response("The group, with `membership` set.", reference("Group")), "401": unauthorized, "404": not_found }
                },
                "delete": {
                    "summary": "Leave the group (or withdraw a request)",
                    "operationId": "leaveGroup",
                    "security": bearer,
                    "parameters": [group_name],
                    "responses": { "204": { "description": "Left." }, "401": unauthorized, "404": not_found }
                }
            }));
    paths.insert("/groups/{name}/threads".to_string(), json!({
                "get": {
                    "summary": "The group's threads",
                    "operationId": "listThreads",
                    "security": optional_bearer,
                    "parameters": [group_name, { "name": "sort", "in": "query", "required": false, "schema": { "type": "string", "enum": ["new", "active", "top"], "default": "new" } }],
                    "responses": { "200": json_response("Threads.", json!({ "type": "array", "items": reference("Post") })), "404": not_found }
                },
                "post": {
                    "summary": "Start a thread (members only)",
                    "operationId": "createThread",
                    "security": bearer,
                    "parameters": [group_name],
                    "requestBody": json_body("ThreadRequest"),
                    "responses": { "201": json_response("The thread.", reference("Post")), "401": unauthorized, "403": forbidden, "404": not_found, "422": invalid }
                }
            }));
    paths.insert("/posts/{id}".to_string(), json!({
                "get": {
                    "summary": "A thread with all its replies (for a reply: its whole thread)",
                    "operationId": "getThread",
                    "security": optional_bearer,
                    "parameters": [post_id],
                    "responses": { "200": json_response("The thread.", reference("Thread")), "404": not_found }
                },
                "patch": {
                    "summary": "Edit one's own post",
                    "operationId": "editPost",
                    "security": bearer,
                    "parameters": [post_id],
                    "requestBody": json_body("EditRequest"),
                    "responses": { "200": json_response("The edited post.", reference("Post")), "401": unauthorized, "403": forbidden, "404": not_found, "410": error_response("The post was deleted."), "422": invalid }
                },
                "delete": {
                    "summary": "Delete one's own post (a tombstone stays so replies keep their place)",
                    "operationId": "deletePost",
                    "security": bearer,
                    "parameters": [post_id],
                    "responses": { "204": { "description": "Deleted." }, "401": unauthorized, "403": forbidden, "404": not_found, "410": error_response("Already deleted.") }
                }
            }));
    paths.insert("/posts/{id}/replies".to_string(), json!({
                "post": {
                    "summary": "Reply to a post (members of its group only)",
                    "operationId": "reply",
                    "security": bearer,
                    "parameters": [post_id],
                    "requestBody": json_body("ReplyRequest"),
                    "responses": { "201": json_response("The reply.", reference("Post")), "401": unauthorized, "403": forbidden, "404": not_found, "410": error_response("The post was deleted."), "422": invalid }
                }
            }));
    paths.insert("/posts/{id}/vote".to_string(), json!({
                "put": {
                    "summary": "Like (1), dislike (-1) or take back one's vote (0)",
                    "operationId": "vote",
                    "security": bearer,
                    "parameters": [post_id],
                    "requestBody": json_body("VoteRequest"),
                    "responses": { "200": json_response("The new counts.", reference("VoteResponse")), "401": unauthorized, "404": not_found, "410": error_response("The post was deleted."), "422": invalid }
                }
            }));
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Kindred client API",
            "version": "1",
            "description": "Read and write in the groups of a Kindred instance: accounts, groups, threads, replies and votes. Write actions federate like the same action on the web pages.",
            "license": { "name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later" }
        },
        "servers": [{ "url": format!("{}api/v1", public_url) }],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "description": "A token from POST /auth/token." }
            },
            "schemas": schemas()
        }
    })
}

fn schemas() -> Value {
    let mut schemas = serde_json::Map::new();
    schemas.insert("Error".to_string(), json!({
                    "type": "object", "required": ["error"],
                    "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": {
                        "code": { "type": "string", "enum": ["not_found", "gone", "bad_request", "invalid", "unauthorized", "forbidden", "conflict", "payload_too_large", "unsupported_media_type", "method_not_allowed", "internal"] },
                        "message": { "type": "string" } } } }
                }));
    schemas.insert("TokenRequest".to_string(), json!({ "type": "object", "required": ["name", "password"], "properties": {
                    "name": { "type": "string" }, "password": { "type": "string" }, "label": { "type": "string", "maxLength": 100 } } }));
    schemas.insert("TokenResponse".to_string(), json!({ "type": "object", "required": ["token", "expires_at", "user"], "properties": {
                    "token": { "type": "string" }, "expires_at": { "type": "string", "format": "date-time" }, "user": reference("User") } }));
    schemas.insert("RegisterRequest".to_string(), json!({ "type": "object", "required": ["name", "password"], "properties": {
                    "name": { "type": "string", "pattern": "^[a-z0-9_]{1,64}$" }, "password": { "type": "string", "minLength": 8, "maxLength": 1000 },
                    "email": { "type": ["string", "null"] }, "application": { "type": ["string", "null"], "maxLength": 2000 } } }));
    schemas.insert("RegisterResponse".to_string(), json!({ "type": "object", "required": ["user", "state"], "properties": {
                    "user": reference("User"), "state": { "type": "string", "enum": ["active", "pending"] } } }));
    schemas.insert("User".to_string(), json!({ "type": "object", "required": ["id", "name", "handle", "url", "is_admin"], "properties": {
                    "id": { "type": "integer" }, "name": { "type": "string" }, "handle": { "type": "string" }, "url": { "type": "string", "format": "uri" }, "is_admin": { "type": "boolean" } } }));
    schemas.insert("CreateGroupRequest".to_string(), json!({ "type": "object", "required": ["name", "title"], "properties": {
                    "name": { "type": "string", "pattern": "^[a-z0-9_]{1,64}$" }, "title": { "type": "string", "maxLength": 200 }, "summary": { "type": ["string", "null"], "description": "Markdown." } } }));
    schemas.insert("Group".to_string(), json!({ "type": "object", "required": ["name", "handle", "title", "url", "local", "member_count"], "properties": {
                    "name": { "type": "string" }, "handle": { "type": "string" }, "title": { "type": "string" },
                    "summary_html": { "type": ["string", "null"] }, "summary_markdown": { "type": ["string", "null"] },
                    "url": { "type": "string", "format": "uri" }, "local": { "type": "boolean" }, "member_count": { "type": "integer" },
                    "membership": { "type": ["string", "null"], "enum": ["accepted", "pending", null] },
                    "role": { "type": ["string", "null"], "enum": ["owner", "moderator", "member", null] },
                    "posting_mode": { "type": "string", "enum": ["open", "members", "moderators", "premoderated"] },
                    "manually_approves_followers": { "type": "boolean" } } }));
    schemas.insert("ThreadRequest".to_string(), json!({ "type": "object", "required": ["title"], "properties": {
                    "title": { "type": "string", "maxLength": 200 }, "body": { "type": "string", "description": "Markdown.", "maxLength": 50000 } } }));
    schemas.insert("ReplyRequest".to_string(), json!({ "type": "object", "required": ["body"], "properties": { "body": { "type": "string", "maxLength": 50000 } } }));
    schemas.insert("EditRequest".to_string(), json!({ "type": "object", "required": ["body"], "properties": {
                    "title": { "type": ["string", "null"], "description": "Threads only; left out, the title stays." }, "body": { "type": "string" } } }));
    schemas.insert("VoteRequest".to_string(), json!({ "type": "object", "required": ["value"], "properties": { "value": { "type": "integer", "enum": [-1, 0, 1] } } }));
    schemas.insert("VoteResponse".to_string(), json!({ "type": "object", "required": ["likes", "dislikes", "my_vote"], "properties": {
                    "likes": { "type": "integer" }, "dislikes": { "type": "integer" }, "my_vote": { "type": "integer", "enum": [-1, 0, 1] } } }));
    schemas.insert("Author".to_string(), json!({ "type": "object", "required": ["name", "url", "local"], "properties": {
                    "name": { "type": "string" }, "url": { "type": "string", "format": "uri" }, "local": { "type": "boolean" } } }));
    schemas.insert("Post".to_string(), json!({ "type": "object", "required": ["id", "url", "group", "author", "content_html", "published", "deleted", "likes", "dislikes", "reply_count", "my_vote"], "properties": {
                    "id": { "type": "integer" }, "url": { "type": "string", "format": "uri" }, "group": { "type": "string" }, "author": reference("Author"),
                    "parent_id": { "type": ["integer", "null"] }, "thread_id": { "type": ["integer", "null"] }, "title": { "type": ["string", "null"] },
                    "content_html": { "type": "string", "description": "Sanitised HTML." }, "content_markdown": { "type": ["string", "null"] },
                    "published": { "type": "string", "format": "date-time" }, "updated": { "type": ["string", "null"], "format": "date-time" },
                    "deleted": { "type": "boolean" }, "removed": { "type": "boolean", "description": "Removed by a moderator; content withheld, except from the group's moderators in a thread." }, "locked": { "type": "boolean" }, "pinned": { "type": "boolean" }, "awaiting_approval": { "type": "boolean" }, "likes": { "type": "integer" }, "dislikes": { "type": "integer" },
                    "reply_count": { "type": "integer" }, "my_vote": { "type": "integer", "enum": [-1, 0, 1] } } }));
    schemas.insert("Thread".to_string(), json!({ "type": "object", "required": ["thread", "replies"], "properties": {
                    "thread": reference("Post"), "replies": { "type": "array", "items": reference("Post") } } }));
    schemas.insert("EditGroupRequest".to_string(), json!({ "type": "object", "required": ["title"], "properties": {
        "title": { "type": "string", "maxLength": 200 }, "summary": { "type": ["string", "null"], "description": "Markdown; left out keeps it, empty clears it." },
        "icon_url": { "type": ["string", "null"], "format": "uri" },
        "posting_mode": { "type": "string", "enum": ["open", "members", "moderators", "premoderated"] },
        "manually_approves_followers": { "type": "boolean" } } }));
    schemas.insert("Notification".to_string(), json!({ "type": "object", "required": ["id", "kind", "read", "created_at", "post"], "properties": {
        "id": { "type": "integer" }, "kind": { "type": "string", "enum": ["reply", "mention", "report"] }, "read": { "type": "boolean" },
        "created_at": { "type": "string", "format": "date-time" }, "post": reference("Post") } }));
    schemas.insert("TokenInfo".to_string(), json!({ "type": "object", "required": ["id", "created_at", "last_used_at", "expires_at", "current"], "properties": {
        "id": { "type": "integer" }, "label": { "type": ["string", "null"] }, "created_at": { "type": "string", "format": "date-time" },
        "last_used_at": { "type": "string", "format": "date-time" }, "expires_at": { "type": "string", "format": "date-time" },
        "current": { "type": "boolean" } } }));
    schemas.insert("Person".to_string(), json!({ "type": "object", "required": ["id", "name", "url", "local"], "properties": {
        "id": { "type": "integer" }, "name": { "type": "string" }, "url": { "type": "string", "format": "uri" }, "local": { "type": "boolean" } } }));
    schemas.insert("JoinRequest".to_string(), json!({ "type": "object", "required": ["person", "requested_at"], "properties": {
        "person": reference("Person"), "requested_at": { "type": "string", "format": "date-time" } } }));
    schemas.insert("Moderator".to_string(), json!({ "type": "object", "required": ["person", "role"], "properties": {
        "person": reference("Person"), "role": { "type": "string", "enum": ["owner", "moderator"] } } }));
    schemas.insert("LogEntry".to_string(), json!({ "type": "object", "required": ["action", "moderator", "created_at"], "properties": {
        "action": { "type": "string", "enum": ["remove_post", "restore_post", "lock_thread", "unlock_thread", "approve_member", "refuse_member", "appoint_moderator", "dismiss_moderator", "posting_mode", "ban", "unban", "resolve_report", "dismiss_report", "pin_thread", "unpin_thread", "approve_post"] },
        "moderator": reference("Person"), "target_person": { "oneOf": [reference("Person"), { "type": "null" }] },
        "target_post_id": { "type": ["integer", "null"] }, "reason": { "type": ["string", "null"] },
        "created_at": { "type": "string", "format": "date-time" } } }));
    schemas.insert("Ban".to_string(), json!({ "type": "object", "required": ["id", "created_at"], "properties": {
        "id": { "type": "integer" }, "person": { "oneOf": [reference("Person"), { "type": "null" }] },
        "server": { "type": ["string", "null"] }, "reason": { "type": ["string", "null"] },
        "expires_at": { "type": ["string", "null"], "format": "date-time" }, "created_at": { "type": "string", "format": "date-time" } } }));
    schemas.insert("BanRequest".to_string(), json!({ "type": "object", "properties": {
        "person_id": { "type": "integer" }, "server": { "type": "string" }, "reason": { "type": "string", "maxLength": 1000 },
        "expires_in_days": { "type": "integer", "minimum": 1, "maximum": 36500 }, "remove_content": { "type": "boolean" } },
        "description": "Give person_id or server." }));
    schemas.insert("ReportRequest".to_string(), json!({ "type": "object", "properties": {
        "reason": { "type": "string", "maxLength": 2000 }, "tell_author_server": { "type": "boolean" } } }));
    schemas.insert("Report".to_string(), json!({ "type": "object", "required": ["id", "post_id", "reporter", "state", "created_at"], "properties": {
        "id": { "type": "integer" }, "post_id": { "type": "integer" }, "reporter": reference("Person"),
        "reason": { "type": ["string", "null"] }, "state": { "type": "string", "enum": ["open", "resolved", "dismissed"] },
        "created_at": { "type": "string", "format": "date-time" } } }));
    Value::Object(schemas)
}
