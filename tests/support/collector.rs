//! A real OpenTelemetry collector for the telemetry tests: `rotel` from PyPI (pinned in
//! `tests/python/requirements.txt`), started on loopback with an OTLP/HTTP receiver and its debug
//! exporter at `detailed` verbosity, which prints every span and metric it receives as text on
//! stdout. The harness keeps that text and parses the parts the tests read: spans (ids, parent,
//! kind, attributes, events) and metric data points.

use std::{
    io::Read,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex, OnceLock},
    thread,
    time::{Duration, Instant},
};

use crate::{paths::repo_root, tempdir::TempDir};

/// Only stops a test that would hang; a collector that starts returns at once.
const START_GUARD: Duration = Duration::from_secs(60);

/// `rotel-agent` in `tests/.venv`, installed from the pinned requirements when it is missing
/// (once per test process).
pub fn rotel_binary() -> PathBuf {
    static FOUND: OnceLock<PathBuf> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            let tests = repo_root().join("tests");
            if let Some(found) = find_rotel(&tests.join(".venv")) {
                return found;
            }
            let venv = tests.join(".venv");
            let python = venv.join("bin/python");
            if !python.exists() {
                run(Command::new("python3").arg("-m").arg("venv").arg(&venv));
            }
            run(Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "-r",
                ])
                .arg(tests.join("python/requirements.txt")));
            find_rotel(&venv).unwrap_or_else(|| {
                panic!(
                    "rotel-agent is not in {} after installing tests/python/requirements.txt",
                    venv.display()
                )
            })
        })
        .clone()
}

fn run(command: &mut Command) {
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(status.success(), "{command:?} failed with {status}");
}

/// `<venv>/lib/python3.*/site-packages/rotel/rotel-agent`.
fn find_rotel(venv: &Path) -> Option<PathBuf> {
    std::fs::read_dir(venv.join("lib"))
        .ok()?
        .filter_map(Result::ok)
        .map(|entry| entry.path().join("site-packages/rotel/rotel-agent"))
        .find(|path| path.is_file())
}

/// A port on 127.0.0.1 that nothing listens on (it was free a moment ago).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A running collector, killed on drop.
pub struct Collector {
    child: Child,
    port: u16,
    output: Arc<Mutex<Vec<u8>>>,
    _dir: TempDir,
}

impl Collector {
    pub fn start() -> Collector {
        Collector::start_on(free_port())
    }

    /// A collector receiving OTLP/HTTP on `port`: for a gateway started before it.
    pub fn start_on(port: u16) -> Collector {
        let dir = TempDir::new("rotel");
        let mut child = Command::new(rotel_binary())
            .arg("start")
            .args(["--otlp-http-endpoint", &format!("127.0.0.1:{port}")])
            .args([
                "--otlp-grpc-endpoint",
                &format!("127.0.0.1:{}", free_port()),
            ])
            .args(["--exporter", "blackhole"])
            .args(["--debug-log", "traces", "--debug-log", "metrics"])
            .args(["--debug-log-verbosity", "detailed"])
            .args(["--batch-timeout", "50ms"])
            .arg("--pid-file")
            .arg(dir.path().join("rotel.pid"))
            .arg("--log-file")
            .arg(dir.path().join("rotel.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start rotel: {e}"));
        let output = Arc::new(Mutex::new(Vec::new()));
        for pipe in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let sink = Arc::clone(&output);
            thread::spawn(move || {
                let mut pipe = pipe;
                let mut piece = [0u8; 16384];
                while let Ok(n) = pipe.read(&mut piece) {
                    if n == 0 {
                        break;
                    }
                    sink.lock().unwrap().extend_from_slice(&piece[..n]);
                }
            });
        }
        let collector = Collector {
            child,
            port,
            output,
            _dir: dir,
        };
        collector.wait_until_listening();
        collector
    }

    fn wait_until_listening(&self) {
        let deadline = Instant::now() + START_GUARD;
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "rotel did not listen on 127.0.0.1:{} within {START_GUARD:?}; it printed:\n{}",
                self.port,
                self.text()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The base URL of its OTLP/HTTP receiver, for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Everything the collector printed so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<Span> {
        parse_spans(&self.text())
    }

    /// Every metric data point received so far, in order of arrival.
    pub fn data_points(&self) -> Vec<DataPoint> {
        parse_data_points(&self.text())
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("--- rotel output ---\n{}", self.text());
        }
    }
}

/// An attribute as the debug exporter prints it: `key: Type(value)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    pub key: String,
    /// `Str`, `Int`, `Double`, `Bool`, `Slice`.
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Clone, Default)]
pub struct Event {
    pub name: String,
    pub attributes: Vec<Attribute>,
}

#[derive(Debug, Clone, Default)]
pub struct Span {
    pub trace_id: String,
    /// Empty for a root span.
    pub parent_id: String,
    pub span_id: String,
    pub name: String,
    /// `SPAN_KIND_SERVER`, `SPAN_KIND_CLIENT`…
    pub kind: String,
    /// Start and end, in nanoseconds since the Unix epoch.
    pub start: u128,
    pub end: u128,
    pub attributes: Vec<Attribute>,
    pub events: Vec<Event>,
}

