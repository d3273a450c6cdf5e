//! The load harness: starts the mock upstream, the gateway and nginx on loopback, drives each with
//! `wrk`, probes time to first token and the gateway's memory, prints one table and writes it to
//! a file. Run it with `benches/run.sh` (which builds the release binaries first); `--help` lists
//! the options.
//!
//! Everything it starts is stopped when it ends, fails or is interrupted: children are killed on
//! drop, Ctrl-C and SIGTERM only set a flag that is checked between steps (the children of the
//! terminal's process group get the signal too), and each child asks the kernel for SIGKILL
//! should the harness itself die.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

fn check_stop() -> Res<()> {
    if STOP.load(Ordering::SeqCst) {
        return Err("interrupted".into());
    }
    Ok(())
}

const USAGE: &str =
    "load [--duration SECS (10)] [--rounds 2] [--connections 1,16,64] [--chunks 20] \
[--delay-ms 0] [--probes 2000] [--streams 1000] [--otlp [--sink]] [--floor] [--no-one-core] [--mock-workers 1] \
[--out FILE] [--only json|stream|anthropic (any other value skips wrk)]";

struct Options {
    /// Seconds of load on each proxy per cell, over all rounds.
    duration: u64,
    /// Alternating runs of nginx and the gateway per cell.
    rounds: u64,
    connections: Vec<u32>,
    chunks: u32,
    delay_ms: u64,
    probes: usize,
    streams: usize,
    otlp: bool,
    /// With `otlp`, a third gateway exporting to a sink that keeps nothing.
    sink: bool,
    /// The bare proxy on the gateway's HTTP stack, in the cells it can serve.
    floor: bool,
    /// The cells at one connection measured again with the request's processes on one core.
    one_core: bool,
    mock_workers: u32,
    out: PathBuf,
    only: Option<String>,
}

impl Options {
    fn parse(root: &Path) -> Res<Options> {
        let mut o = Options {
            duration: 10,
            rounds: 2,
            connections: vec![1, 16, 64],
            chunks: 20,
            delay_ms: 0,
            probes: 2000,
            streams: TARGET_STREAMS,
            otlp: false,
            sink: false,
            floor: false,
            one_core: true,
            mock_workers: 1,
            out: root.join("benches/results/latest.md"),
            only: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            let mut value = || args.next().ok_or(format!("{a} needs a value"));
            match a.as_str() {
                "--duration" => o.duration = value()?.parse()?,
                "--rounds" => o.rounds = value()?.parse::<u64>()?.max(1),
                "--connections" => {
                    o.connections = value()?
                        .split(',')
                        .map(str::parse)
                        .collect::<Result<_, _>>()?
                }
                "--chunks" => o.chunks = value()?.parse()?,
                "--delay-ms" => o.delay_ms = value()?.parse()?,
                "--probes" => o.probes = value()?.parse()?,
                "--streams" => o.streams = value()?.parse()?,
                "--mock-workers" => o.mock_workers = value()?.parse()?,
                "--out" => o.out = PathBuf::from(value()?),
                "--only" => o.only = Some(value()?),
                "--otlp" => o.otlp = true,
                "--sink" => o.sink = true,
                "--floor" => o.floor = true,
                "--no-one-core" => o.one_core = false,
                "-h" | "--help" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                other => return Err(format!("unknown option {other}\n{USAGE}").into()),
            }
        }
        if o.sink && !o.otlp {
            return Err("--sink compares with --otlp's exporting gateway: give both".into());
        }
        Ok(o)
    }

    fn runs(&self, what: &str) -> bool {
        self.only.as_deref().is_none_or(|o| o == what)
    }

    /// The seconds of one run: wrk takes whole seconds.
    fn slice(&self) -> u64 {
        (self.duration / self.rounds).max(1)
    }
}

/// The processes the harness started, killed (and reaped) on drop.
struct Children(Vec<(String, Child)>);

impl Children {
    fn spawn(&mut self, name: &str, command: &mut Command) -> Res<u32> {
        // SAFETY: prctl is async-signal-safe; it only asks for SIGKILL when the parent dies.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        let pid = child.id();
        self.0.push((name.to_string(), child));
        Ok(pid)
    }
}

impl Drop for Children {
    /// Stops the children one by one, the last started first, so that the gateway is gone
    /// before its upstreams and its collector (it flushes its spans on the way out). SIGINT: a
    /// fast shutdown for actix-web (SIGTERM would wait for open connections) and nginx.
    fn drop(&mut self) {
        for (name, child) in self.0.iter_mut().rev() {
            if let Ok(pid) = libc::pid_t::try_from(child.id()) {
                // SAFETY: the pid is our own unreaped child's.
                unsafe { libc::kill(pid, libc::SIGINT) };
            }
            let deadline = Instant::now() + Duration::from_secs(3);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if matches!(child.try_wait(), Ok(None)) {
                eprintln!("{name} did not stop on SIGINT; killing it");
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// A temporary directory, removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> Res<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_for_port(port: u16, what: &str) -> Res<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        check_stop()?;
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("{what} did not listen on port {port}").into())
}

fn raise_fd_limit() {
    let limit = libc::rlimit {
        rlim_cur: 65_536,
        rlim_max: 65_536,
    };
    // SAFETY: plain syscall on a valid struct; failure only leaves the old limit (the children
    // inherit whichever it is).
    unsafe {
        if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
            let mut current = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut current) == 0 {
                current.rlim_cur = current.rlim_max;
                libc::setrlimit(libc::RLIMIT_NOFILE, &current);
            }
        }
    }
}

fn rss_kib(pid: u32) -> Res<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmRSS in /proc/<pid>/status".into())
}

fn find_rotel(root: &Path) -> Option<PathBuf> {
    let lib = root.join("tests/.venv/lib");
    std::fs::read_dir(lib)
        .ok()?
        .flatten()
        .map(|e| e.path().join("site-packages/rotel/rotel-agent"))
        .find(|p| p.is_file())
}

const JSON_BODY: &str = r#"{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"What is 1 + 1? Please explain in a few sentences."}]}"#;
const STREAM_BODY: &str = r#"{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"What is 1 + 1? Please explain in a few sentences."}]}"#;

/// Starts a gateway on `config` with its analytics log in `analytics`, exporting traces and
/// metrics to `otlp` when given, and waits for it to say it is ready. Its pid, its port and its
/// admin port.
fn start_gateway(
    children: &mut Children,
    release: &Path,
    config: &Path,
    analytics: &Path,
    otlp: Option<&str>,
) -> Res<(u32, u16, u16)> {
    let port = free_port()?;
    let admin = free_port()?;
    let mut command = Command::new(release.join("ai-gateway"));
    command
        .arg("serve")
        .arg("--config")
        .arg(config)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--admin-listen", &format!("127.0.0.1:{admin}")])
        .arg("--analytics-log")
        .arg(analytics)
        .env("AI_GATEWAY_LOG", "warn")
        .stdout(Stdio::piped());
    match otlp {
        Some(endpoint) => command.env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        None => command.args(["--traces-exporter", "none", "--metrics-exporter", "none"]),
    };
    let pid = children.spawn("ai-gateway", &mut command)?;
    let stdout = children
        .0
        .last_mut()
        .and_then(|(_, c)| c.stdout.take())
        .ok_or("no stdout from the gateway")?;
    let mut ready = String::new();
    BufReader::new(stdout).read_line(&mut ready)?;
    if !ready.starts_with("ai-gateway ready") {
        return Err(format!("the gateway did not start: {ready}").into());
    }
    Ok((pid, port, admin))
}

