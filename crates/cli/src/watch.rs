//! `serve --watch` (the default): hot reload. Watches the template's directory (so editors that
//! save by writing a new file and renaming it over the old one work) and each function's code
//! directory, and on a change:
//!
//! - template changed: loads it again with the same options. If it no longer loads (or an API
//!   cannot be compiled), the previous version keeps serving and the diagnostics are printed. If
//!   it loads, the runtime gets the new function set (only changed functions restart), each API's
//!   gateway is rebuilt and swapped in for the next request (in-flight requests finish on the old
//!   one), new APIs are served on new free ports, removed APIs stop accepting connections.
//! - only code changed: the functions whose code changed get fresh execution environments.
//!
//! One log line per reload says what changed.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{EventKind, RecursiveMode, Watcher as _};
use stackgate_gateway::{Gateway, GatewayHandle, GatewayOptions, Invoker};
use stackgate_runtime::Runtime;
use stackgate_runtime::invoke_api::InvokeApi;
use stackgate_template::{Code, Model};
use tokio::sync::mpsc;

use crate::args::ServeArgs;
use crate::load::load_template;
use crate::serve::{bind, display_addr, function_spec, http_apis, start_dev_issuer_if_needed};

/// How long the files must stay quiet before a reload (editors write in several steps).
const QUIET: Duration = Duration::from_millis(60);
/// A reload happens at the latest this long after the first change, even if writes go on.
const MAX_DELAY: Duration = Duration::from_millis(400);

const TARGET: &str = "stackgate::reload";

/// One API's listener.
pub struct ApiServer {
    pub handle: Arc<GatewayHandle>,
    pub task: tokio::task::JoinHandle<()>,
    pub url: String,
}

/// Serves `handle` on `listener` in a task of its own.
pub fn spawn_api(
    api: String,
    handle: Arc<GatewayHandle>,
    listener: tokio::net::TcpListener,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(error) = handle.serve(listener).await {
            tracing::error!(%error, "gateway of API {api} stopped");
        }
    })
}

/// Everything a reload changes or uses.
pub struct Reloader {
    pub args: ServeArgs,
    pub state: PathBuf,
    pub model: Model,
    pub runtime: Arc<Runtime>,
    pub invoker: Arc<dyn Invoker>,
    pub keys: stackgate_jwt::KeyCache,
    pub dev_issuer: Option<String>,
    /// By API logical id.
    pub apis: BTreeMap<String, ApiServer>,
    pub lambda_api: Arc<InvokeApi>,
}

/// Keeps watching while alive.
pub struct Watching {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts watching; reloads run in a task of their own.
pub fn start(reloader: Reloader) -> anyhow::Result<Watching> {
    let (tx, rx) = mpsc::unbounded_channel();
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let _ = tx.send(event);
    })?;
    let mut watch = Watch {
        watcher,
        watched: BTreeMap::new(),
        paths: Paths::of(&reloader.model, &reloader.state),
    };
    watch.rewatch();
    tracing::info!(
        target: TARGET,
        "watching {} and the functions' code for changes (--no-watch turns this off)",
        reloader.args.template.template.display()
    );
    let task = tokio::spawn(run(reloader, watch, rx));
    Ok(Watching { task })
}

/// The watcher and what it watches.
struct Watch {
    watcher: notify::RecommendedWatcher,
    watched: BTreeMap<PathBuf, RecursiveMode>,
    paths: Paths,
}

impl Watch {
    /// Watches what `paths` needs, and stops watching what it no longer needs.
    fn rewatch(&mut self) {
        let wanted = self.paths.watch_list();
        let stale: Vec<PathBuf> = self
            .watched
            .iter()
            .filter(|(path, mode)| wanted.get(*path) != Some(*mode))
            .map(|(path, _)| path.clone())
            .collect();
        for path in stale {
            let _ = self.watcher.unwatch(&path);
            self.watched.remove(&path);
        }
        for (path, mode) in wanted {
            if self.watched.contains_key(&path) {
                continue;
            }
            match self.watcher.watch(&path, mode) {
                Ok(()) => {
                    self.watched.insert(path, mode);
                }
                Err(error) => tracing::warn!(
                    target: TARGET,
                    "cannot watch {}: {error}; changes there are not picked up",
                    path.display()
                ),
            }
        }
    }
}

/// What changed in one debounced batch of events.
#[derive(Debug, Default)]
struct Changes {
    template: bool,
    /// Function names whose code changed.
    code: HashSet<String>,
}

impl Changes {
    fn is_empty(&self) -> bool {
        !self.template && self.code.is_empty()
    }
}

