//! What the real-browser tests share: Debian's Chromium, the locked npm packages that drive and
//! audit it (playwright-core, axe-core, from `tests/browser`'s lockfile into `target/`), and the
//! pruning of old screenshot runs under `target/tmp/`; and `npm ci` of a committed lockfile into
//! `target/`, which the stock clients (`stock_clients.rs`) use too.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Debian's Chromium, the browser the scripts drive.
const CHROMIUM: &str = "/usr/bin/chromium";
/// The browser tests' folder: package.json, package-lock.json and the scripts.
pub const BROWSER_TESTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser");
/// How many earlier runs' screenshots are kept next to the new one.
const KEPT_RUNS: usize = 4;

/// Deletes all but the latest runs' screenshots (about 3 MB a run). Run folders are named by a
/// UUIDv7, so their names sort by time.
pub fn prune_old_runs(runs: &Path) {
    let mut folders: Vec<PathBuf> = std::fs::read_dir(runs)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("run-"))
        })
        .collect();
    folders.sort();
    for old in folders.iter().rev().skip(KEPT_RUNS) {
        std::fs::remove_dir_all(old).ok();
    }
}

/// The browser. A test never installs system packages: when it is missing, the message names
/// the package (`.ci/run` installs it when it runs as root).
pub fn chromium() -> &'static str {
    assert!(
        Path::new(CHROMIUM).is_file(),
        "{CHROMIUM} is missing: the browser tests need Debian's Chromium; install it with \
         `apt-get install chromium` (see the README's first lines)"
    );
    CHROMIUM
}

/// A folder whose `node_modules` holds the locked playwright-core and axe-core, installed with
/// `npm ci` from the committed lockfile when missing or when the lockfile changed. No browser is
/// downloaded.
pub fn browser_deps() -> PathBuf {
    let deps = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-deps");
    let lock = std::fs::read(Path::new(BROWSER_TESTS).join("package-lock.json")).unwrap();
    let installed = deps
        .join("node_modules/playwright-core/package.json")
        .is_file()
        && deps.join("node_modules/axe-core/axe.min.js").is_file()
        && std::fs::read(deps.join("package-lock.json")).ok() == Some(lock.clone());
    if installed {
        return deps;
    }
    std::fs::create_dir_all(&deps).unwrap();
    npm_ci(
        Path::new(BROWSER_TESTS),
        &deps,
        "tests/browser (playwright-core, axe-core)",
    );
    deps
}

/// Installs `package`'s locked npm packages into `into/node_modules` with `npm ci` from its
/// committed package.json and package-lock.json (copied into `into`), running no package's
/// install script; panics with npm's output, naming `what`, when that fails.
pub fn npm_ci(package: &Path, into: &Path, what: &str) {
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(package.join(file), into.join(file)).unwrap();
    }
    let npm = Command::new("npm")
        .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
        // playwright-core's (no browser download); every other package ignores it.
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        .current_dir(into)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run `npm` ({e}): install Node.js 20+ with npm"));
    assert!(
        npm.status.success(),
        "npm ci of {what} failed (is the npm registry reachable?):\n{}{}",
        String::from_utf8_lossy(&npm.stdout),
        String::from_utf8_lossy(&npm.stderr)
    );
}
