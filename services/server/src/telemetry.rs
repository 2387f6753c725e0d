//! Traces over OTLP/HTTP (issue 15 item 1), from the standard variables: nothing is built
//! without `OTEL_EXPORTER_OTLP_ENDPOINT`; `OTEL_SERVICE_NAME` (default `okienko`) and
//! `OTEL_TRACES_SAMPLER`/`_ARG` are read by the SDK itself.
//!
//! The exporter sends with reqwest's blocking client from the SDK's batch thread, so it needs no
//! async runtime; it is built and shut down outside the tokio runtime (`main`), since a
//! blocking client may be neither dropped nor flushed on an async thread.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;

/// The tracer provider when traces are exported.
pub struct Traces {
    provider: SdkTracerProvider,
}

impl Traces {
    /// `None` without `OTEL_EXPORTER_OTLP_ENDPOINT` (or with it empty).
    pub fn from_env() -> anyhow::Result<Option<Traces>> {
        let set = |k: &str| std::env::var(k).is_ok_and(|v| !v.trim().is_empty());
        if !set("OTEL_EXPORTER_OTLP_ENDPOINT") && !set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            return Ok(None);
        }
        // The endpoint comes from the variables; `/v1/traces` is added to the general one.
        let exporter = SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .build()?;
        let resource = match set("OTEL_SERVICE_NAME") {
            true => Resource::builder().build(),
            false => Resource::builder().with_service_name("okienko").build(),
        };
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build();
        Ok(Some(Traces { provider }))
    }

    pub fn tracer(&self) -> SdkTracer {
        self.provider.tracer("okienko")
    }

    /// Sends what is still buffered and stops the exporter (at the end of a graceful shutdown).
    pub fn shutdown(self) {
        if let Err(e) = self.provider.shutdown() {
            eprintln!("okienko: traces not flushed at shutdown: {e}");
        }
    }
}
