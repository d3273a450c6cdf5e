//! The `ai-gateway` process under test.

use std::{
    io::{BufRead, BufReader, Read},
    path::PathBuf,
    process::{Child, Command, ExitStatus, Stdio},
    sync::{mpsc, Arc, Mutex},
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::{
    config::to_yaml,
    http,
    paths::{gateway_bin, profile_dir, Module, ProvidersDir},
    tempdir::TempDir,
};

/// How long the gateway may take to print its ready line or to exit. Only stops a test that would
/// hang: module loading on a busy 2-core machine is slow, and a healthy start returns at once.
const START_GUARD: Duration = Duration::from_secs(60);

/// `ai-gateway` with the environment cleared of the gateway's own variables, so that the caller's
/// shell cannot change what a test runs.
pub fn command() -> Command {
    let mut command = Command::new(gateway_bin());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AI_GATEWAY_") {
            command.env_remove(name);
        }
    }
    command.stdin(Stdio::null());
    command
}

/// What a finished `ai-gateway` command printed.
#[derive(Debug)]
pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Lines of stdout, without empty ones.
    pub fn stdout_lines(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect()
    }

    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect()
    }
}

/// Runs a command that is expected to end by itself (`check`, `providers`).
pub fn run(command: &mut Command) -> Outcome {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    Outcome {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A running `ai-gateway serve`, killed on drop.
pub struct Gateway {
    child: Child,
    proxy: String,
    admin: String,
    stderr: Arc<Mutex<Vec<u8>>>,
    _providers: ProvidersDir,
    _config_dir: TempDir,
}

/// The parts of a `serve` invocation a test chooses.
pub struct Serve {
    config: Value,
    modules: Vec<Module>,
    /// Environment changes: a value to set, or `None` to remove the variable.
    env: Vec<(String, Option<String>)>,
}

impl Serve {
    pub fn new(config: Value) -> Serve {
        Serve {
            config,
            modules: vec![Module::OpenAi],
            env: Vec::new(),
        }
    }

    /// Sets `name` in the gateway's environment.
    pub fn env(mut self, name: &str, value: &str) -> Serve {
        self.env.push((name.to_string(), Some(value.to_string())));
        self
    }

    /// Removes `name` from the gateway's environment, whatever the test runner's holds.
    pub fn env_remove(mut self, name: &str) -> Serve {
        self.env.push((name.to_string(), None));
        self
    }

    /// The modules in the providers directory (default: only OpenAI).
    pub fn modules(mut self, modules: &[Module]) -> Serve {
        self.modules = modules.to_vec();
        self
    }

    /// Starts the gateway and waits for its ready line.
    pub fn start(self) -> Gateway {
        let (mut child, providers, config_dir, stderr) = self.spawn();
        let stdout = child.stdout.take().unwrap();
        let (ready_tx, ready_rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if let Some(rest) = line.strip_prefix("ai-gateway ready: ") {
                    let _ = ready_tx.send(rest.to_string());
                }
            }
        });
        let ready = wait_for_ready(&mut child, &ready_rx, &stderr);
        let (proxy, admin) = parse_ready(&ready);
        Gateway {
            child,
            proxy,
            admin,
            stderr,
            _providers: providers,
            _config_dir: config_dir,
        }
    }

    /// Runs `serve` when it is expected to refuse to start, and returns what it printed and the
    /// providers directory it was given (removed by then). Fails if it starts serving instead.
    pub fn expect_exit(self) -> (Outcome, PathBuf) {
        let (mut child, providers, _config_dir, stderr) = self.spawn();
        let mut stdout = child.stdout.take().unwrap();
        let stdout_reader = thread::spawn(move || {
            let mut text = String::new();
            let _ = stdout.read_to_string(&mut text);
            text
        });
        let deadline = Instant::now() + START_GUARD;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "ai-gateway serve was expected to exit but is still running after {START_GUARD:?}; stderr:\n{}",
                    lossy(&stderr)
                );
            }
            thread::sleep(Duration::from_millis(20));
        };
        let stdout = stdout_reader.join().unwrap_or_default();
        wait_for_eof(&stderr);
        let outcome = Outcome {
            status,
            stdout,
            stderr: lossy(&stderr),
        };
        (outcome, providers.path().to_path_buf())
    }

    fn spawn(self) -> (Child, ProvidersDir, TempDir, Arc<Mutex<Vec<u8>>>) {
        let providers = ProvidersDir::new(&self.modules);
        let config_dir = TempDir::new("config");
        let config = config_dir.write("kong.yaml", to_yaml(&self.config));
        let mut command = command();
        command
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .arg("--providers")
            .arg(providers.path())
            .args(["--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
            .args(["--workers", "2"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in &self.env {
            match value {
                Some(value) => command.env(name, value),
                None => command.env_remove(name),
            };
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        let stderr = capture(child.stderr.take().unwrap());
        (child, providers, config_dir, stderr)
    }
}

/// Collects a pipe into a buffer on a thread, so that the gateway never blocks writing its logs.
/// The buffer is shared with the thread until EOF, which the `Arc` count shows.
fn capture(mut pipe: impl Read + Send + 'static) -> Arc<Mutex<Vec<u8>>> {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let writer = Arc::clone(&buffer);
    thread::spawn(move || {
        let mut piece = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut piece) {
            if n == 0 {
                break;
            }
            writer.lock().unwrap().extend_from_slice(&piece[..n]);
        }
    });
    buffer
}

/// Waits until the capture thread has seen EOF, so that all of a finished process's stderr is in.
fn wait_for_eof(buffer: &Arc<Mutex<Vec<u8>>>) {
    let deadline = Instant::now() + START_GUARD;
    while Arc::strong_count(buffer) > 1 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
}

fn lossy(buffer: &Mutex<Vec<u8>>) -> String {
    String::from_utf8_lossy(&buffer.lock().unwrap()).into_owned()
}

fn wait_for_ready(
    child: &mut Child,
    ready: &mpsc::Receiver<String>,
    stderr: &Arc<Mutex<Vec<u8>>>,
) -> String {
    let deadline = Instant::now() + START_GUARD;
    loop {
        match ready.recv_timeout(Duration::from_millis(50)) {
            Ok(line) => return line,
            Err(mpsc::RecvTimeoutError::Disconnected) | Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Some(status) = child.try_wait().unwrap() {
                    wait_for_eof(stderr);
                    panic!(
                        "ai-gateway serve exited with {status} before it was ready; stderr:\n{}",
                        lossy(stderr)
                    );
                }
                if Instant::now() >= deadline {
                    let _ = child.kill();
                    panic!(
                        "ai-gateway serve printed no ready line within {START_GUARD:?}; stderr:\n{}",
                        lossy(stderr)
                    );
                }
            }
        }
    }
}

/// Parses `proxy http://127.0.0.1:PORT admin http://127.0.0.1:PORT`.
fn parse_ready(line: &str) -> (String, String) {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["proxy", proxy, "admin", admin] => (
            proxy.trim_end_matches('/').to_string(),
            admin.trim_end_matches('/').to_string(),
        ),
        _ => panic!("unexpected ready line: ai-gateway ready: {line}"),
    }
}

impl Gateway {
    /// Starts a gateway with `config` and only the OpenAI module.
    pub fn start(config: Value) -> Gateway {
        Serve::new(config).start()
    }

    /// A URL on the proxy listener.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.proxy)
    }

    /// A URL on the admin listener.
    pub fn admin_url(&self, path: &str) -> String {
        format!("{}{path}", self.admin)
    }

    /// Everything the gateway wrote to stderr so far.
    pub fn stderr(&self) -> String {
        lossy(&self.stderr)
    }

    /// The process id, to read its memory use from `/proc/<pid>/status`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running (a panic that escaped a module would have ended it).
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// `GET /status/routes` on the admin listener.
    pub fn route_status(&self) -> Value {
        let response = http::get(&self.admin_url("/status/routes")).send();
        assert_eq!(
            response.status,
            200,
            "GET /status/routes: {}",
            response.text()
        );
        response.json()
    }

    /// The `/status/routes` entry of the route called `name`.
    pub fn route_stats(&self, name: &str) -> Value {
        let status = self.route_status();
        status["routes"]
            .as_array()
            .and_then(|routes| routes.iter().find(|r| r["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no route named {name} in /status/routes: {status}"))
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("--- ai-gateway stderr ---\n{}", self.stderr());
        }
    }
}

/// A directory holding the gateway binary (hard-linked, or copied across file systems) and links
/// to `modules`, so that a test can check what the gateway finds beside its own executable.
/// Returns the directory and the binary in it.
pub fn gateway_beside(modules: &[Module]) -> (TempDir, PathBuf) {
    let dir = TempDir::new_in(&profile_dir(), "gateway-beside");
    let bin = dir.path().join("ai-gateway");
    if std::fs::hard_link(gateway_bin(), &bin).is_err() {
        std::fs::copy(gateway_bin(), &bin).unwrap_or_else(|e| {
            panic!("cannot copy the gateway into {}: {e}", dir.path().display())
        });
    }
    for module in modules {
        let link = dir.path().join(module.file_name());
        std::os::unix::fs::symlink(module.built_path(), &link)
            .unwrap_or_else(|e| panic!("cannot link {}: {e}", link.display()));
    }
    (dir, bin)
}
