//! A shared library with an ordinary C entry point and no abi_stable root module: the gateway must
//! skip it with a one-line reason instead of failing to start.

/// Gives the library one exported symbol, so that it is a loadable `.so` with nothing the gateway
/// looks for.
#[no_mangle]
pub extern "C" fn not_a_provider_module() -> u32 {
    42
}