fn wrk_script(body: &str) -> String {
    format!(
        "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = '{body}'\n"
    )
}

/// nginx as the plain proxy on `listen`, and with `sink`, a server on that port that answers 200 to
/// every OTLP export and keeps nothing (nginx reads and discards the body).
fn nginx_conf(dir: &Path, listen: u16, mock: u16, sink: Option<u16>) -> String {
    let d = dir.display();
    let sink = sink.map_or(String::new(), |port| {
        format!(
            r#"    server {{
        listen 127.0.0.1:{port};
        access_log off;
        client_max_body_size 64m;
        location / {{
            default_type application/x-protobuf;
            return 200 "";
        }}
    }}
"#
        )
    });
    format!(
        r#"worker_processes 2;
daemon off;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log {d}/nginx-access.log combined buffer=64k;
    client_body_temp_path {d}/nginx-body;
    proxy_temp_path {d}/nginx-proxy;
    fastcgi_temp_path {d}/nginx-fastcgi;
    uwsgi_temp_path {d}/nginx-uwsgi;
    scgi_temp_path {d}/nginx-scgi;
    keepalive_requests 1000000;
    upstream mock {{
        server 127.0.0.1:{mock};
        keepalive 256;
        keepalive_requests 1000000;
    }}
    server {{
        listen 127.0.0.1:{listen} backlog=4096;
        location / {{
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }}
    }}
{sink}}}
"#
    )
}

fn gateway_config(mock: u16) -> String {
    let upstream = format!("http://127.0.0.1:{mock}");
    // No configured model: the client's goes upstream, and the mock answers any.
    let route = |name: &str, provider: &str, auth: &str, key: &str, options: String| {
        format!(
            r#"{{"name":"{name}","paths":["/{name}"],"strip_path":true,"plugins":[{{"name":"ai-proxy","config":{{"route_type":"llm/v1/chat","auth":{{"header_name":"{auth}","header_value":"{key}"}},"model":{{"provider":"{provider}","options":{options}}},"logging":{{"log_statistics":true}}}}}}]}}"#,
        )
    };
    let openai = route(
        "openai",
        "openai",
        "Authorization",
        "Bearer sk-bench",
        format!(r#"{{"upstream_url":"{upstream}"}}"#),
    );
    let anthropic = route(
        "anthropic",
        "anthropic",
        "x-api-key",
        "sk-ant-bench",
        format!(
            r#"{{"upstream_url":"{upstream}","anthropic_version":"2023-06-01","max_tokens":256}}"#
        ),
    );
    // JSON is YAML: the gateway reads this as a decK file.
    format!(
        r#"{{"_format_version":"3.0","services":[{{"name":"bench","url":"{upstream}","routes":[{openai},{anthropic}]}}]}}"#
    )
}

/// One wrk run's figures.
#[derive(Clone, Copy, Default)]
struct Load {
    rps: f64,
    requests: u64,
    p50_us: f64,
    p99_us: f64,
    errors: u64,
    /// CPU time per request of the proxy under test (all its processes and threads), µs.
    proxy_cpu_us: f64,
    /// CPU time per request of the collector while the proxy was under load, µs.
    collector_cpu_us: f64,
}

impl Load {
    /// Several runs as one: the throughput over their summed time, CPU per request over their
    /// summed requests, and the median of their percentiles (wrk prints percentiles, not the
    /// histograms behind them, so these cannot be merged exactly).
    fn combine(runs: &[Load]) -> Load {
        let requests: u64 = runs.iter().map(|r| r.requests).sum();
        let seconds: f64 = runs.iter().map(|r| r.requests as f64 / r.rps).sum();
        let per_request = |f: fn(&Load) -> f64| {
            runs.iter().map(|r| f(r) * r.requests as f64).sum::<f64>() / requests.max(1) as f64
        };
        Load {
            rps: if seconds > 0.0 {
                requests as f64 / seconds
            } else {
                0.0
            },
            requests,
            p50_us: median(runs.iter().map(|r| r.p50_us).collect()),
            p99_us: median(runs.iter().map(|r| r.p99_us).collect()),
            errors: runs.iter().map(|r| r.errors).sum(),
            proxy_cpu_us: per_request(|r| r.proxy_cpu_us),
            collector_cpu_us: per_request(|r| r.collector_cpu_us),
        }
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The proxies a cell can measure, in the order they take their first turn.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Proxy {
    Nginx,
    /// The gateway under test, exporting to the collector when `--otlp` is given.
    Gateway,
    /// The same gateway without span or metric export.
    Unexported,
    /// The same gateway exporting to a sink that keeps nothing.
    ToSink,
    /// The bare proxy on the gateway's HTTP stack (`bare-proxy`).
    Floor,
}

/// One cell measured in `rounds` rounds: the direct upstream (when there is one), then each of
/// `proxies` (nginx and the gateway, then those of the companions that run), the first of them
/// moving to the back each round: with two, nginx goes first in even rounds and the gateway in
/// odd ones. The machine's speed drifts by a third within minutes here; alternating short runs
/// lets a drift weigh on every proxy alike instead of on whichever ran in the slow minute.
fn alternate(
    rounds: u64,
    mut direct: impl FnMut() -> Res<Option<Load>>,
    proxies: &[Proxy],
    mut proxy: impl FnMut(usize) -> Res<Load>,
) -> Res<Cell> {
    let position = |role: Proxy| proxies.iter().position(|&p| p == role);
    let (Some(nginx), Some(gateway)) = (position(Proxy::Nginx), position(Proxy::Gateway)) else {
        return Err("a cell needs nginx and the gateway".into());
    };
    let mut directs = Vec::new();
    let mut runs: Vec<Vec<Load>> = vec![Vec::new(); proxies.len()];
    for round in 0..rounds as usize {
        directs.extend(direct()?);
        for turn in 0..proxies.len() {
            let p = (round + turn) % proxies.len();
            runs[p].push(proxy(p)?);
        }
    }
    let ratios = |p: usize| -> Vec<f64> {
        runs[nginx]
            .iter()
            .zip(&runs[p])
            .map(|(n, g)| g.rps / n.rps)
            .collect()
    };
    let companion = |role: Proxy| {
        position(role).map(|p| Companion {
            load: Load::combine(&runs[p]),
            round_ratios: ratios(p),
        })
    };
    Ok(Cell {
        direct: (!directs.is_empty()).then(|| Load::combine(&directs)),
        nginx: Load::combine(&runs[nginx]),
        gateway: Load::combine(&runs[gateway]),
        round_ratios: ratios(gateway),
        unexported: companion(Proxy::Unexported),
        to_sink: companion(Proxy::ToSink),
        floor: companion(Proxy::Floor),
    })
}

/// A cell's figures, each proxy's rounds combined.
struct Cell {
    direct: Option<Load>,
    nginx: Load,
    gateway: Load,
    /// gateway/nginx of each round.
    round_ratios: Vec<f64>,
    /// The gateway without span export.
    unexported: Option<Companion>,
    /// The gateway exporting to a sink that keeps nothing.
    to_sink: Option<Companion>,
    /// The bare proxy on the gateway's HTTP stack.
    floor: Option<Companion>,
}

/// Another proxy measured in the same rounds as the gateway that exports to the collector:
/// the gateway without export shows how much of the gap to nginx is span export's and the
/// collector's; exporting to a sink, how much of that is the gateway's own span path; the bare
/// proxy, how much of the rest is the HTTP stack's.
struct Companion {
    load: Load,
    /// its RPS over nginx's, each round.
    round_ratios: Vec<f64>,
}

fn duration_us(text: &str) -> Option<f64> {
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1e3)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60e6)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1e6)
    } else {
        return None;
    };
    number.parse::<f64>().ok().map(|n| n * scale)
}

