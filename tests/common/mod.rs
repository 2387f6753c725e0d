//! Runs the real `okienko` binary for end-to-end tests and talks to it over HTTP.
#![allow(dead_code, unused_imports, unused_macros, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

pub use okienko_test_support::{
    assert_refused_without_dev, audit_actions, booking_code, status_retry_json,
};

pub use okienko_test_support::{wait_for_mail, Backend, TestDb};

/// Tuesday 1 December 2026, 09:00 in Warsaw: the dev clock's start in most tests.
pub const NOW: &str = "2026-12-01T08:00:00Z";

pub struct Server {
    pub base: String,
    pub data: PathBuf,
    child: Child,
    env: Vec<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct ServerBuilder {
    env: Vec<(String, String)>,
}

impl ServerBuilder {
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.retain(|(x, _)| x != k);
        self.env.push((k.to_string(), v.to_string()));
        self
    }

    pub fn now(self, t: &str) -> Self {
        self.env("OKIENKO_DEV", "1").env("OKIENKO_NOW", t)
    }

    pub fn database(self, url: &str) -> Self {
        self.env("DATABASE_URL", url)
    }

    pub async fn start(self) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().to_path_buf();
        Server::spawn(self.env, data, Some(dir)).await
    }
}

impl Server {
    pub fn builder() -> ServerBuilder {
        // Tests send many requests from one address; `tests/e2e_rate_limits.rs` turns them on.
        ServerBuilder { env: vec![] }
            .now(NOW)
            .env("OKIENKO_RATE_LIMITS", "off")
    }

    /// The shipped cities on SQLite, the clock at `NOW`.
    pub async fn start() -> Server {
        Server::builder().start().await
    }

    /// A server as `start` gives it and the first free slot of `slug`'s service `key` from
    /// `from` on: (server, service id, start, seats left).
    pub async fn with_free_slot(
        slug: &str,
        key: &str,
        from: &str,
    ) -> (Server, String, String, i64) {
        let s = Server::start().await;
        let (service, start, remaining) = s.free_slot_of(slug, key, from).await;
        (s, service, start, remaining)
    }

    /// A server with these variables set (on top of `builder`'s).
    pub async fn with_env(env: &[(&str, &str)]) -> Server {
        let mut b = Server::builder();
        for (k, v) in env {
            b = b.env(k, v);
        }
        b.start().await
    }

    /// A server on `backend` with the PostgreSQL database it uses (kept for the test's
    /// length); `None` when that backend is unavailable (see TestDb).
    pub async fn for_backend(backend: Backend) -> Option<(Option<TestDb>, Server)> {
        let db = match backend {
            Backend::Postgres => Some(TestDb::postgres().await?),
            Backend::Sqlite => None,
        };
        let s = Server::on(backend, &db).await?;
        Some((db, s))
    }

    /// Two servers on one fresh PostgreSQL database; `None` when PostgreSQL is unavailable.
    pub async fn two_on_postgres() -> Option<(TestDb, Server, Server)> {
        let db = TestDb::postgres().await?;
        let a = Server::builder().database(&db.url).start().await;
        let b = Server::builder().database(&db.url).start().await;
        Some((db, a, b))
    }

    /// Starts on the given backend; `None` when that backend is unavailable (see TestDb).
    pub async fn on(backend: Backend, db: &Option<TestDb>) -> Option<Server> {
        match (backend, db) {
            (Backend::Sqlite, _) => Some(Server::start().await),
            (Backend::Postgres, Some(db)) => {
                Some(Server::builder().database(&db.url).start().await)
            }
            (Backend::Postgres, None) => None,
        }
    }

