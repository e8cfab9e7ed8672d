//! A small W3C WebDriver client for the browser tests: starts Debian's `chromedriver`, opens a
//! headless Chromium that resolves the test network's host names, and drives it (navigate,
//! type, click, read the page, take a screenshot). Only the commands the tests use.

use base64::Engine;
use serde_json::{Value, json};
use std::{collections::BTreeMap, net::IpAddr, path::Path, process::Stdio, time::Duration};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

/// The key under which WebDriver returns an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A running chromedriver.
pub struct ChromeDriver {
    _process: Child,
    base: String,
    client: reqwest::Client,
}

/// One browser window (a WebDriver session).
pub struct Browser {
    base: String,
    client: reqwest::Client,
}

impl ChromeDriver {
    /// Starts `chromedriver` (from `/usr/bin` or `PATH`) and waits until it answers. It is
    /// given port 0 and picks a free port itself, which it prints: choosing a port here and
    /// passing it on would race with any other process binding it in between. Panics with a
    /// clear message when Chromium or ChromeDriver is not installed: `.ci/run` installs
    /// Debian's `chromium` and `chromium-driver`.
    pub async fn start() -> ChromeDriver {
        let mut process = Command::new(chromedriver_path())
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot start chromedriver ({error}); install Debian's chromium and chromium-driver \
                     (apt-get install chromium chromium-driver), as .ci/run does"
                )
            });
        let stdout = process.stdout.take().expect("stdout is piped");
        let port = tokio::time::timeout(Duration::from_secs(30), port_announced(stdout))
            .await
            .unwrap_or_else(|_| panic!("chromedriver did not say which port it listens on"));
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        for _ in 0..100 {
            if let Ok(response) = client.get(format!("{base}/status")).send().await
                && response.status().is_success()
            {
                return ChromeDriver {
                    _process: process,
                    base,
                    client,
                };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not start on port {port}");
    }

    /// Opens a headless Chromium window that resolves every host in `hosts` to its address.
    pub async fn open(&self, hosts: &BTreeMap<String, IpAddr>) -> Browser {
        let rules = hosts
            .iter()
            .map(|(host, address)| format!("MAP {host} {address}"))
            .collect::<Vec<_>>()
            .join(", ");
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": chromium_path(),
                        "args": [
                            "--headless=new",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--disable-dev-shm-usage",
                            "--no-first-run",
                            "--window-size=1100,1000",
                            format!("--host-resolver-rules={rules}"),
                        ]
                    }
                }
            }
        });
        let answer: Value = self
            .client
            .post(format!("{}/session", self.base))
            .json(&capabilities)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver refused a session: {answer}"));
        let browser = Browser {
            base: format!("{}/session/{session}", self.base),
            client: self.client.clone(),
        };
        // Finding an element waits for it to appear, as a person waits for a page to load.
        browser
            .command(
                reqwest::Method::POST,
                "/timeouts",
                Some(json!({ "implicit": 10_000 })),
            )
            .await;
        browser
    }
}

impl Browser {
    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        if let Some(error) = answer["value"]["error"].as_str() {
            panic!(
                "WebDriver {path}: {error}: {}",
                answer["value"]["message"].as_str().unwrap_or_default()
            );
        }
        answer["value"].clone()
    }

    pub async fn go(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    pub async fn current_url(&self) -> String {
        self.command(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The page's HTML as the browser holds it now.
    pub async fn source(&self) -> String {
        self.command(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Asks `check` every 50 ms, for up to 15 seconds, until it has an answer; `None` if it
    /// never had one.
    async fn poll_for<T>(&self, mut check: impl AsyncFnMut() -> Option<T>) -> Option<T> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(answer) = check().await {
                return Some(answer);
            }
            if tokio::time::Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (up to 15 seconds) until the page contains `text`, and returns the page: a click
    /// that submits a form returns before the next page has loaded.
    pub async fn wait_for(&self, text: &str) -> String {
        let shown = self
            .poll_for(async || {
                let source = self.source().await;
                source.contains(text).then_some(source)
            })
            .await;
        match shown {
            Some(source) => source,
            None => panic!(
                "the page at {} never showed {text:?}: {}",
                self.current_url().await,
                self.source().await
            ),
        }
    }

    /// Waits (up to 15 seconds) until the picture matched by `css` has loaded, and returns
    /// its natural width: the `alt` text is in the page before the picture's bytes arrive, so a
    /// check right after `wait_for` can see a width of 0.
    pub async fn wait_for_picture(&self, css: &str) -> u64 {
        let css_literal = serde_json::to_string(css).unwrap();
        let script = format!(
            "const img = document.querySelector({css_literal}); \
             return img !== null && img.complete ? img.naturalWidth : 0;"
        );
        let loaded = self
            .poll_for(async || {
                let width = self.execute(&script).await.as_u64().unwrap_or_default();
                (width > 0).then_some(width)
            })
            .await;
        match loaded {
            Some(width) => width,
            None => panic!(
                "the picture {css} at {} never loaded",
                self.current_url().await
            ),
        }
    }

    async fn element(&self, css: &str) -> String {
        let found = self
            .command(
                reqwest::Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        match found[ELEMENT_KEY].as_str() {
            Some(element) => element.to_string(),
            None => panic!(
                "no element {css} ({found}) at {}: {}",
                self.current_url().await,
                self.source().await
            ),
        }
    }

    /// Types `text` into the field matched by `css`.
    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.element(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Clicks the element matched by `css` (a link or a submit button).
    pub async fn click(&self, css: &str) {
        let element = self.element(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// The visible text of the element matched by `css`.
    pub async fn text(&self, css: &str) -> String {
        let element = self.element(css).await;
        self.command(
            reqwest::Method::GET,
            &format!("/element/{element}/text"),
            None,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Runs `script` (a function body; `return` gives the result) in the page.
    pub async fn execute(&self, script: &str) -> Value {
        self.command(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// Runs `script` asynchronously: it calls its last argument (`arguments[0]` here) with
    /// the result, which this returns (for promises, such as axe-core's `axe.run`).
    pub async fn execute_async(&self, script: &str) -> Value {
        self.command(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// Resizes the window (its outer size; headless Chromium's viewport follows).
    pub async fn resize(&self, width: u32, height: u32) {
        self.command(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )
        .await;
    }

    /// Saves a PNG screenshot of the window at `path`.
    pub async fn screenshot(&self, path: &Path) {
        let encoded = self
            .command(reqwest::Method::GET, "/screenshot", None)
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap_or_default())
            .unwrap();
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).unwrap();
        }
        std::fs::write(path, png).unwrap();
    }

    pub async fn close(self) {
        let _ = self.client.delete(&self.base).send().await;
    }
}

/// Reads chromedriver's output until its "was started successfully on port N." line, and
/// keeps draining it afterwards so the process never blocks on a full pipe.
async fn port_announced(stdout: tokio::process::ChildStdout) -> u16 {
    let mut lines = BufReader::new(stdout).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(rest) = line.split("started successfully on port ").nth(1)
            && let Ok(port) = rest.trim_end_matches('.').trim().parse::<u16>()
        {
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return port;
        }
    }
    panic!("chromedriver exited without saying which port it listens on");
}

fn chromedriver_path() -> &'static str {
    if Path::new("/usr/bin/chromedriver").exists() {
        "/usr/bin/chromedriver"
    } else {
        "chromedriver"
    }
}

fn chromium_path() -> &'static str {
    if Path::new("/usr/bin/chromium").exists() {
        "/usr/bin/chromium"
    } else {
        "chromium"
    }
}
