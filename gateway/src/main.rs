use clap::Parser;

use ai_gateway::cli::{Cli, Command};

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
