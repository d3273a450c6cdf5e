use clap::Parser;

use ai_gateway::cli::{Cli, Command};

// mimalloc frees across threads without glibc's arena locks: spans and analytics records are
// built on the workers and freed on the export threads. Measured with benches/run.sh: 13-50% more
// requests/s with span export, and a lower p99.
//
// The provider modules are Rust libraries with the system allocator, so they call malloc and
// free; mimalloc's `override` feature makes this binary define those, and the dynamic linker
// binds a module's calls to them. A translated stream allocates mostly in its module: with
// this, the gateway's CPU per streamed request translated from Anthropic fell by about a tenth (57.0 to
// 50.8 µs, the means of six interleaved runs each way of wrk -c16). What a module returns is still freed
// through abi_stable's vtables.
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

#[cfg(test)]
mod tests {
    use std::ffi::c_void;

    unsafe extern "C" {
        /// mimalloc's own test of whether it handed out `p`.
        fn mi_is_in_heap_region(p: *const c_void) -> bool;
    }

    #[test]
    fn malloc_as_a_provider_module_finds_it_is_mimalloc() {
        // A loaded library's undefined `malloc` binds to the first definition in the global
        // scope, which is what `dlsym(RTLD_DEFAULT, …)` returns.
        // SAFETY: the symbol is looked up by a NUL-terminated name, called with malloc's
        // signature, and what it returns is freed by the same allocator (the global `free`).
        unsafe {
            let found = libc::dlsym(libc::RTLD_DEFAULT, c"malloc".as_ptr());
            assert!(!found.is_null());
            let malloc: extern "C" fn(usize) -> *mut c_void = std::mem::transmute(found);
            let block = malloc(64);
            assert!(!block.is_null());
            assert!(mi_is_in_heap_region(block));
            libc::free(block);
        }
    }
}
