use clap::Parser;

use ai_gateway::cli::{Cli, Command};

// jemalloc as the global allocator. Against glibc's malloc it frees across threads without arena
// locks. It replaced mimalloc, which was as fast on a fresh process but lost ground for good after a
// burst of traffic: 1,000 concurrent streams left its pages with long, cold free lists, and the
// gateway's CPU per chat request rose by about a fifth from then on (benches/ROUNDS.md,
// seventh round); with jemalloc it rose by a few percent at most.
//
// The provider modules are Rust libraries with the system allocator, so they call malloc and
// free; `unprefixed_malloc_on_supported_platforms` makes this binary define those, and the
// dynamic linker binds a module's calls to them, so that what a translated stream allocates in
// its module comes from the same allocator. What a module returns is still freed through
// abi_stable's vtables.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

// jemalloc's settings, read at its start: purge freed pages from background threads. Without
// them, pages freed after a burst go back to the system only as allocation goes on, and a gateway
// that falls quiet after a spike kept most of its peak: still 129 MiB 35 s after 3,000 connections,
// against 37 MiB ten seconds after with them (benches/ROUNDS.md, thirteenth round), at no CPU cost
// per request measured. `MALLOC_CONF` in the environment still overrides it.
#[allow(non_upper_case_globals)]
#[export_name = "malloc_conf"]
pub static malloc_conf: &u8 = &b"background_thread:true\0"[0];

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

    /// The index of the jemalloc arena that handed out `block`, or None when jemalloc did not
    /// hand it out (`arenas.lookup` fails for any other pointer).
    fn jemalloc_arena_of(block: *mut c_void) -> Option<libc::c_uint> {
        let mut arena: libc::c_uint = 0;
        let mut arena_len = std::mem::size_of::<libc::c_uint>();
        let mut pointer = block;
        // SAFETY: `arenas.lookup` reads one pointer from `newp` and writes one unsigned int to
        // `oldp`; both point at locals of those types, with their sizes given.
        let status = unsafe {
            tikv_jemalloc_sys::mallctl(
                c"arenas.lookup".as_ptr(),
                (&raw mut arena).cast(),
                &mut arena_len,
                (&raw mut pointer).cast(),
                std::mem::size_of::<*mut c_void>(),
            )
        };
        (status == 0).then_some(arena)
    }

    #[test]
    fn malloc_as_a_provider_module_finds_it_is_jemalloc() {
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
            assert!(jemalloc_arena_of(block).is_some());
            libc::free(block);
        }
    }

    /// jemalloc's boolean setting `name`, or None when it has no such setting.
    fn jemalloc_flag(name: &std::ffi::CStr) -> Option<bool> {
        let mut value = false;
        let mut value_len = std::mem::size_of::<bool>();
        // SAFETY: a boolean setting writes one bool to `oldp`, which points at a local bool whose
        // size is given; nothing is written to jemalloc (`newp` is null).
        let status = unsafe {
            tikv_jemalloc_sys::mallctl(
                name.as_ptr(),
                (&raw mut value).cast(),
                &mut value_len,
                std::ptr::null_mut(),
                0,
            )
        };
        (status == 0).then_some(value)
    }

    #[test]
    fn freed_pages_are_purged_by_background_threads() {
        // What the binary's `malloc_conf` asked for, and that the threads are running: without
        // them, memory freed after a burst stays with the process until allocation resumes.
        assert_eq!(jemalloc_flag(c"opt.background_thread"), Some(true));
        assert_eq!(jemalloc_flag(c"background_thread"), Some(true));
    }

    #[test]
    fn the_arena_lookup_refuses_memory_jemalloc_did_not_hand_out() {
        let mut on_the_stack = [0u8; 64];
        assert_eq!(jemalloc_arena_of(on_the_stack.as_mut_ptr().cast()), None);
    }
}
