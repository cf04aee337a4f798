//! A test harness for the binaries whose tests need a service (Redis, Chromium, Node.js): each test is
//! run as libtest runs it, but when the service is missing it is reported as *ignored*, in the
//! summary, instead of passing without doing anything. With the matching `REQUIRE_*` variable
//! set (as CI sets it), a missing service fails the tests instead.

use std::future::Future;

use libtest_mimic::{Arguments, Trial};

/// What a binary's tests need.
#[derive(Clone, Copy)]
pub enum Needs {
    /// `redis-server` on `PATH` (`REQUIRE_REDIS` makes it mandatory).
    Redis,
    /// `chromium` and `chromedriver` on `PATH` (`REQUIRE_BROWSER` makes them mandatory).
    Browser,
    /// Node.js with the locked npm packages of `tests/peers` installed (`npm ci` there;
    /// `REQUIRE_NODE` makes them mandatory).
    Node,
    /// Nothing beyond the machine.
    Nothing,
}

impl Needs {
    /// Whether the tests must be skipped: the service is missing and not required.
    fn skipped(self) -> bool {
        let (programs, required): (&[&str], &str) = match self {
            Needs::Redis => (&["redis-server"], "REQUIRE_REDIS"),
            Needs::Browser => (&["chromium", "chromedriver"], "REQUIRE_BROWSER"),
            Needs::Node => (&["node"], "REQUIRE_NODE"),
            Needs::Nothing => return false,
        };
        let installed = match self {
            Needs::Node => super::peers_dir().join("node_modules/oidc-provider").is_dir(),
            _ => true,
        };
        let missing = !installed || programs.iter().any(|program| !super::on_path(program));
        missing && std::env::var_os(required).is_none()
    }
}

/// How a test's Tokio runtime runs.
#[derive(Clone, Copy)]
pub enum Runtime {
    /// One thread, as `#[tokio::test]`.
    CurrentThread,
    /// Two worker threads, as `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]`.
    MultiThread,
}

/// One test: `body` on a fresh runtime, ignored when `needs` is missing.
pub fn trial<F, Fut>(name: &str, needs: Needs, runtime: Runtime, body: F) -> Trial
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    Trial::test(name, move || {
        let runtime = match runtime {
            Runtime::CurrentThread => tokio::runtime::Builder::new_current_thread(),
            Runtime::MultiThread => {
                let mut builder = tokio::runtime::Builder::new_multi_thread();
                builder.worker_threads(2);
                builder
            }
        }
        .enable_all()
        .build()
        .expect("a Tokio runtime");
        runtime.block_on(body());
        Ok(())
    })
    .with_ignored_flag(needs.skipped())
}

/// Run the binary's tests with libtest's command line (filters, `--ignored`, `--list`...).
pub fn run(trials: Vec<Trial>) -> ! {
    libtest_mimic::run(&Arguments::from_args(), trials).exit()
}
