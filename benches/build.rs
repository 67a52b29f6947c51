//! Compiles the tiny fake CLI of items 1, 2 and 5 (`tiny-cli/tiny_cli.c`)
//! with the C compiler Rust links with: statically when the C library allows,
//! else dynamically. The bench finds it through `env!("TINY_CLI")`; when no C
//! compiler works, `TINY_CLI` is empty and the bench uses fake-claude instead
//! (and says so).

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let src = PathBuf::from("tiny-cli/tiny_cli.c");
    println!("cargo:rerun-if-changed={}", src.display());
    let target = std::env::var("TARGET").unwrap_or_default();
    let target_cc = format!("CC_{}", target.replace('-', "_"));
    for v in [target_cc.as_str(), "TARGET_CC", "CC"] {
        println!("cargo:rerun-if-env-changed={v}");
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("tiny-cli");
    // The C compiler for the target, as the `cc` crate looks for it.
    let cc = [target_cc.as_str(), "TARGET_CC", "CC"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "cc".into());
    let mut built = "";
    for (how, extra) in [("static", &["-static"][..]), ("dynamic", &[][..])] {
        let ok = Command::new(&cc)
            .args(["-O2", "-o"])
            .arg(&out)
            .args(extra)
            .arg(&src)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            built = how;
            break;
        }
    }
    if built.is_empty() {
        println!(
            "cargo:warning=could not compile {} with {cc}: the bench will use fake-claude",
            src.display()
        );
        println!("cargo:rustc-env=TINY_CLI=");
    } else {
        println!("cargo:rustc-env=TINY_CLI={}", out.display());
    }
    println!("cargo:rustc-env=TINY_CLI_LINK={built}");
}
