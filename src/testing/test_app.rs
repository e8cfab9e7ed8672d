//! `TestApp`: one in-process Kindred (its router, database and context) for the HTTP, web and
//! API tests, built with people and groups already in it, and checked when it is dropped.

use crate::{
    accounts::users::{self, NewUser, UserWithActor},
    app,
    config::Config,
    context::{AppState, Context},
    groups::{
        directory::{self, NewGroup},
        membership,
    },
    testing::{self, Backend, TestDatabase},
};
use activitypub_federation::config::FederationConfig;
use axum::{
    Router,
    body::Body,
    http::{Request, Response, StatusCode},
};
use http_body_util::BodyExt;
use kindred_entities::{actor, user::UserState};
use std::collections::HashMap;
use tower::ServiceExt;

/// The address test apps answer as.
pub const TEST_PUBLIC_URL: &str = "http://kindred.test:8080";

/// The password every person a [`TestAppBuilder`] creates signs in with.
pub const TEST_PASSWORD: &str = "a long password";

/// What a [`TestApp`] is to hold when it starts.
pub struct TestAppBuilder {
    backend: Backend,
    config: Config,
    people: Vec<(String, bool)>,
    groups: Vec<(String, String)>,
    fan_outs_may_stay_pending: bool,
}

/// A running in-process instance on a fresh database.
///
/// Dropping it checks that no fan-out was left pending (an activity addressed to remote
/// servers that no worker sends in these tests) unless the test said it expects some, and
/// drops a PostgreSQL test database even when the test panicked.
pub struct TestApp {
    pub router: Router,
    pub federation: FederationConfig<AppState>,
    pub people: HashMap<String, UserWithActor>,
    pub groups: HashMap<String, actor::Model>,
    fan_outs_may_stay_pending: bool,
    // Last, so it is dropped after the pending fan-out check has read it.
    pub database: TestDatabase,
}

