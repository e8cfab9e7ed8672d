//! A corpus of XSS payloads (script tags, event handlers, `javascript:` URLs, SVG, CSS tricks,
//! parser confusions) sent through every field a remote server controls — an actor's name,
//! handle, summary and icon, a group's name, summary and icon, a post's title, content, content
//! warning, attachment names and tags — then every page that shows them is loaded in headless
//! Chromium, which must find nothing executable: no script ran, no script element, no event
//! handler attribute, no `javascript:` URL, no frame or object.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kindred::{
    accounts::users::{self, NewUser},
    config::RegistrationMode,
    federation::discovery,
    testing,
};
use kindred_entities::user::UserState;
use kindred_federation_tests::{
    TestNetwork,
    mastodon::{self, PUBLIC},
    peer::{MastodonPeer, Tampering},
    webdriver::ChromeDriver,
};
use serde_json::json;

/// Each payload sets `window.__xss` if it ever runs.
const PAYLOADS: &[&str] = &[
    "<script>window.__xss=1</script>",
    "<img src=x onerror=\"window.__xss=2\">",
    "<a href=\"javascript:window.__xss=3\">click</a>",
    "<a href=\"jav&#x09;ascript:window.__xss=4\">tab</a>",
    "<svg onload=\"window.__xss=5\"><circle r=1 /></svg>",
    "<svg><script>window.__xss=6</script></svg>",
    "<iframe src=\"javascript:window.__xss=7\"></iframe>",
    "<object data=\"javascript:window.__xss=8\"></object>",
    "<embed src=\"javascript:window.__xss=9\">",
    "<div style=\"background:url(javascript:window.__xss=10)\">css</div>",
    "<style>body{background:url(javascript:window.__xss=11)}</style>",
    "\"><script>window.__xss=12</script>",
    "'><img src=x onerror=window.__xss=13>",
    "</textarea><script>window.__xss=14</script>",
    "</title><script>window.__xss=15</script>",
    "<details open ontoggle=\"window.__xss=16\">d</details>",
    "<input autofocus onfocus=\"window.__xss=17\">",
    "<form action=\"javascript:window.__xss=18\"><button>go</button></form>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:window.__xss=19\">",
    "<base href=\"javascript:window.__xss=20//\">",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=21>",
    "<noscript><p title=\"</noscript><img src=x onerror=window.__xss=22>\">",
    "<body onload=\"window.__xss=23\">",
    "<a href=\"data:text/html,<script>window.__xss=24</script>\">data</a>",
    "<img src=\"x\" srcset=\"javascript:window.__xss=25\">",
    "<video><source onerror=\"window.__xss=26\"></video>",
];

fn add_person(peer: &MastodonPeer, name: &str, key_index: usize) -> String {
    let keys = testing::test_keypairs();
    let pair = &keys[key_index % keys.len()];
    peer.add_person(name, &pair.private_key, &pair.public_key)
}

