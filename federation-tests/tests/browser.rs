//! The web interface in a real browser: headless Chromium (Debian's `chromium`, driven through
//! `chromedriver`) against a real Kindred instance on its own host name. Two people register,
//! one sets an avatar, creates a group and a thread with a photo (uploaded from a file input),
//! the other joins and replies, the first sees the reply and likes it. A screenshot of the
//! thread page is saved as `target/browser/thread.png`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kindred::{config::RegistrationMode, testing};
use kindred_federation_tests::{
    TestNetwork,
    webdriver::{Browser, ChromeDriver},
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::path::PathBuf;

async fn register(browser: &Browser, base: &str, name: &str) {
    browser.go(&format!("{base}/register")).await;
    browser.type_into("#name", name).await;
    browser.type_into("#password", "a long password").await;
    browser
        .type_into("#password_again", "a long password")
        .await;
    browser.click("main form button[type=submit]").await;
    browser.wait_for(&format!("href=\"/users/{name}\"")).await;
}

/// An instance "web" open for registration, and a browser window on it. The production
/// database when it is available: the browser run is slow enough once.
async fn open_instance_with_registration() -> (TestNetwork, String, ChromeDriver, Browser) {
    let backend = *testing::backends_under_test().last().unwrap();
    let network = TestNetwork::start_configured(&["web"], &[], backend, |config| {
        config.instance.registration = RegistrationMode::Open;
    })
    .await;
    let base = network
        .instance("web")
        .public_url
        .as_str()
        .trim_end_matches('/')
        .to_string();
    let driver = ChromeDriver::start().await;
    let browser = driver.open(&network.hosts).await;
    (network, base, driver, browser)
}

async fn sign_out(browser: &Browser) {
    browser.click("header.site form button[type=submit]").await;
    browser.wait_for("href=\"/login\"").await;
}

#[tokio::test]
async fn two_people_discuss_in_a_group_through_the_web_pages() {
    // The driver lives as long as the test: dropping it stops chromedriver.
    let (network, base, _driver, browser) = open_instance_with_registration().await;

    // Ann registers and gives herself a name and an avatar, from a file on disk as a browser
    // sends one (multipart).
    register(&browser, &base, "ann").await;
    let pictures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/browser");
    std::fs::create_dir_all(&pictures).unwrap();
    // Chromium takes only canonical paths for a file input.
    let pictures = pictures.canonicalize().unwrap();
    let avatar = pictures.join("avatar-upload.png");
    std::fs::write(&avatar, gradient_png()).unwrap();
    let photo = pictures.join("kettle-upload.jpg");
    std::fs::write(&photo, testing::pictures::jpeg_with_gps(640, 400)).unwrap();
    browser.go(&format!("{base}/settings")).await;
    browser.type_into("#display_name", "Ann Fixit").await;
    browser.type_into("#bio", "I mend *kettles*.").await;
    browser.type_into("#avatar", avatar.to_str().unwrap()).await;
    browser
        .click("form[action='/settings/profile'] button[type=submit]")
        .await;
    browser.wait_for("Your avatar now").await;

    // She creates a group and starts a thread with a photo.
    browser.go(&format!("{base}/")).await;
    browser.click("a[href='/create-group']").await;
    browser.type_into("#name", "repair").await;
    browser.type_into("#title", "Repair café").await;
    browser
        .type_into("#summary", "We fix **toasters** and bikes.")
        .await;
    browser.click("main form button[type=submit]").await;
    browser.wait_for("<strong>toasters</strong>").await;
    assert!(browser.current_url().await.ends_with("/groups/repair"));
    browser.click("a[href='/groups/repair/new-thread']").await;
    browser
        .type_into("#title", "Our kettle clicks but does not heat")
        .await;
    browser
        .type_into("#body", "It is a *Philips*; the fuse looks fine.")
        .await;
    browser.click("details.pictures summary").await;
    browser
        .type_into("#thread-picture-1", photo.to_str().unwrap())
        .await;
    browser
        .type_into("#thread-picture-1-alt", "The kettle's base, opened")
        .await;
    browser.click("main form button[type=submit]").await;
    browser.wait_for("<em>Philips</em>").await;
    browser.wait_for("alt=\"The kettle's base, opened\"").await;
    // The picture loaded (a broken image has no natural width).
    assert_eq!(browser.wait_for_picture(".attachments img").await, 640);
    assert!(browser.source().await.contains("Ann Fixit"));
    let thread_url = browser.current_url().await;
    assert!(thread_url.contains("/posts/"), "{thread_url}");
    assert_eq!(
        browser.text("main h1").await,
        "Our kettle clicks but does not heat"
    );
    sign_out(&browser).await;

    // Bob registers, joins the group and replies.
    register(&browser, &base, "bob").await;
    browser.go(&format!("{base}/groups/repair")).await;
    browser
        .click("form[action='/groups/repair/join'] button")
        .await;
    browser.wait_for("Leave group").await;
    browser.go(&thread_url).await;
    browser
        .click("article.post details:has(form[action$='/reply']) summary")
        .await;
    browser
        .type_into(
            "article.post form[action$='/reply'] textarea",
            "Check the **thermostat** first.",
        )
        .await;
    browser
        .click("article.post form[action$='/reply'] button[type=submit]")
        .await;
    browser
        .wait_for("Check the <strong>thermostat</strong> first.")
        .await;
    sign_out(&browser).await;

    // Ann signs back in, sees the reply and likes it.
    browser.go(&format!("{base}/login")).await;
    browser.type_into("#name", "ann").await;
    browser.type_into("#password", "a long password").await;
    browser.click("main form button[type=submit]").await;
    browser.wait_for("href=\"/users/ann\"").await;
    browser.go(&thread_url).await;
    assert!(browser.text("article.reply").await.contains("bob"));
    assert!(browser.text("main h2").await.contains("1 reply"));
    browser
        .click("article.reply button.vote[data-vote='like']")
        .await;
    browser
        .wait_for("aria-pressed=\"true\" aria-label=\"Like, 1 so far\"")
        .await;
    assert_eq!(
        browser
            .text("article.reply button.vote[data-vote='like']")
            .await,
        "▲ 1"
    );

    browser.execute("window.scrollTo(0, 0)").await;
    let screenshot = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/browser/thread.png");
    browser.screenshot(&screenshot).await;
    assert!(std::fs::metadata(&screenshot).unwrap().len() > 10_000);
    browser.close().await;
    network.stop().await;
}

/// A picture that shows in a screenshot: a 320 × 200 gradient.
fn gradient_png() -> Vec<u8> {
    let picture = image::RgbImage::from_fn(320, 200, |x, y| {
        image::Rgb([(x * 255 / 320) as u8, (y * 255 / 200) as u8, 160])
    });
    let mut bytes = Vec::new();
    picture
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    bytes
}

#[tokio::test]
async fn pictures_links_and_content_warnings_show_in_a_real_browser() {
    use kindred_federation_tests::{join_group, mastodon, peer::Tampering};
    use serde_json::json;
    let backend = *testing::backends_under_test().last().unwrap();
    let network = TestNetwork::start_with_peers(&["web"], &["masto"], backend).await;
    let instance = network.instance("web");
    let masto = network.peer(0);
    let group = instance.create_group("repair").await;
    let alice = join_group(masto, instance, &group, "alice", 1, "1").await;
    masto.serve_bytes("/media/toaster.png", "image/png", gradient_png());
    masto.serve_bytes("/media/fuse.png", "image/png", gradient_png());
    let note = |number: u32, extra: serde_json::Value| {
        let mut note = json!({
            "id": format!("{alice}/statuses/{number}"),
            "type": "Note",
            "attributedTo": alice,
            "to": [mastodon::PUBLIC],
            "cc": [group.ap_id],
            "content": format!("<p>Post {number}</p>"),
        });
        if let (serde_json::Value::Object(note), serde_json::Value::Object(extra)) =
            (&mut note, extra)
        {
            note.extend(extra);
        }
        note
    };
    let thread = note(
        1,
        json!({
            "type": "Page",
            "name": "The toaster, fixed",
            "content": "<p>New element, works again.</p>",
            "attachment": [{"type": "Document", "mediaType": "image/png",
                "url": masto.url("/media/toaster.png"), "name": "A toaster, open, a new element inside"}],
        }),
    );
    let warned = note(
        2,
        json!({
            "inReplyTo": thread["id"],
            "summary": "Burnt fuse, close-up",
            "content": "<p>This is what it looked like.</p>",
            "attachment": [{"type": "Image", "url": masto.url("/media/fuse.png"), "name": "A blackened fuse"}],
        }),
    );
    let link = note(
        3,
        json!({
            "inReplyTo": thread["id"],
            "content": "<p>The guide I followed.</p>",
            "attachment": [{"type": "Link", "href": "https://www.ifixit.com/Guide/Toaster", "mediaType": "text/html"}],
        }),
    );
    for object in [&thread, &warned, &link] {
        let (status, body) = masto
            .send(
                "alice",
                &instance.url("/inbox"),
                &mastodon::create(&alice, object),
                &Tampering::default(),
            )
            .await;
        assert!(status.is_success(), "{status}: {body}");
    }
    let thread_row = kindred::groups::posts::find_by_ap_id(
        &instance.database.connection,
        thread["id"].as_str().unwrap(),
    )
    .await
    .unwrap()
    .unwrap();

    let driver = ChromeDriver::start().await;
    let browser = driver.open(&network.hosts).await;
    browser
        .go(&instance.url(&format!("/posts/{}", thread_row.id)))
        .await;
    browser.wait_for("The toaster, fixed").await;
    // The picture loads, from this instance (the CSP allows no other).
    assert_eq!(
        browser
            .wait_for_picture("article.post:not(.reply) .attachments img")
            .await,
        320
    );
    assert!(
        browser
            .source()
            .await
            .contains("alt=\"A toaster, open, a new element inside\"")
    );
    // The content-warned picture is folded until the reader opens it.
    assert!(
        browser
            .text("details.warning summary")
            .await
            .contains("Burnt fuse")
    );
    browser.click("details.warning summary").await;
    assert_eq!(
        browser
            .wait_for_picture("details.warning .attachments img")
            .await,
        320
    );
    assert!(
        browser
            .text("p.link")
            .await
            .contains("www.ifixit.com/Guide/Toaster")
    );

    let screenshot = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/browser/media.png");
    browser.screenshot(&screenshot).await;
    assert!(std::fs::metadata(&screenshot).unwrap().len() > 10_000);
    browser.close().await;
    network.stop().await;
}

#[tokio::test]
async fn paging_the_home_feed_search_and_the_phone_header_in_a_real_browser() {
    let (network, base, _driver, browser) = open_instance_with_registration().await;
    let instance = network.instance("web");
    register(&browser, &base, "ann").await;
    browser.go(&format!("{base}/create-group")).await;
    browser.type_into("#name", "repair").await;
    browser.type_into("#title", "Repair café").await;
    browser.click("main form button[type=submit]").await;
    browser.wait_for("Threads").await;
    // 55 threads, written through the action layer (the form is tested above).
    let context = instance.context();
    let ann = kindred::groups::directory::find_local_actor_by_name(&context.db, "ann")
        .await
        .unwrap()
        .unwrap();
    let group = kindred::groups::directory::find_local_group(&context.db, "repair")
        .await
        .unwrap();
    for number in 0..55 {
        let draft = kindred::groups::posts::Draft {
            title: Some(format!("Question {number} about a toaster")),
            markdown: format!("Question number {number}: the **toaster** clicks."),
            ..Default::default()
        };
        kindred::actions::posts::start_thread(&context, &ann, &group, draft)
            .await
            .unwrap();
    }
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/browser");
    let count_threads = "return document.querySelectorAll('ul.threads > li').length";

    for (width, label) in [(1280, "desktop"), (390, "phone")] {
        browser.resize(width, 900).await;
        // The group page: 50 threads, then the older ones.
        browser.go(&format!("{base}/groups/repair")).await;
        assert_eq!(browser.execute(count_threads).await, serde_json::json!(50));
        browser
            .screenshot(&shots.join(format!("group-{label}.png")))
            .await;
        browser.click("nav.pager a[rel=next]").await;
        browser.wait_for("← Newest").await;
        assert_eq!(browser.execute(count_threads).await, serde_json::json!(5));
        // The home feed: ann's groups' threads.
        browser.go(&format!("{base}/")).await;
        browser.wait_for("Your groups").await;
        browser
            .screenshot(&shots.join(format!("home-{label}.png")))
            .await;
        // The header fits one line; on a phone its links are behind "Menu".
        let header_height = browser
            .execute("return document.querySelector('header.site').getBoundingClientRect().height")
            .await
            .as_f64()
            .unwrap();
        assert!(
            header_height < 60.0,
            "{label}: the header is {header_height}px high"
        );
        if width < 600 {
            browser.click("header.site details.menu summary").await;
            browser
                .screenshot(&shots.join(format!("menu-{label}.png")))
                .await;
            browser
                .click("header.site details.menu a[href='/search']")
                .await;
        } else {
            browser
                .click("header.site nav.wide a[href='/search']")
                .await;
        }
        // Search, from the header.
        browser.type_into("#search-words", "toaster clicks").await;
        browser.click("main form[role=search] button").await;
        browser.wait_for("Question 54 about a toaster").await;
        assert_eq!(
            browser
                .execute("return document.querySelectorAll('ol.results > li').length")
                .await,
            serde_json::json!(20)
        );
        browser
            .screenshot(&shots.join(format!("search-{label}.png")))
            .await;
    }
    browser.close().await;
    network.stop().await;
}

/// axe-core's browser build, from npm: installed under `target/npm` by `.ci/run`, or here when
/// it is missing (npm must be on the PATH).
fn axe_core_script() -> String {
    let prefix = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/npm");
    let script = prefix.join("node_modules/axe-core/axe.min.js");
    if !script.exists() {
        std::fs::create_dir_all(&prefix).unwrap();
        let installed = std::process::Command::new("npm")
            .args([
                "install",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--prefix",
            ])
            .arg(&prefix)
            .arg("axe-core@4")
            .status()
            .expect("npm is needed to fetch axe-core for the accessibility check");
        assert!(installed.success(), "npm install axe-core failed");
    }
    std::fs::read_to_string(&script).unwrap()
}

/// Runs axe-core's WCAG 2 A and AA rules on the page shown, and fails on any violation it
/// rates serious or critical, naming the rule and the elements.
async fn check_accessibility(browser: &Browser, axe: &str, page: &str) {
    browser
        .execute(&format!("{axe}\n;return typeof axe;"))
        .await;
    let result = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })\
               .then(results => done({ passed: results.passes.length, violations: results.violations\
                 .filter(v => v.impact === 'serious' || v.impact === 'critical')\
                 .map(v => ({ id: v.id, impact: v.impact, help: v.help,\
                              nodes: v.nodes.slice(0, 3).map(n => n.html) })) }))\
               .catch(error => done({ passed: 0, violations: [{ id: 'axe-error', help: String(error) }] }));",
        )
        .await;
    // Rules passed: axe really looked at the page.
    assert!(
        result["passed"].as_u64().unwrap_or(0) > 5,
        "{page}: axe-core did not run: {result}"
    );
    let violations = result["violations"].as_array().cloned().unwrap();
    assert!(
        violations.is_empty(),
        "{page}: axe-core found serious violations: {}",
        serde_json::to_string_pretty(&violations).unwrap()
    );
}