fn parse_wrk(out: &str) -> Res<Load> {
    let mut load = Load::default();
    for line in out.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("Requests/sec:"), Some(v)) => load.rps = v.parse()?,
            (Some(n), Some("requests")) => load.requests = n.parse().unwrap_or(0),
            (Some("50.000%" | "50%"), Some(v)) => load.p50_us = duration_us(v).unwrap_or(0.0),
            (Some("99.000%" | "99%"), Some(v)) => load.p99_us = duration_us(v).unwrap_or(0.0),
            (Some("Non-2xx"), _) => {
                load.errors += line
                    .rsplit(' ')
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0)
            }
            (Some("Socket"), Some("errors:")) => {
                load.errors += line
                    .split(|c: char| !c.is_ascii_digit())
                    .filter_map(|n| n.parse::<u64>().ok())
                    .sum::<u64>()
            }
            _ => {}
        }
    }
    if load.rps == 0.0 {
        return Err(format!("wrk printed no throughput:\n{out}").into());
    }
    Ok(load)
}

/// `pids` and every process whose parent is among them (nginx's workers), each with the clock
/// ticks of CPU (user and system) it has used so far.
fn family(pids: &[u32]) -> Vec<(u32, u64)> {
    let fields = |stat: &str| -> Option<(u32, u64)> {
        // The command name is in parentheses and may hold spaces: count fields after it.
        let rest = stat.get(stat.rfind(')')? + 2..)?;
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ppid = f.get(1)?.parse().ok()?;
        let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
        Some((ppid, ticks))
    };
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let (ppid, ticks) = fields(&stat)?;
            (pids.contains(&pid) || pids.contains(&ppid)).then_some((pid, ticks))
        })
        .collect()
}

/// Clock ticks of CPU that `pids` and their children have used so far.
fn cpu_ticks(pids: &[u32]) -> u64 {
    family(pids).iter().map(|&(_, ticks)| ticks).sum()
}

/// The core the one-core cells run on.
const ONE_CORE: usize = 0;

/// Lets every thread of `pids` run only on `cpu`, or, with `None`, on any of the machine's. A
/// process started meanwhile by one of them inherits what its thread had.
fn set_affinity(pids: &[u32], cpu: Option<usize>) -> Res<()> {
    // SAFETY: an all-zero cpu_set_t is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let cpus = match cpu {
        Some(cpu) => cpu..cpu + 1,
        None => 0..libc::CPU_SETSIZE as usize,
    };
    for cpu in cpus.filter(|&cpu| cpu < libc::CPU_SETSIZE as usize) {
        // SAFETY: `cpu` is below CPU_SETSIZE, so within the set.
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    for &pid in pids {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) else {
                continue;
            };
            // SAFETY: `set` is a whole cpu_set_t, and its size is the one given.
            let done = unsafe {
                libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set)
            };
            if done != 0 {
                let error = std::io::Error::last_os_error();
                // A thread that ended since the directory was read is no matter.
                if error.raw_os_error() != Some(libc::ESRCH) {
                    return Err(
                        format!("cannot set the CPUs of thread {tid} of {pid}: {error}").into(),
                    );
                }
            }
        }
    }
    Ok(())
}

/// A wrk run against `url`, with the CPU time per request of the `proxy` processes and of the
/// `collector`'s.
fn measured(
    url: &str,
    script: &Path,
    connections: u32,
    seconds: u64,
    proxy: &[u32],
    collector: &[u32],
) -> Res<Load> {
    let before = (cpu_ticks(proxy), cpu_ticks(collector));
    let mut load = wrk(url, script, connections, seconds)?;
    let after = (cpu_ticks(proxy), cpu_ticks(collector));
    // SAFETY: sysconf only reads a constant.
    let ticks_per_s = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let per_request = |ticks: u64| ticks as f64 * 1e6 / ticks_per_s / load.requests.max(1) as f64;
    load.proxy_cpu_us = per_request(after.0.saturating_sub(before.0));
    load.collector_cpu_us = per_request(after.1.saturating_sub(before.1));
    Ok(load)
}

fn wrk(url: &str, script: &Path, connections: u32, seconds: u64) -> Res<Load> {
    check_stop()?;
    let threads = connections.clamp(1, 2);
    let output = Command::new("wrk")
        .args(["-t", &threads.to_string(), "-c", &connections.to_string()])
        .args([
            "-d",
            &format!("{seconds}s"),
            "--latency",
            "--timeout",
            "10s",
        ])
        .arg("-s")
        .arg(script)
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run wrk (apt-get install -y wrk): {e}"))?;
    check_stop()?;
    parse_wrk(&String::from_utf8_lossy(&output.stdout))
}

