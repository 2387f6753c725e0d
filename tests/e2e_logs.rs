//! Logs an operator's collector can read (issue 15): `OKIENKO_LOG_FORMAT=json` writes one JSON
//! object per line; an unknown format is refused before the server starts.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;
use std::time::Duration;

use common::{output_text, Server};
use serde_json::Value;

/// The log's lines once `pred` holds for one of them (the log is written as the server runs).
async fn lines_once(s: &Server, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
    for _ in 0..100 {
        let log = s.log();
        let lines: Vec<Value> = log
            .lines()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l:?}\n{log}"))
            })
            .collect();
        if lines.iter().any(&pred) {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the awaited line never came:\n{}", s.log());
}

fn message(v: &Value) -> &str {
    v.pointer("/fields/message")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

#[tokio::test]
async fn json_log_is_one_object_per_line_with_level_target_and_fields() {
    let s = Server::builder()
        .env("OKIENKO_LOG_FORMAT", "json")
        .start()
        .await;
    let answer = s.book_gdynia("anna@example.pl").await;
    let code = answer
        .pointer("/data/createBooking/booking/code")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{answer}"))
        .to_string();

    let lines = lines_once(&s, |v| message(v) == "booking created").await;
    for l in &lines {
        for key in ["timestamp", "level", "target"] {
            assert!(l[key].is_string(), "no {key} in {l}");
        }
        assert!(l["fields"]["message"].is_string(), "no message in {l}");
        assert!(
            ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"].contains(&l["level"].as_str().unwrap()),
            "{l}"
        );
    }
    let ready = lines
        .iter()
        .find(|l| message(l) == "okienko ready")
        .unwrap();
    assert_eq!(ready["level"], "INFO");
    assert_eq!(ready["target"], "okienko_server");
    assert!(ready["fields"]["listen"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1:"));
    // The request's own line carries its fields as fields, not inside the message.
    let created = lines
        .iter()
        .find(|l| message(l) == "booking created")
        .unwrap();
    assert_eq!(created["fields"]["tenant"], "gdynia");
    assert_eq!(created["fields"]["booking"], code.as_str());
}

#[tokio::test]
async fn human_log_stays_the_default() {
    let s = Server::start().await;
    let log = s.log();
    let ready = log.lines().find(|l| l.contains("okienko ready")).unwrap();
    assert!(serde_json::from_str::<Value>(ready).is_err(), "{ready}");
    assert!(ready.contains("INFO"), "{ready}");
}

#[test]
fn unknown_log_format_is_refused_at_start_naming_the_variable() {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_okienko"))
        .env_clear()
        .env("OKIENKO_DATA_DIR", data.path())
        .env(
            "OKIENKO_LISTEN",
            format!("127.0.0.1:{}", common::free_port()),
        )
        .env("OKIENKO_LOG_FORMAT", "xml")
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", output_text(&out));
    let text = output_text(&out);
    assert!(text.contains("OKIENKO_LOG_FORMAT"), "{text}");
    assert!(text.contains("\"xml\""), "{text}");
    assert!(text.contains("nieznany format dziennika"), "{text}");
    // Refused before serving: nothing was set up in the data directory.
    assert!(!data.path().join("okienko.db").exists());
}