    async fn spawn(
        env: Vec<(String, String)>,
        data: PathBuf,
        dir: Option<tempfile::TempDir>,
    ) -> Server {
        let port = free_port();
        let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
        let log = std::fs::File::create(data.join("server.log")).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_okienko"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "info,tokio_postgres=warn")
            .env("OKIENKO_DATA_DIR", &data)
            .env("OKIENKO_POLICIES", &policies)
            .env("OKIENKO_LISTEN", format!("127.0.0.1:{port}"))
            .env("OKIENKO_SECRET", "test-secret")
            // Stopped servers exit at once rather than after the 2 s drain for a load
            // balancer; `tests/e2e_shutdown.rs` sets its own.
            .env("OKIENKO_SHUTDOWN_DRAIN_MS", "0")
            .stdout(Stdio::null())
            .stderr(log);
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start okienko");
        let mut s = Server {
            base: format!("http://127.0.0.1:{port}"),
            data,
            child,
            env,
            _dir: dir,
        };
        s.wait_ready().await;
        s
    }

    async fn wait_ready(&mut self) {
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("okienko exited with {status}:\n{}", self.log());
            }
            if let Ok(r) = client.get(format!("{}/readyz", self.base)).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("okienko did not become ready:\n{}", self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data.join("server.log")).unwrap_or_default()
    }

    /// Drops a variable for the next `restart_at`.
    pub fn remove_env(&mut self, k: &str) {
        self.env.retain(|(x, _)| x != k);
    }

    /// Stops this server and starts another on the same data with the clock at `now`.
    pub async fn restart_at(mut self, now: &str) -> Server {
        self.stop();
        let mut env = std::mem::take(&mut self.env);
        env.retain(|(k, _)| k != "OKIENKO_NOW");
        env.push(("OKIENKO_NOW".into(), now.into()));
        let dir = self._dir.take();
        let data = self.data.clone();
        Server::spawn(env, data, dir).await
    }

    /// Kills this server with SIGKILL (no shutdown of any kind) and starts another on the same
    /// data and database, with `env` changed (an empty value removes a variable).
    pub async fn crash_and_restart(mut self, env: &[(&str, &str)]) -> Server {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut vars = std::mem::take(&mut self.env);
        for (k, v) in env {
            vars.retain(|(x, _)| x != k);
            if !v.is_empty() {
                vars.push((k.to_string(), v.to_string()));
            }
        }
        let dir = self._dir.take();
        let data = self.data.clone();
        Server::spawn(vars, data, dir).await
    }

    /// The value of a variable this server was started with.
    pub fn env_var(&self, k: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(x, _)| x == k)
            .map(|(_, v)| v.as_str())
    }

    fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn mail_dir(&self) -> PathBuf {
        self.data.join("mail")
    }

    /// Sends the server process `sig` (`TERM`, `INT`, …) with `kill`.
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig} failed");
    }

    /// The server process's exit status once it has exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits (polling) for the server process to exit, at most `within`.
    pub async fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let until = std::time::Instant::now() + within;
        while std::time::Instant::now() < until {
            if let Some(status) = self.exited() {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("okienko still running after {within:?}:\n{}", self.log());
    }

    pub async fn post_raw(&self, slug: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        self.post_path(&format!("/t/{slug}/graphql"), None, body)
            .await
    }

    /// POSTs a body to `path`, with `Authorization: Bearer <token>` when given.
    pub async fn post_path(
        &self,
        path: &str,
        token: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> (u16, Value) {
        let mut req = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json");
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.body(body).send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or_else(|_| json!({ "raw": text })),
        )
    }

    /// POSTs `body` to the tenant's public API: (HTTP status, `Retry-After`, body).
    pub async fn post_public(&self, slug: &str, body: &Value) -> (u16, Option<String>, Value) {
        let r = reqwest::Client::new()
            .post(format!("{}/t/{slug}/graphql", self.base))
            .json(body)
            .send()
            .await
            .unwrap();
        status_retry_json(r).await
    }

    pub async fn gql(&self, slug: &str, query: &str, vars: Value) -> Value {
        let (status, v) = self
            .post_raw(
                slug,
                json!({ "query": query, "variables": vars }).to_string(),
            )
            .await;
        assert!(status == 200 || status == 400, "HTTP {status}: {v}");
        v
    }

    /// A GraphQL request to a tenant's admin API (`/t/{slug}/admin/graphql`).
    pub async fn admin(&self, slug: &str, token: Option<&str>, query: &str, vars: Value) -> Value {
        let (status, v) = self
            .post_path(
                &format!("/t/{slug}/admin/graphql"),
                token,
                json!({ "query": query, "variables": vars }).to_string(),
            )
            .await;
        assert!(status == 200 || status == 400, "HTTP {status}: {v}");
        v
    }

    /// The admin API's answer to `{ configuration { offices { id } } }` with `token`.
    pub async fn offices(&self, slug: &str, token: &str) -> Value {
        self.admin(
            slug,
            Some(token),
            "{ configuration { offices { id } } }",
            json!({}),
        )
        .await
    }

    /// The public API's `booking(token)` asking for `fields`: the answer.
    pub async fn booking(&self, slug: &str, token: &str, fields: &str) -> Value {
        let query = format!("query($t: String!) {{ booking(token: $t) {{ {fields} }} }}");
        self.gql(slug, &query, json!({ "t": token })).await
    }

    /// The public API's `cancelBooking` with the management `token`: the answer.
    pub async fn cancel(&self, slug: &str, token: &str) -> Value {
        let query = "mutation($t: String!) { cancelBooking(token: $t) { status } }";
        self.gql(slug, query, json!({ "t": token })).await
    }

    /// The public API's `confirmBooking` with `token`, and `code` when given: the answer.
    pub async fn confirm(&self, slug: &str, token: &str, code: Option<&str>) -> Value {
        let query =
            "mutation($t: String!, $c: String) { confirmBooking(token: $t, code: $c) { status } }";
        self.gql(slug, query, json!({ "t": token, "c": code }))
            .await
    }

    /// The public API's answer to `service(id)` (its `name`) at `slug`.
    pub async fn service_by_id(&self, slug: &str, id: &str) -> Value {
        self.gql(
            slug,
            "query($s: ID!) { service(id: $s) { name } }",
            json!({ "s": id }),
        )
        .await
    }

    /// The public API's answer to `{ tenant { name } }` at `slug`: (HTTP status, body).
    pub async fn tenant_answer(&self, slug: &str) -> (u16, Value) {
        self.post_raw(slug, json!({ "query": "{ tenant { name } }" }).to_string())
            .await
    }

    /// `suspendTenant` or `resumeTenant` (`verb`) of `slug` by the operator `op`, asking for the
    /// tenant's `status`: the platform API's answer.
    pub async fn change_tenant(&self, op: &str, verb: &str, slug: &str) -> Value {
        let query = format!("mutation($s: String!) {{ {verb}(slug: $s) {{ status }} }}");
        self.platform(Some(op), &query, json!({ "s": slug })).await
    }

    /// The id of the tenant's first office (the admin API's configuration, with `token`).
    pub async fn first_office(&self, slug: &str, token: &str) -> String {
        str_at(
            &self.offices(slug, token).await,
            "/data/configuration/offices/0/id",
        )
    }

    /// A GraphQL request to the platform API (`/platform/graphql`).
    pub async fn platform(&self, token: Option<&str>, query: &str, vars: Value) -> Value {
        let (status, v) = self
            .post_path(
                "/platform/graphql",
                token,
                json!({ "query": query, "variables": vars }).to_string(),
            )
            .await;
        assert!(status == 200 || status == 400, "HTTP {status}: {v}");
        v
    }

    /// Runs the `okienko` command line on this server's data directory and database.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_okienko"));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn")
            .env("OKIENKO_DATA_DIR", &self.data)
            .env("OKIENKO_SECRET", "test-secret");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    /// Creates a platform operator with the CLI; returns its password.
    pub fn create_operator(&self, login: &str) -> String {
        let out = self.cli(&["users", "create-operator", login]);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        after(&text, "password:").to_string()
    }

    /// An operator's session token (the operator is created with the CLI).
    pub async fn operator_token(&self) -> String {
        let login = format!("ops{}@okienko.example.pl", rand_suffix());
        let password = self.create_operator(&login);
        let v = self
            .platform(None, LOGIN, json!({ "l": login, "p": password }))
            .await;
        str_at(&v, "/data/login/token")
    }

    /// Creates an administrator of `slug` through the platform API; returns its password.
    pub async fn create_tenant_admin(&self, operator: &str, slug: &str, login: &str) -> String {
        let v = self
            .platform(
                Some(operator),
                "mutation($s: String!, $l: String!) { createTenantAdmin(slug: $s, login: $l, displayName: \"Administrator\") { password user { id } } }",
                json!({ "s": slug, "l": login }),
            )
            .await;
        str_at(&v, "/data/createTenantAdmin/password")
    }

    /// Logs a staff member in at `slug`; returns the session token.
    pub async fn staff_login(&self, slug: &str, login: &str, password: &str) -> String {
        let v = self
            .admin(slug, None, LOGIN, json!({ "l": login, "p": password }))
            .await;
        str_at(&v, "/data/login/token")
    }

    /// A fresh administrator of `slug`, logged in: its session token.
    pub async fn admin_token(&self, operator: &str, slug: &str) -> String {
        let login = format!("admin{}@{slug}.example.pl", rand_suffix());
        let password = self.create_tenant_admin(operator, slug, &login).await;
        self.staff_login(slug, &login, &password).await
    }

    /// The id of the service with this key.
    pub async fn service_id(&self, slug: &str, key: &str) -> String {
        let v = self.gql(slug, "{ services { id key } }", json!({})).await;
        v["data"]["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["key"] == key)
            .unwrap_or_else(|| panic!("no service {key} in {slug}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The public API's answer to `availability` of `service` from `from` to `to` (dates),
    /// per day `date` and `slots { start remaining }`.
    pub async fn availability_answer(
        &self,
        slug: &str,
        service: &str,
        from: &str,
        to: &str,
    ) -> Value {
        self.gql(
            slug,
            "query($s: ID!, $f: NaiveDate!, $t: NaiveDate!) { availability(serviceId: $s, from: $f, to: $t) { date slots { start remaining } } }",
            json!({ "s": service, "f": from, "t": to }),
        )
        .await
    }

    /// The days of [`Server::availability_answer`].
    pub async fn availability(&self, slug: &str, service: &str, from: &str, to: &str) -> Value {
        let v = self.availability_answer(slug, service, from, to).await;
        v["data"]["availability"].clone()
    }

    /// The first slot with seats left, from `from` on (a date, 14 days searched).
    pub async fn first_free_slot(&self, slug: &str, service: &str, from: &str) -> (String, i64) {
        let to = chrono::NaiveDate::parse_from_str(from, "%Y-%m-%d").unwrap()
            + chrono::Duration::days(14);
        let days = self
            .availability(slug, service, from, &to.to_string())
            .await;
        first_with_seats(&days)
            .unwrap_or_else(|| panic!("no free slot for {slug}/{service} from {from}: {days}"))
    }

    /// The id of the service `key` and its first slot with seats left from `from` on:
    /// (service id, start, seats left).
    pub async fn free_slot_of(&self, slug: &str, key: &str, from: &str) -> (String, String, i64) {
        let service = self.service_id(slug, key).await;
        let (start, remaining) = self.first_free_slot(slug, &service, from).await;
        (service, start, remaining)
    }

    pub async fn remaining(&self, slug: &str, service: &str, start: &str) -> i64 {
        let date = chrono::DateTime::parse_from_rfc3339(start)
            .unwrap()
            .with_timezone(&chrono_tz::Europe::Warsaw)
            .date_naive()
            .to_string();
        let days = self.availability(slug, service, &date, &date).await;
        let want = chrono::DateTime::parse_from_rfc3339(start).unwrap();
        days[0]["slots"]
            .as_array()
            .unwrap_or_else(|| panic!("{days}"))
            .iter()
            .find(|s| {
                chrono::DateTime::parse_from_rfc3339(s["start"].as_str().unwrap()).unwrap() == want
            })
            .map(|s| s["remaining"].as_i64().unwrap())
            .unwrap_or_else(|| panic!("slot {start} not offered: {days}"))
    }

    pub async fn book(&self, slug: &str, input: Value) -> Value {
        self.gql(slug, CREATE, json!({ "i": input })).await
    }

    /// Books Gdynia's `meldunek` at its first free slot from 3 December for Anna Nowak at `to`
    /// (terms 1.0, the `rodo` consent): the answer to `createBooking`.
    pub async fn book_gdynia(&self, to: &str) -> Value {
        let service = self.service_id("gdynia", "meldunek").await;
        let (start, _) = self.first_free_slot("gdynia", &service, "2026-12-03").await;
        let client = json!({ "name": "Anna Nowak", "email": to });
        self.book("gdynia", rodo_input(&service, &start, client))
            .await
    }

    /// Books Cieszyn's `meldunek` at its first free slot from 2 December for `email`: the
    /// answer to `createBooking`.
    pub async fn book_cieszyn(&self, email: &str) -> Value {
        let (service, start, _) = self.free_slot_of("cieszyn", "meldunek", "2026-12-02").await;
        self.book("cieszyn", cieszyn_input(&service, &start, email))
            .await
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let r = reqwest::get(format!("{}{path}", self.base)).await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    pub async fn post_form(&self, path: &str) -> (u16, String) {
        let r = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What a city's queue needs: an administrator, a clerk, a kiosk and a display of its office.
pub struct Staff {
    pub admin: String,
    pub clerk: String,
    pub clerk_login: String,
    pub kiosk: String,
    pub display: String,
    pub office_id: String,
}

/// Makes `slug`'s queue staff: an administrator, the clerk `urzednik@{slug}.example.pl`
/// logged in, and a kiosk and a display of the first office.
pub async fn staff(s: &Server, slug: &str) -> Staff {
    let op = s.operator_token().await;
    let admin = s.admin_token(&op, slug).await;
    let office_id = s.first_office(slug, &admin).await;
    let login = format!("urzednik@{slug}.example.pl");
    let made = s
        .admin(
            slug,
            Some(&admin),
            "mutation($o: ID!, $l: String!) { \
               u: createUser(login: $l, displayName: \"Jan Urzędnik\", role: CLERK, password: \"haslo-urzednika-1\") { id } \
               k: createDevice(officeId: $o, kind: KIOSK, name: \"Biletomat\") { token } \
               d: createDevice(officeId: $o, kind: DISPLAY, name: \"Wyświetlacz w holu\") { token } }",
            json!({ "o": office_id, "l": login }),
        )
        .await;
    assert!(made["errors"].is_null(), "{made}");
    let clerk = s.staff_login(slug, &login, "haslo-urzednika-1").await;
    Staff {
        admin,
        clerk,
        clerk_login: login,
        kiosk: made["data"]["k"]["token"].as_str().unwrap().to_string(),
        display: made["data"]["d"]["token"].as_str().unwrap().to_string(),
        office_id,
    }
}

impl Staff {
    /// Sessions last 8 hours: the clerk logs in again on a later day.
    pub async fn next_day(&mut self, s: &Server, slug: &str) {
        self.clerk = s
            .staff_login(slug, &self.clerk_login, "haslo-urzednika-1")
            .await;
    }
}

pub const CREATE: &str = "mutation($i: CreateBookingInput!) { createBooking(input: $i) { managementToken replayed \
    booking { code status start localDate localTime confirmBy cancellableUntil clientPhone service { name letter } } } }";

pub const BOOKING: &str =
    "query($t: String!) { booking(token: $t) { code status start localTime } }";

/// The `login` mutation of the admin and platform APIs (`$l`, `$p`): `{ token }`.
pub const LOGIN: &str =
    "mutation($l: String!, $p: String!) { login(login: $l, password: $p) { token } }";

/// The string at the JSON `pointer` in `v` (e.g. `/data/login/token`); panics showing `v`.
pub fn str_at(v: &Value, pointer: &str) -> String {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {pointer}: {v}"))
        .to_string()
}

/// The first slot with seats left in an availability answer (days of `slots { start
/// remaining }`): (start, seats left).
pub fn first_with_seats(days: &Value) -> Option<(String, i64)> {
    days.as_array()?
        .iter()
        .flat_map(|day| day["slots"].as_array().into_iter().flatten())
        .find(|slot| slot["remaining"].as_i64().unwrap() > 0)
        .map(|slot| {
            (
                slot["start"].as_str().unwrap().to_string(),
                slot["remaining"].as_i64().unwrap(),
            )
        })
}

/// The e-mail in `dir` that contains `needle` (waited for), which must be addressed to `to`.
pub async fn mail_to(dir: &Path, needle: &str, to: &str) -> String {
    let mail = wait_for_mail(dir, needle).await;
    assert!(mail.contains(&format!("To: {to}")), "{mail}");
    mail
}

/// The management token of the booking a `createBooking` answer made; panics showing `v`.
pub fn management_token(v: &Value) -> String {
    str_at(v, "/data/createBooking/managementToken")
}

/// The status of the booking a `createBooking` answer made (empty when it made none).
pub fn created_status(v: &Value) -> &str {
    v["data"]["createBooking"]["booking"]["status"]
        .as_str()
        .unwrap_or("")
}

/// The folders of the shipped cities (`policies/<slug>`).
pub fn shipped_cities() -> Vec<std::fs::DirEntry> {
    std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("policies"))
        .unwrap()
        .flatten()
        .filter(|c| c.path().is_dir())
        .collect()
}

/// Fails unless the checked-in file `rel` (from the workspace root) is `generated` to the byte;
/// with `{var}=1` in the environment the file is written first. The failure names `source`
/// (what the file is made from) and the test to run with `var` set.
pub fn matches_checked_in(rel: &str, generated: &str, source: &str, var: &str, test: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    if std::env::var(var).as_deref() == Ok("1") {
        std::fs::write(&path, generated).unwrap_or_else(|e| panic!("write {rel}: {e}"));
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{rel} differs from {source}; run `{var}=1 cargo test --test {test}` and review the diff"
    );
}

/// What a command wrote, its standard output then its standard error.
pub fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The message of the first error (empty when there is none).
pub fn message_of(v: &Value) -> &str {
    v["errors"][0]["message"].as_str().unwrap_or("")
}

/// The first error has `code` and a message fit for a citizen (not empty, no panic, no SQL).
pub fn assert_code(v: &Value, code: &str) {
    assert_eq!(code_of(v), code, "{v}");
    let msg = message_of(v);
    assert!(
        !msg.is_empty() && !msg.contains("panicked") && !msg.to_lowercase().contains("sql"),
        "{v}"
    );
}

/// The first error has `code` and its message contains `text`.
pub fn assert_refused(v: &Value, code: &str, text: &str) {
    assert_eq!(code_of(v), code, "{v}");
    assert!(message_of(v).contains(text), "{v}");
}

/// Jan Kowalski's booking of a Zielona Góra vehicle service (`service` at `start`) for his
/// car FZ 4K7R2, with both consents.
pub fn zielona_gora_vehicle(service: &str, start: &str) -> Value {
    json!({
        "serviceId": service, "start": start,
        "client": { "name": "Jan Kowalski", "email": "jan@example.pl", "phone": "601 234 567" },
        "fields": [ { "key": "registration_number", "value": "FZ 4K7R2" }, { "key": "owner_name", "value": "Jan Kowalski" } ],
        "acceptedTermsVersion": "1.0", "consents": ["rodo", "komunikacja_elektroniczna"]
    })
}

/// A booking of `service` at `start` by `client` (`{ name email phone }`), with terms 1.0 and
/// the `rodo` consent, as most cities ask.
pub fn rodo_input(service: &str, start: &str, client: Value) -> Value {
    json!({ "serviceId": service, "start": start, "client": client,
            "acceptedTermsVersion": "1.0", "consents": ["rodo"] })
}

/// A Cieszyn booking of `service` at `start` for `email` (terms 1.0, both consents).
pub fn cieszyn_input(service: &str, start: &str, email: &str) -> Value {
    json!({ "serviceId": service, "start": start, "client": { "email": email },
            "acceptedTermsVersion": "1.0", "consents": ["klauzula_informacyjna", "rodo"] })
}

/// A helper process, killed when dropped.
pub struct Helper(Child);

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `cmd` with its output discarded and waits (10 s at most) until something listens on
/// `port` of the loopback address.
pub async fn spawn_listening(cmd: &mut Command, port: u16) -> Helper {
    let child = Helper(
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child
}

/// Starts `python3` with `args` (a module serving on `port` of the loopback address, such as
/// the SMTP sink or a static file server) and waits until it listens.
pub async fn serve_python(args: &[&str], port: u16) -> Helper {
    spawn_listening(Command::new("python3").args(args), port).await
}

/// Two tests of `body(backend)`, `sqlite` on SQLite and `postgres` on PostgreSQL, each with the
/// test attribute given (e.g. `#[tokio::test]`).
macro_rules! on_both_backends {
    (#[$test:meta] $sqlite:ident, $postgres:ident => $body:ident) => {
        #[$test]
        async fn $sqlite() {
            $body(Backend::Sqlite).await;
        }

        #[$test]
        async fn $postgres() {
            $body(Backend::Postgres).await;
        }
    };
}
pub(crate) use on_both_backends;

fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

pub fn code_of(v: &Value) -> &str {
    v["errors"][0]["extensions"]["code"].as_str().unwrap_or("")
}

/// The text after `prefix` up to the end of its line.
pub fn after<'a>(text: &'a str, prefix: &str) -> &'a str {
    let i = text
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix:?} not in:\n{text}"))
        + prefix.len();
    text[i..]
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default()
}

/// The port of a server's base URL.
pub fn port_of(s: &Server) -> u16 {
    s.base.rsplit(':').next().unwrap().parse().unwrap()
}

/// A TCP connection to the server from the loopback address `from` (127.0.0.x), so that
/// the server sees clients of different addresses.
pub async fn connect_from(s: &Server, from: [u8; 4]) -> tokio::net::TcpStream {
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind(std::net::SocketAddr::from((from, 0))).unwrap();
    sock.connect(std::net::SocketAddr::from(([127, 0, 0, 1], port_of(s))))
        .await
        .unwrap()
}

/// An HTTP client whose connections come from the loopback address `from`.
pub fn client_from(from: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(from))
        .build()
        .unwrap()
}

/// Reads what the server sends until it closes the connection (bounded), as text.
pub async fn read_until_closed(stream: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// A Dąbrowa Górnicza booking of `service` at `start` for client number `i`.
pub fn dabrowa_booking(service: &str, start: &str, i: usize) -> Value {
    json!({
        "query": CREATE,
        "variables": { "i": {
            "serviceId": service, "start": start,
            "client": { "name": format!("Klient {i}"), "email": format!("k{i}@example.pl"), "phone": format!("601{i:06}") },
            "acceptedTermsVersion": "1.0", "consents": ["rodo"]
        } }
    })
}

/// [`NOW`] in seconds since the epoch (the test OpenID provider's clock).
pub fn now_unix() -> i64 {
    chrono::DateTime::parse_from_rfc3339(NOW)
        .unwrap()
        .timestamp()
}

/// The shipped cities' `tenant.toml` and `policy.rhai` copied into `dir`, their `tests/` too
/// when `with_tests`.
pub fn copy_policies(dir: &Path, with_tests: bool) {
    for city in shipped_cities() {
        let to = dir.join(city.file_name());
        std::fs::create_dir_all(&to).unwrap();
        for f in ["tenant.toml", "policy.rhai"] {
            let _ = std::fs::copy(city.path().join(f), to.join(f));
        }
        if !with_tests {
            continue;
        }
        std::fs::create_dir_all(to.join("tests")).unwrap();
        for t in std::fs::read_dir(city.path().join("tests"))
            .into_iter()
            .flatten()
            .flatten()
        {
            std::fs::copy(t.path(), to.join("tests").join(t.file_name())).unwrap();
        }
    }
}

/// [`copy_policies`], Gdynia's `[oidc]` issuer pointing at `issuer`.
pub fn policies_with_gdynia_issuer(dir: &Path, issuer: &str, with_tests: bool) {
    copy_policies(dir, with_tests);
    let gd = dir.join("gdynia/tenant.toml");
    let text = std::fs::read_to_string(&gd).unwrap();
    let old = "[oidc]\nissuer = \"https://konto.gdynia.pl\"";
    assert!(text.contains(old), "Gdynia's [oidc] table");
    std::fs::write(
        &gd,
        text.replace(old, &format!("[oidc]\nissuer = \"{issuer}\"")),
    )
    .unwrap();
}

/// A browser without JavaScript: follows nothing by itself, keeps the cookies it is given
/// (whatever their path: the tests choose which to send where). Addresses starting with `/`
/// are on `base`; others are taken as they are.
pub struct Browser {
    base: String,
    pub http: reqwest::Client,
    pub cookies: std::collections::HashMap<String, String>,
    /// Every cookie given must be HttpOnly and SameSite=Lax.
    strict_cookies: bool,
}

pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        Browser {
            base: base.to_string(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: std::collections::HashMap::new(),
            strict_cookies: false,
        }
    }

    /// One that asserts that every cookie it is given is HttpOnly and SameSite=Lax.
    pub fn strict(base: &str) -> Browser {
        Browser {
            strict_cookies: true,
            ..Browser::new(base)
        }
    }

    async fn send(&mut self, mut req: reqwest::RequestBuilder) -> Answer {
        let jar: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !jar.is_empty() {
            req = req.header("cookie", jar.join("; "));
        }
        let r = req.send().await.unwrap();
        for c in r.headers().get_all("set-cookie") {
            let c = c.to_str().unwrap();
            if self.strict_cookies {
                assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax"), "{c}");
            }
            let (pair, attrs) = c.split_once(';').unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.into(), v.into());
            }
        }
        Answer {
            status: r.status().as_u16(),
            location: r
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_string()),
            body: r.text().await.unwrap(),
        }
    }

    fn full(&self, url: &str) -> String {
        if url.starts_with('/') {
            format!("{}{url}", self.base)
        } else {
            url.to_string()
        }
    }

    pub async fn get(&mut self, url: &str) -> Answer {
        let req = self.http.get(self.full(url));
        self.send(req).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        let req = self
            .http
            .post(self.full(path))
            .header("sec-fetch-site", "same-origin")
            .form(form);
        self.send(req).await
    }
}

/// A call display's WebSocket (graphql-transport-ws).
pub type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// Opens tenant `slug`'s display socket over `stream`; the HTTP status when refused.
pub async fn display_socket_over(
    s: &Server,
    slug: &str,
    stream: tokio::net::TcpStream,
) -> Result<Ws, u16> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let url = format!("{}/t/{slug}/display/ws", s.base.replace("http", "ws"));
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    match tokio_tungstenite::client_async(req, stream).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
        Err(e) => panic!("{e}"),
    }
}

/// Reads frames until the server closes the socket (answering pings while reading): the close
/// frame's code, if it sent one.
pub async fn closed_with(ws: &mut Ws) -> Option<u16> {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let next = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .expect("the server closed the socket within 30 s");
        match next {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return None,
        }
    }
}