/// The paths that matter, canonical (events carry the watched path's spelling).
#[derive(Debug, Clone)]
struct Paths {
    template: PathBuf,
    template_dir: PathBuf,
    state: PathBuf,
    /// Function name → its code path (directory or .zip).
    code: Vec<(String, PathBuf)>,
}

impl Paths {
    fn of(model: &Model, state: &Path) -> Paths {
        let template = canonical_file(&model.template_path);
        let template_dir = template
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let code = model
            .functions
            .iter()
            .filter_map(|f| match &f.code {
                Code::Path(path) => Some((f.name.clone(), canonical_file(path))),
                Code::Inline(_) => None,
            })
            .collect();
        Paths {
            template,
            template_dir,
            state: canonical_file(state),
            code,
        }
    }

    /// Directories to watch: the template's (not recursive), each code directory (recursive),
    /// the directory of each .zip (not recursive).
    fn watch_list(&self) -> BTreeMap<PathBuf, RecursiveMode> {
        let mut wanted = BTreeMap::new();
        wanted.insert(self.template_dir.clone(), RecursiveMode::NonRecursive);
        for (_, path) in &self.code {
            let (dir, mode) = if path.is_dir() {
                (path.clone(), RecursiveMode::Recursive)
            } else {
                match path.parent() {
                    Some(parent) => (parent.to_path_buf(), RecursiveMode::NonRecursive),
                    None => continue,
                }
            };
            let entry = wanted.entry(dir).or_insert(mode);
            if mode == RecursiveMode::Recursive {
                *entry = RecursiveMode::Recursive;
            }
        }
        wanted
    }

    /// Adds what `event` changed to `changes`; false when it changed nothing that matters.
    fn classify(&self, event: &notify::Event, changes: &mut Changes) -> bool {
        if matches!(
            event.kind,
            EventKind::Access(_)
                | EventKind::Modify(notify::event::ModifyKind::Metadata(
                    notify::event::MetadataKind::AccessTime
                ))
        ) {
            return false;
        }
        let mut relevant = false;
        for path in &event.paths {
            if self.ignored(path) {
                continue;
            }
            if path == &self.template {
                changes.template = true;
                relevant = true;
            }
            for (function, code) in &self.code {
                if path.starts_with(code) {
                    changes.code.insert(function.clone());
                    relevant = true;
                }
            }
        }
        relevant
    }

    /// The state directory, caches and editor droppings.
    fn ignored(&self, path: &Path) -> bool {
        if path.starts_with(&self.state) {
            return true;
        }
        let mut previous: Option<&std::ffi::OsStr> = None;
        for component in path.components() {
            if let Component::Normal(name) = component {
                if name == ".stackgate"
                    || name == "__pycache__"
                    || (name == ".cache" && previous.is_some_and(|p| p == "node_modules"))
                {
                    return true;
                }
                previous = Some(name);
            }
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        name.ends_with(".swp")
            || name.ends_with(".swx")
            || name.ends_with('~')
            || name.starts_with(".#")
            || name == "4913" // vim's write test file
    }
}

/// `path` made absolute and canonical as far as it exists (a missing file keeps its name).
fn canonical_file(path: &Path) -> PathBuf {
    if let Ok(canonical) = std::fs::canonicalize(path) {
        return canonical;
    }
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    match (absolute.parent(), absolute.file_name()) {
        (Some(parent), Some(name)) => std::fs::canonicalize(parent)
            .map(|p| p.join(name))
            .unwrap_or(absolute),
        _ => absolute,
    }
}

async fn run(
    mut reloader: Reloader,
    mut watch: Watch,
    mut rx: mpsc::UnboundedReceiver<notify::Result<notify::Event>>,
) {
    loop {
        // Wait for a change that matters…
        let mut changes = Changes::default();
        loop {
            match rx.recv().await {
                None => return,
                Some(Ok(event)) => {
                    if watch.paths.classify(&event, &mut changes) {
                        break;
                    }
                }
                Some(Err(error)) => {
                    tracing::warn!(target: TARGET, "file watching: {error}");
                }
            }
        }
        // …then until the files are quiet.
        let first = tokio::time::Instant::now();
        let mut last = first;
        loop {
            let until = (last + QUIET).min(first + MAX_DELAY);
            match tokio::time::timeout_at(until, rx.recv()).await {
                Err(_) => break,
                Ok(None) => return,
                Ok(Some(Ok(event))) => {
                    if watch.paths.classify(&event, &mut changes) {
                        last = tokio::time::Instant::now();
                    }
                }
                Ok(Some(Err(error))) => {
                    tracing::warn!(target: TARGET, "file watching: {error}");
                }
            }
        }
        if changes.is_empty() {
            continue;
        }
        reloader.reload(changes).await;
        watch.paths = Paths::of(&reloader.model, &reloader.state);
        watch.rewatch();
    }
}

impl Reloader {
    async fn reload(&mut self, changes: Changes) {
        if changes.template {
            let template = self.args.template.clone();
            let loaded = tokio::task::spawn_blocking(move || load_template(&template)).await;
            let result = match loaded {
                Ok(Ok(model)) => self.apply(model, &changes).await,
                Ok(Err(error)) => Err(format!("{error:#}")),
                Err(error) => Err(format!("loading failed: {error}")),
            };
            match result {
                Ok(()) => return,
                Err(message) => still_serving(&message),
            }
            // Code changed in the same save still takes effect, with the previous template.
            if changes.code.is_empty() {
                return;
            }
        }
        let specs = self.model.functions.iter().map(function_spec).collect();
        let summary = self.runtime.update(specs, &changes.code);
        self.lambda_api
            .update(crate::invoke::api_functions(&self.model), &summary.replaced);
        let mut parts = Vec::new();
        self.describe_functions(&self.model, &summary, &mut parts);
        if parts.is_empty() {
            parts.push("no function uses the changed files".to_owned());
        }
        tracing::info!(target: TARGET, "reloaded code: {}", parts.join(", "));
    }