fn request(path: &str, port: u16, body: &str, extra: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Time to first token: sequential streamed requests on one keep-alive connection, each timed
/// from the request's write to the first SSE `data:` event of its body (not to the headers).
/// Every server here answers a stream with chunked encoding, whose last chunk ends the response.
fn ttft(port: u16, path: &str, probes: usize) -> Res<(f64, f64)> {
    check_stop()?;
    let mut conn = TcpStream::connect(("127.0.0.1", port))?;
    conn.set_nodelay(true)?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let req = request(path, port, STREAM_BODY, "");
    let mut samples = Vec::with_capacity(probes);
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut piece = vec![0u8; 64 * 1024];
    // The first tenth warms the connection pools up and is not counted.
    for i in 0..probes + probes / 10 {
        buf.clear();
        let sent = Instant::now();
        conn.write_all(&req)?;
        let mut first: Option<Duration> = None;
        loop {
            let n = conn.read(&mut piece)?;
            if n == 0 {
                return Err(format!(
                    "127.0.0.1:{port}{path} closed the connection mid-response after {} probes:\n{}",
                    i,
                    String::from_utf8_lossy(&buf)
                )
                .into());
            }
            buf.extend_from_slice(&piece[..n]);
            let body = find(&buf, b"\r\n\r\n", 0);
            if first.is_none() && body.and_then(|b| find(&buf, b"data:", b)).is_some() {
                first = Some(sent.elapsed());
            }
            if !buf.starts_with(b"HTTP/1.1 200") && buf.len() >= 12 {
                return Err(format!(
                    "127.0.0.1:{port}{path} failed:\n{}",
                    String::from_utf8_lossy(&buf)
                )
                .into());
            }
            if first.is_some() && buf.ends_with(b"\r\n0\r\n\r\n") {
                break;
            }
        }
        if i >= probes / 10 {
            samples.push(first.unwrap_or_default().as_secs_f64() * 1e6);
        }
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    Ok((at(0.5), at(0.99)))
}

/// Opens `count` streams that the mock holds open, waits for each one's first event, and returns
/// the gateway's RSS then.
fn rss_with_open_streams(port: u16, gateway_pid: u32, count: usize) -> Res<(u64, usize)> {
    let req = request(
        "/openai/v1/chat/completions",
        port,
        STREAM_BODY,
        "x-mock-hold: 1\r\n",
    );
    let mut conns = Vec::with_capacity(count);
    for _ in 0..count {
        let mut c = TcpStream::connect(("127.0.0.1", port))?;
        c.write_all(&req)?;
        conns.push(c);
    }
    let mut open = 0;
    let mut piece = [0u8; 4096];
    for c in &mut conns {
        c.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut seen = Vec::new();
        while find(&seen, b"data:", 0).is_none() {
            let n = c.read(&mut piece)?;
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&piece[..n]);
        }
        open += usize::from(find(&seen, b"data:", 0).is_some());
    }
    let rss = rss_kib(gateway_pid)?;
    drop(conns);
    Ok((rss, open))
}

/// The gateway's counts of spans and analytics records it dropped, from its admin `/metrics`, so
/// that a fast run is never one that quietly gave its telemetry up.
fn dropped_telemetry(admin: u16) -> Res<String> {
    let mut conn = TcpStream::connect(("127.0.0.1", admin))?;
    conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")?;
    let mut text = String::new();
    conn.read_to_string(&mut text)?;
    let counts: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("ai_gateway_") && l.contains("dropped"))
        .map(|l| format!("`{l}`"))
        .collect();
    Ok(if counts.is_empty() {
        "no drop counters found".to_string()
    } else {
        counts.join(", ")
    })
}

struct Row {
    scenario: &'static str,
    connections: u32,
    cell: Cell,
}

