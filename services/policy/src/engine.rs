//! The sandboxed engine, compiled policies and the call of one hook.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rhai::{CallFnOptions, Dynamic, Engine, EvalAltResult, FnAccess, Scope, AST};
use sha2::{Digest, Sha256};

use crate::error::{is_screaming_snake, PolicyError};
use crate::{helpers, hooks};

/// What one hook call may use. Every limit stops a script with [`PolicyError::Failed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// rhai operations per call (a loop iteration, an expression, a function call …).
    pub max_operations: u64,
    /// Nested function calls (recursion depth).
    pub max_call_levels: usize,
    /// Nesting of expressions, at compile time (the same value inside functions).
    pub max_expr_depth: usize,
    /// Bytes of text in one value: a string, or all the strings inside one array or map.
    pub max_string_size: usize,
    /// Entries of one array, those of arrays nested in it included (also bytes of a BLOB).
    pub max_array_size: usize,
    /// Entries of one object map, those of maps nested in it included.
    pub max_map_size: usize,
    /// Wall-clock time of one call, checked every few operations. It stops scripts whose
    /// operations are each expensive (the operation limit stops the cheap endless ones first).
    /// Being wall-clock, it also counts time the thread was descheduled: on a saturated machine
    /// a well-behaved call can run out of it, so calls belong on a bounded blocking pool, and a
    /// deployment that overcommits CPU may want a longer deadline.
    pub deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_operations: 200_000,
            max_call_levels: 32,
            max_expr_depth: 64,
            max_string_size: 64 * 1024,
            max_array_size: 10_000,
            max_map_size: 10_000,
            deadline: Duration::from_millis(50),
        }
    }
}

/// A policy source larger than this is refused before parsing.
pub const MAX_SOURCE_BYTES: usize = 256 * 1024;

/// Compiled versions kept per tenant (the active one, the candidate, and a few before them).
const VERSIONS_PER_TENANT: usize = 4;

/// How many operations pass between two looks at the clock.
const CLOCK_EVERY_OPS: u64 = 32;

/// Longest `print`/`debug` text written to the log.
const MAX_LOG_CHARS: usize = 500;

/// The state of the call running on this thread: read by the progress and print callbacks,
/// which the engine shares between all tenants and threads.
struct CallState {
    tenant: Arc<str>,
    deadline: Instant,
}

thread_local! {
    static CURRENT: RefCell<Option<CallState>> = const { RefCell::new(None) };
}

/// Sets the thread's call state for the life of the guard, restoring the previous one after.
struct CallGuard {
    previous: Option<CallState>,
}

impl CallGuard {
    fn enter(state: CallState) -> CallGuard {
        let previous = CURRENT.with(|c| c.replace(Some(state)));
        CallGuard { previous }
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|c| {
            if let Ok(mut slot) = c.try_borrow_mut() {
                *slot = previous;
            }
        });
    }
}

fn deadline_passed() -> bool {
    CURRENT.with(|c| {
        c.try_borrow()
            .ok()
            .and_then(|s| s.as_ref().map(|s| Instant::now() >= s.deadline))
            .unwrap_or(false)
    })
}

fn current_tenant() -> Arc<str> {
    CURRENT.with(|c| {
        c.try_borrow()
            .ok()
            .and_then(|s| s.as_ref().map(|s| s.tenant.clone()))
            .unwrap_or_else(|| Arc::from("-"))
    })
}

