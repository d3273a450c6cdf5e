//! What each subcommand does. Output for people goes to stdout; problems go to stderr, each on
//! its own line, so that scripts can tell them apart.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::admin::{AdminState, ProviderStatus, SkippedStatus};
use crate::cli::{CheckArgs, ProvidersArgs, ServeArgs};
use crate::modules::ModuleRegistry;
use crate::runtime::Runtime;
use crate::server::ActorDirectory;
use crate::telemetry::Telemetry;

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn load_modules(dir: &Path) -> Result<ModuleRegistry, Vec<String>> {
    let registry = ModuleRegistry::load_dir(dir).map_err(|e| vec![e])?;
    for skipped in &registry.skipped {
        eprintln!(
            "warning: skipped {}: {}",
            skipped.path.display(),
            skipped.reason
        );
    }
    Ok(registry)
}

/// Loads the modules and the config and joins them, collecting every error.
fn load(config: &Path, providers: &Path) -> Result<(Runtime, ModuleRegistry), Vec<String>> {
    let modules = load_modules(providers)?;
    let config = crate::config::load_file(config, &env_var)
        .map_err(|errors| errors.0.iter().map(|e| e.to_string()).collect::<Vec<_>>())?;
    let runtime = Runtime::build(config, &modules, &env_var)?;
    Ok((runtime, modules))
}

fn print_errors(errors: &[String]) {
    for e in errors {
        eprintln!("error: {e}");
    }
}

fn describe_module(m: &crate::modules::LoadedModule) -> String {
    let routes: Vec<&str> = m.manifest.route_types.iter().map(|r| r.as_str()).collect();
    format!(
        "{} sdk={} routes={} auth=\"{}\" file={}",
        m.manifest.name,
        m.manifest.sdk_version,
        routes.join(","),
        m.manifest.default_auth,
        m.path.display()
    )
}

pub fn providers(args: ProvidersArgs) -> i32 {
    let dir = match args.providers.resolve() {
        Ok(d) => d,
        Err(e) => {
            print_errors(&[e]);
            return 1;
        }
    };
    match load_modules(&dir) {
        Ok(registry) => {
            for m in &registry.modules {
                println!("{}", describe_module(m));
            }
            0
        }
        Err(errors) => {
            print_errors(&errors);
            1
        }
    }
}

pub fn check(args: CheckArgs) -> i32 {
    let dir = match args.providers.resolve() {
        Ok(d) => d,
        Err(e) => {
            print_errors(&[e]);
            return 1;
        }
    };
    match load(&args.config, &dir) {
        Ok((runtime, modules)) => {
            println!("modules ({}):", modules.dir.display());
            for m in &modules.modules {
                println!("  {}", describe_module(m));
            }
            println!("routes:");
            for route in &runtime.routes {
                match &route.ai {
                    Some(ai) => println!(
                        "  {} (service {}): {} {} model={}",
                        route.name,
                        route.service_name,
                        ai.config.model.provider,
                        ai.config.route_type.as_str(),
                        ai.config.model.name.as_deref().unwrap_or("<from request>")
                    ),
                    None => println!(
                        "  {} (service {}): no ai-proxy plugin",
                        route.name, route.service_name
                    ),
                }
            }
            println!("configuration {} is valid", args.config.display());
            0
        }
        Err(errors) => {
            print_errors(&errors);
            1
        }
    }
}

pub fn serve(args: ServeArgs) -> i32 {
    crate::upstream::install_crypto_provider();
    // Settings first: a mistake in them is found before the modules and config are loaded.
    let export = match crate::telemetry::config::resolve(&args.telemetry) {
        Ok(export) => export,
        Err(e) => {
            print_errors(&[e]);
            return 1;
        }
    };
    let dir = match args.providers.resolve() {
        Ok(d) => d,
        Err(e) => {
            print_errors(&[e]);
            return 1;
        }
    };
    let (runtime, modules) = match load(&args.config, &dir) {
        Ok(loaded) => loaded,
        Err(errors) => {
            print_errors(&errors);
            return 1;
        }
    };
    let telemetry = match Telemetry::start(&export) {
        Ok(telemetry) => Arc::new(telemetry),
        Err(e) => {
            print_errors(&[e]);
            return 1;
        }
    };
    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let runtime = Arc::new(runtime);
    let directory = Arc::new(ActorDirectory::default());
    if let Err(e) = telemetry.start_metric_export(directory.clone(), runtime.routes.clone()) {
        print_errors(&[e]);
        return 1;
    }
    let admin_state = AdminState {
        runtime: runtime.clone(),
        directory: directory.clone(),
        telemetry: telemetry.clone(),
        providers: modules
            .modules
            .iter()
            .map(|m| ProviderStatus {
                name: m.manifest.name.clone(),
                sdk_version: m.manifest.sdk_version.clone(),
                route_types: m.manifest.route_types.iter().map(|r| r.as_str()).collect(),
                default_auth: m.manifest.default_auth.clone(),
                file: m.path.display().to_string(),
            })
            .collect(),
        skipped: modules
            .skipped
            .iter()
            .map(|s| SkippedStatus {
                file: s.path.display().to_string(),
                reason: s.reason.clone(),
            })
            .collect(),
    };

    let system = actix_rt::System::new();
    let serving = telemetry.clone();
    let result = system.block_on(async move {
        let (proxy, proxy_addrs) = crate::server::bind_proxy(
            runtime,
            directory,
            serving,
            args.listen,
            workers,
            Duration::from_secs(args.upstream_keepalive_idle_timeout),
        )?;
        let (admin, admin_addrs) = crate::admin::bind_admin(admin_state, args.admin_listen)?;
        let first = |addrs: &[std::net::SocketAddr]| {
            addrs
                .first()
                .map_or_else(|| "?".to_string(), |a| format!("http://{a}"))
        };
        println!(
            "ai-gateway ready: proxy {} admin {}",
            first(&proxy_addrs),
            first(&admin_addrs)
        );
        tracing::info!(workers, providers = %dir.display(), "serving");
        futures_util::future::try_join(proxy, admin)
            .await
            .map(|_| ())
    });
    telemetry.shutdown();
    match result {
        Ok(()) => 0,
        Err(e) => {
            print_errors(&[format!("server failed: {e}")]);
            1
        }
    }
}