impl Span {
    /// The value of attribute `key` (the text inside `Type(...)`).
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.key == key)
            .map(|a| a.value.as_str())
    }

    /// The value of attribute `key`, failing the test when the span lacks it.
    pub fn get(&self, key: &str) -> &str {
        self.attr(key)
            .unwrap_or_else(|| panic!("span {:?} has no attribute {key}: {self:#?}", self.name))
    }
}

/// One data point of a metric, with the attributes of its series.
#[derive(Debug, Clone, Default)]
pub struct DataPoint {
    pub metric: String,
    pub unit: String,
    pub attributes: Vec<Attribute>,
    /// `Count`, `Sum`, `Value`… as printed.
    pub fields: Vec<(String, String)>,
}

impl DataPoint {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.key == key)
            .map(|a| a.value.as_str())
    }

    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `key: Type(value)` after a `->` marker.
fn parse_attribute(line: &str) -> Option<Attribute> {
    let rest = line.trim_start().strip_prefix("-> ")?;
    let (key, typed) = rest.split_once(": ")?;
    let open = typed.find('(')?;
    let value = typed.get(open + 1..typed.len().checked_sub(1)?)?;
    typed.ends_with(')').then(|| Attribute {
        key: key.to_string(),
        kind: typed[..open].to_string(),
        value: value.to_string(),
    })
}

fn header_value<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let rest = line.trim_start().strip_prefix(name)?;
    Some(rest.trim_start().strip_prefix(':')?.trim())
}

fn parse_spans(text: &str) -> Vec<Span> {
    #[derive(PartialEq)]
    enum Section {
        Head,
        Attributes,
        Events,
        Other,
    }
    let mut spans: Vec<Span> = Vec::new();
    let mut section = Section::Other;
    for line in text.lines() {
        if line.starts_with("Span #") {
            spans.push(Span::default());
            section = Section::Head;
            continue;
        }
        let Some(span) = spans.last_mut() else {
            continue;
        };
        if line.starts_with("ResourceSpans #")
            || line.starts_with("ScopeSpans #")
            || line.starts_with("ResourceMetrics #")
        {
            section = Section::Other;
            continue;
        }
        match line {
            "Attributes:" => section = Section::Attributes,
            "Events:" => section = Section::Events,
            "Links:" => section = Section::Other,
            _ if line.starts_with("SpanEvent #") => span.events.push(Event::default()),
            _ => match section {
                Section::Head => {
                    if let Some(v) = header_value(line, "Trace ID") {
                        span.trace_id = v.to_string();
                    } else if let Some(v) = header_value(line, "Parent ID") {
                        span.parent_id = v.to_string();
                    } else if let Some(v) = header_value(line, "ID") {
                        span.span_id = v.to_string();
                    } else if let Some(v) = header_value(line, "Name") {
                        span.name = v.to_string();
                    } else if let Some(v) = header_value(line, "Kind") {
                        span.kind = v.to_string();
                    } else if let Some(v) = header_value(line, "Start time") {
                        span.start = v.parse().unwrap_or_default();
                    } else if let Some(v) = header_value(line, "End time") {
                        span.end = v.parse().unwrap_or_default();
                    }
                }
                Section::Attributes => {
                    if let Some(a) = parse_attribute(line) {
                        span.attributes.push(a);
                    } else if !line.starts_with("     ->") {
                        section = Section::Other;
                    }
                }
                Section::Events => {
                    if let Some(event) = span.events.last_mut() {
                        if let Some(name) = header_value(line, "-> Name") {
                            event.name = name.to_string();
                        } else if line.starts_with("          ->") {
                            event.attributes.extend(parse_attribute(line));
                        }
                    }
                }
                Section::Other => {}
            },
        }
    }
    spans
}

fn parse_data_points(text: &str) -> Vec<DataPoint> {
    let mut points: Vec<DataPoint> = Vec::new();
    let (mut metric, mut unit) = (String::new(), String::new());
    let mut in_point = false;
    for line in text.lines() {
        if line.starts_with("Metric #") || line.starts_with("ResourceSpans #") {
            in_point = false;
            continue;
        }
        if let Some(name) = header_value(line, "-> Name") {
            metric = name.to_string();
            continue;
        }
        if let Some(u) = header_value(line, "-> Unit") {
            unit = u.to_string();
            continue;
        }
        if line.contains("DataPoints #") {
            points.push(DataPoint {
                metric: metric.clone(),
                unit: unit.clone(),
                ..DataPoint::default()
            });
            in_point = true;
            continue;
        }
        if !in_point {
            continue;
        }
        let Some(point) = points.last_mut() else {
            continue;
        };
        if let Some(a) = parse_attribute(line) {
            point.attributes.push(a);
        } else if let Some((name, value)) = line.split_once(": ") {
            if !name.starts_with(' ') {
                point
                    .fields
                    .push((name.to_string(), value.trim().to_string()));
            }
        }
    }
    points
}
