//! A moderator on one server, a group on another, members on a third: when the remote
//! moderator removes a post, the group's server verifies they moderate it and every server
//! drops the post; restoring brings it back everywhere.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kindred::testing;
use kindred_entities::post;
use kindred_federation_tests::{ApiClient, TestInstance, TestNetwork, eventually};
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

/// Signs `name` in through `instance`'s web form (keeping its cookies by hand) and returns the
/// HTML of `path`.
async fn signed_in_page(
    network: &TestNetwork,
    instance: &TestInstance,
    name: &str,
    path: &str,
) -> String {
    // Redirects are not followed: the session cookie comes with the 303.
    let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    for (host, address) in &network.hosts {
        builder = builder.resolve(host, std::net::SocketAddr::new(*address, 0));
    }
    let client = builder.build().unwrap();
    let login = client.get(instance.url("/login")).send().await.unwrap();
    let form_cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let html = login.text().await.unwrap();
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).unwrap() + marker.len();
    let csrf = &html[start..start + html[start..].find('"').unwrap()];
    let signed_in = client
        .post(instance.url("/login"))
        .header("cookie", &form_cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", instance.public_url.as_str().trim_end_matches('/'))
        .body(format!("name={name}&password=a+long+password&csrf={csrf}"))
        .send()
        .await
        .unwrap();
    let session = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| {
            value
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_string()
        })
        .find(|cookie| cookie.starts_with("kindred_session="))
        .unwrap();
    client
        .get(instance.url(path))
        .header("cookie", session)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn post_where(instance: &TestInstance, url: &str) -> Option<post::Model> {
    post::Entity::find()
        .filter(post::Column::ApId.eq(url))
        .one(&instance.database.connection)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_remote_moderator_removes_a_post_and_every_server_drops_it() {
    for backend in testing::backends_under_test() {
        scenario(backend).await;
    }
}

async fn scenario(backend: testing::Backend) {
    let network = TestNetwork::start(&["alpha", "beta", "gamma"], backend).await;
    let (alpha, beta, gamma) = (
        network.instance("alpha"),
        network.instance("beta"),
        network.instance("gamma"),
    );
    let ann = ApiClient::sign_up(&network, alpha, "ann").await;
    let bob = ApiClient::sign_up(&network, beta, "bob").await;
    let dave = ApiClient::sign_up(&network, gamma, "dave").await;
    bob.call(
        Method::POST,
        "/groups",
        Some(json!({ "name": "repair", "title": "Repair" })),
    )
    .await;
    let remote = format!("repair@{}", beta.domain);
    for (api, who) in [(&ann, "ann"), (&dave, "dave")] {
        let (status, body) = api
            .call(Method::POST, &format!("/groups/{remote}/membership"), None)
            .await;
        assert_eq!(status, 200, "{who}: {body}");
        eventually(&format!("{who} is accepted"), || async {
            api.call(Method::GET, &format!("/groups/{remote}"), None)
                .await
                .1["membership"]
                == "accepted"
        })
        .await;
    }

    // Bob makes ann (on alpha) a moderator of his group.
    let ann_on_beta = kindred_entities::actor::Entity::find()
        .filter(kindred_entities::actor::Column::ApId.eq(alpha.url("/users/ann")))
        .one(&beta.database.connection)
        .await
        .unwrap()
        .unwrap();
    let (status, body) = bob
        .call(
            Method::PUT,
            &format!("/groups/repair/moderators/{}", ann_on_beta.id),
            None,
        )
        .await;
    assert_eq!(status, 204, "{body}");

    // Bob posts; the thread reaches alpha and gamma.
    let (_, thread) = bob
        .call(
            Method::POST,
            "/groups/repair/threads",
            Some(json!({ "title": "Off topic", "body": "Buy my stuff" })),
        )
        .await;
    let url = thread["url"].as_str().unwrap().to_string();
    for instance in [alpha, gamma] {
        eventually(&format!("the thread reaches {}", instance.name), || async {
            post_where(instance, &url).await.is_some()
        })
        .await;
    }

    // Dave (not a moderator) cannot remove it; ann can, from alpha.
    let on_gamma = post_where(gamma, &url).await.unwrap();
    let (status, _) = dave
        .call(
            Method::POST,
            &format!("/posts/{}/moderate/remove", on_gamma.id),
            None,
        )
        .await;
    assert_eq!(status, 403);
    let on_alpha = post_where(alpha, &url).await.unwrap();
    // On alpha's web page of the thread, ann (a moderator there) gets the remove button, and
    // dave's server's page gives none to dave.
    let page = signed_in_page(&network, alpha, "ann", &format!("/posts/{}", on_alpha.id)).await;
    assert!(page.contains("/moderate/remove"), "{page}");
    assert!(
        !page.contains("/moderate/lock"),
        "locks are set on the group's own server"
    );
    let page = signed_in_page(&network, gamma, "dave", &format!("/posts/{}", on_gamma.id)).await;
    assert!(!page.contains("/moderate/remove"));
    let (status, body) = ann
        .call(
            Method::POST,
            &format!("/posts/{}/moderate/remove", on_alpha.id),
            Some(json!({ "reason": "off topic" })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["removed"], true);
    for instance in [beta, gamma] {
        eventually(&format!("{} drops the post", instance.name), || async {
            post_where(instance, &url)
                .await
                .unwrap()
                .removed_at
                .is_some()
        })
        .await;
    }
    let (_, log) = bob.call(Method::GET, "/groups/repair/modlog", None).await;
    assert_eq!(log[0]["action"], "remove_post", "{log}");
    assert_eq!(log[0]["reason"], "off topic");
    assert_eq!(log[0]["moderator"]["url"], alpha.url("/users/ann"));

    // Restored from alpha, it is back everywhere.
    let (status, _) = ann
        .call(
            Method::POST,
            &format!("/posts/{}/moderate/restore", on_alpha.id),
            None,
        )
        .await;
    assert_eq!(status, 200);
    for instance in [beta, gamma] {
        eventually(
            &format!("{} shows the post again", instance.name),
            || async {
                post_where(instance, &url)
                    .await
                    .unwrap()
                    .removed_at
                    .is_none()
            },
        )
        .await;
    }

    // Bob locks and pins the thread on beta: the copies on alpha and gamma follow.
    let thread_on_beta = post_where(beta, &url).await.unwrap();
    for action in ["lock", "pin"] {
        let (status, body) = bob
            .call(
                Method::POST,
                &format!("/posts/{}/moderate/{action}", thread_on_beta.id),
                None,
            )
            .await;
        assert_eq!(status, 200, "{action}: {body}");
    }
    for instance in [alpha, gamma] {
        eventually(
            &format!("{} shows the thread locked and pinned", instance.name),
            || async {
                let copy = post_where(instance, &url).await.unwrap();
                copy.locked && copy.pinned_at.is_some()
            },
        )
        .await;
    }
    bob.call(
        Method::POST,
        &format!("/posts/{}/moderate/unlock", thread_on_beta.id),
        None,
    )
    .await;
    eventually("alpha shows it unlocked", || async {
        !post_where(alpha, &url).await.unwrap().locked
    })
    .await;

    // Dave reports the thread from gamma: beta's group tells its moderators, ann on alpha too.
    let (status, body) = dave
        .call(
            Method::POST,
            &format!("/posts/{}/report", on_gamma.id),
            Some(json!({ "reason": "selling things" })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    eventually("ann hears of the report on alpha", || async {
        let (_, heard) = ann.call(Method::GET, "/notifications", None).await;
        heard
            .as_array()
            .is_some_and(|all| all.iter().any(|one| one["kind"] == "report"))
    })
    .await;
    let (_, reports) = bob.call(Method::GET, "/groups/repair/reports", None).await;
    assert_eq!(reports[0]["reason"], "selling things", "{reports}");

    // Once dismissed, ann's removals are refused.
    bob.call(
        Method::DELETE,
        &format!("/groups/repair/moderators/{}", ann_on_beta.id),
        None,
    )
    .await;
    let (status, _) = ann
        .call(
            Method::POST,
            &format!("/posts/{}/moderate/remove", on_alpha.id),
            None,
        )
        .await;
    assert_eq!(status, 403);

    // Bob bans ann: her own server learns it, and refuses her next post before it leaves.
    let (status, body) = bob
        .call(
            Method::POST,
            "/groups/repair/bans",
            Some(json!({ "person_id": ann_on_beta.id, "reason": "spam" })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    eventually("alpha ends ann's membership", || async {
        ann.call(Method::GET, &format!("/groups/{remote}"), None)
            .await
            .1["membership"]
            .is_null()
    })
    .await;
    let (status, _) = ann
        .call(
            Method::POST,
            &format!("/groups/{remote}/threads"),
            Some(json!({ "title": "Still here", "body": "x" })),
        )
        .await;
    assert_eq!(status, 403);
    network.stop().await;
}
