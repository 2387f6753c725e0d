//! PostgreSQL in a Docker container (testcontainers), the third tier of [`crate::postgres_admin_url`].
//!
//! Used only when an engine answers and already has the image: without an engine the check
//! fails at once (testcontainers finds no socket, or the engine's ping is refused), and the
//! image is never pulled (a test run must not download anything). The container is named and
//! kept for reuse, like the throwaway cluster: the first test process starts it, later ones
//! find it running; `docker rm -f okienko-test-postgres` removes it.
//!
//! Cost, measured on the 2-core machine: without a socket `docker_client_instance` fails in
//! about 0.5 ms, and a refused engine's ping in about 2 ms. testcontainers (no default
//! features) brings 35 crates into test builds (bollard and its stubs, tonic, prost, h2 …; the
//! release binary has none of them): a clean `cargo test --workspace --no-run` took 743 CPU
//! seconds instead of 691 (+52 s, +8%).

use std::time::Duration;

use testcontainers::bollard::Docker;
use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{GenericImage, ImageExt, ReuseDirective};

/// The image used, when the engine has it (`docker pull postgres:16-alpine` once).
pub const IMAGE: &str = "postgres";
pub const TAG: &str = "16-alpine";
/// The kept container's name.
pub const NAME: &str = "okienko-test-postgres";

/// How long the engine may take to answer its ping and the image inspection together.
const ENGINE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a container may take to start (a cold start initialises its cluster).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// An admin URL of PostgreSQL in the kept container, started if needed; `None` when no engine
/// answers, it lacks the image, or the container does not start.
pub async fn postgres() -> Option<String> {
    // Without DOCKER_HOST and without a socket at the usual places this fails at once.
    let docker = testcontainers::core::client::docker_client_instance()
        .await
        .ok()?;
    if !has_image(&docker, &format!("{IMAGE}:{TAG}"), ENGINE_TIMEOUT).await {
        return None;
    }
    let container = GenericImage::new(IMAGE, TAG)
        .with_exposed_port(5432.tcp())
        .with_wait_for(WaitFor::message_on_stderr(
            "database system is ready to accept connections",
        ))
        .with_env_var("POSTGRES_HOST_AUTH_METHOD", "trust")
        .with_cmd(["postgres", "-c", "fsync=off"])
        .with_container_name(NAME)
        .with_reuse(ReuseDirective::Always)
        .with_startup_timeout(STARTUP_TIMEOUT)
        .start()
        .await
        .map_err(|e| eprintln!("notice: PostgreSQL container did not start: {e}"))
        .ok()?;
    let host = container.get_host().await.ok()?;
    let port = container.get_host_port_ipv4(5432.tcp()).await.ok()?;
    // Dropping the handle leaves a container marked for reuse running.
    drop(container);
    Some(format!("postgres://postgres@{host}:{port}/postgres"))
}

/// Whether the engine answers its ping and has `image` locally, within `timeout`. Asks nothing
/// else of it: no pull, no container.
pub async fn has_image(docker: &Docker, image: &str, timeout: Duration) -> bool {
    let check = async {
        docker.ping().await.ok()?;
        docker.inspect_image(image).await.ok()
    };
    matches!(tokio::time::timeout(timeout, check).await, Ok(Some(_)))
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::extract::State;
    use axum::http::{Method, StatusCode, Uri};
    use testcontainers::bollard::API_DEFAULT_VERSION;

    use super::*;

    type Asked = Arc<Mutex<Vec<String>>>;

    /// A stand-in engine on a Unix socket: answers its ping, says whether it has the image, and
    /// records every request (anything else is answered 500).
    async fn engine(has_the_image: bool) -> (tempfile::TempDir, Docker, Asked) {
        let dir = tempfile::tempdir().expect("temp dir");
        let sock = dir.path().join("docker.sock");
        let listener = tokio::net::UnixListener::bind(&sock).expect("bind socket");
        let asked: Asked = Arc::default();
        let app = axum::Router::new()
            .fallback(
                move |State(asked): State<Asked>, method: Method, uri: Uri| async move {
                    let path = uri.path().to_string();
                    asked.lock().unwrap().push(format!("{method} {path}"));
                    if path.ends_with("/_ping") {
                        (StatusCode::OK, "OK".to_string())
                    } else if method == Method::GET
                        && path.contains("/images/")
                        && path.ends_with("/json")
                    {
                        if has_the_image {
                            (StatusCode::OK, r#"{"Id":"sha256:0123"}"#.to_string())
                        } else {
                            (
                                StatusCode::NOT_FOUND,
                                r#"{"message":"No such image"}"#.to_string(),
                            )
                        }
                    } else {
                        (StatusCode::INTERNAL_SERVER_ERROR, "{}".to_string())
                    }
                },
            )
            .with_state(asked.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let docker = Docker::connect_with_unix(&sock.display().to_string(), 5, API_DEFAULT_VERSION)
            .expect("client");
        (dir, docker, asked)
    }

    #[tokio::test]
    async fn an_engine_without_the_image_is_not_used_and_nothing_is_pulled() {
        let (_dir, docker, asked) = engine(false).await;
        assert!(!has_image(&docker, "postgres:16-alpine", ENGINE_TIMEOUT).await);
        let asked = asked.lock().unwrap().clone();
        assert_eq!(asked.len(), 2, "{asked:?}");
        assert!(
            asked[0].starts_with("GET ") && asked[0].ends_with("/_ping"),
            "{asked:?}"
        );
        assert!(
            asked[1].ends_with("/images/postgres:16-alpine/json"),
            "{asked:?}"
        );
    }

    #[tokio::test]
    async fn an_engine_with_the_image_is_used() {
        let (_dir, docker, asked) = engine(true).await;
        assert!(has_image(&docker, "postgres:16-alpine", ENGINE_TIMEOUT).await);
        assert_eq!(asked.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn no_engine_is_no_container() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("docker.sock").display().to_string();
        // The client may refuse the missing socket at once, or its first request fails.
        let usable = match Docker::connect_with_unix(&missing, 5, API_DEFAULT_VERSION) {
            Err(_) => false,
            Ok(docker) => has_image(&docker, "postgres:16-alpine", ENGINE_TIMEOUT).await,
        };
        assert!(!usable);
    }

    #[tokio::test]
    async fn an_engine_that_never_answers_is_given_up() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sock = dir.path().join("docker.sock");
        // Accepts connections and never answers.
        let listener = tokio::net::UnixListener::bind(&sock).expect("bind socket");
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = listener.accept().await {
                held.push(s);
            }
        });
        let docker =
            Docker::connect_with_unix(&sock.display().to_string(), 60, API_DEFAULT_VERSION)
                .expect("client");
        assert!(!has_image(&docker, "postgres:16-alpine", Duration::from_millis(200)).await);
    }
}
