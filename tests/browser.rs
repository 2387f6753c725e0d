//! The pages in a real browser: runs `node --test` over `tests/browser/` (Debian's chromium
//! through playwright-core, axe-core; see `tests/browser/lib/`) against the `okienko` binary
//! cargo built, so the README's test command runs them. The server under test sends its
//! e-mails over SMTP to aiosmtpd, started by the tests.
//!
//! Without chromium, aiosmtpd or the npm packages (`npm ci` in `tests/browser`) the test prints a
//! notice and passes, except under CI=true or OKIENKO_REQUIRE_BROWSER=1, where it fails:
//! `.ci/run` installs them all.

use std::path::Path;
use std::process::Command;

fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
        || std::env::var("OKIENKO_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

/// Why the browser tests cannot run here, if they cannot.
fn missing(dir: &Path) -> Option<String> {
    let chromium = std::env::var("OKIENKO_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Some(format!("{chromium} is missing (apt-get install chromium)"));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node is missing".into());
    }
    // The tests' e-mails go over SMTP to aiosmtpd (tests/browser/lib/smtp.mjs).
    let aiosmtpd = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .status()
        .is_ok_and(|s| s.success());
    if !aiosmtpd {
        return Some("aiosmtpd is missing (pip install aiosmtpd)".into());
    }
    for package in ["playwright-core", "@axe-core/playwright"] {
        if !dir.join("node_modules").join(package).exists() {
            return Some(format!(
                "{package} is not installed (npm ci in {})",
                dir.display()
            ));
        }
    }
    None
}

#[test]
fn pages_in_chromium() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    if let Some(why) = missing(&dir) {
        assert!(!required(), "the browser tests cannot run: {why}");
        eprintln!("notice: skipping the browser tests: {why}");
        return;
    }
    let mut tests: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/browser")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".test.mjs"))
        .collect();
    tests.sort();
    assert!(!tests.is_empty(), "no tests/browser/*.test.mjs");
    let out = Command::new("node")
        .arg("--test")
        .arg("--test-concurrency=1")
        .args(&tests)
        .current_dir(&dir)
        .env("OKIENKO_BIN", env!("CARGO_BIN_EXE_okienko"))
        .output()
        .expect("run node --test");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(out.status.success(), "browser tests failed:\n{text}");
}