#[tokio::test]
async fn reports_confirmations_and_an_accessibility_check_in_a_real_browser() {
    let (network, base, _driver, browser) = open_instance_with_registration().await;
    let instance = network.instance("web");
    let context = instance.context();
    let axe = axe_core_script();
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/browser");

    // Ann (an administrator) founds "repair" and writes a thread; bob joins and writes spam;
    // cid reports it from the thread page.
    register(&browser, &base, "ann").await;
    kindred_entities::user::Entity::update_many()
        .col_expr(
            kindred_entities::user::Column::IsAdmin,
            sea_orm::sea_query::Expr::value(true),
        )
        .filter(kindred_entities::user::Column::Name.eq("ann"))
        .exec(&context.db)
        .await
        .unwrap();
    browser.go(&format!("{base}/create-group")).await;
    browser.type_into("#name", "repair").await;
    browser.type_into("#title", "Repair café").await;
    browser.click("main form button[type=submit]").await;
    browser.wait_for("Threads").await;
    let find_person = async |name: &str| {
        kindred::groups::directory::find_local_actor_by_name(&context.db, name)
            .await
            .unwrap()
            .unwrap()
    };
    let group = kindred::groups::directory::find_local_group(&context.db, "repair")
        .await
        .unwrap();
    let thread = kindred::actions::posts::start_thread(
        &context,
        &find_person("ann").await,
        &group,
        kindred::groups::posts::Draft {
            title: Some("Our kettle clicks".into()),
            markdown: "It clicks, then **nothing**.\n\n> quoted\n\n```\ncode\n```".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let thread_url = format!("{base}/posts/{}", thread.id);
    sign_out(&browser).await;
    register(&browser, &base, "bob").await;
    browser.go(&format!("{base}/groups/repair")).await;
    browser.click("form[action$='/join'] button").await;
    browser.wait_for("Leave group").await;
    kindred::actions::posts::reply_to(
        &context,
        &find_person("bob").await,
        &thread,
        kindred::groups::posts::Draft {
            markdown: "Buy cheap watches at example.com".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    sign_out(&browser).await;
    register(&browser, &base, "cid").await;
    browser.go(&thread_url).await;
    browser.wait_for("Buy cheap watches").await;
    browser
        .click("article.post.reply details:has(form[action$='/report']) summary")
        .await;
    browser
        .type_into(
            "article.post.reply form[action$='/report'] textarea",
            "Spam",
        )
        .await;
    browser
        .click("article.post.reply form[action$='/report'] button")
        .await;
    // The page the report lands on (the thread page already says "report" in its forms, and
    // signing out from it while it is being left clicks a vanishing button).
    browser.wait_for("Your report was sent to the group").await;
    sign_out(&browser).await;

    // Ann signs in again and hears of the report, naming cid and the group's title.
    browser.go(&format!("{base}/login")).await;
    check_accessibility(&browser, &axe, "/login").await;
    browser.type_into("#name", "ann").await;
    browser.type_into("#password", "a long password").await;
    browser.click("main form button[type=submit]").await;
    browser.wait_for("href=\"/users/ann\"").await;
    browser.go(&format!("{base}/notifications")).await;
    let notifications = browser.wait_for("cid reported a post").await;
    assert!(notifications.contains("<strong>Repair café</strong>"));
    check_accessibility(&browser, &axe, "/notifications").await;

    for (width, label) in [(1280, "desktop"), (390, "phone")] {
        browser.resize(width, 900).await;
        // The report screen: the post, its author, the reason, and the buttons in place. Ban
        // asks first: its button shows only once "Ban bob…" is unfolded.
        browser
            .go(&format!("{base}/groups/repair/moderation"))
            .await;
        let screen = browser.wait_for("Buy cheap watches").await;
        assert!(screen.contains("Spam"), "the reason");
        let ban_button = "form[action='/groups/repair/bans'] button.danger";
        let displayed =
            format!("return document.querySelector(\"{ban_button}\").checkVisibility()");
        assert_eq!(browser.execute(&displayed).await, serde_json::json!(false));
        browser
            .click("details.confirm:has(form[action='/groups/repair/bans']) summary")
            .await;
        assert_eq!(browser.execute(&displayed).await, serde_json::json!(true));
        browser
            .screenshot(&shots.join(format!("report-{label}.png")))
            .await;
        check_accessibility(&browser, &axe, &format!("moderation at {width}px")).await;
        // The thread, with the moderator's menu and the author's delete, both folded.
        browser.go(&thread_url).await;
        browser.wait_for("Our kettle clicks").await;
        check_accessibility(&browser, &axe, &format!("thread at {width}px")).await;
    }
    browser.resize(1280, 900).await;

    // Removing from the report screen.
    browser
        .go(&format!("{base}/groups/repair/moderation"))
        .await;
    browser
        .click("form[action$='/moderate/remove'] button")
        .await;
    // It lands on the thread, where moderators still see what was removed, marked so.
    browser.wait_for("Removed by a moderator.").await;
    browser.go(&thread_url).await;

    // Deleting one's own thread asks first.
    let yes_delete = format!(
        "return document.querySelector(\"form[action='/posts/{}/delete'] button\").checkVisibility()",
        thread.id
    );
    assert_eq!(browser.execute(&yes_delete).await, serde_json::json!(false));
    browser
        .click(&format!(
            "details.confirm:has(form[action='/posts/{}/delete']) summary",
            thread.id
        ))
        .await;
    assert_eq!(browser.execute(&yes_delete).await, serde_json::json!(true));
    browser
        .screenshot(&shots.join("delete-confirmation.png"))
        .await;
    browser
        .click(&format!(
            "form[action='/posts/{}/delete'] button",
            thread.id
        ))
        .await;
    browser.wait_for("deleted").await;

    // A day of federation-health samples, for the admin charts.
    for hours_ago in 0..24_i64 {
        use sea_orm::ActiveValue::{NotSet, Set};
        kindred_entities::federation_health_sample::Entity::insert(
            kindred_entities::federation_health_sample::ActiveModel {
                id: NotSet,
                sampled_at: Set(chrono::Utc::now() - chrono::Duration::hours(hours_ago)),
                delivered: Set(400 + 37 * ((hours_ago * 7) % 11)),
                failed: Set((hours_ago * 13) % 40),
                refused: Set(hours_ago % 3),
                queue_depth: Set((hours_ago * 29) % 120),
                failing_servers: Set(hours_ago % 4),
                dead_servers: Set(i64::from(hours_ago > 18)),
            },
        )
        .exec(&context.db)
        .await
        .unwrap();
    }

    // The other main pages, as a signed-in administrator.
    for path in [
        "/",
        "/groups",
        "/groups/repair",
        "/groups/repair/new-thread",
        "/groups/repair/edit",
        "/search?q=kettle",
        "/settings",
        "/users/ann",
        "/admin",
        "/admin/federation",
        "/groups/repair/modlog",
    ] {
        browser.go(&format!("{base}{path}")).await;
        browser.wait_for("</main>").await;
        check_accessibility(&browser, &axe, path).await;
        if path == "/admin/federation" {
            browser
                .screenshot(&shots.join("federation-health.png"))
                .await;
        }
    }
    sign_out(&browser).await;
    browser.go(&format!("{base}/register")).await;
    check_accessibility(&browser, &axe, "/register").await;
    browser.close().await;
    network.stop().await;
}
