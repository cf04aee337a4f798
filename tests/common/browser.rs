//! A headless Chromium driven over WebDriver: Debian's `chromium` and `chromium-driver`, one
//! browser per test. Without them the tests skip with a message, unless `REQUIRE_BROWSER` is set
//! (as `.ci/run` does); then a missing browser is a failure.

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// A chromedriver process and the browser session it runs; both end when dropped.
struct Driver {
    process: Child,
    client: Client,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Killing chromedriver takes its Chromium with it.
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Where failing tests leave their last screenshot.
pub fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("browser-screenshots")
}

async fn start() -> Option<Driver> {
    if !super::on_path("chromedriver") || !super::on_path("chromium") {
        assert!(
            std::env::var_os("REQUIRE_BROWSER").is_none(),
            "REQUIRE_BROWSER is set but chromium or chromedriver is not installed"
        );
        eprintln!(
            "skipping: chromium and chromedriver are not installed (apt-get install chromium \
             chromium-driver; set REQUIRE_BROWSER=1 to make this an error)"
        );
        return None;
    }
    let mut process = Command::new("chromedriver")
        .arg("--port=0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let mut stdout = BufReader::new(process.stdout.take().expect("stdout"));
    // "ChromeDriver was started successfully on port 40887."
    let port = loop {
        let mut line = String::new();
        let read = stdout.read_line(&mut line).expect("chromedriver's output");
        assert!(read > 0, "chromedriver exited before it listened");
        if let Some(rest) = line.split("started successfully on port ").nth(1) {
            break rest.trim().trim_end_matches('.').to_owned();
        }
    };
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut stdout, &mut std::io::sink());
    });
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        json!({ "args": [
            "--headless=new",
            // Containers run as root, where Chromium's sandbox cannot start.
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--window-size=1000,1100",
        ]}),
    );
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a Chromium session");
    Some(Driver { process, client })
}

/// Run `body` in a fresh headless Chromium. A failing body leaves a screenshot of the page as it
/// stood in `target/browser-screenshots/<name>.png`, then fails the test.
pub async fn run<F, Fut>(name: &str, body: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(driver) = start().await else { return };
    let outcome = tokio::spawn(body(driver.client.clone())).await;
    if let Err(failure) = outcome {
        if let Ok(png) = driver.client.screenshot().await {
            let dir = screenshot_dir();
            let _ = std::fs::create_dir_all(&dir);
            let path = dir.join(format!("{name}.png"));
            if std::fs::write(&path, png).is_ok() {
                eprintln!("screenshot of the failing page: {}", path.display());
            }
        }
        let _ = driver.client.clone().close().await;
        std::panic::resume_unwind(failure.into_panic());
    }
    let _ = driver.client.clone().close().await;
}

/// Run `script` in the page (a function body; may return a promise, which is awaited).
pub async fn js(client: &Client, script: &str) -> Value {
    client.execute(script, Vec::new()).await.unwrap_or_else(|e| panic!("{script}: {e}"))
}

/// The visible text of the element with this id.
pub async fn text(client: &Client, id: &str) -> String {
    element(client, id).await.text().await.expect("its text")
}

/// Click the element with this id, as a user would: centred in the view, once the page has
/// laid itself out. A page that reflowed between finding the element and clicking it (the
/// browser then reports the click as intercepted) is given another frame, a few times.
pub async fn click(client: &Client, id: &str) {
    try_click(client, id).await.unwrap_or_else(|e| panic!("click #{id}: {e}"));
}

/// [`click`], or why the browser would not (the element hidden or covered meanwhile, say).
pub async fn try_click(client: &Client, id: &str) -> Result<(), String> {
    const SETTLE: &str = "arguments[0].scrollIntoView({ block: 'center' }); \
        return new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));";
    let mut attempt = 0;
    loop {
        attempt += 1;
        let target = element(client, id).await;
        let argument = serde_json::to_value(&target).expect("an element reference");
        client.execute(SETTLE, vec![argument]).await.map_err(|e| e.to_string())?;
        match target.click().await {
            Ok(()) => return Ok(()),
            Err(e) if attempt < 5 && e.to_string().contains("click intercepted") => continue,
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// The element with this id.
pub async fn element(client: &Client, id: &str) -> fantoccini::elements::Element {
    client.find(Locator::Id(id)).await.unwrap_or_else(|e| panic!("#{id}: {e}"))
}
