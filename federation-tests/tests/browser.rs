//! The web interface in a real browser: headless Chromium (Debian's `chromium`, driven through
//! `chromedriver`) against a real Kindred instance on its own host name. Two people register,
//! one creates a group and a thread, the other joins and replies, the first sees the reply and
//! likes it. A screenshot of the thread page is saved as `target/browser/thread.png`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kindred::{config::RegistrationMode, testing};
use kindred_federation_tests::{
    TestNetwork,
    webdriver::{Browser, ChromeDriver},
};
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

async fn sign_out(browser: &Browser) {
    browser.click("header.site form button[type=submit]").await;
    browser.wait_for("href=\"/login\"").await;
}

#[tokio::test]
async fn two_people_discuss_in_a_group_through_the_web_pages() {
    // The production database when it is available; the browser run is slow enough once.
    let backend = *testing::backends_under_test().last().unwrap();
    let network = TestNetwork::start_configured(&["web"], &[], backend, |config| {
        config.instance.registration = RegistrationMode::Open;
    })
    .await;
    let instance = network.instance("web");
    let base = instance
        .public_url
        .as_str()
        .trim_end_matches('/')
        .to_string();
    let driver = ChromeDriver::start().await;
    let browser = driver.open(&network.hosts).await;

    // Ann registers, creates a group and starts a thread.
    register(&browser, &base, "ann").await;
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
    browser.click("main form button[type=submit]").await;
    browser.wait_for("<em>Philips</em>").await;
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
        .click("article.reply button.vote[aria-label='Like']")
        .await;
    browser
        .wait_for("aria-pressed=\"true\" aria-label=\"Like\"")
        .await;
    assert_eq!(
        browser
            .text("article.reply button.vote[aria-label='Like']")
            .await,
        "▲ 1"
    );

    let screenshot = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/browser/thread.png");
    browser.screenshot(&screenshot).await;
    assert!(std::fs::metadata(&screenshot).unwrap().len() > 10_000);
    browser.close().await;
    network.stop().await;
}