/// A cell's ratio in each round, as the tables show them.
fn per_round(ratios: &[f64]) -> String {
    ratios
        .iter()
        .map(|q| format!("{q:.2}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn ms(us: f64) -> String {
    format!("{:.2}", us / 1000.0)
}

fn main() -> Res<()> {
    let root = std::env::current_exe()?
        .parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .ok_or("cannot find the workspace from the executable's path")?;
    let opts = Options::parse(&root)?;
    let release = root.join("target/release");
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
        libc::signal(
            libc::SIGTERM,
            on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
    raise_fd_limit();
    let dir =
        TempDir(std::env::temp_dir().join(format!("ai-gateway-bench-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0)?;
    let mut children = Children(Vec::new());

    let mock = free_port()?;
    let mock_pid = children.spawn(
        "mock",
        Command::new(release.join("mock"))
            .args(["--listen", &format!("127.0.0.1:{mock}")])
            .args(["--chunks", &opts.chunks.to_string()])
            .args(["--delay-ms", &opts.delay_ms.to_string()])
            .args(["--workers", &opts.mock_workers.to_string()]),
    )?;
    wait_for_port(mock, "the mock")?;

    let config = dir.0.join("gateway.yaml");
    std::fs::write(&config, gateway_config(mock))?;
    let mut telemetry = "log_statistics on, analytics log to a file, no span export".to_string();
    let mut collector_pids = Vec::new();
    let mut otlp_endpoint = None;
    if opts.otlp {
        let rotel = find_rotel(&root).ok_or(
            "--otlp needs rotel in tests/.venv (cargo test -p ai-gateway-tests creates it)",
        )?;
        let otlp = free_port()?;
        collector_pids.push(
            children.spawn(
                "rotel",
                Command::new(rotel)
                    .arg("start")
                    .args(["--otlp-http-endpoint", &format!("127.0.0.1:{otlp}")])
                    .args([
                        "--otlp-grpc-endpoint",
                        &format!("127.0.0.1:{}", free_port()?),
                    ])
                    .args(["--exporter", "blackhole"])
                    .arg("--pid-file")
                    .arg(dir.0.join("rotel.pid"))
                    .arg("--log-file")
                    .arg(dir.0.join("rotel.log"))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null()),
            )?,
        );
        wait_for_port(otlp, "rotel")?;
        otlp_endpoint = Some(format!("http://127.0.0.1:{otlp}"));
        telemetry =
            "log_statistics on, analytics log to a file, traces and metrics exported over OTLP to rotel"
                .to_string();
    }
    // nginx first, so that it stops after the gateways (the last started stops first) and the
    // sink is there for the gateway that exports to it from its start to its last flush.
    let sink = opts.sink.then(free_port).transpose()?;
    let nginx = free_port()?;
    std::fs::write(
        dir.0.join("nginx.conf"),
        nginx_conf(&dir.0, nginx, mock, sink),
    )?;
    let nginx_pid = children.spawn(
        "nginx",
        Command::new("nginx")
            .arg("-p")
            .arg(&dir.0)
            .arg("-c")
            .arg(dir.0.join("nginx.conf"))
            .stderr(Stdio::null()),
    )?;
    wait_for_port(nginx, "nginx")?;
    let (gateway_pid, gateway, admin) = start_gateway(
        &mut children,
        &release,
        &config,
        &dir.0.join("analytics.jsonl"),
        otlp_endpoint.as_deref(),
    )?;
    // With export on, a second gateway without it, measured in the same rounds: the gap between
    // the two is what span export and the collector cost on these shared cores.
    let unexported = if opts.otlp {
        Some(start_gateway(
            &mut children,
            &release,
            &config,
            &dir.0.join("analytics-unexported.jsonl"),
            None,
        )?)
    } else {
        None
    };
    // With --sink, a third exporting to nginx answering 200 and keeping nothing: what is left
    // between it and the gateway without export is the gateway's own span path.
    let to_sink = match sink {
        Some(port) => Some(start_gateway(
            &mut children,
            &release,
            &config,
            &dir.0.join("analytics-sink.jsonl"),
            Some(&format!("http://127.0.0.1:{port}")),
        )?),
        None => None,
    };
    // With --floor, the bare proxy on the gateway's HTTP stack, to the mock: how far the stack
    // alone is from nginx, and so how much of the gateway's gap is its own work.
    let floor = if opts.floor {
        let port = free_port()?;
        let pid = children.spawn(
            "bare-proxy",
            Command::new(release.join("bare-proxy"))
                .args(["--listen", &format!("127.0.0.1:{port}")])
                .args(["--upstream", &format!("http://127.0.0.1:{mock}")]),
        )?;
        wait_for_port(port, "the bare proxy")?;
        Some((pid, port))
    } else {
        None
    };

    std::thread::sleep(Duration::from_millis(300));

    let idle_rss = rss_kib(gateway_pid)?;
    let held = if opts.streams > 0 {
        Some(rss_with_open_streams(gateway, gateway_pid, opts.streams)?)
    } else {
        None
    };
    // The other gateways hold the same streams, unmeasured, so that all are loaded after the same
    // history: a burst leaves the allocator's heap in another state, which moved the CPU per
    // request by a fifth with mimalloc.
    if opts.streams > 0 {
        for (pid, port, _) in unexported.into_iter().chain(to_sink) {
            rss_with_open_streams(port, pid, opts.streams)?;
        }
    }
    // Let the gateways notice the closed streams before loading them.
    std::thread::sleep(Duration::from_millis(500));

    let json_script = dir.0.join("json.lua");
    let stream_script = dir.0.join("stream.lua");
    std::fs::write(&json_script, wrk_script(JSON_BODY))?;
    std::fs::write(&stream_script, wrk_script(STREAM_BODY))?;
    let direct_url = format!("http://127.0.0.1:{mock}/v1/chat/completions");
    let nginx_url = format!("http://127.0.0.1:{nginx}/v1/chat/completions");
    let gateway_url = |port: u16, path: &str| format!("http://127.0.0.1:{port}{path}");

    // Each proxy of a cell, nginx first: what it is, its pid and the URL that reaches the mock
    // through it. The bare proxy relays and cannot translate, so it serves the OpenAI cells only.
    let targets = |path: &str, with_floor: bool| -> Vec<(Proxy, u32, String)> {
        let mut targets = vec![
            (Proxy::Nginx, nginx_pid, nginx_url.clone()),
            (Proxy::Gateway, gateway_pid, gateway_url(gateway, path)),
        ];
        for (role, started) in [(Proxy::Unexported, unexported), (Proxy::ToSink, to_sink)] {
            if let Some((pid, port, _)) = started {
                targets.push((role, pid, gateway_url(port, path)));
            }
        }
        if let Some((pid, port)) = floor.filter(|_| with_floor) {
            targets.push((Proxy::Floor, pid, gateway_url(port, "/v1/chat/completions")));
        }
        targets
    };
    let openai_targets = targets("/openai/v1/chat/completions", true);
    let anthropic_targets = targets("/anthropic/v1/chat/completions", false);
    let names = |targets: &[(Proxy, u32, String)]| {
        targets
            .iter()
            .map(|(role, _, _)| match role {
                Proxy::Nginx => "nginx",
                Proxy::Gateway => "gateway",
                Proxy::Unexported => "gateway without span export",
                Proxy::ToSink => "gateway exporting to a sink",
                Proxy::Floor => "bare proxy",
            })
            .collect::<Vec<_>>()
            .join(", ")
    };

    let d = opts.slice();
    let cells = [
        ("chat", &json_script, "json", true, &openai_targets),
        (
            "chat stream",
            &stream_script,
            "stream",
            true,
            &openai_targets,
        ),
        (
            "stream → anthropic",
            &stream_script,
            "anthropic",
            false,
            &anthropic_targets,
        ),
    ];
    let measure_cells = |connections: &[u32], placed: &str| -> Res<Vec<Row>> {
        let mut rows = Vec::new();
        for &(scenario, script, what, direct, targets) in &cells {
            if !opts.runs(what) {
                continue;
            }
            for &c in connections {
                eprintln!(
                    "{scenario}, {c} connections{placed}: {}{}; {} rounds of {d} s",
                    if direct { "direct, " } else { "" },
                    names(targets),
                    opts.rounds
                );
                let cell = alternate(
                    opts.rounds,
                    || {
                        if direct {
                            wrk(&direct_url, script, c, d).map(Some)
                        } else {
                            Ok(None)
                        }
                    },
                    &targets.iter().map(|(role, _, _)| *role).collect::<Vec<_>>(),
                    |p| {
                        let (_, pid, url) = &targets[p];
                        measured(url, script, c, d, &[*pid], &collector_pids)
                    },
                )?;
                rows.push(Row {
                    scenario,
                    connections: c,
                    cell,
                });
            }
        }
        Ok(rows)
    };
    let rows = measure_cells(&opts.connections, "")?;
    // At one connection a request's hops (wrk, the proxy, the mock, the proxy, wrk) run one after
    // another. Measured again with all of them on one core and the collector where the scheduler
    // puts it: on a virtual machine a hop that crosses to another vCPU waits for it to wake, and
    // the collector's bursts on the other core then make the tail.
    let one_core_rows = if opts.one_core && opts.connections.contains(&1) {
        // The harness itself, so that wrk starts there; not its other children (the collector).
        let mut pinned = vec![std::process::id(), mock_pid, gateway_pid];
        pinned.extend(unexported.into_iter().chain(to_sink).map(|(pid, _, _)| pid));
        pinned.extend(floor.map(|(pid, _)| pid));
        pinned.extend(family(&[nginx_pid]).into_iter().map(|(pid, _)| pid));
        set_affinity(&pinned, Some(ONE_CORE))?;
        let measured = measure_cells(&[1], ", on one core");
        set_affinity(&pinned, None)?;
        measured?
    } else {
        Vec::new()
    };

    eprintln!("time to first token: {} probes each", opts.probes);
    let probes = opts.probes.max(10);
    let ttft_direct = ttft(mock, "/v1/chat/completions", probes)?;
    let ttft_nginx = ttft(nginx, "/v1/chat/completions", probes)?;
    let ttft_gateway = ttft(gateway, "/openai/v1/chat/completions", probes)?;
    let ttft_anthropic = ttft(gateway, "/anthropic/v1/chat/completions", probes)?;
    let loaded_rss = rss_kib(gateway_pid)?;
    let dropped = dropped_telemetry(admin)?;

    let report = report(
        &opts,
        &telemetry,
        &rows,
        &one_core_rows,
        [ttft_direct, ttft_nginx, ttft_gateway, ttft_anthropic],
        (idle_rss, held, loaded_rss),
        &dropped,
    );
    print!("{report}");
    if let Some(parent) = opts.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&opts.out, &report)?;
    eprintln!("written to {}", opts.out.display());
    Ok(())
}

/// The number of open streams the RSS target is stated for.
const TARGET_STREAMS: usize = 1000;

/// The CPU per request a proxy and its collector may spend together for `ratio` of nginx's
/// requests per second, when the load keeps `cores` cores busy: at that rate a request has
/// `cores / (ratio × nginx's RPS)` of CPU time, of which wrk and the mock take what they took in
/// nginx's runs, `cores / nginx's RPS` less nginx's own CPU per request.
fn budget_us(ratio: f64, cores: f64, nginx: &Load) -> f64 {
    let others = cores * 1e6 / nginx.rps - nginx.proxy_cpu_us;
    cores * 1e6 / (ratio * nginx.rps) - others
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**not met**"
    }
}

fn report(
    opts: &Options,
    telemetry: &str,
    rows: &[Row],
    one_core_rows: &[Row],
    ttfts: [(f64, f64); 4],
    (idle_rss, held, loaded_rss): (u64, Option<(u64, usize)>, u64),
    dropped: &str,
) -> String {
    let mut s = String::new();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "Machine: {} cores ({cpu}); wrk, mock, nginx and {proxies} share them. Each cell: \
         {rounds} rounds of {slice} s of wrk on the direct upstream, then on nginx and {proxies}, \
         each going first in turn (figures over all rounds; p50 and p99 the median of the \
         rounds'); {chunks} chunks per stream, {delay} ms apart; gateway: {telemetry}.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        proxies = format!(
            "{}{}",
            if rows.iter().any(|r| r.cell.to_sink.is_some()) {
                "three gateways (the second without span export, the third exporting to a sink)"
            } else if rows.iter().any(|r| r.cell.unexported.is_some()) {
                "both gateways (the second without span export)"
            } else {
                "the gateway"
            },
            if rows.iter().any(|r| r.cell.floor.is_some()) {
                ", and the bare proxy in the OpenAI cells"
            } else {
                ""
            }
        ),
        rounds = opts.rounds,
        slice = opts.slice(),
        chunks = opts.chunks,
        delay = opts.delay_ms,
    );
    let _ = writeln!(s, "| scenario | conns | direct RPS | nginx RPS | gateway RPS | **gateway/nginx** | per round | p50 ms direct / nginx / gateway | p99 ms direct / nginx / gateway | added p99 ms nginx / gateway | errors |");
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---|---|---|---|---:|");
    for r in rows {
        let (dr, d50, d99) = r
            .cell
            .direct
            .map_or(("–".into(), "–".into(), "–".into()), |d| {
                (format!("{:.0}", d.rps), ms(d.p50_us), ms(d.p99_us))
            });
        let added = r.cell.direct.map_or("–".to_string(), |d| {
            format!(
                "{} / {}",
                ms(r.cell.nginx.p99_us - d.p99_us),
                ms(r.cell.gateway.p99_us - d.p99_us)
            )
        });
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.0} | {:.0} | **{:.2}×** | {} | {} / {} / {} | {} / {} / {} | {} | {} |",
            r.scenario,
            r.connections,
            dr,
            r.cell.nginx.rps,
            r.cell.gateway.rps,
            r.cell.gateway.rps / r.cell.nginx.rps,
            per_round(&r.cell.round_ratios),
            d50,
            ms(r.cell.nginx.p50_us),
            ms(r.cell.gateway.p50_us),
            d99,
            ms(r.cell.nginx.p99_us),
            ms(r.cell.gateway.p99_us),
            added,
            r.cell.direct.map_or(0, |d| d.errors)
                + r.cell.nginx.errors
                + r.cell.gateway.errors
                + r.cell.unexported.as_ref().map_or(0, |u| u.load.errors)
                + r.cell.to_sink.as_ref().map_or(0, |u| u.load.errors)
                + r.cell.floor.as_ref().map_or(0, |u| u.load.errors),
        );
    }
    let _ = writeln!(
        s,
        "\nCPU time per request (user + system, all threads and worker processes, µs), from /proc \
         over the same wrk runs; the collector's is what it spent while the gateway was loaded:\n"
    );
    let _ = writeln!(
        s,
        "| scenario | conns | nginx | gateway | collector | gateway + collector − nginx |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
            r.scenario,
            r.connections,
            r.cell.nginx.proxy_cpu_us,
            r.cell.gateway.proxy_cpu_us,
            r.cell.gateway.collector_cpu_us,
            r.cell.gateway.proxy_cpu_us + r.cell.gateway.collector_cpu_us
                - r.cell.nginx.proxy_cpu_us,
        );
    }
    if rows.iter().any(|r| r.cell.unexported.is_some()) {
        let _ = writeln!(
            s,
            "\nSpan export's share: a second gateway, same configuration, no span or metric \
             export (`--traces-exporter none --metrics-exporter none`), measured in the same \
             rounds, taking its turn with nginx and the exporting gateway:\n"
        );
        let _ = writeln!(s, "| scenario | conns | gateway/nginx | **without export/nginx** | per round | p99 ms nginx / gateway with / without export | CPU µs per request: gateway with / without export | collector |");
        let _ = writeln!(s, "|---|---:|---:|---:|---|---|---|---:|");
        for r in rows {
            let Some(u) = &r.cell.unexported else {
                continue;
            };
            let _ = writeln!(
                s,
                "| {} | {} | {:.2}× | **{:.2}×** | {} | {} / {} / {} | {:.1} / {:.1} | {:.1} |",
                r.scenario,
                r.connections,
                r.cell.gateway.rps / r.cell.nginx.rps,
                u.load.rps / r.cell.nginx.rps,
                per_round(&u.round_ratios),
                ms(r.cell.nginx.p99_us),
                ms(r.cell.gateway.p99_us),
                ms(u.load.p99_us),
                r.cell.gateway.proxy_cpu_us,
                u.load.proxy_cpu_us,
                r.cell.gateway.collector_cpu_us,
            );
        }
    }
    if rows.iter().any(|r| r.cell.to_sink.is_some()) {
        let _ = writeln!(
            s,
            "\nThe gateway's own span path: a third gateway, same configuration, exporting to nginx \
             answering 200 to every batch and keeping nothing, measured in the same rounds:\n"
        );
        let _ = writeln!(s, "| scenario | conns | **exporting to the sink/nginx** | per round | without export/nginx | exporting to rotel/nginx | p99 ms exporting to the sink | CPU µs per request: to the sink / without export / to rotel |");
        let _ = writeln!(s, "|---|---:|---:|---|---:|---:|---|---|");
        for r in rows {
            let (Some(k), Some(u)) = (&r.cell.to_sink, &r.cell.unexported) else {
                continue;
            };
            let _ = writeln!(
                s,
                "| {} | {} | **{:.2}×** | {} | {:.2}× | {:.2}× | {} | {:.1} / {:.1} / {:.1} |",
                r.scenario,
                r.connections,
                k.load.rps / r.cell.nginx.rps,
                per_round(&k.round_ratios),
                u.load.rps / r.cell.nginx.rps,
                r.cell.gateway.rps / r.cell.nginx.rps,
                ms(k.load.p99_us),
                k.load.proxy_cpu_us,
                u.load.proxy_cpu_us,
                r.cell.gateway.proxy_cpu_us,
            );
        }
    }
    if rows.iter().any(|r| r.cell.floor.is_some()) {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let _ = writeln!(
            s,
            "\nThe HTTP stack's share: `bare-proxy`, actix-web in and awc out as the gateway sets \
             them up and nothing else (no routing, JSON or telemetry), measured in the same rounds. \
             Budget: the CPU per request that the 0.9× target leaves the proxy and the collector \
             together, when wrk, the mock and the proxy keep all {cores} cores busy: {cores} cores \
             over 0.9× nginx's RPS, less what wrk and the mock took per request in nginx's runs \
             ({cores} cores over nginx's RPS, less nginx's own CPU per request); given from 16 \
             connections, where the cores are busy.\n"
        );
        let _ = writeln!(s, "| scenario | conns | **bare proxy/nginx** | per round | gateway without export/nginx | gateway/nginx | CPU µs per request: nginx / bare proxy / gateway without export / gateway + collector | bare proxy + collector | budget at 0.9× |");
        let _ = writeln!(s, "|---|---:|---:|---|---:|---:|---|---:|---:|");
        for r in rows {
            let Some(f) = &r.cell.floor else {
                continue;
            };
            let n = &r.cell.nginx;
            let plain = r
                .cell
                .unexported
                .as_ref()
                .map_or(&r.cell.gateway, |u| &u.load);
            let collector = r.cell.gateway.collector_cpu_us;
            let budget = if r.connections >= 16 {
                format!("{:.1}", budget_us(0.9, cores, n))
            } else {
                "–".to_string()
            };
            let _ = writeln!(
                s,
                "| {} | {} | **{:.2}×** | {} | {:.2}× | {:.2}× | {:.1} / {:.1} / {:.1} / {:.1} | {:.1} | {budget} |",
                r.scenario,
                r.connections,
                f.load.rps / n.rps,
                per_round(&f.round_ratios),
                plain.rps / n.rps,
                r.cell.gateway.rps / n.rps,
                n.proxy_cpu_us,
                f.load.proxy_cpu_us,
                plain.proxy_cpu_us,
                r.cell.gateway.proxy_cpu_us + collector,
                f.load.proxy_cpu_us + collector,
            );
        }
    }
    if !one_core_rows.is_empty() {
        let _ = writeln!(
            s,
            "\nOne connection with the request's processes on one core: wrk, the mock, nginx and \
             the gateways on CPU {ONE_CORE}, the collector where the scheduler puts it, measured \
             after the cells above in the same way (at one connection a request's hops run one \
             after another; on a virtual machine a hop to the other vCPU waits for it to wake):\n"
        );
        let _ = writeln!(s, "| scenario | direct RPS | nginx RPS | gateway RPS | **gateway/nginx** | p50 ms direct / nginx / gateway | p99 ms direct / nginx / gateway | **p99 over nginx µs** | without export: p99 ms, over nginx µs |");
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---|---|---:|---|");
        for r in one_core_rows {
            let c = &r.cell;
            let (dr, d50, d99) = c.direct.map_or(("–".into(), "–".into(), "–".into()), |d| {
                (format!("{:.0}", d.rps), ms(d.p50_us), ms(d.p99_us))
            });
            let without = c.unexported.as_ref().map_or("–".to_string(), |u| {
                format!(
                    "{}, {:+.0}",
                    ms(u.load.p99_us),
                    u.load.p99_us - c.nginx.p99_us
                )
            });
            let _ = writeln!(
                s,
                "| {} | {dr} | {:.0} | {:.0} | **{:.2}×** | {d50} / {} / {} | {d99} / {} / {} | **{:+.0}** | {without} |",
                r.scenario,
                c.nginx.rps,
                c.gateway.rps,
                c.gateway.rps / c.nginx.rps,
                ms(c.nginx.p50_us),
                ms(c.gateway.p50_us),
                ms(c.nginx.p99_us),
                ms(c.gateway.p99_us),
                c.gateway.p99_us - c.nginx.p99_us,
            );
        }
    }
    let [td, tn, tg, ta] = ttfts;
    let _ = writeln!(s, "\nTime to first token (first SSE `data:` event, sequential requests on one keep-alive connection, {} probes):\n", opts.probes);
    let _ = writeln!(
        s,
        "| path | TTFT p50 µs | TTFT p99 µs | p50 over direct µs |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|");
    for (name, (p50, p99)) in [
        ("direct", td),
        ("nginx", tn),
        ("gateway (openai)", tg),
        ("gateway (anthropic, translated)", ta),
    ] {
        let _ = writeln!(s, "| {name} | {p50:.0} | {p99:.0} | {:.0} |", p50 - td.0);
    }
    let mib = |k: u64| k as f64 / 1024.0;
    let _ = writeln!(
        s,
        "\nGateway RSS: {:.1} MiB idle after start; {}; {:.1} MiB after the whole run.\n",
        mib(idle_rss),
        held.map_or(
            "open streams not measured".to_string(),
            |(rss, open)| format!("{:.1} MiB with {open} streams open", mib(rss))
        ),
        mib(loaded_rss)
    );

    let _ = writeln!(s, "Telemetry the gateway could not deliver during the run (from its `/metrics`): {dropped}.\n");
    let _ = writeln!(s, "Targets:\n");
    for (scenario, c, want) in [
        ("chat", 16, 0.9),
        ("chat", 64, 0.9),
        ("chat stream", 16, 0.8),
        ("chat stream", 64, 0.8),
        ("stream → anthropic", 16, 0.7),
        ("stream → anthropic", 64, 0.7),
    ] {
        if let Some(row) = rows
            .iter()
            .find(|r| r.scenario == scenario && r.connections == c)
        {
            let cell = &row.cell;
            let r = cell.gateway.rps / cell.nginx.rps;
            let without = cell.unexported.as_ref().map_or(String::new(), |u| {
                format!(
                    " (without span export, outside the target's condition: {:.2}×)",
                    u.load.rps / cell.nginx.rps
                )
            });
            let _ = writeln!(
                s,
                "- {scenario} at {c} connections: {r:.2}× nginx (target ≥ {want}×): {}{without}",
                verdict(r >= want)
            );
        }
    }
    for scenario in ["chat", "chat stream"] {
        if let Some(r) = rows
            .iter()
            .find(|r| r.scenario == scenario && r.connections == 1)
        {
            let extra = r.cell.gateway.p99_us - r.cell.nginx.p99_us;
            let without = r.cell.unexported.as_ref().map_or(String::new(), |u| {
                format!(
                    " (without span export, outside the target's condition: {:+.0} µs)",
                    u.load.p99_us - r.cell.nginx.p99_us
                )
            });
            let _ = writeln!(s, "- {scenario}, p99 at 1 connection: gateway {} ms, nginx {} ms, {extra:+.0} µs (target ≤ +100 µs): {}{without}", ms(r.cell.gateway.p99_us), ms(r.cell.nginx.p99_us), verdict(extra <= 100.0));
        }
        if let Some(r) = one_core_rows.iter().find(|r| r.scenario == scenario) {
            let extra = r.cell.gateway.p99_us - r.cell.nginx.p99_us;
            let _ = writeln!(s, "- {scenario}, p99 at 1 connection with the request's processes on one core: gateway {} ms, nginx {} ms, {extra:+.0} µs (target ≤ +100 µs): {}", ms(r.cell.gateway.p99_us), ms(r.cell.nginx.p99_us), verdict(extra <= 100.0));
        }
    }
    let extra = tg.0 - tn.0;
    let _ = writeln!(
        s,
        "- TTFT p50: gateway {:.0} µs, nginx {:.0} µs, {extra:+.0} µs (target ≤ +100 µs): {}",
        tg.0,
        tn.0,
        verdict(extra <= 100.0)
    );
    let _ = writeln!(
        s,
        "- RSS idle {:.1} MiB (target ≤ 40): {}",
        mib(idle_rss),
        verdict(mib(idle_rss) <= 40.0)
    );
    if let Some((rss, open)) = held {
        // The target is stated for 1,000 streams: a run asked for fewer says nothing about it,
        // while a run that asked for 1,000 and could not open them all fails it.
        let outcome = if opts.streams < TARGET_STREAMS {
            "not measured (the target is for 1000 streams)"
        } else {
            verdict(mib(rss) <= 150.0 && open >= TARGET_STREAMS)
        };
        let _ = writeln!(
            s,
            "- RSS with {open} open streams {:.1} MiB (target ≤ 150): {outcome}",
            mib(rss),
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    fn cpus_allowed(pid: u32) -> String {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .unwrap()
            .trim()
            .to_string()
    }

    #[test]
    fn a_process_is_held_to_one_core_and_let_go_again() {
        let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = sleeper.id();
        set_affinity(&[pid], Some(ONE_CORE)).unwrap();
        let held = cpus_allowed(pid);
        set_affinity(&[pid], None).unwrap();
        let released = cpus_allowed(pid);
        let _ = sleeper.kill();
        let _ = sleeper.wait();
        assert_eq!(held, ONE_CORE.to_string());
        let online = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap();
        assert_eq!(released, online.trim());
    }

    #[test]
    fn a_family_is_the_processes_given_and_their_children() {
        let mut shell = Command::new("sh")
            .args(["-c", "sleep 30 & wait"])
            .spawn()
            .unwrap();
        let pid = shell.id();
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut members = Vec::new();
        while Instant::now() < deadline {
            members = family(&[pid]).into_iter().map(|(p, _)| p).collect();
            if members.len() == 2 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        for &member in members.iter().filter(|&&m| m != pid) {
            // SAFETY: a kill of the sleep the test started.
            unsafe { libc::kill(member as libc::pid_t, libc::SIGKILL) };
        }
        let _ = shell.kill();
        let _ = shell.wait();
        assert_eq!(members.len(), 2, "{members:?}");
        assert!(members.contains(&pid), "{members:?}");
    }

    fn run(rps: f64, requests: u64, p99_us: f64, proxy_cpu_us: f64) -> Load {
        Load {
            rps,
            requests,
            p50_us: p99_us / 10.0,
            p99_us,
            errors: 1,
            proxy_cpu_us,
            collector_cpu_us: 0.0,
        }
    }

    #[test]
    fn runs_combine_over_their_summed_time_and_requests() {
        // 10,000 requests in 1 s, then 10,000 in 2 s: 20,000 in 3 s, not the mean of the rates.
        let combined = Load::combine(&[
            run(10_000.0, 10_000, 1_000.0, 30.0),
            run(5_000.0, 10_000, 3_000.0, 50.0),
        ]);
        assert!((combined.rps - 20_000.0 / 3.0).abs() < 1e-6);
        assert_eq!((combined.requests, combined.errors), (20_000, 2));
        assert_eq!(combined.p99_us, 2_000.0);
        assert_eq!(combined.proxy_cpu_us, 40.0);
        let three = [
            run(1.0, 1, 5.0, 0.0),
            run(1.0, 1, 1.0, 0.0),
            run(1.0, 1, 9.0, 0.0),
        ];
        assert_eq!(Load::combine(&three).p99_us, 5.0);
    }

    #[test]
    fn nginx_and_the_gateway_take_turns_to_go_first() {
        let order = RefCell::new(Vec::new());
        let cell = alternate(
            3,
            || {
                order.borrow_mut().push("direct");
                Ok(Some(run(100.0, 100, 1.0, 0.0)))
            },
            &[Proxy::Nginx, Proxy::Gateway],
            |p| {
                order.borrow_mut().push(["nginx", "gateway"][p]);
                Ok([run(100.0, 100, 1.0, 20.0), run(80.0, 80, 1.0, 30.0)][p])
            },
        )
        .unwrap();
        assert_eq!(
            order.into_inner(),
            [
                "direct", "nginx", "gateway", "direct", "gateway", "nginx", "direct", "nginx",
                "gateway"
            ]
        );
        assert_eq!(cell.round_ratios, [0.8, 0.8, 0.8]);
        assert_eq!(cell.direct.map(|d| d.requests), Some(300));
        assert_eq!(cell.gateway.requests, 240);
        assert!(cell.unexported.is_none());
    }

    #[test]
    fn each_of_three_proxies_goes_first_in_turn() {
        let order = RefCell::new(Vec::new());
        let cell = alternate(
            3,
            || Ok(None),
            &[Proxy::Nginx, Proxy::Gateway, Proxy::Unexported],
            |p| {
                order.borrow_mut().push(p);
                Ok([
                    run(100.0, 100, 1.0, 20.0),
                    run(70.0, 70, 1.0, 30.0),
                    run(95.0, 95, 1.0, 25.0),
                ][p])
            },
        )
        .unwrap();
        assert_eq!(order.into_inner(), [0, 1, 2, 1, 2, 0, 2, 0, 1]);
        assert!(cell.direct.is_none());
        assert_eq!(cell.round_ratios, [0.7, 0.7, 0.7]);
        let unexported = cell.unexported.unwrap();
        assert_eq!(unexported.load.requests, 285);
        assert_eq!(unexported.round_ratios, [0.95, 0.95, 0.95]);
    }

    #[test]
    fn a_fourth_proxy_is_the_gateway_exporting_to_a_sink() {
        let cell = alternate(
            2,
            || Ok(None),
            &[
                Proxy::Nginx,
                Proxy::Gateway,
                Proxy::Unexported,
                Proxy::ToSink,
            ],
            |p| {
                Ok([
                    run(100.0, 100, 1.0, 20.0),
                    run(70.0, 70, 1.0, 30.0),
                    run(95.0, 95, 1.0, 25.0),
                    run(90.0, 90, 1.0, 26.0),
                ][p])
            },
        )
        .unwrap();
        assert_eq!(cell.unexported.unwrap().load.requests, 190);
        let to_sink = cell.to_sink.unwrap();
        assert_eq!(to_sink.load.requests, 180);
        assert_eq!(to_sink.round_ratios, [0.9, 0.9]);
    }

    #[test]
    fn the_bare_proxy_is_a_companion_of_its_own_whatever_else_runs() {
        let cell = alternate(
            2,
            || Ok(None),
            &[Proxy::Nginx, Proxy::Gateway, Proxy::Floor],
            |p| {
                Ok([
                    run(100.0, 100, 1.0, 20.0),
                    run(70.0, 70, 1.0, 30.0),
                    run(98.0, 98, 1.0, 21.0),
                ][p])
            },
        )
        .unwrap();
        assert!(cell.unexported.is_none() && cell.to_sink.is_none());
        let floor = cell.floor.unwrap();
        assert_eq!(floor.load.requests, 196);
        assert_eq!(floor.round_ratios, [0.98, 0.98]);
    }

    #[test]
    fn a_cell_needs_nginx_and_the_gateway() {
        let one = |_| Ok(run(1.0, 1, 1.0, 1.0));
        assert!(alternate(1, || Ok(None), &[Proxy::Nginx], one).is_err());
        assert!(alternate(1, || Ok(None), &[Proxy::Nginx, Proxy::Floor], one).is_err());
    }

    #[test]
    fn a_proxy_spending_the_budget_runs_at_the_ratio_it_was_computed_for() {
        // nginx: 50,000 requests per second on 2 busy cores, 16 µs of them its own; wrk and the
        // mock take the other 24 µs of each request's 40.
        let nginx = run(50_000.0, 50_000, 1.0, 16.0);
        let budget = budget_us(0.9, 2.0, &nginx);
        assert!((budget - (2e6 / 45_000.0 - 24.0)).abs() < 1e-9);
        let rps = 2e6 / (24.0 + budget);
        assert!((rps / nginx.rps - 0.9).abs() < 1e-9);
    }
}
