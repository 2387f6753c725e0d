//! Traces (issue 15 item 1): spans leave the process over OTLP/HTTP to a receiver on loopback,
//! the request's span is the child of the caller's W3C `traceparent`, the store and the city's
//! policy are its descendants, the buffer is flushed at a graceful shutdown, and the JSON log
//! lines of the request carry its trace id.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::routing::post;
use common::*;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::{json, Value};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

/// An OTLP/HTTP receiver on a free loopback port: its base URL and the spans it received.
async fn receiver() -> (String, Arc<Mutex<Vec<Span>>>) {
    let spans = Arc::new(Mutex::new(Vec::new()));
    let kept = spans.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let kept = kept.clone();
            async move {
                let req = ExportTraceServiceRequest::decode(body).unwrap();
                let mut kept = kept.lock().unwrap();
                for r in req.resource_spans {
                    for s in r.scope_spans {
                        kept.extend(s.spans);
                    }
                }
                (
                    [("content-type", "application/x-protobuf")],
                    Vec::<u8>::new(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, spans)
}

fn attr(s: &Span, key: &str) -> Option<String> {
    s.attributes
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.as_ref()?.value.as_ref())
        .map(|v| match v {
            Any::StringValue(s) => s.clone(),
            Any::IntValue(i) => i.to_string(),
            other => format!("{other:?}"),
        })
}

/// Whether `x` is `ancestor` or below it among `all`.
fn descends(x: &Span, ancestor: &[u8], all: &[&Span]) -> bool {
    let mut cur = x;
    for _ in 0..all.len() + 1 {
        if cur.span_id == ancestor {
            return true;
        }
        match all.iter().find(|p| p.span_id == cur.parent_span_id) {
            Some(p) => cur = p,
            None => return false,
        }
    }
    false
}

#[tokio::test]
async fn a_request_is_traced_from_its_traceparent_and_flushed_at_shutdown() {
    let (otlp, spans) = receiver().await;
    let mut s = Server::builder()
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &otlp)
        .env("OTEL_SERVICE_NAME", "okienko-test")
        .env("OKIENKO_LOG_FORMAT", "json")
        .env(
            "RUST_LOG",
            "info,tokio_postgres=warn,okienko_web::trace_layer=debug",
        )
        .start()
        .await;
    let (service, start, _) = s.free_slot_of("cieszyn", "meldunek", "2026-12-02").await;
    let body = json!({
        "query": "mutation Rezerwuj($i: CreateBookingInput!) { createBooking(input: $i) { booking { code } } }",
        "operationName": "Rezerwuj",
        "variables": { "i": cieszyn_input(&service, &start, "iga@example.pl") },
    });
    let r = reqwest::Client::new()
        .post(format!("{}/t/cieszyn/graphql", s.base))
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert!(v["errors"].is_null(), "{v}");

    // The batch goes out at the latest when the server stops gracefully.
    s.signal("TERM");
    assert!(s.wait_exit(Duration::from_secs(20)).await.success());
    let spans = spans.lock().unwrap().clone();
    let trace = hex::decode(TRACE_ID).unwrap();
    let ours: Vec<&Span> = spans.iter().filter(|x| x.trace_id == trace).collect();
    let request = ours
        .iter()
        .find(|x| x.parent_span_id == hex::decode(PARENT_ID).unwrap())
        .unwrap_or_else(|| panic!("the request's span, child of the traceparent: {ours:#?}"));
    assert_eq!(request.name, "POST /t/{slug}/graphql");
    assert_eq!(
        attr(request, "http.route").as_deref(),
        Some("/t/{slug}/graphql")
    );
    assert_eq!(attr(request, "tenant").as_deref(), Some("cieszyn"));
    assert_eq!(
        attr(request, "graphql.operation").as_deref(),
        Some("Rezerwuj")
    );
    // The store's and the policy's work are descendants of the request, in the same trace.
    for name in ["store.create_booking", "policy"] {
        let child = ours
            .iter()
            .find(|x| x.name == name)
            .unwrap_or_else(|| panic!("a {name} span: {ours:#?}"));
        assert!(
            descends(child, &request.span_id, &ours),
            "{name} under the request"
        );
    }

    // Every log line of the request carries its trace id.
    let log = s.log();
    let lines: Vec<Value> = log
        .lines()
        .filter(|l| l.contains(TRACE_ID))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        !lines.is_empty(),
        "a JSON log line with the trace id:\n{log}"
    );
    assert!(
        lines.iter().all(|l| l["span"]["trace_id"] == TRACE_ID),
        "{lines:?}"
    );
}

#[tokio::test]
async fn without_an_endpoint_nothing_is_exported_and_the_caller_trace_is_logged() {
    let s = Server::builder()
        .env("OKIENKO_LOG_FORMAT", "json")
        .env(
            "RUST_LOG",
            "info,tokio_postgres=warn,okienko_web::trace_layer=debug",
        )
        .start()
        .await;
    let r = reqwest::Client::new()
        .get(format!("{}/healthz", s.base))
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let log = s.log();
    assert!(
        log.lines()
            .any(|l| l.contains(TRACE_ID) && l.contains("\"answered\"")),
        "{log}"
    );
}