/// What the page holds that could run: returned by a script run in the page.
const INSPECT: &str = r#"
const dangerous = [];
if (window.__xss !== undefined) dangerous.push('a payload ran: ' + window.__xss);
for (const script of document.scripts) dangerous.push('script: ' + script.outerHTML.slice(0, 80));
for (const element of document.querySelectorAll('*')) {
  for (const attribute of element.attributes) {
    const name = attribute.name.toLowerCase();
    const value = attribute.value.replace(/[\s\u0000-\u001f]/g, '').toLowerCase();
    if (name.startsWith('on')) dangerous.push('handler: ' + element.tagName + ' ' + name);
    if (['href', 'src', 'action', 'formaction', 'data', 'srcset', 'poster', 'xlink:href'].includes(name)
        && (value.startsWith('javascript:') || value.startsWith('data:text/html') || value.startsWith('vbscript:')))
      dangerous.push('url: ' + element.tagName + ' ' + name + '=' + attribute.value);
    if (name === 'style' && /url\(|expression\(/i.test(attribute.value))
      dangerous.push('style: ' + element.tagName + ' ' + attribute.value);
  }
  if (['IFRAME', 'OBJECT', 'EMBED', 'BASE', 'FRAME', 'APPLET'].includes(element.tagName))
    dangerous.push('element: ' + element.tagName);
  if (element.tagName === 'META' && (element.getAttribute('http-equiv') || '').toLowerCase() === 'refresh')
    dangerous.push('meta refresh');
}
for (const style of document.querySelectorAll('style'))
  if (/javascript:/i.test(style.textContent)) dangerous.push('stylesheet: ' + style.textContent.slice(0, 80));
return dangerous;
"#;

#[tokio::test]
async fn no_payload_from_a_remote_server_is_executable_in_any_page() {
    let backend = *testing::backends_under_test().last().unwrap();
    let network = TestNetwork::start_configured(&["home"], &["evil"], backend, |config| {
        config.instance.registration = RegistrationMode::Open;
    })
    .await;
    let home = network.instance("home");
    let peer = network.peer(0);
    let group = home.create_group("repair").await;
    let context = home.context();
    let ann = users::create_user(
        &home.database.connection,
        &context.config,
        &context.keys,
        NewUser {
            name: "ann",
            password: "a long password",
            email: None,
            application_text: None,
        },
        UserState::Active,
        false,
    )
    .await
    .unwrap();

    // A hostile person: every profile field is a payload.
    let everything = PAYLOADS.join(" ");
    let mallory = add_person(peer, "mallory", 1);
    peer.set_profile(
        "mallory",
        json!({
            "name": format!("Mallory {everything}"),
            "preferredUsername": "mallory<img src=x onerror=window.__xss=100>",
            "summary": everything,
            "icon": { "type": "Image", "url": "javascript:window.__xss=101" },
        }),
    );
    // A hostile remote group.
    let group_actor = add_person(peer, "badgroup", 2);
    peer.set_profile(
        "badgroup",
        json!({
            "type": "Group",
            "preferredUsername": "badgroup",
            "name": format!("Bad group {}", PAYLOADS[0]),
            "summary": everything,
            "icon": { "type": "Image", "url": "javascript:window.__xss=102" },
        }),
    );
    let remote_group = discovery::resolve_group(&context, &group_actor)
        .await
        .unwrap();

    let inbox = home.url("/inbox");
    let follow = mastodon::follow(&mallory, &group.ap_id, &peer.url("/follows/1"));
    let (status, body) = peer
        .send("mallory", &inbox, &follow, &Tampering::default())
        .await;
    assert!(status.is_success(), "{status}: {body}");

    // One thread per payload, the payload in every field a post has; a reply mentions ann.
    let mut first_thread = None;
    for (index, payload) in PAYLOADS.iter().enumerate() {
        let id = peer.url(&format!("/users/mallory/statuses/{index}"));
        let mut note = mastodon::note(&mallory, &id, &group.ap_id, "repair", payload);
        note["name"] = json!(format!("Title {index} {payload}"));
        note["summary"] = json!(payload);
        note["attachment"] = json!([{ "type": "Document", "mediaType": "image/png", "url": "javascript:window.__xss=103", "name": payload }]);
        note["tag"].as_array_mut().unwrap().push(
            json!({ "type": "Hashtag", "name": payload, "href": "javascript:window.__xss=104" }),
        );
        let (status, body) = peer
            .send(
                "mallory",
                &inbox,
                &mastodon::create(&mallory, &note),
                &Tampering::default(),
            )
            .await;
        assert!(status.is_success(), "payload {index}: {status}: {body}");
        first_thread.get_or_insert(id);
    }
    let parent = first_thread.unwrap();
    let reply_id = peer.url("/users/mallory/statuses/reply");
    let reply = json!({
        "id": reply_id,
        "type": "Note",
        "inReplyTo": parent,
        "attributedTo": mallory,
        "to": [PUBLIC],
        "cc": [group.ap_id, ann.actor.ap_id],
        "content": format!("@ann {everything}"),
        "tag": [{ "type": "Mention", "href": ann.actor.ap_id, "name": "@ann" }],
    });
    let (status, body) = peer
        .send(
            "mallory",
            &inbox,
            &mastodon::create(&mallory, &reply),
            &Tampering::default(),
        )
        .await;
    assert!(status.is_success(), "{status}: {body}");

    // Every page that shows remote content, in a real browser, signed in as ann.
    let threads = kindred::groups::thread_lists::page_of_threads(
        &home.database.connection,
        kindred::groups::thread_lists::ThreadSource::Group(group.id),
        kindred::groups::posts::ThreadOrder::New,
        None,
        100,
    )
    .await
    .unwrap()
    .threads;
    assert_eq!(
        threads.len(),
        PAYLOADS.len(),
        "every hostile thread was stored"
    );
    let base = home.public_url.as_str().trim_end_matches('/').to_string();
    let mut pages = vec![
        "/".to_string(),
        "/?q=bad".to_string(),
        "/groups/repair".to_string(),
        "/groups/repair?sort=top".to_string(),
        format!(
            "/groups/{}",
            kindred::groups::directory::actor_handle(&remote_group)
        ),
        "/notifications".to_string(),
    ];
    pages.extend(threads.iter().map(|thread| format!("/posts/{}", thread.id)));
    let driver = ChromeDriver::start().await;
    let browser = driver.open(&network.hosts).await;
    browser.go(&format!("{base}/login")).await;
    browser.type_into("#name", "ann").await;
    browser.type_into("#password", "a long password").await;
    browser.click("main form button[type=submit]").await;
    browser.wait_for("href=\"/users/ann\"").await;
    for path in &pages {
        browser.go(&format!("{base}{path}")).await;
        let found = browser.execute(INSPECT).await;
        assert_eq!(found, json!([]), "{path} holds something executable");
        let text = browser.text("main").await;
        assert!(!text.is_empty(), "{path} shows nothing");
    }
    // The payloads were shown as text or harmless markup, not dropped: the titles are there.
    browser.go(&format!("{base}/groups/repair")).await;
    assert!(browser.text("main").await.contains("Title 0 <script>"));

    // The Atom feed escapes everything inside its XML.
    let feed = network
        .client()
        .get(format!("{base}/groups/repair/feed.atom"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!feed.contains("<script"), "{feed}");
    assert!(!feed.contains("<img"), "{feed}");
    browser.close().await;
    network.stop().await;
}