    /// Switches to `model`; nothing changes when it fails.
    async fn apply(&mut self, model: Model, changes: &Changes) -> Result<(), String> {
        let apis: Vec<String> = http_apis(&model).map(|a| a.logical_id.clone()).collect();
        if apis.is_empty() && model.functions.is_empty() {
            return Err(format!(
                "{} defines no HTTP API (AWS::ApiGatewayV2::Api with ProtocolType HTTP) and no function: nothing to serve",
                self.args.template.template.display()
            ));
        }
        let mut notes = Vec::new();
        if self.dev_issuer.is_none() {
            let started = start_dev_issuer_if_needed(&self.args, &model, &self.state)
                .await
                .map_err(|e| format!("{e:#}"))?;
            if let Some(url) = &started {
                tracing::info!(
                    target: TARGET,
                    "the template now has a JWT authorizer without an issuer: started the dev issuer at {url}"
                );
                notes.push(format!("dev issuer started ({url})"));
            }
            self.dev_issuer = started;
        }
        let options = GatewayOptions {
            dev_issuer: self.dev_issuer.clone(),
            keys: self.keys.clone(),
        };
        let mut gateways = Vec::with_capacity(apis.len());
        for api in &apis {
            let gateway = Gateway::for_api(&model, api, self.invoker.clone(), options.clone())
                .map_err(|e| format!("API {api} cannot be served: {e}"))?;
            gateways.push((api.clone(), gateway));
        }
        // Functions first: new routes may name new functions.
        let specs = model.functions.iter().map(function_spec).collect();
        let summary = self.runtime.update(specs, &changes.code);
        self.lambda_api
            .update(crate::invoke::api_functions(&model), &summary.replaced);

        let mut parts = Vec::new();
        for (api, gateway) in gateways {
            match self.apis.get(&api) {
                Some(server) => server.handle.replace(gateway),
                None => match self.serve_new_api(&api, gateway).await {
                    Ok(url) => parts.push(format!("+API {api} ({url})")),
                    Err(error) => tracing::error!(target: TARGET, "API {api}: {error:#}"),
                },
            }
        }
        let removed: Vec<String> = self
            .apis
            .keys()
            .filter(|id| !apis.contains(id))
            .cloned()
            .collect();
        for api in removed {
            if let Some(server) = self.apis.remove(&api) {
                // New connections are refused; open keep-alive connections are answered by the
                // last version until they close.
                server.task.abort();
                tracing::info!(
                    target: TARGET,
                    "API {api} is no longer in the template: {} stops accepting connections",
                    server.url
                );
                parts.push(format!("-API {api}"));
            }
        }
        describe_routes(&self.model, &model, &mut parts);
        self.describe_functions(&model, &summary, &mut parts);
        parts.extend(notes);
        if parts.is_empty() {
            parts.push("no route or function changed".to_owned());
        }
        tracing::info!(target: TARGET, "reloaded template: {}", parts.join(", "));
        self.model = model;
        Ok(())
    }

    async fn serve_new_api(&mut self, api: &str, gateway: Gateway) -> anyhow::Result<String> {
        let listener = bind(self.args.host, 0, "gateway", "--port").await?;
        let address = listener.local_addr()?;
        let url = format!("http://{}", display_addr(address));
        let handle = GatewayHandle::new(gateway);
        let task = spawn_api(api.to_owned(), handle.clone(), listener);
        {
            // Not `println!`: stdout may be closed (piped to `head`), which must not stop reloads.
            use std::io::Write as _;
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "stackgate: API {api} added: {url}");
            let _ = stdout.flush();
        }
        self.apis.insert(
            api.to_owned(),
            ApiServer {
                handle,
                task,
                url: url.clone(),
            },
        );
        Ok(url)
    }