fn clip(s: &str) -> &str {
    match s.char_indices().nth(MAX_LOG_CHARS) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// One rhai engine for all tenants, configured as a sandbox, and the cache of compiled policies.
/// `Send + Sync`: share it (for example in an `Arc`) between request handlers.
pub struct PolicyEngine {
    engine: Engine,
    limits: Limits,
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    /// (tenant, source hash) → (last use, policy).
    entries: HashMap<(String, String), (u64, Arc<Policy>)>,
    clock: u64,
}

impl Cache {
    fn get(&mut self, key: &(String, String)) -> Option<Arc<Policy>> {
        self.clock += 1;
        let now = self.clock;
        self.entries.get_mut(key).map(|(used, p)| {
            *used = now;
            p.clone()
        })
    }

    fn insert(&mut self, key: (String, String), policy: Arc<Policy>) -> Arc<Policy> {
        self.clock += 1;
        let tenant = key.0.clone();
        let policy = self
            .entries
            .entry(key)
            .or_insert((self.clock, policy))
            .1
            .clone();
        loop {
            let of_tenant: Vec<(&(String, String), u64)> = self
                .entries
                .iter()
                .filter(|((t, _), _)| *t == tenant)
                .map(|(k, (used, _))| (k, *used))
                .collect();
            if of_tenant.len() <= VERSIONS_PER_TENANT {
                break;
            }
            let Some(oldest) = of_tenant
                .into_iter()
                .min_by_key(|(_, used)| *used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            self.entries.remove(&oldest);
        }
        policy
    }
}

impl PolicyEngine {
    pub fn new(limits: Limits) -> Self {
        let mut engine = Engine::new();
        engine
            .set_max_operations(limits.max_operations)
            .set_max_call_levels(limits.max_call_levels)
            .set_max_expr_depths(limits.max_expr_depth, limits.max_expr_depth)
            .set_max_string_size(limits.max_string_size)
            .set_max_array_size(limits.max_array_size)
            .set_max_map_size(limits.max_map_size)
            // A misspelt variable is a compile error, not a silent `()`.
            .set_strict_variables(true)
            // No `eval`: a script runs only the code that was compiled and tested.
            // (Modules, and so `import` and file resolvers, are compiled out: feature `no_module`.)
            .disable_symbol("eval");
        engine.on_progress(|ops| {
            if ops % CLOCK_EVERY_OPS == 0 && deadline_passed() {
                Some(Dynamic::from("deadline"))
            } else {
                None
            }
        });
        engine.on_print(|s| {
            let tenant = current_tenant();
            tracing::info!(tenant = %tenant, "policy print: {}", clip(s));
        });
        engine.on_debug(|s, _source, pos| {
            let tenant = current_tenant();
            tracing::info!(tenant = %tenant, "policy debug at {pos}: {}", clip(s));
        });
        helpers::register(&mut engine);
        PolicyEngine {
            engine,
            limits,
            cache: Mutex::new(Cache::default()),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Compiles (or returns the cached) policy for (tenant slug, SHA-256 of the source).
    ///
    /// Top-level statements are dropped: a policy is its functions. A hook the host knows
    /// (see [`hooks::HOOKS`]) defined with other than one parameter is a compile error.
    pub fn compile(&self, tenant: &str, source: &str) -> Result<Arc<Policy>, PolicyError> {
        let hash = hex::encode(Sha256::digest(source.as_bytes()));
        let key = (tenant.to_string(), hash);
        if let Some(p) = self.lock_cache().get(&key) {
            return Ok(p);
        }
        if source.len() > MAX_SOURCE_BYTES {
            return Err(PolicyError::Compile {
                message: format!(
                    "the script has {} bytes, at most {MAX_SOURCE_BYTES} are allowed",
                    source.len()
                ),
            });
        }
        let compiled =
            catch_unwind(AssertUnwindSafe(|| self.engine.compile(source))).map_err(|_| {
                PolicyError::Compile {
                    message: "the parser stopped unexpectedly".into(),
                }
            })?;
        let mut ast = compiled.map_err(|e| PolicyError::Compile {
            message: e.to_string(),
        })?;
        let mut hooks = BTreeSet::new();
        for f in ast.iter_functions() {
            let known = hooks::HOOKS.contains(&f.name);
            if known && f.params.len() != 1 {
                return Err(PolicyError::Compile {
                    message: format!(
                        "hook `{}` must take exactly one parameter (ctx), it takes {}",
                        f.name,
                        f.params.len()
                    ),
                });
            }
            if known && f.access == FnAccess::Private {
                return Err(PolicyError::Compile {
                    message: format!("hook `{}` must not be private", f.name),
                });
            }
            if f.params.len() == 1 && f.access == FnAccess::Public {
                hooks.insert(f.name.to_string());
            }
        }
        ast.clear_statements();
        let policy = Arc::new(Policy {
            tenant: Arc::from(tenant),
            hash: key.1.clone(),
            ast,
            hooks,
        });
        Ok(self.lock_cache().insert(key, policy))
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        // The cache holds no invariant a panic could break half-way: keep using it.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One compiled version of one tenant's policy.
pub struct Policy {
    tenant: Arc<str>,
    hash: String,
    ast: AST,
    hooks: BTreeSet<String>,
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy")
            .field("tenant", &self.tenant)
            .field("hash", &self.hash)
            .field("hooks", &self.hooks)
            .finish_non_exhaustive()
    }
}

impl Policy {
    /// The version: SHA-256 of the source, lower-case hex.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// Whether the script defines a public function of this name taking one parameter.
    pub fn has_hook(&self, name: &str) -> bool {
        self.hooks.contains(name)
    }

    /// The hooks (public one-parameter functions) the script defines.
    pub fn hooks(&self) -> impl Iterator<Item = &str> {
        self.hooks.iter().map(String::as_str)
    }

    /// Calls a hook by name with one argument (a JSON value converted to a rhai map/array), a
    /// fresh `Scope` per call, the deadline enforced via `on_progress`. `Ok(None)` when the hook
    /// is not defined; `Ok(Some(json))` with its return value (unit → `Value::Null`).
    ///
    /// Known hooks' return values are checked for shape ([`hooks::check_return`]); a wrong one is
    /// [`PolicyError::Failed`]. Failures are logged here with their details.
    pub fn call(
        &self,
        engine: &PolicyEngine,
        hook: &str,
        arg: serde_json::Value,
    ) -> Result<Option<serde_json::Value>, PolicyError> {
        if !self.has_hook(hook) {
            return Ok(None);
        }
        let result = self.call_inner(engine, hook, arg);
        if let Err(e @ (PolicyError::Failed { .. } | PolicyError::OverBudget { .. })) = &result {
            let reason = e.reason();
            tracing::warn!(
                tenant = %self.tenant,
                policy = %&self.hash[..12.min(self.hash.len())],
                hook,
                "policy failed: {reason}"
            );
        }
        result.map(Some)
    }

    fn call_inner(
        &self,
        engine: &PolicyEngine,
        hook: &str,
        arg: serde_json::Value,
    ) -> Result<serde_json::Value, PolicyError> {
        let arg = rhai::serde::to_dynamic(arg)
            .map_err(|e| PolicyError::failed(format!("argument not convertible: {e}")))?;
        let _guard = CallGuard::enter(CallState {
            tenant: self.tenant.clone(),
            deadline: Instant::now() + engine.limits.deadline,
        });
        let mut scope = Scope::new();
        let options = CallFnOptions::new().eval_ast(false).rewind_scope(false);
        let run = catch_unwind(AssertUnwindSafe(|| {
            engine.engine.call_fn_with_options::<Dynamic>(
                options,
                &mut scope,
                &self.ast,
                hook,
                (arg,),
            )
        }))
        .map_err(|_| PolicyError::failed("the script engine stopped unexpectedly"))?;
        let value = run.map_err(|e| eval_error(&e, &engine.limits))?;
        let json = if value.is_unit() {
            serde_json::Value::Null
        } else {
            rhai::serde::from_dynamic::<serde_json::Value>(&value).map_err(|e| {
                PolicyError::failed(format!(
                    "`{hook}` returned a {} that is not plain data: {e}",
                    value.type_name()
                ))
            })?
        };
        hooks::check_size(hook, &json)
            .map_err(|why| PolicyError::over_budget(format!("`{hook}` returned {why}")))?;
        hooks::check_return(hook, &json)
            .map_err(|why| PolicyError::failed(format!("`{hook}` returned {why}")))?;
        Ok(json)
    }
}

/// Turns a rhai error into a refusal (a proper `throw #{ code, message }`) or a failure.
fn eval_error(err: &EvalAltResult, limits: &Limits) -> PolicyError {
    let pos = err.unwrap_inner().position();
    let pos = if pos.is_none() {
        String::new()
    } else {
        format!(" at {pos}")
    };
    match err.unwrap_inner() {
        EvalAltResult::ErrorRuntime(value, _) => rejection(value)
            .unwrap_or_else(|why| PolicyError::failed(format!("throw of {why}{pos}"))),
        EvalAltResult::ErrorTooManyOperations(_) => PolicyError::over_budget(format!(
            "operation limit ({}) reached{pos}",
            limits.max_operations
        )),
        EvalAltResult::ErrorTerminated(_, _) => PolicyError::over_budget(format!(
            "deadline ({} ms) passed{pos}",
            limits.deadline.as_millis()
        )),
        EvalAltResult::ErrorStackOverflow(_) => PolicyError::over_budget(format!(
            "call depth limit ({}) reached{pos}",
            limits.max_call_levels
        )),
        EvalAltResult::ErrorDataTooLarge(what, _) => {
            PolicyError::over_budget(format!("size limit: {what}{pos}"))
        }
        _ => PolicyError::failed(err.to_string()),
    }
}

/// `#{ code: "SCREAMING_SNAKE", message: "…", field: "…"? }` → `Rejected`; else why not.
fn rejection(value: &Dynamic) -> Result<PolicyError, String> {
    let Some(map) = value.read_lock::<rhai::Map>() else {
        return Err(format!("a {} (not a map)", value.type_name()));
    };
    let text = |key: &str| -> Result<Option<String>, String> {
        match map.get(key) {
            None => Ok(None),
            Some(v) if v.is_unit() => Ok(None),
            Some(v) => v
                .clone()
                .into_string()
                .map(Some)
                .map_err(|t| format!("a map whose `{key}` is a {t}")),
        }
    };
    let code = text("code")?.ok_or("a map without `code`")?;
    if !is_screaming_snake(&code) {
        return Err(format!("a map whose code `{code}` is not SCREAMING_SNAKE"));
    }
    let message = text("message")?
        .filter(|m| !m.trim().is_empty())
        .ok_or("a map without a `message`")?;
    let field = text("field")?.filter(|f| !f.is_empty());
    Ok(PolicyError::Rejected {
        code,
        message,
        field,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn shared_between_threads() {
        assert_send_sync::<PolicyEngine>();
        assert_send_sync::<Policy>();
        assert_send_sync::<Arc<Policy>>();
    }

    #[test]
    fn cache_keeps_a_few_versions_per_tenant() {
        let e = PolicyEngine::new(Limits::default());
        let first = e.compile("t", "fn a(x) { 0 }").expect("compiles");
        for n in 1..=VERSIONS_PER_TENANT {
            e.compile("t", &format!("fn a(x) {{ {n} }}"))
                .expect("compiles");
        }
        let other = e.compile("u", "fn a(x) { 0 }").expect("compiles");
        let again = e.compile("t", "fn a(x) { 0 }").expect("compiles");
        assert!(
            !Arc::ptr_eq(&first, &again),
            "the oldest version was evicted"
        );
        assert!(Arc::ptr_eq(
            &other,
            &e.compile("u", "fn a(x) { 0 }").expect("compiles")
        ));
        let n = e.lock_cache().entries.len();
        assert_eq!(n, VERSIONS_PER_TENANT + 1);
    }
}
