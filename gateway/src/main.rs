use clap::Parser;

use ai_gateway::cli::{Cli, Command};

// mimalloc frees across threads without glibc's arena locks: spans and analytics records are
// built on the workers and freed on the export threads. Measured with benches/run.sh: 13-50% more
// requests/s with span export, and a lower p99. Provider modules keep their own allocator: what
// they return is freed through abi_stable's vtables, and copied when it changes hands.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = Cli::parse();
    ai_gateway::logging::init(&cli.log_level);
    let code = match cli.command {
        Command::Serve(args) => ai_gateway::commands::serve(args),
        Command::Check(args) => ai_gateway::commands::check(args),
        Command::Providers(args) => ai_gateway::commands::providers(args),
    };
    std::process::exit(code);
}
