//! Where the batch lives (the process's, or a task's own in a [`capture`]), the context every
//! document carries, and the flush that writes the batch out once per invocation.

use super::batch::{Add, Batch};
use super::declared::{DEFAULT_NAMESPACE, FUNCTION_VARIABLE, Metric, NAMESPACE_VARIABLE};
use std::cell::RefCell;
use std::future::Future;
use std::io::Write;
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// What every document carries: the namespace and the function's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    pub namespace: String,
    pub function: String,
}

impl Context {
    /// [`NAMESPACE_VARIABLE`] (default [`DEFAULT_NAMESPACE`]) and [`FUNCTION_VARIABLE`]
    /// (default `presence-sync`), read through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Context, String> {
        let namespace = lookup(NAMESPACE_VARIABLE)
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
        check_namespace(&namespace).map_err(|why| format!("{NAMESPACE_VARIABLE}: {why}"))?;
        let function = lookup(FUNCTION_VARIABLE)
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| "presence-sync".to_owned());
        Ok(Context {
            namespace,
            function,
        })
    }

    /// [`Context::from_lookup`] on the process environment.
    pub fn from_env() -> Result<Context, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }
}

/// Whether CloudWatch accepts `namespace`: 1 to 255 characters among letters, digits and
/// `. - _ / # :` and space, not starting with `AWS/` (AWS's own namespaces).
pub fn check_namespace(namespace: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || ".-_/#: ".contains(c);
    if namespace.is_empty() || namespace.len() > 255 {
        return Err("a CloudWatch namespace has 1 to 255 characters".to_owned());
    }
    if !namespace.chars().all(allowed) {
        return Err(
            "a CloudWatch namespace has only letters, digits, spaces and . - _ / # :".to_owned(),
        );
    }
    if namespace.starts_with("AWS/") {
        return Err("namespaces starting with AWS/ are AWS's own".to_owned());
    }
    Ok(())
}

static CONTEXT: OnceLock<Context> = OnceLock::new();
static GLOBAL: Mutex<Batch> = Mutex::new(Batch { data: Vec::new() });

tokio::task_local! {
    static SCOPE: RefCell<Batch>;
}

/// Sets the namespace and function name of every later flush, once per process (start-up).
/// Without it, [`Context::from_env`] applies, or its defaults when that fails.
pub fn init(context: Context) {
    let _ = CONTEXT.set(context);
}

fn context() -> &'static Context {
    CONTEXT.get_or_init(|| {
        Context::from_env().unwrap_or_else(|_| Context {
            namespace: DEFAULT_NAMESPACE.to_owned(),
            function: "presence-sync".to_owned(),
        })
    })
}

fn with_batch(change: impl FnOnce(&mut Batch)) {
    if SCOPE.try_with(|_| ()).is_ok() {
        SCOPE.with(|batch| change(&mut batch.borrow_mut()));
    } else {
        change(&mut GLOBAL.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

pub(super) fn count(metric: &'static Metric, dims: &[&'static str], n: u64) {
    with_batch(|batch| batch.add(metric, dims, Add::Count(n)));
}

pub(super) fn value(metric: &'static Metric, dims: &[&'static str], x: f64) {
    with_batch(|batch| batch.add(metric, dims, Add::Value(x)));
}

/// Takes what was recorded since the last flush (in this [`capture`], or in the process).
pub fn take() -> Batch {
    if SCOPE.try_with(|_| ()).is_ok() {
        SCOPE.with(|batch| std::mem::take(&mut *batch.borrow_mut()))
    } else {
        std::mem::take(&mut *GLOBAL.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Writes what was recorded since the last flush as EMF lines to `out`.
pub fn flush_to(out: &mut impl Write) -> std::io::Result<()> {
    let batch = take();
    if batch.is_empty() {
        return Ok(());
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut buffer = Vec::with_capacity(1024);
    batch.write_emf(context(), now, &mut buffer)?;
    out.write_all(&buffer)?;
    out.flush()
}

/// Writes what was recorded since the last flush to stdout, where Lambda's log capture picks
/// it up: once per invocation, before its answer. A write error is ignored (there is nobody
/// to tell: stdout is the log).
pub fn flush() {
    let _ = flush_to(&mut std::io::stdout().lock());
}

/// Runs `work` with a batch of its own: what it records is returned beside its output and
/// never reaches the process's batch. For tests, where instances share a process.
pub async fn capture<F: Future>(work: F) -> (F::Output, Batch) {
    SCOPE
        .scope(RefCell::new(Batch::default()), async move {
            let output = work.await;
            (output, take())
        })
        .await
}
