//! SMS providers: a log (the default) and an HTTP gateway.

use std::path::PathBuf;

use async_trait::async_trait;

use crate::NotifyError;

#[async_trait]
pub trait SmsProvider: Send + Sync + 'static {
    async fn send(&self, to: &str, text: &str) -> Result<(), NotifyError>;
    fn name(&self) -> &'static str;
}

/// Writes SMS to the log and, when given a file, appends them there (one line each).
#[derive(Debug, Clone, Default)]
pub struct LogSms {
    pub file: Option<PathBuf>,
}

#[async_trait]
impl SmsProvider for LogSms {
    async fn send(&self, to: &str, text: &str) -> Result<(), NotifyError> {
        tracing::info!(to, text, "SMS (log provider)");
        if let Some(f) = &self.file {
            use tokio::io::AsyncWriteExt;
            if let Some(dir) = f.parent() {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| NotifyError::Transport(e.to_string()))?;
            }
            let mut h = tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(f)
                .await
                .map_err(|e| NotifyError::Transport(e.to_string()))?;
            let line = serde_json::json!({ "to": to, "text": text }).to_string() + "\n";
            h.write_all(line.as_bytes())
                .await
                .map_err(|e| NotifyError::Transport(e.to_string()))?;
        }
        Ok(())
    }

    fn name(&self) -> &'static str {
        "log"
    }
}

/// POSTs `{"to", "text", "sender"}` as JSON to a gateway URL with a bearer token;
/// any 2xx answer is a delivery.
#[derive(Debug, Clone)]
pub struct HttpSmsGateway {
    client: reqwest::Client,
    url: String,
    token: Option<String>,
    sender: String,
}

impl HttpSmsGateway {
    pub fn new(url: String, token: Option<String>, sender: String) -> Result<Self, NotifyError> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .map_err(|e| NotifyError::Config(e.to_string()))?;
        Ok(HttpSmsGateway {
            client,
            url,
            token,
            sender,
        })
    }
}

#[async_trait]
impl SmsProvider for HttpSmsGateway {
    async fn send(&self, to: &str, text: &str) -> Result<(), NotifyError> {
        let mut req = self
            .client
            .post(&self.url)
            .json(&serde_json::json!({ "to": to, "text": text, "sender": self.sender }));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| NotifyError::Transport(e.to_string()))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(NotifyError::Transport(format!(
                "gateway answered {}",
                resp.status()
            )))
        }
    }

    fn name(&self) -> &'static str {
        "http"
    }
}