/// A response, read whole.
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl TestResponse {
    /// A header's value as text.
    pub fn header(&self, name: impl axum::http::header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

impl TestApp {
    /// Starts describing an app on `backend`, with the test configuration for
    /// [`TEST_PUBLIC_URL`].
    pub fn on(backend: Backend) -> TestAppBuilder {
        TestAppBuilder {
            backend,
            config: testing::test_config(TEST_PUBLIC_URL)
                .unwrap_or_else(|error| panic!("test configuration: {error}")),
            people: Vec::new(),
            groups: Vec::new(),
            fan_outs_may_stay_pending: false,
        }
    }

    /// The request context, as a handler sees it.
    pub fn context(&self) -> Context {
        self.federation.to_request_data()
    }

    /// Sends one request through the whole router.
    pub async fn call(&self, request: Request<Body>) -> TestResponse {
        let response: Response<axum::body::Body> = match self.router.clone().oneshot(request).await
        {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = match response.into_body().collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(error) => panic!("reading a response body: {error}"),
        };
        TestResponse {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// A person the builder created.
    pub fn person(&self, name: &str) -> &UserWithActor {
        self.people
            .get(name)
            .unwrap_or_else(|| panic!("no test person {name}"))
    }

    /// A group the builder created.
    pub fn group(&self, name: &str) -> &actor::Model {
        self.groups
            .get(name)
            .unwrap_or_else(|| panic!("no test group {name}"))
    }
}

impl TestAppBuilder {
    /// A person with an active account and [`TEST_PASSWORD`].
    pub fn with_user(mut self, name: &str) -> Self {
        self.people.push((name.to_string(), false));
        self
    }

    /// An administrator with [`TEST_PASSWORD`].
    pub fn with_admin(mut self, name: &str) -> Self {
        self.people.push((name.to_string(), true));
        self
    }

    /// A local group founded (and so owned) by `owner`, one of the people added before.
    pub fn with_group(mut self, name: &str, owner: &str) -> Self {
        self.groups.push((name.to_string(), owner.to_string()));
        self
    }

    /// Changes the configuration before the app starts.
    pub fn configured(mut self, change: impl FnOnce(&mut Config)) -> Self {
        change(&mut self.config);
        self
    }

    /// The test addresses remote servers and leaves their fan-outs unsent on purpose.
    pub fn expecting_pending_fan_outs(mut self) -> Self {
        self.fan_outs_may_stay_pending = true;
        self
    }

    pub async fn start(self) -> TestApp {
        let database = testing::fresh_database(self.backend)
            .await
            .unwrap_or_else(|error| panic!("a {:?} test database: {error}", self.backend));
        let federation = testing::test_federation(self.config.clone(), &database)
            .await
            .unwrap_or_else(|error| panic!("test federation: {error}"));
        let router = app::router(&federation);
        let mut people = HashMap::new();
        for (name, is_admin) in &self.people {
            let person = users::create_user(
                &database.connection,
                &self.config,
                &testing::test_key_source(),
                NewUser {
                    name,
                    password: TEST_PASSWORD,
                    email: None,
                    application_text: None,
                },
                UserState::Active,
                *is_admin,
            )
            .await
            .unwrap_or_else(|error| panic!("test person {name}: {error}"));
            people.insert(name.clone(), person);
        }
        let mut groups = HashMap::new();
        for (name, owner) in &self.groups {
            let owner: &UserWithActor = people
                .get(owner)
                .unwrap_or_else(|| panic!("the owner of {name}, {owner}, is not a test person"));
            let group = directory::create_group(
                &database.connection,
                &self.config,
                &testing::test_key_source(),
                NewGroup {
                    name,
                    title: name,
                    summary_markdown: None,
                },
            )
            .await
            .unwrap_or_else(|error| panic!("test group {name}: {error}"));
            membership::found(&database.connection, &group, &owner.actor)
                .await
                .unwrap_or_else(|error| panic!("founding {name}: {error}"));
            groups.insert(name.clone(), group);
        }
        TestApp {
            router,
            federation,
            people,
            groups,
            fan_outs_may_stay_pending: self.fan_outs_may_stay_pending,
            database,
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if std::thread::panicking() || self.fan_outs_may_stay_pending {
            return;
        }
        let pending = testing::count_pending_fan_outs_blocking(&self.database.url);
        match pending {
            Ok(0) => {}
            Ok(pending) => panic!(
                "{pending} fan-out(s) to remote servers were left pending; a test that addresses \
                 remote servers without sending says so with `expecting_pending_fan_outs()`"
            ),
            Err(error) => panic!("cannot count pending fan-outs: {error}"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::federation::delivery::{OutgoingActivity, enqueue};

    #[tokio::test]
    async fn the_builder_makes_its_people_and_groups() {
        let app = TestApp::on(Backend::Sqlite)
            .with_admin("ada")
            .with_user("ann")
            .with_group("repair", "ann")
            .start()
            .await;
        assert!(app.person("ada").user.is_admin);
        assert!(!app.person("ann").user.is_admin);
        assert!(
            membership::is_owner(
                &app.database.connection,
                app.group("repair").id,
                app.person("ann").actor.id
            )
            .await
            .unwrap()
        );
        let signed_in = app
            .call(
                Request::post("/api/v1/auth/token")
                    .header("host", "kindred.test:8080")
                    .header("content-type", "application/json")
                    .body(Body::from(
                        serde_json::json!({ "name": "ann", "password": TEST_PASSWORD }).to_string(),
                    ))
                    .unwrap(),
            )
            .await;
        assert_eq!(signed_in.status, StatusCode::CREATED, "{}", signed_in.body);
    }

    /// Queues an activity for a server no test sends to.
    async fn leave_a_fan_out_pending(app: &TestApp) {
        let group = app.group("repair");
        let id = url::Url::parse("http://kindred.test:8080/activities/left").unwrap();
        let json = serde_json::json!({ "id": id, "type": "Announce" });
        enqueue(
            &app.database.connection,
            &app.context(),
            &[OutgoingActivity {
                sender: group,
                ap_id: &id,
                kind: "Announce",
                object_ap_id: None,
                json: &json,
                in_outbox: false,
                ordering_key: None,
            }],
            [url::Url::parse("https://elsewhere.example/inbox").unwrap()],
        )
        .await
        .unwrap();
    }

    #[tokio::test]
    #[should_panic(expected = "left pending")]
    async fn a_fan_out_left_pending_fails_the_test() {
        let app = TestApp::on(Backend::Sqlite)
            .with_user("ann")
            .with_group("repair", "ann")
            .start()
            .await;
        leave_a_fan_out_pending(&app).await;
    }

    #[tokio::test]
    async fn a_test_may_say_it_leaves_fan_outs_pending() {
        let app = TestApp::on(Backend::Sqlite)
            .with_user("ann")
            .with_group("repair", "ann")
            .expecting_pending_fan_outs()
            .start()
            .await;
        leave_a_fan_out_pending(&app).await;
        assert_eq!(
            testing::count_pending_fan_outs_blocking(&app.database.url).unwrap(),
            1
        );
    }
}