    /// `function X replaced`, `+function Y`, `-function Z` (logical ids where known).
    fn describe_functions(
        &self,
        model: &Model,
        summary: &stackgate_runtime::UpdateSummary,
        parts: &mut Vec<String>,
    ) {
        let logical = |name: &str, model: &Model| {
            model
                .functions
                .iter()
                .find(|f| f.name == name)
                .map_or_else(|| name.to_owned(), |f| f.logical_id.clone())
        };
        for name in &summary.added {
            parts.push(format!("+function {}", logical(name, model)));
        }
        for name in &summary.removed {
            parts.push(format!("-function {}", logical(name, &self.model)));
        }
        for name in &summary.replaced {
            parts.push(format!("function {} replaced", logical(name, model)));
        }
    }
}

fn still_serving(message: &str) {
    tracing::error!(target: TARGET, "{message}");
    tracing::error!(target: TARGET, "template has errors; still serving the previous version");
}

/// `+1 route (GET /new)`, `-2 routes (…)`; route keys prefixed by the API when there are several.
fn describe_routes(old: &Model, new: &Model, parts: &mut Vec<String>) {
    let several = http_apis(old).count() > 1 || http_apis(new).count() > 1;
    let keys = |model: &Model| -> BTreeSet<String> {
        model
            .routes
            .iter()
            .map(|r| {
                if several {
                    format!("{} {}", r.api, r.route_key)
                } else {
                    r.route_key.clone()
                }
            })
            .collect()
    };
    let (before, after) = (keys(old), keys(new));
    let plural = |n: usize| if n == 1 { "route" } else { "routes" };
    let added: Vec<&str> = after.difference(&before).map(String::as_str).collect();
    if !added.is_empty() {
        parts.push(format!(
            "+{} {} ({})",
            added.len(),
            plural(added.len()),
            added.join(", ")
        ));
    }
    let removed: Vec<&str> = before.difference(&after).map(String::as_str).collect();
    if !removed.is_empty() {
        parts.push(format!(
            "-{} {} ({})",
            removed.len(),
            plural(removed.len()),
            removed.join(", ")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> Paths {
        Paths {
            template: PathBuf::from("/p/template.yaml"),
            template_dir: PathBuf::from("/p"),
            state: PathBuf::from("/p/.stackgate"),
            code: vec![
                ("echo".into(), PathBuf::from("/p/functions/node")),
                ("zipped".into(), PathBuf::from("/p/dist/fn.zip")),
            ],
        }
    }

    fn event(kind: EventKind, path: &str) -> notify::Event {
        notify::Event::new(kind).add_path(PathBuf::from(path))
    }

    fn classify(kind: EventKind, path: &str) -> Changes {
        let mut changes = Changes::default();
        paths().classify(&event(kind, path), &mut changes);
        changes
    }

    #[test]
    fn what_changes_matter() {
        use notify::event::{CreateKind, ModifyKind, RenameMode};
        let modify = EventKind::Modify(ModifyKind::Data(notify::event::DataChange::Any));
        assert!(classify(modify, "/p/template.yaml").template);
        // A rename-over save reports the template's name as the rename's target.
        let renamed = EventKind::Modify(ModifyKind::Name(RenameMode::To));
        assert!(classify(renamed, "/p/template.yaml").template);
        assert!(classify(modify, "/p/other.yaml").is_empty());
        assert!(classify(modify, "/p/template.yaml.swp").is_empty());
        let code = classify(
            EventKind::Create(CreateKind::File),
            "/p/functions/node/lib/a.js",
        );
        assert_eq!(code.code, HashSet::from(["echo".to_owned()]));
        assert!(!code.template);
        assert_eq!(
            classify(modify, "/p/dist/fn.zip").code,
            HashSet::from(["zipped".to_owned()])
        );
        for ignored in [
            "/p/functions/node/__pycache__/a.pyc",
            "/p/functions/node/node_modules/.cache/x",
            "/p/functions/node/.a.js.swp",
            "/p/functions/node/a.js~",
            "/p/functions/node/.#a.js",
            "/p/.stackgate/functions/x/index.js",
        ] {
            assert!(classify(modify, ignored).is_empty(), "{ignored}");
        }
        assert!(
            classify(
                EventKind::Access(notify::event::AccessKind::Any),
                "/p/functions/node/a.js"
            )
            .is_empty()
        );
    }
}
