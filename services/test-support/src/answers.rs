//! Reading the answers the end-to-end tests get: the parts many test files pick out the same
//! way.

use serde_json::Value;

/// The code of the booking `createBooking` made (panics with the answer when there is none).
pub fn booking_code(v: &Value) -> String {
    v["data"]["createBooking"]["booking"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string()
}

/// The `action` of every entry of `auditLog { entries { action } }` in an answer's `data`.
pub fn audit_actions(data: &Value) -> Vec<&str> {
    data["auditLog"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect()
}

/// An HTTP answer as the tests compare it: status, `Retry-After`, JSON body.
pub async fn status_retry_json(r: reqwest::Response) -> (u16, Option<String>, Value) {
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (status, retry, r.json().await.unwrap())
}

/// The server refused to start in production mode because of a development-only setting.
pub fn assert_refused_without_dev(out: &std::process::Output) {
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("OKIENKO_DEV=1"));
}
