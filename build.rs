//! Build script: gives the shared library upstream's SONAME (`libllama.so.0`), so programs linked
//! against it record the same dependency name as with upstream's build.

fn main() {
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os == "linux" || target_os == "android" || target_os.ends_with("bsd") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libllama.so.0");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
